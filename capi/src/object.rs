//! Typed calls and object handles (`pyhost_object`), and the two GIL
//! helpers (`pyhost_with_gil`, `pyhost_allow_threads`).

use std::ffi::{c_char, c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};

use pyhost::{Bound, Py, Python, ToPython};

use crate::error::{
    arg_str, clear_error, guard_python, reset_out, set_error, with_python, write_out, CResult, PyResult,
};
use crate::value::{from_python, pyhost_value, to_python, values, PYHOST_INT};

/// A handle on a Python object (`pyhost_object` in the header): one owned
/// reference, usable and releasable from any thread (pyhost's [`Py`]).
#[allow(non_camel_case_types)] // the C name
#[derive(Debug)]
pub struct pyhost_object {
    pub(crate) obj: Py,
    /// A host function's argument, owned by the call: release is a no-op.
    borrowed: bool,
}

impl pyhost_object {
    pub(crate) fn new(obj: Py, borrowed: bool) -> pyhost_object {
        pyhost_object { obj, borrowed }
    }
}

/// A new handle, as the raw pointer C receives.
fn new_handle(obj: Bound<'_>) -> *mut pyhost_object {
    Box::into_raw(Box::new(pyhost_object::new(obj.unbind(), false)))
}

/// Borrow a handle argument.
///
/// # Safety
/// `p` is NULL or a live handle for `'a`.
unsafe fn handle<'a>(p: *const pyhost_object, name: &str) -> CResult<&'a pyhost_object> {
    if p.is_null() {
        return Err(format!("{name} is NULL"));
    }
    // SAFETY: non-NULL, live per the contract.
    Ok(unsafe { &*p })
}

/// Reset an optional result to `None` (a failing call leaves no stale value).
///
/// # Safety
/// `result` is NULL or writable.
unsafe fn reset_result(result: *mut pyhost_value) {
    if !result.is_null() {
        // SAFETY: non-NULL and writable per the contract.
        unsafe { *result = pyhost_value::NONE };
    }
}

/// `callable(*args)`, the result converted into `result` (if not NULL).
///
/// # Safety
/// The values' pointers are valid (header contract); `result` is NULL or writable.
unsafe fn call_values(
    py: Python<'_>,
    callable: &Bound<'_>,
    args: &[pyhost_value],
    result: *mut pyhost_value,
) -> PyResult<()> {
    let arg = |i: usize| {
        let v = &args[i];
        if v.type_ == PYHOST_INT {
            return v.i.to_python(py);
        }
        // SAFETY: forwarded contract.
        unsafe { to_python(py, v, &|| format!("argument {}", i + 1)) }
    };
    // One or two arguments from the stack (the common case), more from a
    // vector; all through one vectorcall without extra references.
    let r = match args.len() {
        0 => callable.call0()?,
        1 => callable.call1(std::slice::from_ref(&arg(0)?))?,
        2 => callable.call1(&[arg(0)?, arg(1)?][..])?,
        n => {
            let objs = (0..n).map(arg).collect::<pyhost::Result<Vec<_>>>()?;
            callable.call1(objs.as_slice())?
        }
    };
    if !result.is_null() {
        // SAFETY: non-NULL and writable per the contract.
        from_python(&r, unsafe { &mut *result })?;
    }
    Ok(())
}

/// `module.function(*args)` with typed values. See `include/pyhost.h`.
///
/// # Safety
/// `module`/`function` are NULL or NUL-terminated; `args` is NULL or
/// `nargs` valid values; `result` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pyhost_call(
    module: *const c_char,
    function: *const c_char,
    args: *const pyhost_value,
    nargs: usize,
    result: *mut pyhost_value,
) -> c_int {
    guard_python(|| {
        // SAFETY: NULL or writable (contract).
        unsafe { reset_result(result) };
        // SAFETY: NULL or NUL-terminated (contract).
        let module = unsafe { arg_str(module, "module") }?;
        // SAFETY: as above.
        let function = unsafe { arg_str(function, "function") }?;
        // SAFETY: NULL or `nargs` values (contract).
        let args = unsafe { values(args, nargs) }?;
        with_python(|py| {
            let f = py.import(module)?.getattr(function)?;
            // SAFETY: forwarded contract.
            unsafe { call_values(py, &f, args, result) }
        })
    })
}

/// `import module` as a handle. See `include/pyhost.h`.
///
/// # Safety
/// `module` is NULL or NUL-terminated; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pyhost_import(module: *const c_char, out: *mut *mut pyhost_object) -> c_int {
    guard_python(|| {
        // SAFETY: NULL or writable (contract).
        unsafe { reset_out(out, "out") }?;
        // SAFETY: NULL or NUL-terminated (contract).
        let module = unsafe { arg_str(module, "module") }?;
        let h = with_python(|py| Ok(new_handle(py.import(module)?)))?;
        // SAFETY: checked writable above.
        unsafe { *out = h };
        Ok(())
    })
}

/// `getattr(obj, name)` as a handle. See `include/pyhost.h`.
///
/// # Safety
/// `obj` is NULL or a live handle; `name` NULL or NUL-terminated; `out`
/// NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pyhost_getattr(
    obj: *const pyhost_object,
    name: *const c_char,
    out: *mut *mut pyhost_object,
) -> c_int {
    guard_python(|| {
        // SAFETY: NULL or writable (contract).
        unsafe { reset_out(out, "out") }?;
        // SAFETY: NULL or a live handle (contract).
        let obj = unsafe { handle(obj, "obj") }?;
        // SAFETY: NULL or NUL-terminated (contract).
        let name = unsafe { arg_str(name, "name") }?;
        let h = with_python(|py| Ok(new_handle(obj.obj.try_bind(py)?.getattr(name)?)))?;
        // SAFETY: checked writable above.
        unsafe { *out = h };
        Ok(())
    })
}

/// `callable(*args)`. See `include/pyhost.h`.
///
/// # Safety
/// `callable` is NULL or a live handle; `args` NULL or `nargs` valid
/// values; `result` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pyhost_object_call(
    callable: *const pyhost_object,
    args: *const pyhost_value,
    nargs: usize,
    result: *mut pyhost_value,
) -> c_int {
    guard_python(|| {
        // SAFETY: NULL or writable (contract).
        unsafe { reset_result(result) };
        // SAFETY: NULL or a live handle (contract).
        let callable = unsafe { handle(callable, "callable") }?;
        // SAFETY: NULL or `nargs` values (contract).
        let args = unsafe { values(args, nargs) }?;
        with_python(|py| {
            let f = callable.obj.try_bind(py)?;
            // SAFETY: forwarded contract.
            unsafe { call_values(py, f, args, result) }
        })
    })
}

/// `obj.name(*args)`. See `include/pyhost.h`.
///
/// # Safety
/// As for [`pyhost_object_call`]; `name` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn pyhost_object_call_method(
    obj: *const pyhost_object,
    name: *const c_char,
    args: *const pyhost_value,
    nargs: usize,
    result: *mut pyhost_value,
) -> c_int {
    guard_python(|| {
        // SAFETY: NULL or writable (contract).
        unsafe { reset_result(result) };
        // SAFETY: NULL or a live handle (contract).
        let obj = unsafe { handle(obj, "obj") }?;
        // SAFETY: NULL or NUL-terminated (contract).
        let name = unsafe { arg_str(name, "name") }?;
        // SAFETY: NULL or `nargs` values (contract).
        let args = unsafe { values(args, nargs) }?;
        with_python(|py| {
            let method = obj.obj.try_bind(py)?.getattr(name)?;
            // SAFETY: forwarded contract.
            unsafe { call_values(py, &method, args, result) }
        })
    })
}

/// `json.dumps(obj)` (standard JSON). See `include/pyhost.h`.
///
/// # Safety
/// `obj` is NULL or a live handle; `json_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pyhost_object_to_json(obj: *const pyhost_object, json_out: *mut *mut c_char) -> c_int {
    guard_python(|| {
        // SAFETY: NULL or writable (contract).
        unsafe { reset_out(json_out, "json_out") }?;
        // SAFETY: NULL or a live handle (contract).
        let obj = unsafe { handle(obj, "obj") }?;
        let json = with_python(|py| Ok(crate::json::dumps(py, obj.obj.try_bind(py)?)?))?;
        // SAFETY: checked writable above.
        unsafe { write_out(json_out, &json) }
    })
}

/// A second handle on the same object. See `include/pyhost.h`.
///
/// # Safety
/// `obj` is NULL or a live handle; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pyhost_object_clone(obj: *const pyhost_object, out: *mut *mut pyhost_object) -> c_int {
    guard_python(|| {
        // SAFETY: NULL or writable (contract).
        unsafe { reset_out(out, "out") }?;
        // SAFETY: NULL or a live handle (contract).
        let obj = unsafe { handle(obj, "obj") }?;
        let h = with_python(|py| Ok(new_handle(obj.obj.try_bind(py)?.clone())))?;
        // SAFETY: checked writable above.
        unsafe { *out = h };
        Ok(())
    })
}

/// Release a handle, from any thread. See `include/pyhost.h`.
///
/// # Safety
/// `obj` is NULL or a live handle, not used afterwards (a borrowed argument
/// handle is left alone).
#[no_mangle]
pub unsafe extern "C" fn pyhost_object_release(obj: *mut pyhost_object) {
    if obj.is_null() {
        return;
    }
    // SAFETY: a live handle (contract).
    if unsafe { (*obj).borrowed } {
        return;
    }
    // SAFETY: made by Box::into_raw in this crate, released once (contract).
    let handle = unsafe { Box::from_raw(obj) };
    // Without the GIL, Py's drop queues the decrement for the next thread
    // that takes it; it never blocks. Never let a panic reach C.
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(handle))) {
        set_error(&crate::error::panic_message(payload.as_ref()));
    }
}

/// A C callback's data pointer, sent into `allow_threads`' closure (which
/// runs on this same thread).
struct SendPtr(*mut c_void);
// SAFETY: the pointer is only handed back to C code on the calling thread.
unsafe impl Send for SendPtr {}

/// Run `fn(data)` holding the GIL. See `include/pyhost.h`.
///
/// # Safety
/// `f` is NULL or a function that may be called with `data`.
#[no_mangle]
pub unsafe extern "C" fn pyhost_with_gil(
    f: Option<unsafe extern "C" fn(*mut c_void) -> c_int>,
    data: *mut c_void,
) -> c_int {
    clear_error();
    let Some(f) = f else {
        set_error("fn is NULL");
        return -1;
    };
    let run = || -> CResult<c_int> {
        crate::error::keep_thread_state()?;
        // SAFETY: the caller's function and data (contract).
        pyhost::try_with_gil(|_py| unsafe { f(data) }).map_err(crate::error::err_text)
    };
    match catch_unwind(AssertUnwindSafe(run)) {
        Ok(Ok(rc)) => rc,
        Ok(Err(msg)) => {
            set_error(&msg);
            -1
        }
        Err(payload) => {
            set_error(&crate::error::panic_message(payload.as_ref()));
            -1
        }
    }
}

/// Run `fn(data)` with the GIL released if this thread holds it through
/// pyhost. See `include/pyhost.h`.
///
/// # Safety
/// `f` is NULL or a function that may be called with `data`.
#[no_mangle]
pub unsafe extern "C" fn pyhost_allow_threads(
    f: Option<unsafe extern "C" fn(*mut c_void)>,
    data: *mut c_void,
) -> c_int {
    clear_error();
    let Some(f) = f else {
        set_error("fn is NULL");
        return -1;
    };
    let data = SendPtr(data);
    let run = move || {
        if pyhost::gil::gil_is_held() {
            pyhost::with_gil(|py| {
                py.allow_threads(move || {
                    let data = data;
                    // SAFETY: the caller's function and data (contract).
                    unsafe { f(data.0) }
                })
            })
        } else {
            // SAFETY: as above.
            unsafe { f(data.0) }
        }
    };
    match catch_unwind(AssertUnwindSafe(run)) {
        Ok(()) => 0,
        Err(payload) => {
            set_error(&crate::error::panic_message(payload.as_ref()));
            -1
        }
    }
}
