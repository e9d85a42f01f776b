//! Static `PyMethodDef` tables written in Rust, for hosts with no C compiler
//! in their own build: [`method_table!`](crate::method_table) declares the
//! table (each entry a `METH_FASTCALL | METH_KEYWORDS` function whose body is
//! Rust), and [`HostModule::methods`](super::HostModule::methods) puts its
//! functions in a module. A call costs what a call through a C table costs:
//! CPython calls the entry directly with the module as `self`, and the body
//! reads its arguments in place with [`Args`](super::Args).
//!
//! ```no_run
//! use pyhost::module::HostModule;
//! use pyhost::ToPython;
//!
//! pyhost::method_table! {
//!     /// `metrics.gauge(name, value)` and `metrics.noop()`.
//!     static METRICS = [
//!         ("noop", "noop()\n--\n\nDo nothing.", |py, args| {
//!             args.no_args()?;
//!             Ok(py.None())
//!         }),
//!         ("gauge", "gauge(name, value)", |py, args| {
//!             args.check(&["name", "value"], 2)?;
//!             let name: &str = args.get(0, "name")?;
//!             let value: f64 = args.get(1, "value")?;
//!             (name.len() as f64 + value).to_python(py)
//!         }),
//!     ];
//! }
//!
//! # fn main() -> pyhost::Result<()> {
//! let module = HostModule::new("metrics").methods(&METRICS);
//! let interp = pyhost::Interpreter::builder().add_module(module).init()?;
//! interp.with_gil(|py| py.run("import metrics; metrics.gauge('x', 1.0)", None, None))?;
//! # Ok(()) }
//! ```

use std::os::raw::c_char;

use crate::ffi;

/// A static, NUL-terminated `PyMethodDef` table, made by
/// [`method_table!`](crate::method_table).
#[repr(transparent)]
pub struct MethodTable(pub(crate) &'static [ffi::PyMethodDef]);

// SAFETY: the table is immutable after its const initialisation (CPython
// never writes to a PyMethodDef); its pointers are to static strings and
// functions.
unsafe impl Sync for MethodTable {}

impl std::fmt::Debug for MethodTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MethodTable").field("entries", &self.len()).finish()
    }
}

impl MethodTable {
    /// Wrap a table (the macro's job): every entry but the last must be a
    /// function, the last the `{NULL}` sentinel.
    #[doc(hidden)]
    pub const fn new(defs: &'static [ffi::PyMethodDef]) -> MethodTable {
        MethodTable(defs)
    }

    /// The entries, without the sentinel.
    pub fn entries(&self) -> &'static [ffi::PyMethodDef] {
        &self.0[..self.0.len().saturating_sub(1)]
    }

    /// Number of functions.
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    /// True for a table without functions.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The table as C sees it (for a `PyModuleDef`'s `m_methods`).
    pub fn as_ptr(&self) -> *mut ffi::PyMethodDef {
        self.0.as_ptr() as *mut ffi::PyMethodDef
    }
}

/// One `METH_FASTCALL | METH_KEYWORDS` entry. `name` and `doc` end with a NUL
/// byte (the macro adds it).
#[doc(hidden)]
pub const fn method_def(
    name: &'static str,
    doc: &'static str,
    f: ffi::_PyCFunctionFastWithKeywords,
) -> ffi::PyMethodDef {
    ffi::PyMethodDef {
        ml_name: name.as_ptr() as *const c_char,
        // SAFETY: CPython calls ml_meth through the type ml_flags names
        // (_PyCFunctionFastWithKeywords); the field is declared with the
        // METH_VARARGS type, as the C casts do. Both are function pointers.
        ml_meth: Some(unsafe { std::mem::transmute::<ffi::_PyCFunctionFastWithKeywords, ffi::PyCFunction>(f) }),
        ml_flags: ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
        ml_doc: if doc.len() > 1 {
            doc.as_ptr() as *const c_char
        } else {
            std::ptr::null()
        },
    }
}

/// The `{NULL, NULL, 0, NULL}` that ends a table.
#[doc(hidden)]
pub const METHOD_TABLE_END: ffi::PyMethodDef = ffi::PyMethodDef {
    ml_name: std::ptr::null(),
    ml_meth: None,
    ml_flags: 0,
    ml_doc: std::ptr::null(),
};

/// Declare a static `PyMethodDef` table in Rust: each entry is `(name, doc,
/// body)`, the body anything `FnOnce(Python, &Args) -> Result<Bound>` (a
/// closure or a function path), run exactly as a
/// [`host_function!`](crate::host_function) body (arguments read in place,
/// errors and panics raised as Python exceptions). Put the table in a module
/// with [`HostModule::methods`](crate::module::HostModule::methods). See
/// [`crate::module::table`].
#[macro_export]
macro_rules! method_table {
    ($(#[$attr:meta])* $vis:vis static $name:ident = [ $( ($pyname:literal, $doc:literal, $body:expr) ),* $(,)? ];) => {
        $(#[$attr])*
        $vis static $name: $crate::module::MethodTable = {
            const DEFS: &[$crate::ffi::PyMethodDef] = &[
                $( $crate::module::method_def(concat!($pyname, "\0"), concat!($doc, "\0"), {
                    unsafe extern "C" fn entry(
                        slf: *mut $crate::ffi::PyObject,
                        args: *const *mut $crate::ffi::PyObject,
                        nargs: $crate::ffi::Py_ssize_t,
                        kwnames: *mut $crate::ffi::PyObject,
                    ) -> *mut $crate::ffi::PyObject {
                        let body = $crate::module::host_body($body);
                        // SAFETY: CPython calls this entry as METH_FASTCALL |
                        // METH_KEYWORDS (GIL held); the arguments are forwarded.
                        unsafe { $crate::module::fastcall($pyname, slf, args, nargs, kwnames, body) }
                    }
                    entry
                }), )*
                $crate::module::METHOD_TABLE_END,
            ];
            $crate::module::MethodTable::new(DEFS)
        };
    };
}
