//! Python 2 extensions ported with `include/pyhost/py2compat.h`.
//!
//! The test compiles `tests/py2ext/*.c` with the system C compiler (`$CC`,
//! else `cc`) against the headers of the Python pyhost was built with, into
//! shared objects, then:
//!
//! (a) loads them into this Rust host: `dlopen`, `dlsym("PyInit_spam")`, and
//!     `Builder::add_init_func` before start-up, so they become built-in
//!     modules of the host (the same path `PyImport_AppendInittab` gives a
//!     statically linked extension), and imports them;
//! (b) imports the same shared objects from the stand-alone `python3`.
//!
//! Nothing but a C compiler and that Python is needed, and the library
//! itself ships no test code.

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Once, OnceLock};

use pyhost::{Dict, Interpreter, Python};

const PYTHON_INCLUDE: &str = env!("PYHOST_BUILD_PYTHON_INCLUDE");
const PYTHON_EXE: &str = env!("PYHOST_BUILD_PYTHON_EXECUTABLE");
const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

/// Compile one extension into `<tmp>/<dir>/<module>.so`.
fn build(source: &Path, dir: &str, module: &str, defines: &[&str]) -> PathBuf {
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("py2ext").join(dir);
    std::fs::create_dir_all(&out_dir).unwrap();
    let out = out_dir.join(format!("{module}.so"));
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let mut cmd = Command::new(&cc);
    cmd.args(["-shared", "-fPIC", "-O1", "-Wall", "-Werror"])
        .arg(format!("-I{PYTHON_INCLUDE}"))
        .arg(format!("-I{MANIFEST}/include"));
    for d in defines {
        cmd.arg(d);
    }
    cmd.arg(source).arg("-o").arg(&out);
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run the C compiler {cc:?}: {e}"));
    assert!(
        output.status.success(),
        "{cc} failed on {}:\n{}",
        source.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    out
}

fn ext(name: &str) -> PathBuf {
    Path::new(MANIFEST).join("tests/py2ext").join(name)
}

/// The classic spam module, unedited: the header is forced in with
/// `-include` and the module name given with `-D`.
fn spam_so() -> &'static Path {
    static SO: OnceLock<PathBuf> = OnceLock::new();
    SO.get_or_init(|| {
        build(
            &ext("spammodule.c"),
            "ok",
            "spam",
            &["-include", "pyhost/py2compat.h", "-DPYHOST_PY2_MODULE_NAME=spam"],
        )
    })
}

/// The explicitly ported module (include + PYHOST_PY2_MODULE in the source).
fn legacy_so() -> &'static Path {
    static SO: OnceLock<PathBuf> = OnceLock::new();
    SO.get_or_init(|| build(&ext("legacymodule.c"), "ok", "legacy", &[]))
}

/// Open a shared object and return its `PyInit_<module>`.
fn load_init(so: &Path, module: &str) -> pyhost::interpreter::InitFunc {
    let path = CString::new(so.to_str().unwrap()).unwrap();
    // SAFETY: dlopen of a file we just built; its undefined symbols are
    // libpython's, already loaded by this process. The handle is never
    // closed: the module's code must stay mapped for the process.
    let handle = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    assert!(!handle.is_null(), "dlopen {}", so.display());
    let sym = CString::new(format!("PyInit_{module}")).unwrap();
    // SAFETY: handle is valid; sym is NUL-terminated.
    let f = unsafe { libc::dlsym(handle, sym.as_ptr()) };
    assert!(!f.is_null(), "{} has no {sym:?}", so.display());
    // SAFETY: PyInit_<name> has the signature `PyObject *(void)`.
    unsafe { std::mem::transmute::<*mut libc::c_void, pyhost::interpreter::InitFunc>(f) }
}

fn interp() -> Interpreter {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let spam = load_init(spam_so(), "spam");
        let legacy = load_init(legacy_so(), "legacy");
        Interpreter::builder()
            .add_init_func("spam", spam)
            .add_init_func("legacy", legacy)
            .init()
            .expect("Python starts");
    });
    Interpreter::get().expect("interpreter running")
}

/// The checks both forms must pass, as Python source.
const CHECKS: &str = r#"
import os, sys
import spam, legacy

assert os.waitstatus_to_exitcode(spam.system("exit 3")) == 3
assert spam.shout("abc") == "ABC!"
assert spam.add(2, 40) == 42
assert spam.VERSION == "2.7-style" and spam.ANSWER == 42
assert spam.__doc__ == "The spam module from the Python 2 tutorial."
assert issubclass(spam.error, Exception) and spam.error.__name__ == "error" and spam.error.__module__ == "spam"
# Py_InitModule put the module in sys.modules, as Python 2 did.
assert sys.modules["spam"] is spam

try:
    spam.shout(1)
except spam.error as e:
    assert str(e) == "shout() needs a string", e
else:
    raise AssertionError("spam.error not raised")
try:
    spam.system(1)
except TypeError as e:
    assert str(e) == "system() argument 1 must be str, not int", e
else:
    raise AssertionError("TypeError not raised")

assert legacy.double(21) == 42
assert legacy.join(["a", "b", "c"], "-") == "a-b-c"
# Py_InitModule4's self object reaches the functions.
assert legacy.helpers.whoami() == "legacy self"
assert sys.modules["legacy_helpers"] is legacy.helpers
print("ok")
"#;

#[test]
fn in_host_the_legacy_modules_are_builtins() {
    interp().with_gil(|py: Python<'_>| {
        let g: Dict<'_> = py.new_globals().unwrap();
        py.run(CHECKS, Some(&g), None).unwrap_or_else(|e| panic!("{e}"));
        let builtin: bool = py
            .eval("'spam' in __import__('sys').builtin_module_names and 'legacy' in __import__('sys').builtin_module_names", None, None)
            .unwrap()
            .extract()
            .unwrap();
        assert!(builtin);
        // A single-phase module is imported once; later imports reuse it.
        let same: bool = py.eval("__import__('spam') is __import__('sys').modules['spam']", None, None).unwrap().extract().unwrap();
        assert!(same);
    });
}

fn run_python3(dir: &Path, code: &str) -> std::process::Output {
    Command::new(PYTHON_EXE)
        .args(["-I", "-c"])
        .arg(format!(
            "import sys; sys.path.insert(0, {:?})\n{code}",
            dir.to_str().unwrap()
        ))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {PYTHON_EXE}: {e}"))
}

#[test]
fn standalone_python3_imports_the_shared_objects() {
    let dir = spam_so().parent().unwrap();
    assert_eq!(legacy_so().parent().unwrap(), dir);
    let out = run_python3(dir, CHECKS);
    assert!(
        out.status.success(),
        "python3 failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");
}

#[test]
fn a_failing_init_leaves_nothing_behind() {
    let so = build(&ext("legacymodule.c"), "fail", "legacy", &["-DLEGACY_FAIL"]);
    let out = run_python3(
        so.parent().unwrap(),
        "import sys\n\
         try:\n    import legacy\n\
         except RuntimeError as e:\n    print(type(e).__name__, e)\n\
         print('legacy' in sys.modules)\n",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.trim(),
        "RuntimeError initlegacy failed on purpose\nFalse",
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_init_without_py_initmodule_is_a_system_error() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("py2ext").join("empty");
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("emptymodule.c");
    std::fs::write(&src, "#include <Python.h>\nPyMODINIT_FUNC initempty(void) { }\n").unwrap();
    let so = build(
        &src,
        "empty",
        "empty",
        &["-include", "pyhost/py2compat.h", "-DPYHOST_PY2_MODULE_NAME=empty"],
    );
    let out = run_python3(
        so.parent().unwrap(),
        "try:\n    import empty\nexcept SystemError as e:\n    print(e)\n",
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "initempty() returned without creating a module (no Py_InitModule call)",
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
