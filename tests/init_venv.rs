//! Scenario: the interpreter uses a virtual environment (`Builder::venv`):
//! its site-packages are importable and its python is `sys.executable`.

mod common;

use std::process::Command;

#[test]
fn venv_site_packages_and_executable() {
    let dir = tempfile::tempdir().unwrap();
    let venv = dir.path().join("env");
    let status = Command::new(env!("PYHOST_BUILD_PYTHON_EXECUTABLE"))
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv)
        .status()
        .expect("run python -m venv");
    assert!(status.success());
    let site = venv
        .join("lib")
        .join(format!("python{}", minor()))
        .join("site-packages");
    std::fs::create_dir_all(site.join("venv_only_pkg")).unwrap();
    std::fs::write(site.join("venv_only_pkg").join("__init__.py"), "WHERE = __file__\n").unwrap();

    let interp = pyhost::Interpreter::builder()
        .venv(&venv)
        .write_bytecode(false)
        .init()
        .unwrap();
    interp.with_gil(|py| {
        let m = py.import("venv_only_pkg").expect("venv site-packages on sys.path");
        let where_: String = m.getattr("WHERE").unwrap().extract().unwrap();
        assert!(where_.starts_with(site.to_str().unwrap()), "{where_}");
        let sys = py.import("sys").unwrap();
        let exe: String = sys.getattr("executable").unwrap().extract().unwrap();
        assert!(exe.starts_with(venv.to_str().unwrap()), "{exe}");
        let prefix: String = sys.getattr("prefix").unwrap().extract().unwrap();
        assert_eq!(prefix, venv.to_str().unwrap());
        // The standard library still comes from the base installation.
        let base: String = sys.getattr("base_prefix").unwrap().extract().unwrap();
        assert_ne!(base, prefix);
        py.import("json").unwrap();
    });
}

/// `3.11`, or `3.13t` for a free-threaded build (its venvs use `lib/python3.13t`).
fn minor() -> String {
    let v = pyhost::interpreter::compiled_version();
    let abi = if pyhost::interpreter::compiled_free_threaded() {
        "t"
    } else {
        ""
    };
    format!("{}{abi}", v.split('.').take(2).collect::<Vec<_>>().join("."))
}
