//! Type checks (`Include/object.h`, `Include/*object.h`): the `Py*_Check`
//! macros read `tp_flags` of an object's type, the `*_CheckExact` ones compare
//! the type with a static type object.
//!
//! `PyTypeObject` starts with a `PyVarObject` header, whose size depends on
//! the build (it is 16 bytes larger on 3.13t), so `tp_name` and `tp_flags` are
//! read through [`TypeObjectHead`], this build's layout up to `tp_flags`.

use std::os::raw::{c_char, c_int, c_ulong, c_void};
#[cfg(Py_GIL_DISABLED)]
use std::sync::atomic::{AtomicU64, Ordering};

use super::object::{Py_IS_TYPE, Py_TYPE, VarObjectHead};
use super::{PyObject, PyTypeObject, Py_ssize_t};

/// `struct _typeobject` up to `tp_flags` (the fields have not moved since 3.8;
/// only the header in front of them differs by build).
#[repr(C)]
pub struct TypeObjectHead {
    pub ob_base: VarObjectHead,
    pub tp_name: *const c_char,
    pub tp_basicsize: Py_ssize_t,
    pub tp_itemsize: Py_ssize_t,
    pub tp_dealloc: *mut c_void,
    pub tp_vectorcall_offset: Py_ssize_t,
    pub tp_getattr: *mut c_void,
    pub tp_setattr: *mut c_void,
    pub tp_as_async: *mut c_void,
    pub tp_repr: *mut c_void,
    pub tp_as_number: *mut c_void,
    pub tp_as_sequence: *mut c_void,
    pub tp_as_mapping: *mut c_void,
    pub tp_hash: *mut c_void,
    pub tp_call: *mut c_void,
    pub tp_str: *mut c_void,
    pub tp_getattro: *mut c_void,
    pub tp_setattro: *mut c_void,
    pub tp_as_buffer: *mut c_void,
    /// `tp_flags` (`unsigned long`); read with a relaxed atomic load on 3.13t.
    #[cfg(not(Py_GIL_DISABLED))]
    pub tp_flags: c_ulong,
    #[cfg(Py_GIL_DISABLED)]
    pub tp_flags: AtomicU64,
}

/// `tp_name` of a type: `"int"`, `"collections.OrderedDict"`.
#[inline]
pub unsafe fn tp_name(tp: *mut PyTypeObject) -> *const c_char {
    // SAFETY: the caller passes a live type object.
    unsafe { (*(tp as *mut TypeObjectHead)).tp_name }
}

/// `PyType_HasFeature`.
#[inline(always)]
pub unsafe fn PyType_HasFeature(tp: *mut PyTypeObject, feature: c_ulong) -> bool {
    // SAFETY: the caller passes a live type object.
    #[cfg(not(Py_GIL_DISABLED))]
    let flags = unsafe { (*(tp as *mut TypeObjectHead)).tp_flags };
    // SAFETY: as above; the header loads the flags atomically on 3.13t.
    #[cfg(Py_GIL_DISABLED)]
    let flags = unsafe { (*(tp as *mut TypeObjectHead)).tp_flags.load(Ordering::Relaxed) } as c_ulong;
    flags & feature != 0
}

/// `PyType_FastSubclass(Py_TYPE(op), flag)`: the fast `Py*_Check` of the
/// built-in types that have a subclass flag.
#[inline(always)]
unsafe fn fast_subclass(op: *mut PyObject, flag: c_ulong) -> c_int {
    // SAFETY: forwarded; the type of a live object is live.
    unsafe { PyType_HasFeature(Py_TYPE(op), flag) as c_int }
}

/// `PyObject_TypeCheck`: `Py_IS_TYPE` or `PyType_IsSubtype`.
#[inline(always)]
pub unsafe fn PyObject_TypeCheck(op: *mut PyObject, tp: *mut PyTypeObject) -> c_int {
    // SAFETY: forwarded.
    unsafe { (Py_IS_TYPE(op, tp) || super::PyType_IsSubtype(Py_TYPE(op), tp) != 0) as c_int }
}

macro_rules! flag_checks {
    ($($(#[$doc:meta])* $name:ident => $flag:ident;)*) => {$(
        $(#[$doc])*
        #[inline(always)]
        pub unsafe fn $name(op: *mut PyObject) -> c_int {
            // SAFETY: the caller passes a live object.
            unsafe { fast_subclass(op, super::$flag) }
        }
    )*};
}

macro_rules! exact_checks {
    ($($(#[$doc:meta])* $name:ident => $ty:ident;)*) => {$(
        $(#[$doc])*
        #[inline(always)]
        pub unsafe fn $name(op: *mut PyObject) -> c_int {
            // SAFETY: the caller passes a live object; the type object is a static.
            unsafe { Py_IS_TYPE(op, std::ptr::addr_of_mut!(super::$ty)) as c_int }
        }
    )*};
}

flag_checks! {
    /// `PyLong_Check` (true for `bool`).
    PyLong_Check => Py_TPFLAGS_LONG_SUBCLASS;
    /// `PyList_Check`.
    PyList_Check => Py_TPFLAGS_LIST_SUBCLASS;
    /// `PyTuple_Check`.
    PyTuple_Check => Py_TPFLAGS_TUPLE_SUBCLASS;
    /// `PyBytes_Check`.
    PyBytes_Check => Py_TPFLAGS_BYTES_SUBCLASS;
    /// `PyUnicode_Check`.
    PyUnicode_Check => Py_TPFLAGS_UNICODE_SUBCLASS;
    /// `PyDict_Check`.
    PyDict_Check => Py_TPFLAGS_DICT_SUBCLASS;
    /// `PyExceptionInstance_Check`.
    PyExceptionInstance_Check => Py_TPFLAGS_BASE_EXC_SUBCLASS;
    /// `PyType_Check`.
    PyType_Check => Py_TPFLAGS_TYPE_SUBCLASS;
}

exact_checks! {
    /// `PyLong_CheckExact`.
    PyLong_CheckExact => PyLong_Type;
    /// `PyList_CheckExact`.
    PyList_CheckExact => PyList_Type;
    /// `PyTuple_CheckExact`.
    PyTuple_CheckExact => PyTuple_Type;
    /// `PyBytes_CheckExact`.
    PyBytes_CheckExact => PyBytes_Type;
    /// `PyUnicode_CheckExact`.
    PyUnicode_CheckExact => PyUnicode_Type;
    /// `PyDict_CheckExact`.
    PyDict_CheckExact => PyDict_Type;
    /// `PyFloat_CheckExact`.
    PyFloat_CheckExact => PyFloat_Type;
    /// `PyBool_Check` (`bool` cannot be subclassed).
    PyBool_Check => PyBool_Type;
}

/// `PyFloat_Check`.
#[inline(always)]
pub unsafe fn PyFloat_Check(op: *mut PyObject) -> c_int {
    // SAFETY: a live object; PyFloat_Type is a static.
    unsafe { PyObject_TypeCheck(op, std::ptr::addr_of_mut!(super::PyFloat_Type)) }
}

/// `PyModule_Check`.
#[inline(always)]
pub unsafe fn PyModule_Check(op: *mut PyObject) -> c_int {
    // SAFETY: a live object; PyModule_Type is a static.
    unsafe { PyObject_TypeCheck(op, std::ptr::addr_of_mut!(super::PyModule_Type)) }
}
