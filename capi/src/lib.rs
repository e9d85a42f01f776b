//! # pyhost-capi: the C ABI of pyhost
//!
//! The functions declared in `include/pyhost.h`: one interpreter per
//! process, started with [`pyhost_init`]; code run, expressions evaluated and
//! functions called with JSON in and out. Every function takes the GIL
//! itself, so any C thread may call any of them. Errors return `-1` and leave
//! a message readable through [`pyhost_last_error`] on the calling thread;
//! Rust panics are caught and reported the same way, never unwinding into C.

#![warn(missing_docs)]

use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::OnceLock;
use std::time::Duration;

use pyhost::{Bound, Error, Interpreter, JobError, JobOptions, Python, WorkerPool};

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

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

type CResult<T> = Result<T, String>;

fn set_error(msg: &str) {
    // Interior NULs (rare in messages) would truncate; replace them.
    let c = CString::new(msg.replace('\0', "\\0")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = c);
}

fn clear_error() {
    LAST_ERROR.with(|e| *e.borrow_mut() = CString::default());
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    format!("panic in pyhost: {}", pyhost::panic_message(payload))
}

/// Run `f` for a C entry point: clear the thread's error, catch panics,
/// map `Err` (and panics) to `-1` with the message stored.
fn guard<F>(f: F) -> c_int
where
    F: FnOnce() -> CResult<()>,
{
    clear_error();
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => 0,
        Ok(Err(msg)) => {
            set_error(&msg);
            -1
        }
        Err(payload) => {
            set_error(&panic_message(payload.as_ref()));
            -1
        }
    }
}

fn err_text(e: Error) -> String {
    // A Python exception's Display is its full `traceback.format_exception`
    // text (ending in "Type: message"), or "Type: message" without one.
    e.to_string()
}

/// Borrow a C string argument as UTF-8.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that lives for `'a`.
unsafe fn arg_str<'a>(p: *const c_char, name: &str) -> CResult<&'a str> {
    if p.is_null() {
        return Err(format!("{name} is NULL"));
    }
    // SAFETY: non-NULL, and the caller guarantees NUL termination and lifetime.
    let c = unsafe { CStr::from_ptr(p) };
    c.to_str().map_err(|e| format!("{name} is not valid UTF-8: {e}"))
}

/// Like [`arg_str`] but NULL is `None`.
///
/// # Safety
/// As for [`arg_str`].
unsafe fn opt_str<'a>(p: *const c_char, name: &str) -> CResult<Option<&'a str>> {
    if p.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded caller contract.
        unsafe { arg_str(p, name) }.map(Some)
    }
}

/// Copy `s` into a malloc'd NUL-terminated buffer (freed with `pyhost_free`).
fn malloc_string(s: &str) -> CResult<*mut c_char> {
    if s.as_bytes().contains(&0) {
        return Err("result contains a NUL byte".to_string());
    }
    // SAFETY: malloc of len + 1 bytes; a NULL return is checked.
    let p = unsafe { libc::malloc(s.len() + 1) } as *mut c_char;
    if p.is_null() {
        return Err("out of memory".to_string());
    }
    // SAFETY: p has room for len + 1 bytes and does not overlap s.
    unsafe {
        ptr::copy_nonoverlapping(s.as_ptr() as *const c_char, p, s.len());
        *p.add(s.len()) = 0;
    }
    Ok(p)
}

/// Take the GIL (failing if the interpreter is not running) and run `f`.
fn with_python<T>(f: impl for<'py> FnOnce(Python<'py>) -> pyhost::Result<T>) -> CResult<T> {
    pyhost::try_with_gil(f).and_then(|r| r).map_err(err_text)
}

fn main_dict(py: Python<'_>) -> pyhost::Result<Bound<'_>> {
    py.import("__main__")?.getattr("__dict__")
}

fn to_json(py: Python<'_>, value: &Bound<'_>) -> pyhost::Result<String> {
    py.import("json")?.getattr("dumps")?.call1((value,))?.extract()
}

/// `json.dumps(module.function(*json.loads(args_json)))`.
fn call_json_py(py: Python<'_>, module: &str, function: &str, args_json: Option<&str>) -> pyhost::Result<String> {
    let func = py.import(module)?.getattr(function)?;
    let value = match args_json {
        None => func.call0()?,
        Some(text) => {
            let parsed = py.import("json")?.getattr("loads")?.call1((text,))?;
            if parsed.downcast_list().is_err() {
                return Err(Error::type_error(format!(
                    "args_json must be a JSON array, got: {text}"
                )));
            }
            let args = py.builtins()?.getattr("tuple")?.call1((parsed,))?;
            func.call1(args.downcast_tuple()?)?
        }
    };
    to_json(py, &value)
}

/// Check an out-parameter and set it to NULL, so a failing call leaves no
/// stale pointer behind.
///
/// # Safety
/// `out` is NULL or valid for writes.
unsafe fn reset_out<T>(out: *mut *mut T, name: &str) -> Result<(), String> {
    if out.is_null() {
        return Err(format!("{name} is NULL"));
    }
    // SAFETY: non-NULL and writable per the contract.
    unsafe { *out = ptr::null_mut() };
    Ok(())
}

/// Write `s` through `out` (checked non-NULL by the caller).
///
/// # Safety
/// `out` is a valid, writable `char **`.
unsafe fn write_out(out: *mut *mut c_char, s: &str) -> CResult<()> {
    let p = malloc_string(s)?;
    // SAFETY: the caller guarantees out is writable.
    unsafe { *out = p };
    Ok(())
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
        builder.init().map(drop).map_err(err_text)
    })
}

/// 1 if the interpreter is running, else 0. See `include/pyhost.h`.
#[no_mangle]
pub extern "C" fn pyhost_is_initialized() -> c_int {
    catch_unwind(|| c_int::from(Interpreter::get().is_some())).unwrap_or(0)
}

/// Execute statements in `__main__`'s namespace. See `include/pyhost.h`.
///
/// # Safety
/// `code` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn pyhost_run(code: *const c_char) -> c_int {
    guard(|| {
        // SAFETY: the caller guarantees NUL termination (NULL is checked).
        let code = unsafe { arg_str(code, "code") }?;
        with_python(|py| {
            let globals = main_dict(py)?;
            let compiled = py.compile(code, "<string>", pyhost::Mode::Exec)?;
            py.builtins()?.getattr("exec")?.call1((compiled, globals)).map(drop)
        })
    })
}

/// Evaluate an expression in `__main__`'s namespace; JSON of the result.
/// See `include/pyhost.h`.
///
/// # Safety
/// `expr` is NULL or a NUL-terminated string; `json_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pyhost_eval_json(expr: *const c_char, json_out: *mut *mut c_char) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a writable pointer.
        unsafe { reset_out(json_out, "json_out") }?;
        // SAFETY: the caller guarantees NUL termination (NULL is checked).
        let expr = unsafe { arg_str(expr, "expr") }?;
        let json = with_python(|py| {
            let globals = main_dict(py)?;
            let compiled = py.compile(expr, "<string>", pyhost::Mode::Eval)?;
            let value = py.builtins()?.getattr("eval")?.call1((compiled, globals))?;
            to_json(py, &value)
        })?;
        // SAFETY: json_out checked above.
        unsafe { write_out(json_out, &json) }
    })
}

/// Call `module.function(*args)`; JSON of the result. See `include/pyhost.h`.
///
/// # Safety
/// `module`, `function` are NULL or NUL-terminated; `args_json` is NULL or
/// NUL-terminated; `json_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pyhost_call_json(
    module: *const c_char,
    function: *const c_char,
    args_json: *const c_char,
    json_out: *mut *mut c_char,
) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a writable pointer.
        unsafe { reset_out(json_out, "json_out") }?;
        // SAFETY: the caller guarantees NUL termination (NULL is checked).
        let module = unsafe { arg_str(module, "module") }?;
        // SAFETY: as above.
        let function = unsafe { arg_str(function, "function") }?;
        // SAFETY: as above; NULL means no arguments.
        let args_json = unsafe { opt_str(args_json, "args_json") }?;
        let json = with_python(|py| call_json_py(py, module, function, args_json))?;
        // SAFETY: json_out checked above.
        unsafe { write_out(json_out, &json) }
    })
}

/// A worker pool (`pyhost_pool` in the header): threads that each own one
/// Python thread state for life.
#[allow(non_camel_case_types)] // the C name
#[derive(Debug)]
pub struct pyhost_pool {
    pool: WorkerPool,
}

/// Start a pool of `workers` threads. See `include/pyhost.h`.
///
/// # Safety
/// `pool_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pyhost_pool_new(workers: usize, pool_out: *mut *mut pyhost_pool) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a writable pointer.
        unsafe { reset_out(pool_out, "pool_out") }?;
        if workers == 0 {
            return Err("workers must be at least 1".to_string());
        }
        let pool = WorkerPool::new(workers).map_err(err_text)?;
        let raw = Box::into_raw(Box::new(pyhost_pool { pool }));
        // SAFETY: checked non-NULL above.
        unsafe { *pool_out = raw };
        Ok(())
    })
}

/// [`pyhost_call_json`] on one of the pool's workers, waiting for the
/// result. See `include/pyhost.h`.
///
/// # Safety
/// `pool` is NULL or a live pool from [`pyhost_pool_new`]; the strings are
/// NULL or NUL-terminated; `json_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pyhost_pool_call_json(
    pool: *const pyhost_pool,
    module: *const c_char,
    function: *const c_char,
    args_json: *const c_char,
    timeout_seconds: f64,
    json_out: *mut *mut c_char,
) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a writable pointer.
        unsafe { reset_out(json_out, "json_out") }?;
        if pool.is_null() {
            return Err("pool is NULL".to_string());
        }
        // SAFETY: non-NULL; the caller guarantees it is a live pool.
        let pool = unsafe { &(*pool).pool };
        // SAFETY: the caller guarantees NUL termination (NULL is checked).
        let module = unsafe { arg_str(module, "module") }?.to_string();
        // SAFETY: as above.
        let function = unsafe { arg_str(function, "function") }?.to_string();
        // SAFETY: as above; NULL means no arguments.
        let args_json = unsafe { opt_str(args_json, "args_json") }?.map(str::to_string);
        let mut opts = JobOptions::new();
        if timeout_seconds > 0.0 {
            let timeout =
                Duration::try_from_secs_f64(timeout_seconds).map_err(|e| format!("invalid timeout_seconds: {e}"))?;
            opts = opts.timeout(timeout);
        }
        let job = move |py: Python<'_>| call_json_py(py, &module, &function, args_json.as_deref());
        let json = pool
            .submit_with(opts, job)
            .and_then(|h| h.wait())
            .map_err(|e| match e {
                JobError::Python(e) => err_text(e),
                other => other.to_string(),
            })?;
        // SAFETY: json_out checked above.
        unsafe { write_out(json_out, &json) }
    })
}

/// Shut a pool down (queued jobs still run) and free it. See `include/pyhost.h`.
///
/// # Safety
/// `pool` is NULL or a live pool from [`pyhost_pool_new`], not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn pyhost_pool_free(pool: *mut pyhost_pool) {
    if pool.is_null() {
        return;
    }
    // SAFETY: the pool was made by Box::into_raw in pyhost_pool_new and is
    // freed once (caller contract).
    let pool = unsafe { Box::from_raw(pool) };
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(pool))) {
        set_error(&panic_message(payload.as_ref()));
    }
}

/// The calling thread's last error message. See `include/pyhost.h`.
#[no_mangle]
pub extern "C" fn pyhost_last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
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
