//! Scenario: using Python before it starts, custom configuration, starting
//! twice.

mod common;

use pyhost::{Error, Interpreter};

#[test]
fn before_init_then_init_then_twice() {
    // Before start-up: a clear error, not a crash.
    let e = pyhost::try_with_gil(|_py| ()).unwrap_err();
    assert!(matches!(e, Error::NotInitialized), "{e}");
    assert!(e.to_string().contains("not initialised"));
    assert!(Interpreter::get().is_none());
    let panic = std::panic::catch_unwind(|| pyhost::with_gil(|_py| ())).unwrap_err();
    let msg = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("not initialised"), "{msg}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("custom_path_mod.py"), "def f():\n    return 'custom'\n").unwrap();
    let interp = Interpreter::builder()
        .add_path(dir.path())
        .program_name("my-host")
        .utf8_mode(false)
        .site_import(false)
        .write_bytecode(false)
        .init()
        .unwrap();
    interp.with_gil(|py| {
        let v: String = py
            .import("custom_path_mod")
            .unwrap()
            .getattr("f")
            .unwrap()
            .call0()
            .unwrap()
            .extract()
            .unwrap();
        assert_eq!(v, "custom");
        let sys = py.import("sys").unwrap();
        assert_eq!(
            sys.getattr("flags")
                .unwrap()
                .getattr("utf8_mode")
                .unwrap()
                .extract::<i64>()
                .unwrap(),
            0
        );
        assert_eq!(
            sys.getattr("flags")
                .unwrap()
                .getattr("no_site")
                .unwrap()
                .extract::<i64>()
                .unwrap(),
            1
        );
        assert!(!py
            .eval("'site' in __import__('sys').modules", None, None)
            .unwrap()
            .extract::<bool>()
            .unwrap());
    });
    // The GIL was released after start-up: another thread gets it.
    std::thread::spawn(|| pyhost::with_gil(|py| py.eval("1", None, None).map(drop)))
        .join()
        .unwrap()
        .unwrap();
    assert!(Interpreter::get().is_some());

    let e = Interpreter::builder().init().unwrap_err();
    assert!(matches!(e, Error::AlreadyInitialized(_)), "{e}");
    let e = std::thread::spawn(|| Interpreter::builder().init().unwrap_err())
        .join()
        .unwrap();
    assert!(matches!(e, Error::AlreadyInitialized(_)), "{e}");
}
