//! `pyhost_demo`: the Rust half of a fixed host module.
//!
//! The module's definition and its static `METH_FASTCALL | METH_KEYWORDS`
//! method table are in `csrc/demo_module.c`; each entry points at one of the
//! `#[no_mangle] extern "C"` functions below, each defined with
//! [`host_function!`](crate::host_function). Register it before start-up:
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

crate::host_function!(
    /// `pyhost_demo.noop()`.
    pyhost_rs_demo_noop,
    "noop",
    |py, args| {
        args.no_args()?;
        Ok(py.None())
    }
);

crate::host_function!(
    /// `pyhost_demo.gauge(name, value, tags=None, hostname=None)`.
    pyhost_rs_demo_gauge,
    "gauge",
    |py, args| {
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
    }
);

crate::host_function!(
    /// `pyhost_demo.add(a, b)`.
    pyhost_rs_demo_add,
    "add",
    |py, args| {
        args.check(&["a", "b"], 2)?;
        let a: i64 = args.get(0, "a")?;
        let b: i64 = args.get(1, "b")?;
        a.checked_add(b).ok_or_else(|| Error::overflow_error("add() result does not fit in 64 bits"))?.to_python(py)
    }
);

crate::host_function!(
    /// `pyhost_demo.fail(kind, message='failed')`. `self` is the module (static
    /// tables pass it), whose state holds `DemoError`.
    pyhost_rs_demo_fail,
    "fail",
    |py, args| {
        args.check(&["kind", "message"], 2)?;
        let kind: &str = args.get(0, "kind")?;
        let message: &str = args.get_or(1, "message", "failed")?;
        Err(match kind {
            "value" => Error::value_error(message),
            "overflow" => Error::overflow_error(message),
            "runtime" => Error::runtime_error(message),
            "demo" => {
                let slf = args.self_obj().map_or(std::ptr::null_mut(), |m| m.as_ptr());
                // SAFETY: GIL held; the C getter checks that `slf` is a
                // pyhost_demo module (NULL + SystemError otherwise); the
                // result is borrowed from its state.
                let ty = unsafe { ffi::pyhost_module_demo_error(slf) };
                if ty.is_null() {
                    return Err(Error::fetch(py));
                }
                // SAFETY: non-NULL borrowed type object, alive with the module.
                let ty = unsafe { Bound::ref_from_ptr(py, &ty) };
                Error::Python(PyException::from_value(ty.call1((message,))?))
            }
            "panic" => panic!("{message}"),
            other => Error::value_error(format!(
                "fail() argument 1 must be 'value', 'overflow', 'runtime', 'demo' or 'panic', not {other:?}"
            )),
        })
    }
);
