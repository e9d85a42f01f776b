//! What the agent's integration tests share.

#![allow(dead_code)] // each test binary uses its own part

use std::collections::BTreeMap;
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

/// (voluntary, nonvoluntary) context switches of every thread of `pid`, by
/// thread name. A voluntary switch is the thread blocking (a sleep ending
/// is a wake-up); a nonvoluntary one is the scheduler preempting it.
pub fn context_switches(pid: u32) -> BTreeMap<String, (u64, u64)> {
    let mut by_name = BTreeMap::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let Ok(status) = std::fs::read_to_string(task.path().join("status")) else {
            continue;
        };
        let name = status
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("Name:"))
            .unwrap_or("?")
            .trim()
            .to_string();
        let field = |key: &str| -> u64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key)?.trim().parse().ok())
                .unwrap_or(0)
        };
        let e = by_name.entry(name).or_insert((0, 0));
        e.0 += field("voluntary_ctxt_switches:");
        e.1 += field("nonvoluntary_ctxt_switches:");
    }
    by_name
}
