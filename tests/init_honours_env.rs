//! Scenario: PYTHONPATH is set and the host opts in to the environment.

mod common;

#[test]
fn opt_in_honours_pythonpath() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("from_env_path.py"), "VALUE = 'found'\n").unwrap();
    std::env::set_var("PYTHONPATH", dir.path());
    std::env::set_var("PYTHONDONTWRITEBYTECODE", "1");

    let interp = pyhost::Interpreter::builder().use_environment(true).init().unwrap();
    interp.with_gil(|py| {
        let m = py.import("from_env_path").expect("PYTHONPATH honoured");
        assert_eq!(m.getattr("VALUE").unwrap().extract::<String>().unwrap(), "found");
        let flags = py.import("sys").unwrap().getattr("flags").unwrap();
        assert_eq!(
            flags.getattr("ignore_environment").unwrap().extract::<i64>().unwrap(),
            0
        );
        assert_eq!(flags.getattr("isolated").unwrap().extract::<i64>().unwrap(), 0);
        assert_eq!(
            flags.getattr("dont_write_bytecode").unwrap().extract::<i64>().unwrap(),
            1
        );
    });
}
