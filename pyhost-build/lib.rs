//! # pyhost-build: one line in a dependent crate's `build.rs`
//!
//! pyhost links one libpython and gives its own binaries an rpath to it. A
//! crate that depends on pyhost produces binaries of its own, and Cargo applies
//! a build script's link arguments only to that script's package: without an
//! rpath of their own, those binaries load whatever `libpython3.X.so.1.0` the
//! system loader finds first, and pyhost's start-up check refuses it
//! (`Error::VersionMismatch`). So a dependent crate adds:
//!
//! ```toml
//! [build-dependencies]
//! pyhost-build = { path = "../pyhost/pyhost-build" }   # or the registry version
//! ```
//!
//! ```text
//! // build.rs
//! fn main() { pyhost_build::link_python(); }
//! ```
//!
//! It reads what pyhost's build script published through Cargo's `links`
//! metadata (`links = "pyhost_shim"`: the `DEP_PYHOST_SHIM_*` variables Cargo
//! sets for the build scripts of packages that depend on pyhost directly), so
//! it always agrees with the Python pyhost compiled against, including one
//! chosen with `PYTHON_SYS_EXECUTABLE`.
//!
//! Packages with C of their own (a fixed method table, like the agent's
//! Datadog modules) compile it with [`c_build`]: a `cc::Build` that sees the
//! same `Python.h` and pyhost's headers.

use std::path::PathBuf;

/// A value pyhost's build script published (`cargo:KEY=...` in its output).
fn metadata(key: &str) -> Option<String> {
    let var = format!("DEP_PYHOST_SHIM_{}", key.to_ascii_uppercase());
    println!("cargo:rerun-if-env-changed={var}");
    std::env::var(var).ok().filter(|s| !s.is_empty())
}

fn required(key: &str) -> String {
    metadata(key).unwrap_or_else(|| {
        panic!(
            "pyhost-build: DEP_PYHOST_SHIM_{} is not set. Call pyhost_build from the build script of a \
             package that lists pyhost under [dependencies] (Cargo passes pyhost's metadata only to its \
             direct dependents).",
            key.to_ascii_uppercase()
        )
    })
}

/// The Python pyhost was built against, as its build script described it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Python {
    /// The interpreter's real path (`sys.executable`, symlinks resolved).
    pub executable: PathBuf,
    /// Its version, e.g. `3.11.7`.
    pub version: String,
    /// The directory of `Python.h`.
    pub include_dir: PathBuf,
    /// The directory of libpython (`sysconfig`'s `LIBDIR`).
    pub lib_dir: PathBuf,
    /// Whether libpython is a shared library (`Py_ENABLE_SHARED`).
    pub shared: bool,
    /// The library's name for the linker: `python3.11`, `python3.13t`.
    pub library: String,
    /// Whether it is a free-threaded build (`Py_GIL_DISABLED`).
    pub free_threaded: bool,
}

/// What pyhost's build script found. Panics (with what to do) outside the
/// build script of a direct dependent of pyhost.
pub fn python() -> Python {
    Python {
        executable: required("python_executable").into(),
        version: required("python_version"),
        include_dir: required("python_include").into(),
        lib_dir: required("python_libdir").into(),
        shared: metadata("python_shared").as_deref() == Some("1"),
        library: format!("python{}", required("python_ldversion")),
        free_threaded: metadata("python_gil_disabled").as_deref() == Some("1"),
    }
}

/// Make this package's binaries, tests, examples, benches and cdylibs load
/// the libpython pyhost was built against: an rpath to its directory (when
/// libpython is shared; a static one is already inside the binary).
pub fn link_python() {
    let py = python();
    if py.shared {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", py.lib_dir.display());
    }
}

/// Set the cfgs pyhost's own code uses, for this package's code too:
/// `Py_3_8` ... `Py_3_N` (every minor version up to the one pyhost was built
/// against) and `Py_GIL_DISABLED` for a free-threaded build, as pyo3's
/// `use_pyo3_cfgs` does. Then `#[cfg(Py_3_12)]` guards what needs own-GIL
/// sub-interpreters, say.
pub fn use_python_cfgs() {
    let py = python();
    let minor: u32 = py
        .version
        .split('.')
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("pyhost-build: unexpected Python version {:?}", py.version));
    for m in 8..=14u32 {
        println!("cargo:rustc-check-cfg=cfg(Py_3_{m})");
        if minor >= m {
            println!("cargo:rustc-cfg=Py_3_{m}");
        }
    }
    println!("cargo:rustc-check-cfg=cfg(Py_GIL_DISABLED)");
    if py.free_threaded {
        println!("cargo:rustc-cfg=Py_GIL_DISABLED");
    }
}

/// pyhost's C headers: `csrc/` (`pyhost_module.h`: `PYHOST_ADD_OBJECT_REF`
/// and the layer's tables) and `include/` (`pyhost/py2compat.h`).
pub fn include_dirs() -> Vec<PathBuf> {
    vec![required("csrc").into(), required("include").into()]
}

/// A `cc::Build` for C that includes `Python.h`: the headers of the Python
/// pyhost links, pyhost's own headers, and the warning set pyhost's shim
/// compiles with. Add files and call `compile`.
pub fn c_build() -> cc::Build {
    let mut build = c_build_for(&python().include_dir);
    for dir in include_dirs() {
        build.include(dir);
    }
    build
}

/// A `cc::Build` against the `Python.h` in `python_include`, with pyhost's
/// warning set (what pyhost's own build script uses for its shim).
pub fn c_build_for(python_include: &std::path::Path) -> cc::Build {
    let mut build = cc::Build::new();
    build
        .include(python_include)
        .warnings(true)
        .extra_warnings(true)
        .flag_if_supported("-Wno-unused-parameter")
        .flag_if_supported("-Wno-missing-field-initializers")
        .flag_if_supported("-fno-strict-aliasing")
        .opt_level(2);
    build
}
