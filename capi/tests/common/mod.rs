//! What the tests that build C programs share: the C libraries built the
//! way a C user builds them, and compiling against them with pkg-config.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn package_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The folder with `libpyhost_capi.a`, `.so` and `pyhost.pc`. `cargo test`
/// builds this package's library only as an rlib, so the test builds the C
/// libraries itself (once per test binary), the way a C user would, into a
/// target folder of its own (the outer cargo holds the lock of the usual one).
pub fn libs_dir() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("c-libs");
        let status = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "-p", "pyhost-capi", "--manifest-path"])
            .arg(package_root().join("Cargo.toml"))
            .arg("--target-dir")
            .arg(&target)
            .status()
            .expect("run cargo build -p pyhost-capi");
        assert!(status.success(), "cargo build -p pyhost-capi failed");
        target.join("debug")
    })
    .clone()
}

/// `pkg-config --cflags --libs pyhost` against the libraries above.
pub fn pkg_config_flags() -> Vec<String> {
    let out = Command::new("pkg-config")
        .args(["--cflags", "--libs", "pyhost"])
        .env("PKG_CONFIG_PATH", libs_dir())
        .output()
        .expect("run pkg-config");
    assert!(
        out.status.success(),
        "pkg-config failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// A scratch folder for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pyhost-capi-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `cc $(pkg-config --cflags --libs pyhost) source -o out`, warnings as errors.
pub fn compile_with_pkg_config(source: &Path, out: &Path) {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let mut cmd = Command::new(cc);
    cmd.args([
        "-std=c11",
        "-D_DEFAULT_SOURCE",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-pthread",
    ])
    .arg(source)
    .arg("-o")
    .arg(out)
    .args(pkg_config_flags());
    let status = cmd.status().expect("running the C compiler");
    assert!(status.success(), "C compile failed: {cmd:?}");
}

/// A command for a C program built here. `cargo test` puts its own
/// `target/debug` on `LD_LIBRARY_PATH`, which the loader searches before the
/// program's rpath: a stale `libpyhost_capi.so` there would be loaded
/// instead of the one it was linked with.
pub fn c_program(exe: &Path) -> Command {
    let mut cmd = Command::new(exe);
    cmd.env_remove("LD_LIBRARY_PATH");
    cmd
}
