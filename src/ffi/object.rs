//! `PyObject`'s header and reference counting, per build (`Include/object.h`).
//!
//! `python3-sys` declares `PyObject` with the 3.11 layout (`ob_refcnt`,
//! `ob_type`) and writes `ob_refcnt` in its inline `Py_INCREF`. That is wrong
//! twice over on newer Pythons: from 3.12 some objects are immortal (their
//! count must not move), and a free-threaded build (3.13t) has a different
//! header, with a thread-local count and a shared atomic one. So the pointer
//! type stays `python3_sys::PyObject` (every exported function is declared with
//! it) but its fields are only ever read through [`ObjectHead`], the layout of
//! the Python we build against, checked against the C compiler's at build time
//! (`layout.rs`). The inline functions follow CPython's own headers for each
//! build, never a function call where the headers inline.

#[cfg(Py_GIL_DISABLED)]
use std::sync::atomic::{AtomicIsize, AtomicU32, AtomicUsize, Ordering};

use super::{PyObject, PyTypeObject, Py_ssize_t};

/// `struct _object` of the default build: one count, then the type.
#[cfg(not(Py_GIL_DISABLED))]
#[repr(C)]
pub struct ObjectHead {
    /// `ob_refcnt`. From 3.12 on 64-bit, an object whose low 32 bits are
    /// negative as an `i32` is immortal (`_Py_IsImmortal`).
    pub ob_refcnt: Py_ssize_t,
    /// `ob_type`.
    pub ob_type: *mut PyTypeObject,
}

/// `struct _object` of the free-threaded build (PEP 703).
#[cfg(Py_GIL_DISABLED)]
#[repr(C)]
pub struct ObjectHead {
    /// `ob_tid`: the owning thread's id (`_Py_ThreadId`), 0 if none.
    pub ob_tid: AtomicUsize,
    pub _padding: u16,
    /// `ob_mutex` (`PyMutex`, one byte).
    pub ob_mutex: u8,
    pub ob_gc_bits: u8,
    /// `ob_ref_local`: the owner's count, non-atomic for the owner;
    /// `u32::MAX` means immortal.
    pub ob_ref_local: AtomicU32,
    /// `ob_ref_shared`: every other thread's count, shifted left by
    /// `_Py_REF_SHARED_SHIFT`, the low bits being flags.
    pub ob_ref_shared: AtomicIsize,
    /// `ob_type`.
    pub ob_type: *mut PyTypeObject,
}

/// `PyVarObject`: the header, then the number of items.
#[repr(C)]
pub struct VarObjectHead {
    pub ob_base: ObjectHead,
    pub ob_size: Py_ssize_t,
}

#[inline(always)]
unsafe fn head(op: *mut PyObject) -> *mut ObjectHead {
    op as *mut ObjectHead
}

/// `_Py_IMMORTAL_REFCNT_LOCAL`.
#[cfg(Py_GIL_DISABLED)]
pub const _Py_IMMORTAL_REFCNT_LOCAL: u32 = u32::MAX;
/// `_Py_REF_SHARED_SHIFT`.
#[cfg(Py_GIL_DISABLED)]
pub const _Py_REF_SHARED_SHIFT: isize = 2;

extern "C" {
    /// `_Py_Dealloc`: what `Py_DECREF` calls when the count reaches zero.
    pub fn _Py_Dealloc(op: *mut PyObject);
    /// `_Py_MergeZeroLocalRefcount` (3.13t): the owner's count reached zero.
    #[cfg(Py_GIL_DISABLED)]
    pub fn _Py_MergeZeroLocalRefcount(op: *mut PyObject);
    /// `_Py_DecRefShared` (3.13t): a decrement by a thread that does not own the object.
    #[cfg(Py_GIL_DISABLED)]
    pub fn _Py_DecRefShared(op: *mut PyObject);
}

/// `_Py_ThreadId`: the thread pointer, which the free-threaded build stores in
/// `ob_tid` of the objects a thread owns (read as CPython's header reads it).
#[cfg(Py_GIL_DISABLED)]
#[inline(always)]
pub fn _Py_ThreadId() -> usize {
    let tid: usize;
    // SAFETY: reads the thread pointer register (x86_64: the TCB's self
    // pointer at fs:0; aarch64: tpidr_el0), as `_Py_ThreadId` does.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        std::arch::asm!("mov {}, qword ptr fs:[0]", out(reg) tid, options(nostack, readonly, preserves_flags));
    }
    // SAFETY: as above.
    #[cfg(target_arch = "aarch64")]
    unsafe {
        std::arch::asm!("mrs {}, tpidr_el0", out(reg) tid, options(nostack, nomem, preserves_flags));
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        extern "C" {
            fn _Py_GetThreadLocal_Addr() -> usize;
        }
        // SAFETY: CPython's portable fallback; no preconditions.
        tid = unsafe { _Py_GetThreadLocal_Addr() };
    }
    tid
}

/// `Py_TYPE`.
#[inline(always)]
pub unsafe fn Py_TYPE(op: *mut PyObject) -> *mut PyTypeObject {
    // SAFETY: the caller passes a live object.
    unsafe { (*head(op)).ob_type }
}

/// `Py_IS_TYPE`.
#[inline(always)]
pub unsafe fn Py_IS_TYPE(op: *mut PyObject, tp: *mut PyTypeObject) -> bool {
    // SAFETY: forwarded.
    unsafe { Py_TYPE(op) == tp }
}

/// `Py_SIZE`: `ob_size` of a variable-size object.
#[inline(always)]
pub unsafe fn Py_SIZE(op: *mut PyObject) -> Py_ssize_t {
    // SAFETY: the caller passes a live variable-size object.
    unsafe { (*(op as *mut VarObjectHead)).ob_size }
}

/// `_Py_IsImmortal` (3.12+): the count of this object never moves.
#[inline(always)]
pub unsafe fn _Py_IsImmortal(op: *mut PyObject) -> bool {
    #[cfg(Py_GIL_DISABLED)]
    {
        // SAFETY: a live object.
        unsafe { (*head(op)).ob_ref_local.load(Ordering::Relaxed) == _Py_IMMORTAL_REFCNT_LOCAL }
    }
    #[cfg(all(not(Py_GIL_DISABLED), Py_3_12))]
    {
        // SAFETY: a live object. `(int32_t)op->ob_refcnt < 0` (64-bit).
        unsafe { ((*head(op)).ob_refcnt as i32) < 0 }
    }
    #[cfg(not(Py_3_12))]
    {
        let _ = op;
        false
    }
}

/// `Py_REFCNT`.
#[inline(always)]
pub unsafe fn Py_REFCNT(op: *mut PyObject) -> Py_ssize_t {
    #[cfg(Py_GIL_DISABLED)]
    {
        // SAFETY: a live object; relaxed loads, as the header's.
        unsafe {
            let local = (*head(op)).ob_ref_local.load(Ordering::Relaxed);
            if local == _Py_IMMORTAL_REFCNT_LOCAL {
                return u32::MAX as Py_ssize_t; // _Py_IMMORTAL_REFCNT
            }
            let shared = (*head(op)).ob_ref_shared.load(Ordering::Relaxed);
            local as Py_ssize_t + (shared >> _Py_REF_SHARED_SHIFT)
        }
    }
    #[cfg(not(Py_GIL_DISABLED))]
    {
        // SAFETY: a live object.
        unsafe { (*head(op)).ob_refcnt }
    }
}

/// `Py_INCREF`, as the headers of the Python we build against inline it.
#[inline(always)]
pub unsafe fn Py_INCREF(op: *mut PyObject) {
    #[cfg(Py_GIL_DISABLED)]
    {
        // SAFETY: a live object; the owner updates its local count alone,
        // everyone else adds to the shared count atomically.
        unsafe {
            let h = head(op);
            let new_local = (*h).ob_ref_local.load(Ordering::Relaxed).wrapping_add(1);
            if new_local == 0 {
                return; // immortal
            }
            if (*h).ob_tid.load(Ordering::Relaxed) == _Py_ThreadId() {
                (*h).ob_ref_local.store(new_local, Ordering::Relaxed);
            } else {
                (*h).ob_ref_shared
                    .fetch_add(1 << _Py_REF_SHARED_SHIFT, Ordering::Relaxed);
            }
        }
    }
    #[cfg(all(not(Py_GIL_DISABLED), Py_3_12))]
    {
        // SAFETY: a live object, GIL held. A saturating add on the low 32
        // bits: an immortal object's count stays where it is.
        unsafe {
            // ob_refcnt_split[PY_BIG_ENDIAN]: the low half of the count.
            let low = (op as *mut u32).add(cfg!(target_endian = "big") as usize);
            let new = (*low).wrapping_add(1);
            if new == 0 {
                return;
            }
            *low = new;
        }
    }
    #[cfg(not(Py_3_12))]
    {
        // SAFETY: a live object, GIL held.
        unsafe { (*head(op)).ob_refcnt += 1 };
    }
}

/// `Py_DECREF`, as the headers inline it; frees the object at zero.
#[inline(always)]
pub unsafe fn Py_DECREF(op: *mut PyObject) {
    #[cfg(Py_GIL_DISABLED)]
    {
        // SAFETY: a live object the caller owns a reference to.
        unsafe {
            let h = head(op);
            let local = (*h).ob_ref_local.load(Ordering::Relaxed);
            if local == _Py_IMMORTAL_REFCNT_LOCAL {
                return;
            }
            if (*h).ob_tid.load(Ordering::Relaxed) == _Py_ThreadId() {
                let local = local.wrapping_sub(1);
                (*h).ob_ref_local.store(local, Ordering::Relaxed);
                if local == 0 {
                    _Py_MergeZeroLocalRefcount(op);
                }
            } else {
                _Py_DecRefShared(op);
            }
        }
    }
    #[cfg(not(Py_GIL_DISABLED))]
    {
        // SAFETY: a live object the caller owns a reference to, GIL held.
        unsafe {
            if _Py_IsImmortal(op) {
                return;
            }
            let h = head(op);
            (*h).ob_refcnt -= 1;
            if (*h).ob_refcnt == 0 {
                _Py_Dealloc(op);
            }
        }
    }
}

/// `Py_XINCREF`: `Py_INCREF` unless NULL.
#[inline(always)]
pub unsafe fn Py_XINCREF(op: *mut PyObject) {
    if !op.is_null() {
        // SAFETY: forwarded.
        unsafe { Py_INCREF(op) }
    }
}

/// `Py_XDECREF`: `Py_DECREF` unless NULL.
#[inline(always)]
pub unsafe fn Py_XDECREF(op: *mut PyObject) {
    if !op.is_null() {
        // SAFETY: forwarded.
        unsafe { Py_DECREF(op) }
    }
}
