//! Scenario: the libpython loaded at run time is not the one compiled
//! against (simulated: this machine has 3.11.7 and Debian's 3.11.2).

use pyhost::{Error, Interpreter};

#[test]
fn mismatch_is_refused_with_a_clear_message() {
    let e = Interpreter::builder()
        .simulate_runtime_version("3.11.2 (main, Mar 13 2023, 12:18:29) [GCC 12.2.0]")
        .init()
        .unwrap_err();
    match &e {
        Error::VersionMismatch {
            compiled,
            runtime,
            compiled_libdir,
            runtime_library,
            ..
        } => {
            assert_eq!(compiled, pyhost::interpreter::compiled_version());
            assert_eq!(runtime, "3.11.2");
            assert_eq!(compiled_libdir, pyhost::interpreter::build_python_libdir());
            // This binary has the rpath: the library it loaded is the build's.
            let lib = runtime_library.as_deref().expect("dladdr names the loaded libpython");
            assert!(lib.starts_with(compiled_libdir.as_str()), "{lib}");
        }
        other => panic!("expected VersionMismatch, got {other:?}"),
    }
    let msg = e.to_string();
    assert!(
        msg.contains(&format!(
            "compiled against Python {}",
            pyhost::interpreter::compiled_version()
        )),
        "{msg}"
    );
    assert!(msg.contains("loaded at run time is 3.11.2"), "{msg}");
    assert!(msg.contains("rpath"), "{msg}");
    assert!(msg.contains("pyhost_build::link_python()"), "{msg}");
    assert!(msg.contains(pyhost::interpreter::build_python_libdir()), "{msg}");
    // Python was never started, and the failure is sticky.
    // SAFETY: Py_IsInitialized may be called at any time.
    assert_eq!(unsafe { pyhost::ffi::Py_IsInitialized() }, 0);
    let again = Interpreter::builder().init().unwrap_err();
    assert!(matches!(again, Error::AlreadyInitialized(_)), "{again}");
    assert!(again.to_string().contains("version mismatch"), "{again}");
    let build = if pyhost::interpreter::compiled_free_threaded() {
        " experimental free-threading build"
    } else {
        ""
    };
    assert!(pyhost::interpreter::check_version("3.11.7", &format!("3.11.7{build} (main) [GCC]")).is_ok());
}
