//! Build script: one Python for everything.
//!
//! 1. Ask the interpreter that `python3-sys` picked (it exports its path as
//!    `DEP_PYTHON3_PYTHON_INTERPRETER`; `PYTHON_SYS_EXECUTABLE` overrides both)
//!    for its headers, library directory and version.
//! 2. Compile the C shim in `csrc/` against exactly those headers.
//! 3. Emit an rpath to that interpreter's library directory, so binaries, tests,
//!    examples and benches load the libpython they were linked against (this
//!    machine has two libpython3.11.so.1.0 with the same soname).
//! 4. Record the version, executable and library directory for the run-time
//!    check, and publish them (with the header directories) to the build
//!    scripts of dependent packages (`links` metadata, read by pyhost-build).
//! 5. With the `regen-bindings` feature, regenerate `src/ffi/shim.rs` with bindgen.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

struct PythonInfo {
    executable: String,
    include_dir: String,
    lib_dir: String,
    version: String,
    hexversion: u32,
    shared: bool,
    /// `Py_GIL_DISABLED`: a free-threaded build (3.13t).
    gil_disabled: bool,
    /// `LDVERSION`: the library's version suffix, `3.11` or `3.13t` (`-lpython3.13t`).
    ldversion: String,
}

fn query_python(interpreter: &str) -> PythonInfo {
    let script = r#"
import sys, sysconfig, os
v = sysconfig.get_config_var
print(os.path.realpath(sys.executable))
print(sysconfig.get_paths()['include'])
print(v('LIBDIR') or '')
print('%d.%d.%d' % sys.version_info[:3] + ('' if sys.version_info.releaselevel == 'final' else sys.version_info.releaselevel[0] + str(sys.version_info.serial)))
print(sys.hexversion)
print(v('Py_ENABLE_SHARED') or 0)
print(v('Py_GIL_DISABLED') or 0)
print(v('LDVERSION') or '%d.%d' % sys.version_info[:2])
"#;
    let out = Command::new(interpreter)
        .arg("-c")
        .arg(script)
        .output()
        .unwrap_or_else(|e| panic!("pyhost build: cannot run the Python interpreter {interpreter:?}: {e}"));
    if !out.status.success() {
        panic!(
            "pyhost build: {interpreter:?} failed to describe itself: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8(out.stdout).expect("interpreter printed non-UTF-8");
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.len() >= 8,
        "pyhost build: unexpected interpreter output: {text:?}"
    );
    PythonInfo {
        executable: lines[0].to_string(),
        include_dir: lines[1].to_string(),
        lib_dir: lines[2].to_string(),
        version: lines[3].to_string(),
        hexversion: lines[4].trim().parse().expect("sys.hexversion"),
        shared: lines[5].trim() == "1",
        gil_disabled: lines[6].trim() == "1",
        ldversion: lines[7].trim().to_string(),
    }
}

fn main() {
    println!("cargo:rerun-if-env-changed=PYTHON_SYS_EXECUTABLE");
    println!("cargo:rerun-if-changed=csrc");
    println!("cargo:rerun-if-changed=include");
    println!("cargo:rerun-if-changed=build.rs");

    // The same choice python3-sys made: its exported interpreter, unless the
    // user forces one (python3-sys honours the same variable).
    let interpreter = env::var("PYTHON_SYS_EXECUTABLE")
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| env::var("DEP_PYTHON3_PYTHON_INTERPRETER").ok())
        .unwrap_or_else(|| "python3".to_string());
    let py = query_python(&interpreter);
    let minor = (py.hexversion >> 16) & 0xff;
    let major = py.hexversion >> 24;
    // What src/ffi/ has been audited against (docs/cpython-abi.md); a newer
    // Python may change layouts or inline functions pyhost mirrors.
    if major != 3 || !(8..=13).contains(&minor) {
        panic!(
            "pyhost build: {} is Python {}; pyhost supports CPython 3.8 to 3.13 (and the free-threaded \
             3.13t). Set PYTHON_SYS_EXECUTABLE to a supported interpreter.",
            py.executable, py.version
        );
    }

    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let csrc = manifest.join("csrc");
    let include = manifest.join("include");

    let mut build = pyhost_build::c_build_for(Path::new(&py.include_dir));
    build.include(&csrc).include(&include);
    let mut sources: Vec<PathBuf> = std::fs::read_dir(&csrc)
        .expect("csrc/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        .collect();
    sources.sort();
    for src in &sources {
        build.file(src);
    }
    build.compile("pyhost_shim");
    probe_layout(&py, &csrc);

    // For the build scripts of packages that depend on pyhost (Cargo's
    // `links` metadata: DEP_PYHOST_SHIM_<KEY>); pyhost-build reads them.
    println!("cargo:include={}", include.display());
    println!("cargo:csrc={}", csrc.display());
    println!("cargo:python_include={}", py.include_dir);
    println!("cargo:python_libdir={}", py.lib_dir);
    println!("cargo:python_shared={}", py.shared as u8);
    println!("cargo:python_executable={}", py.executable);
    println!("cargo:python_version={}", py.version);
    println!("cargo:python_ldversion={}", py.ldversion);

    if py.shared && !py.lib_dir.is_empty() {
        // Applies to this package's binaries, tests, examples, benches and cdylib.
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", py.lib_dir);
    }
    println!("cargo:rustc-env=PYHOST_BUILD_PYTHON_VERSION={}", py.version);
    println!("cargo:rustc-env=PYHOST_BUILD_PYTHON_EXECUTABLE={}", py.executable);
    println!("cargo:rustc-env=PYHOST_BUILD_PYTHON_LIBDIR={}", py.lib_dir);
    println!("cargo:rustc-env=PYHOST_BUILD_PYTHON_INCLUDE={}", py.include_dir);
    println!("cargo:rustc-env=PYHOST_BUILD_PYTHON_LDVERSION={}", py.ldversion);

    println!("cargo:python_gil_disabled={}", py.gil_disabled as u8);
    println!(
        "cargo:rustc-env=PYHOST_BUILD_PYTHON_GIL_DISABLED={}",
        py.gil_disabled as u8
    );

    // Version cfgs, named as pyo3-ffi names them: `Py_3_N` for every minor
    // version at or below the one we build against, `Py_GIL_DISABLED` for a
    // free-threaded build.
    for m in 8..=14u32 {
        println!("cargo:rustc-check-cfg=cfg(Py_3_{m})");
        if minor >= m {
            println!("cargo:rustc-cfg=Py_3_{m}");
        }
    }
    println!("cargo:rustc-check-cfg=cfg(Py_GIL_DISABLED)");
    if py.gil_disabled {
        println!("cargo:rustc-cfg=Py_GIL_DISABLED");
    }

    regen_bindings(&manifest, &csrc, &py);
}

/// Compile and run a probe that prints the layouts of `csrc/pyhost_layout.h`
/// as the C compiler sees them in this Python's headers, and write them as
/// Rust constants (`$OUT_DIR/c_layout.rs`). `src/ffi/layout.rs` asserts at
/// compile time that the Rust mirrors agree, so a Python whose layout pyhost
/// does not know fails the build, never a run.
fn probe_layout(py: &PythonInfo, csrc: &Path) {
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let src = out_dir.join("layout_probe.c");
    let exe = out_dir.join("layout_probe");
    std::fs::write(
        &src,
        "#define PY_SSIZE_T_CLEAN\n#include <Python.h>\n#include <stdio.h>\n#include \"pyhost_layout.h\"\n\
         int main(void) {\n\
         #define P(entry, value) printf(\"%s %lld\\n\", #entry, (long long)(value));\n\
         PYHOST_LAYOUT(P)\n    return 0;\n}\n",
    )
    .expect("write the layout probe");
    let compiler = pyhost_build::c_build_for(Path::new(&py.include_dir))
        .include(csrc)
        .get_compiler();
    let status = compiler
        .to_command()
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .status()
        .expect("run the C compiler for the layout probe");
    assert!(
        status.success(),
        "pyhost build: the layout probe does not compile against {}",
        py.include_dir
    );
    let out = Command::new(&exe).output().expect("run the layout probe");
    assert!(out.status.success(), "pyhost build: the layout probe failed");
    let mut rust = String::from("// Generated by build.rs from csrc/pyhost_layout.h: the C compiler's view.\n");
    for line in String::from_utf8(out.stdout).expect("probe output").lines() {
        let (name, value) = line.split_once(' ').expect("probe line");
        rust.push_str(&format!("pub const {name}: usize = {value};\n"));
    }
    std::fs::write(out_dir.join("c_layout.rs"), rust).expect("write c_layout.rs");
}

#[cfg(feature = "regen-bindings")]
fn regen_bindings(manifest: &Path, csrc: &Path, _py: &PythonInfo) {
    // Only our own headers: PyObject is opaque there, so the output does not
    // depend on the Python version and stays small.
    let mut headers: Vec<PathBuf> = std::fs::read_dir(csrc)
        .expect("csrc/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "h"))
        // The layout list needs Python.h; it is read by the probe, not bindgen.
        .filter(|p| !p.ends_with("pyhost_layout.h"))
        .collect();
    headers.sort();
    let mut builder = bindgen::Builder::default();
    for h in &headers {
        builder = builder.header(h.to_str().unwrap());
    }
    let bindings = builder
        .allowlist_function("pyhost_.*")
        .allowlist_type("pyhost_.*")
        .allowlist_var("PYHOST_.*")
        .blocklist_type("PyObject|_object|PyThreadState|_ts")
        .raw_line("#![allow(non_camel_case_types, non_snake_case, dead_code, missing_docs)]")
        .raw_line("#![allow(clippy::all)]")
        .raw_line("//! Generated by bindgen from csrc/*.h: do not edit.")
        .raw_line("//! Regenerate with `cargo build --features regen-bindings`.")
        .raw_line("")
        .raw_line("use python3_sys::{PyObject, PyThreadState};")
        .layout_tests(true)
        .derive_debug(true)
        .derive_default(false)
        .generate_comments(true)
        .prepend_enum_name(false)
        .generate()
        .expect("bindgen failed on csrc/*.h");
    let out = manifest.join("src").join("ffi").join("shim.rs");
    let text = bindings.to_string();
    let old = std::fs::read_to_string(&out).unwrap_or_default();
    if old != text {
        std::fs::write(&out, text).expect("write src/ffi/shim.rs");
    }
}

#[cfg(not(feature = "regen-bindings"))]
fn regen_bindings(_manifest: &Path, _csrc: &Path, _py: &PythonInfo) {}
