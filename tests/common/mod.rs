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

/// A fresh temporary directory, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "pyhost-{tag}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
