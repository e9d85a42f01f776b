//! Scenario: start-up fails (a Python home with no standard library).

use pyhost::{Error, Interpreter};

#[test]
fn failed_start_is_an_error_and_is_final() {
    let dir = std::env::temp_dir().join(format!("pyhost-no-stdlib-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let e = Interpreter::builder().home(&dir).init().unwrap_err();
    assert!(matches!(e, Error::Init(_)), "{e:?}");
    assert!(e.to_string().contains("Python failed to start"), "{e}");
    // Nothing holds the GIL and nothing can enter.
    let e2 = pyhost::try_with_gil(|_| ()).unwrap_err();
    assert!(matches!(e2, Error::Init(_)), "{e2:?}");
    let e3 = Interpreter::builder().init().unwrap_err();
    assert!(matches!(e3, Error::AlreadyInitialized(_)), "{e3}");
    let _ = std::fs::remove_dir_all(&dir);
}
