//! A host module written in C (`tests/c/modules.c`), compiled with
//! `pkg-config --cflags --libs pyhost` and called from Python
//! (`tests/c/modules_test.py`): every argument type and wrong type with the
//! exact message, raising, re-entry, four C threads and four Python threads
//! at once, object handles released on another thread (checked with a
//! weakref), typed calls from C. Its own process: one initialisation.

mod common;

#[test]
fn c_host_module() {
    let root = common::package_root();
    let dir = common::scratch("modules");
    let exe = dir.join("modules");
    common::compile_with_pkg_config(&root.join("tests/c/modules.c"), &exe);
    let out = common::c_program(&exe).arg(root.join("tests/c")).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    for want in [
        "register after init: cannot register module 'cmod_late': Python is already running (use pyhost_module_install)\n",
        "arguments: ok\n",
        "wrong types: ok\n",
        "raising: ok\n",
        "re-entry: ok\n",
        "python threads: ok\n",
        "constants: ok\n",
        "python checks: ok\n",
        "4 C threads: 8000 calls\n",
        "handle released on another thread: freed\n",
        "handle released in a callback: freed\n",
        "typed calls from C: ok\n",
        "modules: all ok\n",
    ] {
        assert!(stdout.contains(want), "missing {want:?} in:\n{stdout}\nstderr:\n{stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
