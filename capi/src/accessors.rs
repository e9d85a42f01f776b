//! What a C host function calls on its context while it runs
//! (`pyhost_arg`, `pyhost_arg_type`, `pyhost_args_check`, `pyhost_return`,
//! `pyhost_raise`, the counts): each turns the `pyhost_ctx *` back into the
//! call in progress (`Ctx`); errors become the call's pending exception.

use std::ffi::{c_char, c_int, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use pyhost::{Bound, Error, ExcKind, FastSequence, PyException, Python};

use crate::ctx::{fetch, pyhost_ctx, read_arg, Ctx, PYHOST_OPTIONAL};
use crate::value::{
    pyhost_value, to_python, PYHOST_BOOL, PYHOST_BYTES, PYHOST_FLOAT, PYHOST_INT, PYHOST_NONE, PYHOST_OBJECT,
    PYHOST_STR, PYHOST_STR_LIST,
};

/// Run an accessor on a live context: a NULL context is an error of the
/// calling thread (there is no call to raise in); an error or panic becomes
/// the context's pending exception.
///
/// # Safety
/// `ctx` is NULL or the context of a host-function call in progress on this thread.
unsafe fn with_ctx(ctx: *mut pyhost_ctx, f: impl FnOnce(&mut Ctx<'_, '_>) -> pyhost::Result<c_int>) -> c_int {
    if ctx.is_null() {
        crate::error::set_error("ctx is NULL");
        return -1;
    }
    // SAFETY: a live Ctx made by FnInfo::call (the pointer C was given);
    // its lifetimes are the call's, which outlive this accessor.
    let ctx = unsafe { &mut *(ctx as *mut Ctx<'static, 'static>) };
    match catch_unwind(AssertUnwindSafe(|| f(ctx))) {
        Ok(Ok(rc)) => rc,
        Ok(Err(e)) => {
            ctx.pending = Some(e);
            -1
        }
        Err(payload) => {
            ctx.pending = Some(Error::runtime_error(crate::error::panic_message(payload.as_ref())));
            -1
        }
    }
}

/// A C string argument of an accessor (a programming error if bad: `SystemError`).
///
/// # Safety
/// `p` is NULL or NUL-terminated, alive for `'a`.
unsafe fn c_name<'a>(p: *const c_char, what: &str) -> pyhost::Result<&'a str> {
    if p.is_null() {
        return Err(Error::new(ExcKind::SystemError, format!("{what} is NULL")));
    }
    // SAFETY: non-NULL and NUL-terminated (contract).
    unsafe { CStr::from_ptr(p) }
        .to_str()
        .map_err(|e| Error::new(ExcKind::SystemError, format!("{what} is not valid UTF-8: {e}")))
}

fn keyword_index(index: usize) -> Option<usize> {
    (index != usize::MAX).then_some(index)
}

/// Number of positional arguments. See `include/pyhost.h`.
///
/// # Safety
/// `ctx` is NULL or a call's live context.
#[no_mangle]
pub unsafe extern "C" fn pyhost_arg_count(ctx: *const pyhost_ctx) -> usize {
    if ctx.is_null() {
        return 0;
    }
    // SAFETY: a live Ctx (contract).
    unsafe { (*(ctx as *const Ctx<'static, 'static>)).args.len() }
}

/// Number of keyword arguments. See `include/pyhost.h`.
///
/// # Safety
/// `ctx` is NULL or a call's live context.
#[no_mangle]
pub unsafe extern "C" fn pyhost_kwarg_count(ctx: *const pyhost_ctx) -> usize {
    if ctx.is_null() {
        return 0;
    }
    // SAFETY: a live Ctx (contract).
    unsafe { (*(ctx as *const Ctx<'static, 'static>)).args.keyword_len() }
}

/// Read one argument. See `include/pyhost.h`.
///
/// # Safety
/// `ctx` is NULL or a call's live context; `name` NULL or NUL-terminated;
/// `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pyhost_arg(
    ctx: *mut pyhost_ctx,
    index: usize,
    name: *const c_char,
    type_: i32,
    flags: i32,
    out: *mut pyhost_value,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_ctx(ctx, |ctx| {
            if out.is_null() {
                return Err(Error::new(ExcKind::SystemError, "pyhost_arg: out is NULL"));
            }
            // SAFETY: non-NULL and writable (contract).
            let out = &mut *out;
            *out = pyhost_value::NONE;
            // SAFETY: NULL or NUL-terminated (contract).
            let name = c_name(name, "pyhost_arg: name")?;
            if flags & !PYHOST_OPTIONAL != 0 {
                return Err(Error::new(
                    ExcKind::SystemError,
                    format!("pyhost_arg: unknown flags {flags}"),
                ));
            }
            let optional = flags & PYHOST_OPTIONAL != 0;
            read_arg(ctx, keyword_index(index), name, type_, optional, out, None)?;
            Ok(0)
        })
    }
}

/// The type of an argument as given. See `include/pyhost.h`.
///
/// # Safety
/// `ctx` is NULL or a call's live context; `name` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn pyhost_arg_type(ctx: *mut pyhost_ctx, index: usize, name: *const c_char) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_ctx(ctx, |ctx| {
            // SAFETY: NULL or NUL-terminated (contract).
            let name = c_name(name, "pyhost_arg_type: name")?;
            let obj = fetch::<&Bound<'_>>(ctx.args, keyword_index(index), name, true)?;
            Ok(obj.map_or(PYHOST_NONE, type_of))
        })
    }
}

/// The `pyhost_type` an object would convert to without loss.
fn type_of(obj: &Bound<'_>) -> c_int {
    if obj.is_bool() {
        PYHOST_BOOL
    } else if obj.is_int() {
        if obj.extract::<i64>().is_ok() {
            PYHOST_INT
        } else {
            PYHOST_OBJECT
        }
    } else if obj.is_float() {
        PYHOST_FLOAT
    } else if obj.is_str() {
        PYHOST_STR
    } else if obj.is_bytes() {
        PYHOST_BYTES
    } else if FastSequence::new(obj).is_some_and(|s| s.iter().all(|i| i.is_str())) {
        PYHOST_STR_LIST
    } else {
        PYHOST_OBJECT
    }
}

/// Check the call against a signature. See `include/pyhost.h`.
///
/// # Safety
/// `ctx` is NULL or a call's live context; `names` NULL or `nnames`
/// NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn pyhost_args_check(
    ctx: *mut pyhost_ctx,
    names: *const *const c_char,
    nnames: usize,
    max_positional: usize,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_ctx(ctx, |ctx| {
            if names.is_null() && nnames != 0 {
                return Err(Error::new(ExcKind::SystemError, "pyhost_args_check: names is NULL"));
            }
            let mut list = Vec::with_capacity(nnames);
            for i in 0..nnames {
                // SAFETY: `nnames` readable entries (contract), each NULL or NUL-terminated.
                list.push(c_name(*names.add(i), "pyhost_args_check: a name")?);
            }
            ctx.args.check(&list, max_positional)?;
            Ok(0)
        })
    }
}

/// Set the call's return value now (copied at once). See `include/pyhost.h`.
///
/// # Safety
/// `ctx` is NULL or a call's live context; `value` NULL or a valid value.
#[no_mangle]
pub unsafe extern "C" fn pyhost_return(ctx: *mut pyhost_ctx, value: *const pyhost_value) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_ctx(ctx, |ctx| {
            if value.is_null() {
                return Err(Error::new(ExcKind::SystemError, "pyhost_return: value is NULL"));
            }
            let name = &ctx.info.name;
            // SAFETY: a valid value (contract).
            let obj = to_python(ctx.py, &*value, &|| format!("the result of {name}()"))?;
            ctx.returned = Some(obj);
            Ok(0)
        })
    }
}

/// Raise an exception from a host function. See `include/pyhost.h`.
///
/// # Safety
/// `ctx` is NULL or a call's live context; `type_` and `message` NULL or
/// NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn pyhost_raise(ctx: *mut pyhost_ctx, type_: *const c_char, message: *const c_char) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_ctx(ctx, |ctx| {
            let message = if message.is_null() {
                String::new()
            } else {
                // SAFETY: non-NULL and NUL-terminated (contract).
                CStr::from_ptr(message).to_string_lossy().into_owned()
            };
            let type_name = if type_.is_null() {
                "RuntimeError".to_string()
            } else {
                // SAFETY: as above.
                CStr::from_ptr(type_).to_string_lossy().into_owned()
            };
            Err(exception(ctx, &type_name, message))
        })
    }
}

/// The exception `type_name(message)`: one of the module's, or a built-in.
fn exception(ctx: &Ctx<'_, '_>, type_name: &str, message: String) -> Error {
    if let Some(e) = ctx.info.exceptions.iter().find(|e| e.name() == type_name) {
        return e.err(ctx.py, message);
    }
    if let Some(kind) = ExcKind::from_name(type_name) {
        return Error::new(kind, message);
    }
    match builtin_exception(ctx.py, type_name, &message) {
        Ok(Some(e)) => e,
        Ok(None) => Error::new(
            ExcKind::SystemError,
            format!("pyhost_raise: unknown exception type '{type_name}' (message: {message})"),
        ),
        Err(e) => e,
    }
}

/// `builtins.<name>(message)` if that is an exception class.
fn builtin_exception(py: Python<'_>, name: &str, message: &str) -> pyhost::Result<Option<Error>> {
    let builtins = py.builtins()?;
    let Some(ty) = builtins.getattr_opt(name)? else {
        return Ok(None);
    };
    if !ty.is_type() {
        return Ok(None);
    }
    let base = builtins.getattr("BaseException")?;
    if !builtins.getattr("issubclass")?.call1((&ty, base))?.extract::<bool>()? {
        return Ok(None);
    }
    let instance = ty.call1((message,))?;
    Ok(Some(Error::Python(PyException::from_value(instance))))
}
