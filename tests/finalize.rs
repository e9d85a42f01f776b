//! Scenario: the finalisation policy. Refused from the wrong thread or while
//! holding the GIL; then Py_FinalizeEx; then every entry fails cleanly.

use pyhost::{Error, Interpreter};

#[test]
fn finalize_rules() {
    let interp = Interpreter::builder().init().unwrap();
    interp
        .with_gil(|py| py.run("import threading, json", None, None))
        .unwrap();

    // Not from another thread.
    let e = std::thread::spawn(move || interp.finalize().unwrap_err())
        .join()
        .unwrap();
    assert!(
        matches!(e, Error::Lifecycle(_)) && e.to_string().contains("thread that initialised"),
        "{e}"
    );

    // Not while holding the GIL.
    let e = interp.with_gil(|_py| interp.finalize().unwrap_err());
    assert!(e.to_string().contains("holds the GIL"), "{e}");

    // A Py dropped without the GIL before finalising is applied, not leaked.
    let obj = interp.with_gil(|py| py.eval("object()", None, None).unwrap().unbind());
    std::thread::spawn(move || drop(obj)).join().unwrap();
    assert_eq!(pyhost::gil::pending_decrefs(), 1);

    // A thread inside a GIL scope delays finalisation until it leaves.
    let (tx, rx) = std::sync::mpsc::channel();
    let busy = std::thread::spawn(move || {
        pyhost::with_gil(|py| {
            tx.send(()).unwrap();
            py.allow_threads(|| std::thread::sleep(std::time::Duration::from_millis(200)));
        })
    });
    rx.recv().unwrap();
    interp.finalize().unwrap();
    busy.join().unwrap();
    assert_eq!(pyhost::gil::pending_decrefs(), 0);
    // SAFETY: Py_IsInitialized may be called at any time.
    assert_eq!(unsafe { pyhost::ffi::Py_IsInitialized() }, 0);

    // Afterwards: errors, never a crash.
    let e = pyhost::try_with_gil(|_| ()).unwrap_err();
    assert!(matches!(e, Error::Finalized), "{e}");
    let e = std::thread::spawn(|| pyhost::try_with_gil(|_| ()).unwrap_err())
        .join()
        .unwrap();
    assert!(matches!(e, Error::Finalized), "{e}");
    assert!(Interpreter::get().is_none());
    assert!(matches!(interp.finalize().unwrap_err(), Error::Finalized));
    let e = Interpreter::builder().init().unwrap_err();
    assert!(
        matches!(e, Error::AlreadyInitialized(_)) && e.to_string().contains("finalised"),
        "{e}"
    );
}
