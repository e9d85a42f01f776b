//! Sequences read the way C extensions read them: `PySequence_Size`, and
//! `PySequence_Fast` (a list or tuple, indexed in place without a Python-level
//! call per item).
//!
//! Items come out as owned handles ([`FastSequence::get`]): a list can change
//! while it is read (a conversion that runs Python code, `__del__` during a
//! garbage collection, another thread on a free-threaded build), and an owned
//! reference keeps the item alive whatever happens to the list. An increment
//! and a decrement per item is all it costs.

use std::ffi::CStr;

use crate::err::{Error, Result};
use crate::ffi;
use crate::object::Bound;

impl<'py> Bound<'py> {
    /// `len(obj)` through the sequence protocol (`PySequence_Size`).
    #[inline]
    pub fn sequence_len(&self) -> Result<usize> {
        // SAFETY: GIL held (a Bound exists); live object.
        let n = unsafe { ffi::PySequence_Size(self.as_ptr()) };
        if n < 0 {
            return Err(Error::fetch(self.py()));
        }
        Ok(n as usize)
    }

    /// `PySequence_Fast(obj, message)`: the list or tuple itself, or a new list
    /// of the items of any other iterable; `TypeError(message)` if `obj` is not
    /// iterable.
    #[inline]
    pub fn sequence_fast(&self, message: &CStr) -> Result<FastSequence<'py>> {
        // SAFETY: GIL held; a new reference (a list or tuple) or NULL with an exception.
        let seq =
            unsafe { Bound::from_owned_ptr_or_err(self.py(), ffi::PySequence_Fast(self.as_ptr(), message.as_ptr())) }?;
        let is_list = seq.is_list();
        Ok(FastSequence { seq, is_list })
    }
}

impl<'py> Bound<'py> {
    /// `tuple(obj)` (`PySequence_Tuple`): the tuple itself, or a new tuple of
    /// the items of a list or any other iterable: a snapshot whose items can
    /// be borrowed ([`Tuple::as_slice`](crate::object::Tuple::as_slice)) whatever happens to the original.
    #[inline]
    pub fn sequence_tuple(&self) -> Result<crate::Tuple<'py>> {
        // SAFETY: GIL held; a new reference (a tuple) or NULL with an exception.
        let t = unsafe { Bound::from_owned_ptr_or_err(self.py(), ffi::PySequence_Tuple(self.as_ptr())) }?;
        Ok(crate::Tuple(t))
    }
}

/// A list or tuple from [`Bound::sequence_fast`] (or [`FastSequence::new`]).
#[derive(Debug, Clone)]
pub struct FastSequence<'py> {
    seq: Bound<'py>,
    is_list: bool,
}

impl<'py> FastSequence<'py> {
    /// View a list or tuple as a fast sequence (`None` for anything else).
    #[inline]
    pub fn new(obj: &Bound<'py>) -> Option<FastSequence<'py>> {
        let is_list = obj.is_list();
        (is_list || obj.is_tuple()).then(|| FastSequence {
            seq: obj.clone(),
            is_list,
        })
    }

    /// The current number of items (`PySequence_Fast_GET_SIZE`). A list's
    /// length can change between calls.
    #[inline]
    pub fn len(&self) -> usize {
        // SAFETY: GIL held; a list or tuple (both variable-size objects).
        (unsafe {
            if self.is_list {
                ffi::PyList_GET_SIZE(self.seq.as_ptr())
            } else {
                ffi::PyTuple_GET_SIZE(self.seq.as_ptr())
            }
        }) as usize
    }

    /// Whether there are no items now.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Item `i` as a new reference (`PySequence_Fast_GET_ITEM` + `Py_INCREF`),
    /// or `None` past the current end.
    #[inline]
    pub fn get(&self, i: usize) -> Option<Bound<'py>> {
        // Past the end: no item, and no IndexError to raise and clear (on
        // a free-threaded build that costs thousands of instructions, and
        // every `while let` over the items ends there).
        if i >= self.len() {
            return None;
        }
        #[cfg(Py_GIL_DISABLED)]
        if self.is_list {
            // Another thread may change the list at any moment: take the
            // item under the list's lock (`PyList_GetItemRef`).
            // SAFETY: an attached thread state (a Bound exists); a list.
            let p = unsafe { ffi::PyList_GetItemRef(self.seq.as_ptr(), i as ffi::Py_ssize_t) };
            // SAFETY: a new reference, or NULL when the list shrank since we
            // looked.
            let item = unsafe { Bound::from_owned_ptr_opt(self.seq.py(), p) };
            if item.is_none() {
                // IndexError: past the new end.
                // SAFETY: an attached thread state; an exception is set.
                unsafe { ffi::PyErr_Clear() };
            }
            return item;
        }
        // SAFETY: GIL held; i is below the current size; the item is live
        // (the sequence holds it) and we take our own reference at once.
        unsafe {
            let p = if self.is_list {
                ffi::PyList_GET_ITEM(self.seq.as_ptr(), i as ffi::Py_ssize_t)
            } else {
                ffi::PyTuple_GET_ITEM(self.seq.as_ptr(), i as ffi::Py_ssize_t)
            };
            Some(Bound::from_borrowed_ptr(self.seq.py(), p))
        }
    }

    /// The items, each re-read at its turn (a list that shrinks while it is
    /// iterated ends the iteration early, as CPython's own loops do).
    #[inline]
    pub fn iter(&self) -> impl Iterator<Item = Bound<'py>> + '_ {
        (0..).map_while(move |i| self.get(i))
    }

    /// Whether the underlying object is a list (else a tuple).
    #[inline]
    pub fn is_list(&self) -> bool {
        self.is_list
    }

    /// The list or tuple itself.
    #[inline]
    pub fn as_bound(&self) -> &Bound<'py> {
        &self.seq
    }
}

/// Run `f` holding `obj`'s per-object lock on a free-threaded build
/// (`Py_BEGIN_CRITICAL_SECTION`, as CPython's own code does around an in-place
/// read of a list), so no other thread can change it meanwhile; a plain call
/// with the GIL. `f` must not run Python code that could change `obj`: the
/// lock does not protect against this thread.
#[inline(always)]
pub(crate) fn critical_section<R>(obj: &Bound<'_>, f: impl FnOnce() -> R) -> R {
    #[cfg(Py_GIL_DISABLED)]
    {
        let mut cs = std::mem::MaybeUninit::<ffi::PyCriticalSection>::uninit();
        // SAFETY: an attached thread state; `cs` lives on this frame until
        // End, as the macro's local does.
        unsafe { ffi::PyCriticalSection_Begin(cs.as_mut_ptr(), obj.as_ptr()) };
        struct End(*mut ffi::PyCriticalSection);
        impl Drop for End {
            fn drop(&mut self) {
                // SAFETY: begun above on this thread, ended once.
                unsafe { ffi::PyCriticalSection_End(self.0) };
            }
        }
        let _end = End(cs.as_mut_ptr());
        f()
    }
    #[cfg(not(Py_GIL_DISABLED))]
    {
        let _ = obj;
        f()
    }
}
