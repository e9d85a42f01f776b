//! `cargo bench -p pyhost-capi --bench c_api`: pyhost's C ABI from C beside
//! plain C to the CPython API (benches/c_api.c: calls into Python with one
//! int, typed and JSON; Python calling a host function with the gauge
//! arguments), in one process per link mode, interleaved rounds.
//!
//! The harness builds the C libraries in release mode the way a C user does
//! (into a target folder of its own), compiles `c_api.c` twice, against the
//! shared library with `pkg-config --cflags --libs pyhost` and against the
//! static one, and runs both. `PYHOST_BENCH_ROUNDS` (default 15) and
//! `PYHOST_BENCH_ITERS` (default 200000) tune the run. Without `--bench`
//! (`cargo test --benches`) it runs one short round, to check it works.

use std::path::{Path, PathBuf};
use std::process::Command;

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

fn release_libs() -> PathBuf {
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("c-libs");
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--release", "-p", "pyhost-capi", "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target)
        .status()
        .expect("run cargo build --release -p pyhost-capi");
    assert!(status.success(), "cargo build --release -p pyhost-capi failed");
    target.join("release")
}

fn pkg_config(libs: &Path, args: &[&str]) -> Vec<String> {
    let out = Command::new("pkg-config")
        .args(args)
        .arg("pyhost")
        .env("PKG_CONFIG_PATH", libs)
        .output()
        .expect("run pkg-config");
    assert!(out.status.success(), "pkg-config {args:?} failed");
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

fn compile(source: &Path, out: &Path, link: &[String]) {
    let mut cmd = Command::new(env_or("CC", "cc"));
    cmd.args([
        "-O2",
        "-std=c11",
        "-D_DEFAULT_SOURCE",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-Wno-vla",
    ])
    .arg(source)
    .arg("-o")
    .arg(out)
    .args(link);
    let status = cmd.status().expect("run the C compiler");
    assert!(status.success(), "compiling the benchmark failed: {cmd:?}");
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (rounds, iters) = if full {
        (
            env_or("PYHOST_BENCH_ROUNDS", "15"),
            env_or("PYHOST_BENCH_ITERS", "200000"),
        )
    } else {
        ("1".to_string(), "2000".to_string())
    };
    let libs = release_libs();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/c_api.c");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("c-api-bench");
    std::fs::create_dir_all(&dir).unwrap();

    let shared = dir.join("c_api_shared");
    compile(&source, &shared, &pkg_config(&libs, &["--cflags", "--libs"]));
    // Static: the archive instead of -lpyhost_capi, the rest from pyhost.pc.
    let var = |name: &str| pkg_config(&libs, &[&format!("--variable={name}")]).concat();
    let static_exe = dir.join("c_api_static");
    let mut link = pkg_config(&libs, &["--cflags"]);
    link.push(libs.join("libpyhost_capi.a").display().to_string());
    link.extend([
        format!("-L{}", var("pythonlibdir")),
        format!("-l{}", var("pythonlib")),
        format!("-Wl,-rpath,{}", var("pythonlibdir")),
        "-lpthread".into(),
        "-ldl".into(),
        "-lm".into(),
    ]);
    compile(&source, &static_exe, &link);

    for (what, exe) in [
        ("shared library (pkg-config)", &shared),
        ("static library", &static_exe),
    ] {
        println!("\npyhost C ABI from C, {what}: {rounds} rounds x {iters} operations, ns per operation");
        let out = Command::new(exe)
            .args([&rounds, &iters])
            // cargo's LD_LIBRARY_PATH would come before the rpath.
            .env_remove("LD_LIBRARY_PATH")
            .output()
            .expect("run the benchmark");
        print!("{}", String::from_utf8_lossy(&out.stdout));
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "the benchmark failed");
    }
}
