//! The Python base package's own unit tests (`tests/python/test_*.py`,
//! `unittest`), run by the interpreter of a virtual environment of the
//! build's Python with `datadog-checks-base` installed (some tests compare
//! pyhost's `checks` with the real package).

mod common;

use std::process::Command;

#[test]
fn python_unit_tests_pass() {
    let venv = common::venv();
    let dir = common::root().join("tests").join("python");
    let out = Command::new(venv.join("bin").join("python"))
        .args(["-m", "unittest", "discover", "-s"])
        .arg(&dir)
        .arg("-t")
        .arg(&dir)
        .output()
        .expect("run the venv's python");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "unittest failed:\n{stderr}");
    // unittest prints "Ran N tests" and "OK" on stderr: make sure it ran some.
    let ran = stderr
        .lines()
        .find_map(|l| l.strip_prefix("Ran ")?.split(' ').next()?.parse::<usize>().ok())
        .unwrap_or(0);
    assert!(ran > 10, "expected the base package's tests to run, got:\n{stderr}");
}
