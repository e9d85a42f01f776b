//! What the agent's integration tests share.

#![allow(dead_code)] // each test binary uses its own part

use std::path::PathBuf;
use std::process::Command;

/// This package's folder.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A virtual environment of the Python pyhost was built against, with
/// `datadog-checks-base` from PyPI: `$PYHOST_TEST_VENV` if set, else one
/// under `target/` made (once, under a lock) by `.ci/venv`.
pub fn venv() -> PathBuf {
    if let Some(v) = std::env::var_os("PYHOST_TEST_VENV") {
        return PathBuf::from(v);
    }
    let python = pyhost::interpreter::build_python_executable();
    let tag = pyhost::interpreter::compiled_version();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("venv-{tag}{}", free_threaded_suffix()));
    let script = root().parent().unwrap().join(".ci").join("venv");
    let status = Command::new("bash")
        .arg(&script)
        .arg(python)
        .arg(&dir)
        .status()
        .expect("run .ci/venv");
    assert!(
        status.success(),
        "{} {python} {} failed",
        script.display(),
        dir.display()
    );
    dir
}

fn free_threaded_suffix() -> &'static str {
    if pyhost::interpreter::compiled_free_threaded() {
        "t"
    } else {
        ""
    }
}

/// Running the `pyhost` program (only the tests that have the binary use it).
pub mod program;
