//! # pyhost-capi: the C ABI of pyhost
//!
//! The functions declared in `include/pyhost.h`: one interpreter per
//! process, started with [`pyhost_init`]; code run, expressions evaluated and
//! functions called with JSON ([`json`]) or typed values ([`value`],
//! [`object`]) in and out; host modules whose functions are C function
//! pointers ([`module`], [`ctx`], [`accessors`]); worker pools ([`pool`]). Every function
//! takes the GIL itself, so any C thread may call any of them. Errors return
//! `-1` and leave a message readable through [`pyhost_last_error`] on the
//! calling thread ([`error`]); Rust panics are caught and reported the same
//! way, never unwinding into C.

#![warn(missing_docs)]

use std::ffi::{c_char, c_int, c_void, CString};
use std::panic::catch_unwind;
use std::sync::OnceLock;

use pyhost::Interpreter;

pub mod accessors;
pub mod ctx;
pub mod error;
pub mod json;
pub mod module;
pub mod object;
pub mod pool;
pub mod value;

pub use accessors::*;
pub use ctx::*;
pub use error::PYHOST_LAST_ERROR_MAX;
pub use json::*;
pub use module::*;
pub use object::*;
pub use pool::*;
pub use value::*;

use error::{arg_str, err_text, guard, opt_str};

/// Start-up options for [`pyhost_init`] (`pyhost_config` in the header).
#[allow(non_camel_case_types)] // the C name
#[repr(C)]
#[derive(Debug)]
pub struct pyhost_config {
    /// Non-zero: isolated mode (ignore `PYTHON*` variables and the user site).
    pub isolated: c_int,
    /// Non-zero: let Python install its signal handlers (SIGINT).
    pub install_signal_handlers: c_int,
    /// `sys.executable`, or NULL for the Python pyhost was built against.
    pub executable: *const c_char,
    /// `PyConfig.home` (like `PYTHONHOME`), or NULL.
    pub home: *const c_char,
    /// A virtual environment directory (its `bin/python3` becomes
    /// `sys.executable`, overriding `executable`), or NULL.
    pub venv: *const c_char,
    /// NULL-terminated array of directories appended to `sys.path`, or NULL.
    pub paths: *const *const c_char,
}

/// Start the interpreter. See `include/pyhost.h`.
///
/// # Safety
/// `cfg` is NULL or points to a valid `pyhost_config` whose strings are
/// NUL-terminated and whose `paths` array is NULL-terminated.
#[no_mangle]
pub unsafe extern "C" fn pyhost_init(cfg: *const pyhost_config) -> c_int {
    guard(|| {
        let mut builder = Interpreter::builder();
        if !cfg.is_null() {
            // SAFETY: non-NULL; the caller guarantees it points to a valid config.
            let cfg = unsafe { &*cfg };
            builder = builder
                .isolated(cfg.isolated != 0)
                .signal_handlers(cfg.install_signal_handlers != 0);
            // SAFETY: the caller guarantees the strings are NUL-terminated or NULL.
            if let Some(exe) = unsafe { opt_str(cfg.executable, "cfg->executable") }? {
                builder = builder.executable(exe);
            }
            // SAFETY: as above.
            if let Some(home) = unsafe { opt_str(cfg.home, "cfg->home") }? {
                builder = builder.home(home);
            }
            // SAFETY: as above.
            if let Some(venv) = unsafe { opt_str(cfg.venv, "cfg->venv") }? {
                builder = builder.venv(venv);
            }
            if !cfg.paths.is_null() {
                let mut i = 0usize;
                loop {
                    // SAFETY: the array is NULL-terminated, so every index up
                    // to and including the terminator is readable.
                    let p = unsafe { *cfg.paths.add(i) };
                    if p.is_null() {
                        break;
                    }
                    // SAFETY: a non-NULL entry is a NUL-terminated string.
                    let s = unsafe { arg_str(p, "cfg->paths entry") }?;
                    builder = builder.add_path(s);
                    i += 1;
                }
            }
        }
        for module in module::take_pending() {
            builder = builder.add_module(module);
        }
        builder.init().map(drop).map_err(err_text)
    })
}

/// 1 if the interpreter is running, else 0. See `include/pyhost.h`.
#[no_mangle]
pub extern "C" fn pyhost_is_initialized() -> c_int {
    catch_unwind(|| c_int::from(Interpreter::get().is_some())).unwrap_or(0)
}

/// The calling thread's last error message. See `include/pyhost.h`.
#[no_mangle]
pub extern "C" fn pyhost_last_error() -> *const c_char {
    error::last_error_ptr()
}

/// Free a string returned by pyhost through an out-parameter.
///
/// # Safety
/// `p` is NULL or a pointer pyhost returned and that was not freed yet.
#[no_mangle]
pub unsafe extern "C" fn pyhost_free(p: *mut c_void) {
    // SAFETY: p is NULL (a no-op for free) or was allocated with malloc by pyhost.
    unsafe { libc::free(p) }
}

/// The Python version pyhost was compiled against, e.g. `"3.11.7"`.
#[no_mangle]
pub extern "C" fn pyhost_version() -> *const c_char {
    static VERSION: OnceLock<CString> = OnceLock::new();
    VERSION
        .get_or_init(|| CString::new(pyhost::interpreter::compiled_version()).unwrap_or_default())
        .as_ptr()
}

#[cfg(test)]
mod tests {
    //! Pre-initialisation error paths (this test binary never starts Python;
    //! initialised scenarios live in `tests/`).
    use super::*;
    use std::ffi::CStr;
    use std::ptr;

    fn cs(s: &str) -> CString {
        CString::new(s).unwrap()
    }

    fn last_error() -> String {
        // SAFETY: pyhost_last_error returns a valid NUL-terminated string.
        unsafe { CStr::from_ptr(pyhost_last_error()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn not_initialised() {
        assert_eq!(pyhost_is_initialized(), 0);
        // SAFETY: valid NUL-terminated literal.
        assert_eq!(unsafe { pyhost_run(cs("x = 1").as_ptr()) }, -1);
        assert!(last_error().contains("not initialised"), "{}", last_error());
        let mut out = ptr::null_mut();
        // SAFETY: valid pointers.
        assert_eq!(unsafe { pyhost_eval_json(cs("1").as_ptr(), &mut out) }, -1);
        assert!(out.is_null());
        assert!(last_error().contains("not initialised"));
        assert_eq!(
            // SAFETY: valid pointers.
            unsafe { pyhost_call_json(cs("os").as_ptr(), cs("getpid").as_ptr(), ptr::null(), &mut out,) },
            -1
        );
        assert!(out.is_null());
        assert!(last_error().contains("not initialised"));
        let mut pool = ptr::null_mut();
        // SAFETY: valid out pointer.
        assert_eq!(unsafe { pyhost_pool_new(1, &mut pool) }, -1);
        assert!(pool.is_null());
        assert!(last_error().contains("not initialised"), "{}", last_error());
    }

    #[test]
    fn null_arguments() {
        // SAFETY: NULL is an accepted (error) argument.
        assert_eq!(unsafe { pyhost_run(ptr::null()) }, -1);
        assert_eq!(last_error(), "code is NULL");
        let mut out = ptr::null_mut();
        // SAFETY: as above.
        assert_eq!(unsafe { pyhost_eval_json(ptr::null(), &mut out) }, -1);
        assert_eq!(last_error(), "expr is NULL");
        assert_eq!(
            // SAFETY: as above.
            unsafe { pyhost_eval_json(cs("1").as_ptr(), ptr::null_mut()) },
            -1
        );
        assert_eq!(last_error(), "json_out is NULL");
        assert_eq!(
            // SAFETY: as above.
            unsafe { pyhost_call_json(ptr::null(), cs("f").as_ptr(), ptr::null(), &mut out) },
            -1
        );
        assert_eq!(last_error(), "module is NULL");
        assert_eq!(
            // SAFETY: as above.
            unsafe { pyhost_call_json(cs("m").as_ptr(), ptr::null(), ptr::null(), &mut out) },
            -1
        );
        assert_eq!(last_error(), "function is NULL");
        // SAFETY: freeing NULL is a no-op.
        unsafe { pyhost_free(ptr::null_mut()) };
    }

    #[test]
    fn invalid_utf8() {
        let bad = [0xffu8 as c_char, 0];
        // SAFETY: NUL-terminated buffer.
        assert_eq!(unsafe { pyhost_run(bad.as_ptr()) }, -1);
        assert!(last_error().starts_with("code is not valid UTF-8"), "{}", last_error());
    }

    #[test]
    fn error_is_thread_local_and_cleared() {
        // SAFETY: NULL is an accepted (error) argument.
        assert_eq!(unsafe { pyhost_run(ptr::null()) }, -1);
        std::thread::spawn(|| assert_eq!(last_error(), "")).join().unwrap();
        assert_eq!(last_error(), "code is NULL");
    }

    #[test]
    fn panics_become_errors() {
        assert_eq!(guard(|| panic!("boom")), -1);
        assert_eq!(last_error(), "panic in pyhost: boom");
    }

    #[test]
    fn version() {
        // SAFETY: static NUL-terminated string.
        let v = unsafe { CStr::from_ptr(pyhost_version()) }.to_str().unwrap();
        assert!(v.starts_with("3."), "{v}");
    }
}
