//! Shared helpers for integration tests. Each test binary is one process and
//! so one interpreter; tests in a binary share it.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use pyhost::Interpreter;

/// The test fixtures folder (`tests/fixtures/python`).
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join("python")
}

/// Start the interpreter once for this test binary with the default
/// configuration plus the fixtures folder on `sys.path`.
pub fn interp() -> Interpreter {
    static INTERP: OnceLock<Interpreter> = OnceLock::new();
    *INTERP.get_or_init(|| {
        Interpreter::builder()
            .add_path(fixtures())
            .argv(["pyhost-test", "--flag"])
            .write_bytecode(false)
            .init()
            .expect("interpreter starts")
    })
}
