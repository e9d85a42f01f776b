//! Tuples and lists read in place (`Include/cpython/tupleobject.h`,
//! `listobject.h`): the `*_GET_SIZE`, `*_GET_ITEM` and `*_SET_ITEM` macros,
//! over this build's header layout.

#[cfg(Py_GIL_DISABLED)]
use std::sync::atomic::{AtomicIsize, Ordering};

use super::object::VarObjectHead;
use super::{PyObject, Py_ssize_t};

/// `PyTupleObject`: the variable-size header, then the items inline.
#[repr(C)]
pub struct PyTupleObject {
    pub ob_base: VarObjectHead,
    pub ob_item: [*mut PyObject; 1],
}

/// `PyListObject`: the variable-size header, then a pointer to the items.
#[repr(C)]
pub struct PyListObject {
    pub ob_base: VarObjectHead,
    pub ob_item: *mut *mut PyObject,
    pub allocated: Py_ssize_t,
}

/// `PyTuple_GET_SIZE`: no type check.
#[inline(always)]
pub unsafe fn PyTuple_GET_SIZE(op: *mut PyObject) -> Py_ssize_t {
    // SAFETY: the caller passes a tuple.
    unsafe { (*(op as *mut VarObjectHead)).ob_size }
}

/// A pointer to the first item of a tuple.
#[inline(always)]
pub unsafe fn tuple_items(op: *mut PyObject) -> *mut *mut PyObject {
    // SAFETY: the caller passes a tuple; the items follow the header.
    unsafe { std::ptr::addr_of_mut!((*(op as *mut PyTupleObject)).ob_item) as *mut *mut PyObject }
}

/// `PyTuple_GET_ITEM`: a borrowed reference, no checks.
#[inline(always)]
pub unsafe fn PyTuple_GET_ITEM(op: *mut PyObject, i: Py_ssize_t) -> *mut PyObject {
    // SAFETY: the caller passes a tuple and an index below its size.
    unsafe { *tuple_items(op).offset(i) }
}

/// `PyTuple_SET_ITEM`: steals `v`; only for filling a new tuple.
#[inline(always)]
pub unsafe fn PyTuple_SET_ITEM(op: *mut PyObject, i: Py_ssize_t, v: *mut PyObject) {
    // SAFETY: the caller passes a new tuple and an index below its size.
    unsafe { *tuple_items(op).offset(i) = v }
}

/// `PyList_GET_SIZE`: no type check (a relaxed atomic load on 3.13t, where
/// another thread may resize the list).
#[inline(always)]
pub unsafe fn PyList_GET_SIZE(op: *mut PyObject) -> Py_ssize_t {
    #[cfg(Py_GIL_DISABLED)]
    {
        // SAFETY: the caller passes a list; ob_size is a naturally aligned
        // Py_ssize_t, read as the header reads it.
        unsafe {
            (*(std::ptr::addr_of!((*(op as *mut VarObjectHead)).ob_size) as *const AtomicIsize)).load(Ordering::Relaxed)
        }
    }
    #[cfg(not(Py_GIL_DISABLED))]
    {
        // SAFETY: the caller passes a list.
        unsafe { (*(op as *mut VarObjectHead)).ob_size }
    }
}

/// `PyList_GET_ITEM`: a borrowed reference, no checks. On 3.13t only safe
/// while no other thread can change the list; `PyList_GetItemRef` is the
/// thread-safe form.
#[inline(always)]
pub unsafe fn PyList_GET_ITEM(op: *mut PyObject, i: Py_ssize_t) -> *mut PyObject {
    // SAFETY: the caller passes a list and an index below its size.
    unsafe { *(*(op as *mut PyListObject)).ob_item.offset(i) }
}

#[cfg(Py_3_13)]
extern "C" {
    /// `PyList_GetItemRef` (3.13+): item `i` as a new reference, or NULL with
    /// `IndexError`; safe against concurrent changes on a free-threaded build.
    pub fn PyList_GetItemRef(list: *mut PyObject, i: Py_ssize_t) -> *mut PyObject;
}

/// `PyCriticalSection` (3.13t): the per-object lock CPython's own code holds
/// while it reads a container in place (`Py_BEGIN_CRITICAL_SECTION`).
#[cfg(Py_GIL_DISABLED)]
#[repr(C)]
pub struct PyCriticalSection {
    pub _cs_prev: usize,
    pub _cs_mutex: *mut std::ffi::c_void,
}

#[cfg(Py_GIL_DISABLED)]
extern "C" {
    /// `PyCriticalSection_Begin`: lock `op` for this thread (suspended, not
    /// held, while the thread blocks, as the GIL would be).
    pub fn PyCriticalSection_Begin(c: *mut PyCriticalSection, op: *mut PyObject);
    /// `PyCriticalSection_End`.
    pub fn PyCriticalSection_End(c: *mut PyCriticalSection);
}
