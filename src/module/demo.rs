//! `pyhost_demo`: the Rust half of a fixed host module.
//!
//! The module's definition and its static `METH_FASTCALL | METH_KEYWORDS`
//! method table are in `csrc/demo_module.c`; each entry points at one of the
//! `#[no_mangle] extern "C"` functions below, each a call to
//! [`fastcall`]. Register it before start-up:
//!
//! ```no_run
//! let interp = pyhost::Interpreter::builder()
//!     .add_init_func("pyhost_demo", pyhost::module::demo::INIT)
//!     .init()?;
//! # Ok::<(), pyhost::Error>(())
//! ```
//!
//! | function | does |
//! |---|---|
//! | `noop()` | nothing (the benchmark's no-op) |
//! | `gauge(name, value, tags=None, hostname=None)` | copies name, tags and host into host-owned `String`s, then drops them (the benchmark's realistic call) |
//! | `add(a, b)` | `a + b` for 64-bit ints |
//! | `fail(kind, message='failed')` | raises `ValueError`, `OverflowError`, `RuntimeError`, `pyhost_demo.DemoError` (from module state) or panics |
//!
//! Constants: `GAUGE = 0`, `RATE = 1`, `COUNT = 2`.

use std::hint::black_box;

use super::fastcall;
use crate::err::{Error, PyException};
use crate::ffi;
use crate::interpreter::InitFunc;
use crate::object::Bound;
use crate::ToPython;

/// The module's init function (`PyModuleDef_Init` of the static definition
/// in `csrc/demo_module.c`), for
/// [`Builder::add_init_func`](crate::Builder::add_init_func).
pub const INIT: InitFunc = ffi::pyhost_module_demo_init;

/// A gauge as a host would keep it: every string copied out of Python.
#[allow(dead_code)] // only handed to black_box: the copies are the point
struct Gauge {
    name: String,
    value: f64,
    tags: Vec<String>,
    hostname: Option<String>,
}

/// `pyhost_demo.noop()`.
///
/// # Safety
/// Called by CPython through the `METH_FASTCALL | METH_KEYWORDS` table.
#[no_mangle]
pub unsafe extern "C" fn pyhost_rs_demo_noop(
    _slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: forwarded unchanged from CPython's fastcall entry.
    unsafe {
        fastcall("noop", args, nargs, kwnames, |py, args| {
            args.no_args()?;
            Ok(py.None())
        })
    }
}

/// `pyhost_demo.gauge(name, value, tags=None, hostname=None)`.
///
/// # Safety
/// Called by CPython through the `METH_FASTCALL | METH_KEYWORDS` table.
#[no_mangle]
pub unsafe extern "C" fn pyhost_rs_demo_gauge(
    _slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: forwarded unchanged from CPython's fastcall entry.
    unsafe {
        fastcall("gauge", args, nargs, kwnames, |py, args| {
            args.check(&["name", "value", "tags", "hostname"], 4)?;
            let gauge = Gauge {
                name: args.get(0, "name")?,
                value: args.get(1, "value")?,
                tags: args.get_or(2, "tags", Vec::new())?,
                hostname: args.get_opt(3, "hostname")?,
            };
            // The host would hand this on; the benchmark only needs the copies.
            drop(black_box(gauge));
            Ok(py.None())
        })
    }
}

/// `pyhost_demo.add(a, b)`.
///
/// # Safety
/// Called by CPython through the `METH_FASTCALL | METH_KEYWORDS` table.
#[no_mangle]
pub unsafe extern "C" fn pyhost_rs_demo_add(
    _slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: forwarded unchanged from CPython's fastcall entry.
    unsafe {
        fastcall("add", args, nargs, kwnames, |py, args| {
            args.check(&["a", "b"], 2)?;
            let a: i64 = args.get(0, "a")?;
            let b: i64 = args.get(1, "b")?;
            a.checked_add(b).ok_or_else(|| Error::overflow_error("add() result does not fit in 64 bits"))?.to_python(py)
        })
    }
}

/// `pyhost_demo.fail(kind, message='failed')`. `slf` is the module (static
/// tables pass it), whose state holds `DemoError`.
///
/// # Safety
/// Called by CPython through the `METH_FASTCALL | METH_KEYWORDS` table.
#[no_mangle]
pub unsafe extern "C" fn pyhost_rs_demo_fail(
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: forwarded unchanged from CPython's fastcall entry.
    unsafe {
        fastcall("fail", args, nargs, kwnames, |py, args| {
            args.check(&["kind", "message"], 2)?;
            let kind: &str = args.get(0, "kind")?;
            let message: &str = args.get_or(1, "message", "failed")?;
            Err(match kind {
                "value" => Error::value_error(message),
                "overflow" => Error::overflow_error(message),
                "runtime" => Error::runtime_error(message),
                "demo" => {
                    // SAFETY: GIL held; slf is the pyhost_demo module; the
                    // result is borrowed from its state (or NULL + error).
                    let ty = ffi::pyhost_module_demo_error(slf);
                    if ty.is_null() {
                        return Err(Error::fetch(py));
                    }
                    // SAFETY: non-NULL borrowed type object, alive with the module.
                    let ty = Bound::ref_from_ptr(py, &ty);
                    Error::Python(PyException::from_value(ty.call1((message,))?))
                }
                "panic" => panic!("{message}"),
                other => Error::value_error(format!(
                    "fail() argument 1 must be 'value', 'overflow', 'runtime', 'demo' or 'panic', not {other:?}"
                )),
            })
        })
    }
}
