//! Compile `examples/host.c` against `include/pyhost.h` and the built
//! pyhost-capi library (static by hand, shared with pkg-config), run it,
//! check its output.
//! Each host is its own process, so each initialises Python once.

mod common;

use std::path::Path;
use std::process::Command;

use common::{libs_dir, package_root, scratch};

fn python_lib() -> (String, String) {
    (
        pyhost::interpreter::build_python_libdir().to_string(),
        pyhost::interpreter::build_python_library(),
    )
}

fn write_plugin(dir: &Path) {
    std::fs::write(
        dir.join("plugin.py"),
        "def greet(name):\n    return {'greeting': 'hello ' + name, 'n': len(name)}\n\n\
         def add(a, b):\n    return a + b\n\n\
         def fail():\n    raise ValueError('plugin failed on purpose')\n\n\
         def report(n):\n    import host\n    for i in range(n):\n        host.record('plugin.value', i, tags=['env:dev'])\n    \
         return host.record('plugin.value', 0.5)\n",
    )
    .unwrap();
}

fn compile(out: &Path, link: &[String]) {
    let root = package_root();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let (libdir, pylib) = python_lib();
    let mut cmd = Command::new(cc);
    cmd.arg("-std=c99")
        .arg("-D_DEFAULT_SOURCE")
        .arg("-Wall")
        .arg("-Werror")
        .arg("-I")
        .arg(root.join("include"))
        .arg(root.join("examples/host.c"))
        .arg("-o")
        .arg(out)
        .args(link)
        .arg(format!("-L{libdir}"))
        .arg(format!("-l{pylib}"))
        .arg(format!("-Wl,-rpath,{libdir}"))
        .args(["-lpthread", "-ldl", "-lm"]);
    let status = cmd.status().expect("running the C compiler");
    assert!(status.success(), "C compile failed: {cmd:?}");
}

fn run_host(exe: &Path, plugin_dir: &Path) {
    let out = common::c_program(exe).arg(plugin_dir).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "host failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let version = pyhost::interpreter::compiled_version();
    for want in [
        format!("version: {version}\n").as_str(),
        "initialized before: 0\n",
        "initialized after: 1\n",
        "second init: cannot initialise Python: Python is already initialised in this process\n",
        "eval: {\"counter\": 42, \"list\": [1, 2.5, null, true]}\n",
        "call: {\"greeting\": \"hello C\", \"n\": 1}\n",
        "error (out=NULL):\nTraceback (most recent call last):\n",
        "in fail\n",
        "ValueError: plugin failed on purpose\n",
        "bad json: JSONDecodeError\n",
        "typed add: 42\n",
        "typed add (str): pyhost\n",
        "callbacks: total 6.5, 4 tags\n",
        "callback error: \"record() argument 2 must be float, not str\"\n",
        "threads: 200/200 ok\n",
        "pool: 100/100 ok\n",
        "pool error: ValueError\n",
        "counter: 42\n",
        "done\n",
    ] {
        assert!(
            stdout.contains(want),
            "missing {want:?} in:\n{stdout}\nstderr:\n{stderr}"
        );
    }
}

#[test]
fn c_host_static() {
    let lib = libs_dir().join("libpyhost_capi.a");
    let dir = scratch("static");
    write_plugin(&dir);
    let exe = dir.join("host-static");
    compile(&exe, &[lib.display().to_string()]);
    run_host(&exe, &dir);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn c_host_shared_with_pkg_config() {
    // `cc $(pkg-config --cflags --libs pyhost) host.c`, as docs/c-api.md says.
    let dir = scratch("shared");
    write_plugin(&dir);
    let exe = dir.join("host-shared");
    common::compile_with_pkg_config(&package_root().join("examples/host.c"), &exe);
    run_host(&exe, &dir);
    let _ = std::fs::remove_dir_all(&dir);
}
