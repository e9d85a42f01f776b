//! Scenario: PYTHONPATH is set, the interpreter is isolated (the default):
//! the variable is ignored.

mod common;

#[test]
fn isolated_mode_ignores_pythonpath() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("from_env_path.py"), "VALUE = 'found'\n").unwrap();
    std::env::set_var("PYTHONPATH", dir.path());
    std::env::set_var("PYTHONDONTWRITEBYTECODE", "1");

    let interp = pyhost::Interpreter::builder().init().unwrap();
    interp.with_gil(|py| {
        let e = py.import("from_env_path").unwrap_err();
        assert!(e.is("ModuleNotFoundError"), "{e}");
        let path: Vec<String> = py.import("sys").unwrap().getattr("path").unwrap().extract().unwrap();
        assert!(!path.iter().any(|p| p == dir.path().to_str().unwrap()), "{path:?}");
        let flags = py.import("sys").unwrap().getattr("flags").unwrap();
        assert_eq!(
            flags.getattr("ignore_environment").unwrap().extract::<i64>().unwrap(),
            1
        );
        assert_eq!(
            flags.getattr("dont_write_bytecode").unwrap().extract::<i64>().unwrap(),
            0
        );
        // No user site directory in isolated mode.
        assert!(!py
            .import("site")
            .unwrap()
            .getattr("ENABLE_USER_SITE")
            .unwrap()
            .is_truthy()
            .unwrap());
    });
}
