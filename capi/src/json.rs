//! Code run and values passed as JSON text: `pyhost_run`,
//! `pyhost_eval_json`, `pyhost_call_json` (and the pools' JSON calls).
//!
//! The JSON is standard (RFC 8259) both ways: Python's `json` module writes
//! `NaN`/`Infinity` and reads them back by default, which no other JSON
//! parser accepts; here they are errors, with a message that says so.
//! Python's own `json` module does the work (through an encoder and decoder
//! configured once per process).

use std::ffi::{c_char, c_int};
use std::sync::OnceLock;

use pyhost::{Bound, Error, Py, Python};

use crate::error::{arg_str, guard_python, opt_str, preview, reset_out, with_python, write_out};

/// Helpers defined once in a module namespace of their own.
const JSON_HELPERS: &str = r#"
import json

def _reject_constant(name):
    raise ValueError(
        f"args_json is not standard JSON: {name} is not allowed "
        "(NaN and Infinity have no JSON representation)"
    )

_decoder = json.JSONDecoder(parse_constant=_reject_constant)
_encoder = json.JSONEncoder(allow_nan=False)

def loads(text):
    return _decoder.decode(text)

def dumps(value):
    try:
        return _encoder.encode(value)
    except ValueError as e:
        if not str(e).startswith("Out of range float values are not JSON compliant"):
            raise
        raise ValueError(
            "result is not standard JSON: it holds a NaN or infinite float, "
            "which JSON cannot represent (use the typed API for such values)"
        ) from None
"#;

/// The helpers' namespace (a dict), made on first use.
fn helpers(py: Python<'_>) -> pyhost::Result<&'static Py> {
    static HELPERS: OnceLock<Py> = OnceLock::new();
    if let Some(h) = HELPERS.get() {
        return Ok(h);
    }
    let globals = py.new_globals()?;
    let code = py.compile(JSON_HELPERS, "<pyhost-capi json>", pyhost::Mode::Exec)?;
    py.builtins()?.getattr("exec")?.call1((code, &globals))?;
    // Another thread may have won the race; either namespace works.
    Ok(HELPERS.get_or_init(|| globals.into_any().unbind()))
}

/// `json.dumps(value)`, standard JSON only.
pub(crate) fn dumps(py: Python<'_>, value: &Bound<'_>) -> pyhost::Result<String> {
    let f = helpers(py)?.bind(py).get_item("dumps")?;
    f.call1((value,))?.extract()
}

fn loads<'py>(py: Python<'py>, text: &str) -> pyhost::Result<Bound<'py>> {
    helpers(py)?.bind(py).get_item("loads")?.call1((text,))
}

fn main_dict(py: Python<'_>) -> pyhost::Result<Bound<'_>> {
    py.import("__main__")?.getattr("__dict__")
}

/// `dumps(module.function(*loads(args_json)))`.
pub(crate) fn call_json_py(
    py: Python<'_>,
    module: &str,
    function: &str,
    args_json: Option<&str>,
) -> pyhost::Result<String> {
    let func = py.import(module)?.getattr(function)?;
    let value = match args_json {
        None => func.call0()?,
        Some(text) => {
            let parsed = loads(py, text)?;
            if parsed.downcast_list().is_err() {
                // Quote the start only: the text may be huge.
                return Err(Error::type_error(format!(
                    "args_json must be a JSON array, got: {}",
                    preview(text, 80)
                )));
            }
            let args = py.builtins()?.getattr("tuple")?.call1((parsed,))?;
            func.call1(args.downcast_tuple()?)?
        }
    };
    dumps(py, &value)
}

/// Execute statements in `__main__`'s namespace. See `include/pyhost.h`.
///
/// # Safety
/// `code` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn pyhost_run(code: *const c_char) -> c_int {
    guard_python(|| {
        // SAFETY: the caller guarantees NUL termination (NULL is checked).
        let code = unsafe { arg_str(code, "code") }?;
        with_python(|py| {
            let globals = main_dict(py)?;
            let compiled = py.compile(code, "<string>", pyhost::Mode::Exec)?;
            py.builtins()?.getattr("exec")?.call1((compiled, globals))?;
            Ok(())
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
    guard_python(|| {
        // SAFETY: the caller passes NULL or a writable pointer.
        unsafe { reset_out(json_out, "json_out") }?;
        // SAFETY: the caller guarantees NUL termination (NULL is checked).
        let expr = unsafe { arg_str(expr, "expr") }?;
        let json = with_python(|py| {
            let globals = main_dict(py)?;
            let compiled = py.compile(expr, "<string>", pyhost::Mode::Eval)?;
            let value = py.builtins()?.getattr("eval")?.call1((compiled, globals))?;
            Ok(dumps(py, &value)?)
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
    guard_python(|| {
        // SAFETY: the caller passes NULL or a writable pointer.
        unsafe { reset_out(json_out, "json_out") }?;
        // SAFETY: the caller guarantees NUL termination (NULL is checked).
        let module = unsafe { arg_str(module, "module") }?;
        // SAFETY: as above.
        let function = unsafe { arg_str(function, "function") }?;
        // SAFETY: as above; NULL means no arguments.
        let args_json = unsafe { opt_str(args_json, "args_json") }?;
        let json = with_python(|py| Ok(call_json_py(py, module, function, args_json)?))?;
        // SAFETY: json_out checked above.
        unsafe { write_out(json_out, &json) }
    })
}
