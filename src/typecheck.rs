//! Type checks on a [`Bound`], as CPython's `Py*_Check` and `Py*_CheckExact`
//! macros: the plain form accepts subclasses (`isinstance`), the `exact` form
//! only the type itself (`type(obj) is T`).
//!
//! They read the object's type and its flags in place, never run Python code
//! and cannot fail, so they return `bool`.
//!
//! ```no_run
//! # pyhost::with_gil(|py| -> pyhost::Result<()> {
//! let obj = py.eval("True", None, None)?;
//! assert!(obj.is_bool() && obj.is_int());   // bool subclasses int
//! assert!(!obj.is_exact_int());
//! # Ok(()) });
//! ```

use crate::ffi;
use crate::object::Bound;

macro_rules! checks {
    ($($(#[$doc:meta])* $name:ident => $c:ident;)*) => {
        impl Bound<'_> {
            $(
                $(#[$doc])*
                #[inline]
                pub fn $name(&self) -> bool {
                    // SAFETY: a Bound is a live object and its holder has the GIL;
                    // the check only reads the object's type.
                    unsafe { ffi::$c(self.as_ptr()) != 0 }
                }
            )*
        }
    };
}

checks! {
    /// `isinstance(obj, str)` (`PyUnicode_Check`).
    is_str => PyUnicode_Check;
    /// `type(obj) is str` (`PyUnicode_CheckExact`).
    is_exact_str => PyUnicode_CheckExact;
    /// `isinstance(obj, bytes)` (`PyBytes_Check`).
    is_bytes => PyBytes_Check;
    /// `type(obj) is bytes` (`PyBytes_CheckExact`).
    is_exact_bytes => PyBytes_CheckExact;
    /// `isinstance(obj, int)` (`PyLong_Check`); true for `bool` too.
    is_int => PyLong_Check;
    /// `type(obj) is int` (`PyLong_CheckExact`).
    is_exact_int => PyLong_CheckExact;
    /// `isinstance(obj, float)` (`PyFloat_Check`).
    is_float => PyFloat_Check;
    /// `type(obj) is float` (`PyFloat_CheckExact`).
    is_exact_float => PyFloat_CheckExact;
    /// `isinstance(obj, bool)` (`PyBool_Check`; `bool` cannot be subclassed,
    /// so this is also the exact check).
    is_bool => PyBool_Check;
    /// `isinstance(obj, list)` (`PyList_Check`).
    is_list => PyList_Check;
    /// `type(obj) is list` (`PyList_CheckExact`).
    is_exact_list => PyList_CheckExact;
    /// `isinstance(obj, tuple)` (`PyTuple_Check`).
    is_tuple => PyTuple_Check;
    /// `type(obj) is tuple` (`PyTuple_CheckExact`).
    is_exact_tuple => PyTuple_CheckExact;
    /// `isinstance(obj, dict)` (`PyDict_Check`).
    is_dict => PyDict_Check;
    /// `type(obj) is dict` (`PyDict_CheckExact`).
    is_exact_dict => PyDict_CheckExact;
    /// `isinstance(obj, type)` (`PyType_Check`): a class.
    is_type => PyType_Check;
    /// `isinstance(obj, types.ModuleType)` (`PyModule_Check`).
    is_module => PyModule_Check;
    /// Whether `obj` supports the sequence protocol (`PySequence_Check`):
    /// lists, tuples, `str`, `bytes`, `range`, classes with `__getitem__`
    /// that are not dicts.
    is_sequence => PySequence_Check;
    /// Whether `obj` supports the buffer protocol (`PyObject_CheckBuffer`).
    is_buffer => PyObject_CheckBuffer;
}

impl Bound<'_> {
    /// `obj is True` (compares with the `Py_True` singleton).
    #[inline]
    pub fn is_true(&self) -> bool {
        // SAFETY: the address of the static True object.
        self.as_ptr() == unsafe { ffi::Py_True() }
    }

    /// `obj is False` (compares with the `Py_False` singleton).
    #[inline]
    pub fn is_false(&self) -> bool {
        // SAFETY: the address of the static False object.
        self.as_ptr() == unsafe { ffi::Py_False() }
    }
}
