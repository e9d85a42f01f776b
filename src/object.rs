//! Object handles.
//!
//! * [`Bound<'py>`]: an owned (strong) reference usable while the GIL is held
//!   for `'py`. `!Send`; dropping it decrefs at once.
//! * [`Py`]: an owned reference that outlives GIL scopes and crosses threads.
//!   Dropping it without the GIL defers the decref to the next time any
//!   thread takes the GIL through pyhost.
//! * `&Bound<'py>`: a borrowed reference. Host-module callbacks receive their
//!   arguments this way, without touching reference counts.
//! * [`Dict`], [`List`], [`Tuple`]: type-checked views with container methods.

use std::marker::PhantomData;
use std::ops::Deref;
use std::os::raw::c_char;
use std::ptr::NonNull;

use crate::conv::{FromPython, ToPython};
use crate::err::{Error, ExcKind, Result};
use crate::ffi;
use crate::gil::{gil_is_held, Python};
use crate::interp::{self, InterpreterId};

/// An owned reference to a Python object, valid while the GIL is held for `'py`.
#[repr(transparent)]
pub struct Bound<'py> {
    ptr: NonNull<ffi::PyObject>,
    _py: PhantomData<Python<'py>>,
}

/// An owned reference to a Python object that is not tied to a GIL scope.
///
/// `Send` and `Sync`: it can be stored in host structures and moved between
/// threads. Use it with the GIL through [`Py::bind`] / [`Py::into_bound`].
///
/// A `Py` belongs to the interpreter that made it. Binding it in another
/// interpreter (an own-GIL sub-interpreter's job, say) is an error, never a
/// data race: [`Py::try_bind`] returns [`Error::CrossInterpreter`] and
/// [`Py::bind`] panics with that message. Dropping it anywhere is fine: the
/// decrement waits for its own interpreter. Values cross interpreters by
/// conversion (Rust values, bytes, JSON text), never as objects.
#[repr(C)]
pub struct Py {
    /// First, so `&Py` can be viewed as `&Bound` (see [`Py::bind`]).
    ptr: NonNull<ffi::PyObject>,
    interp: InterpreterId,
}

// SAFETY: a Py only touches the object's refcount inside its own interpreter
// with the GIL held (a drop anywhere else defers to that interpreter's
// queue); the object itself is only reached through a Bound, which needs the
// GIL of that interpreter (checked in bind).
unsafe impl Send for Py {}
// SAFETY: &Py exposes no operation that touches the object without a token.
unsafe impl Sync for Py {}

impl Drop for Py {
    #[inline]
    fn drop(&mut self) {
        if gil_is_held() && self.interp == interp::current_id() {
            // SAFETY: this thread holds the GIL of the object's interpreter;
            // we own one reference.
            unsafe { ffi::Py_DECREF(self.ptr.as_ptr()) };
        } else {
            interp::defer_decref(self.interp, self.ptr);
        }
    }
}

impl std::fmt::Debug for Py {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Py({:p})", self.ptr)
    }
}

impl Py {
    /// Check that `py`'s interpreter is this object's.
    #[inline(always)]
    fn check_interpreter(&self) -> Result<()> {
        if interp::subinterpreters_exist() && self.interp != interp::current_id() {
            return Err(self.cross_interpreter());
        }
        Ok(())
    }

    #[cold]
    fn cross_interpreter(&self) -> Error {
        Error::CrossInterpreter {
            object: self.interp,
            current: interp::current_id(),
        }
    }

    /// A new handle on the same object (`Py_INCREF`).
    ///
    /// # Panics
    /// If `py` is another interpreter's token (see [`Py::try_bind`]).
    pub fn clone_ref(&self, py: Python<'_>) -> Py {
        let _ = py;
        if let Err(e) = self.check_interpreter() {
            panic!("{e}");
        }
        // SAFETY: GIL of the object's interpreter held (token, checked), object live.
        unsafe { ffi::Py_INCREF(self.ptr.as_ptr()) };
        Py {
            ptr: self.ptr,
            interp: self.interp,
        }
    }

    /// Borrow as a GIL-bound handle, without touching the reference count
    /// (pyo3's `Py::bind`): the object stays alive as long as this `Py`.
    ///
    /// # Panics
    /// If `py` is another interpreter's token: objects cannot cross
    /// interpreters ([`Py::try_bind`] returns the error instead).
    #[inline]
    pub fn bind<'a, 'py>(&'a self, py: Python<'py>) -> &'a Bound<'py> {
        match self.try_bind(py) {
            Ok(b) => b,
            Err(e) => panic!("{e}"),
        }
    }

    /// Like [`bind`](Self::bind), but a handle of another interpreter is
    /// [`Error::CrossInterpreter`] instead of a panic.
    #[inline]
    pub fn try_bind<'a, 'py>(&'a self, _py: Python<'py>) -> Result<&'a Bound<'py>> {
        self.check_interpreter()?;
        // SAFETY: Py is repr(C) with the non-null object pointer first, and
        // Bound is repr(transparent) over such a pointer; the GIL of the
        // object's interpreter is held (token, checked); the object lives as
        // long as `self` (we own a reference), which bounds the borrow.
        Ok(unsafe { &*(&self.ptr as *const NonNull<ffi::PyObject> as *const Bound<'py>) })
    }

    /// An owned GIL-bound handle on the same object (`Py_INCREF`).
    ///
    /// # Panics
    /// If `py` is another interpreter's token (see [`Py::try_bind`]).
    #[inline]
    pub fn to_bound<'py>(&self, py: Python<'py>) -> Bound<'py> {
        self.bind(py).clone()
    }

    /// `obj()`, on a stored handle.
    #[inline]
    pub fn call0<'py>(&self, py: Python<'py>) -> Result<Bound<'py>> {
        self.bind(py).call0()
    }

    /// `obj(*args)`, on a stored handle.
    #[inline]
    pub fn call1<'py>(&self, py: Python<'py>, args: impl IntoArgs<'py>) -> Result<Bound<'py>> {
        self.bind(py).call1(args)
    }

    /// `obj(*args, **kwargs)`, on a stored handle.
    #[inline]
    pub fn call<'py>(
        &self,
        py: Python<'py>,
        args: impl IntoArgs<'py>,
        kwargs: Option<&Dict<'py>>,
    ) -> Result<Bound<'py>> {
        self.bind(py).call(args, kwargs)
    }

    /// `obj.name()`, on a stored handle.
    pub fn call_method0<'py>(&self, py: Python<'py>, name: &str) -> Result<Bound<'py>> {
        self.bind(py).call_method0(name)
    }

    /// `obj.name(*args)`, on a stored handle.
    pub fn call_method1<'py>(&self, py: Python<'py>, name: &str, args: impl IntoArgs<'py>) -> Result<Bound<'py>> {
        self.bind(py).call_method1(name, args)
    }

    /// `obj.name(*args, **kwargs)`, on a stored handle.
    pub fn call_method<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        args: impl IntoArgs<'py>,
        kwargs: Option<&Dict<'py>>,
    ) -> Result<Bound<'py>> {
        self.bind(py).call_method(name, args, kwargs)
    }

    /// `getattr(obj, name)`, on a stored handle (a module's function, say).
    pub fn getattr<'py>(&self, py: Python<'py>, name: &str) -> Result<Bound<'py>> {
        self.bind(py).getattr(name)
    }

    /// Turn into a GIL-bound handle without touching the refcount.
    ///
    /// # Panics
    /// If `py` is another interpreter's token (the handle is then dropped).
    #[inline]
    pub fn into_bound(self, _py: Python<'_>) -> Bound<'_> {
        if let Err(e) = self.check_interpreter() {
            panic!("{e}");
        }
        let ptr = self.ptr;
        std::mem::forget(self);
        Bound { ptr, _py: PhantomData }
    }

    /// The id of the interpreter this object belongs to.
    #[inline]
    pub fn interpreter(&self) -> InterpreterId {
        self.interp
    }

    /// The raw pointer (borrowed).
    #[inline]
    pub fn as_ptr(&self) -> *mut ffi::PyObject {
        self.ptr.as_ptr()
    }

    /// Take ownership of a new reference of the calling thread's current
    /// interpreter.
    ///
    /// # Safety
    /// `ptr` must be a valid owned reference, and the caller must hold the
    /// GIL of the interpreter that made it.
    pub unsafe fn from_owned_ptr(ptr: NonNull<ffi::PyObject>) -> Py {
        Py {
            ptr,
            interp: interp::current_id(),
        }
    }

    /// Give up ownership and return the raw owned reference.
    pub fn into_ptr(self) -> *mut ffi::PyObject {
        let p = self.ptr.as_ptr();
        std::mem::forget(self);
        p
    }
}

impl<'py> Clone for Bound<'py> {
    #[inline]
    fn clone(&self) -> Self {
        // SAFETY: GIL held for 'py; object live.
        unsafe { ffi::Py_INCREF(self.ptr.as_ptr()) };
        Bound {
            ptr: self.ptr,
            _py: PhantomData,
        }
    }
}

impl Drop for Bound<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: a Bound only exists while its thread holds the GIL; we own
        // one reference.
        unsafe { ffi::Py_DECREF(self.ptr.as_ptr()) };
    }
}

impl std::fmt::Debug for Bound<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.repr() {
            Ok(r) => f.write_str(&r),
            Err(_) => write!(f, "<{} object at {:p}>", self.type_name(), self.ptr),
        }
    }
}

impl std::fmt::Display for Bound<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.str() {
            Ok(s) => f.write_str(&s),
            Err(_) => write!(f, "<unprintable {} object>", self.type_name()),
        }
    }
}

impl<'py> Bound<'py> {
    /// Take ownership of a new reference.
    ///
    /// # Safety
    /// `ptr` must be a valid owned reference, and the GIL held for `'py`.
    #[inline]
    pub unsafe fn from_owned_nonnull(_py: Python<'py>, ptr: NonNull<ffi::PyObject>) -> Bound<'py> {
        Bound { ptr, _py: PhantomData }
    }

    /// Take ownership of a new reference returned by a C API call; NULL
    /// means the call raised, and the exception is fetched.
    ///
    /// # Safety
    /// `ptr` must be NULL or a valid owned reference.
    #[inline]
    pub unsafe fn from_owned_ptr_or_err(py: Python<'py>, ptr: *mut ffi::PyObject) -> Result<Bound<'py>> {
        match NonNull::new(ptr) {
            Some(p) => Ok(Bound {
                ptr: p,
                _py: PhantomData,
            }),
            None => Err(Error::fetch(py)),
        }
    }

    /// Like [`from_owned_ptr_or_err`](Self::from_owned_ptr_or_err) but NULL is `None`, no error.
    ///
    /// # Safety
    /// `ptr` must be NULL or a valid owned reference.
    #[inline]
    pub unsafe fn from_owned_ptr_opt(_py: Python<'py>, ptr: *mut ffi::PyObject) -> Option<Bound<'py>> {
        NonNull::new(ptr).map(|p| Bound {
            ptr: p,
            _py: PhantomData,
        })
    }

    /// Take a new reference to a borrowed pointer (`Py_INCREF`).
    ///
    /// # Safety
    /// `ptr` must be a valid, non-NULL object pointer.
    #[inline]
    pub unsafe fn from_borrowed_ptr(_py: Python<'py>, ptr: *mut ffi::PyObject) -> Bound<'py> {
        // SAFETY: caller guarantees validity; GIL held for 'py.
        unsafe { ffi::Py_INCREF(ptr) };
        // SAFETY: non-NULL per the contract.
        let ptr = unsafe { NonNull::new_unchecked(ptr) };
        Bound { ptr, _py: PhantomData }
    }

    /// View a borrowed pointer as a `&Bound` without touching the refcount.
    ///
    /// # Safety
    /// `*ptr` must be a valid non-NULL object pointer that stays alive for `'a`.
    #[inline]
    pub unsafe fn ref_from_ptr<'a>(_py: Python<'py>, ptr: &'a *mut ffi::PyObject) -> &'a Bound<'py> {
        // SAFETY: Bound is repr(transparent) over a non-null pointer.
        unsafe { &*(ptr as *const *mut ffi::PyObject as *const Bound<'py>) }
    }

    /// View a C array of borrowed, non-NULL object pointers (vectorcall
    /// arguments) as a slice of `Bound`, without touching refcounts.
    ///
    /// # Safety
    /// `ptr` must point to `len` valid non-NULL object pointers alive for `'a`.
    #[inline]
    pub unsafe fn slice_from_ptr<'a>(_py: Python<'py>, ptr: *const *mut ffi::PyObject, len: usize) -> &'a [Bound<'py>] {
        if len == 0 {
            return &[];
        }
        // SAFETY: per the contract; Bound is repr(transparent) over NonNull.
        unsafe { std::slice::from_raw_parts(ptr as *const Bound<'py>, len) }
    }

    /// The GIL token.
    #[inline]
    pub fn py(&self) -> Python<'py> {
        // SAFETY: a Bound<'py> exists only while the GIL is held for 'py.
        unsafe { Python::assume_gil_acquired() }
    }

    /// The raw pointer (borrowed).
    #[inline]
    pub fn as_ptr(&self) -> *mut ffi::PyObject {
        self.ptr.as_ptr()
    }

    /// Give up ownership and return the raw owned reference.
    #[inline]
    pub fn into_ptr(self) -> *mut ffi::PyObject {
        let p = self.ptr.as_ptr();
        std::mem::forget(self);
        p
    }

    /// Detach from the GIL scope: a `Py` that can be stored and sent (it
    /// stays an object of the current interpreter).
    #[inline]
    pub fn unbind(self) -> Py {
        let ptr = self.ptr;
        std::mem::forget(self);
        Py {
            ptr,
            interp: interp::current_id(),
        }
    }

    /// A new Python `str` (`PyUnicode_FromStringAndSize`).
    pub fn new_str(py: Python<'py>, s: &str) -> Bound<'py> {
        // SAFETY: GIL held; the buffer is valid UTF-8 of the given length.
        let p = unsafe { ffi::PyUnicode_FromStringAndSize(s.as_ptr() as *const c_char, s.len() as ffi::Py_ssize_t) };
        // SAFETY: owned reference or NULL (only on MemoryError).
        unsafe { Bound::from_owned_ptr_or_err(py, p) }.expect("PyUnicode_FromStringAndSize failed (out of memory)")
    }

    /// `getattr(obj, name)` (`PyObject_GetAttr`).
    pub fn getattr(&self, name: &str) -> Result<Bound<'py>> {
        let n = Bound::new_str(self.py(), name);
        // SAFETY: GIL held; both live.
        unsafe { Bound::from_owned_ptr_or_err(self.py(), ffi::PyObject_GetAttr(self.as_ptr(), n.as_ptr())) }
    }

    /// `getattr(obj, name, None)` but distinguishing a missing attribute
    /// (`Ok(None)`) from other errors raised by the lookup.
    pub fn getattr_opt(&self, name: &str) -> Result<Option<Bound<'py>>> {
        match self.getattr(name) {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is("AttributeError") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `hasattr(obj, name)`.
    pub fn hasattr(&self, name: &str) -> Result<bool> {
        Ok(self.getattr_opt(name)?.is_some())
    }

    /// `setattr(obj, name, value)` (`PyObject_SetAttr`).
    pub fn setattr(&self, name: &str, value: impl ToPython) -> Result<()> {
        let n = Bound::new_str(self.py(), name);
        let v = value.to_python(self.py())?;
        // SAFETY: GIL held; all live.
        if unsafe { ffi::PyObject_SetAttr(self.as_ptr(), n.as_ptr(), v.as_ptr()) } < 0 {
            return Err(Error::fetch(self.py()));
        }
        Ok(())
    }

    /// `delattr(obj, name)`.
    pub fn delattr(&self, name: &str) -> Result<()> {
        let n = Bound::new_str(self.py(), name);
        // SAFETY: GIL held; NULL value deletes.
        if unsafe { ffi::PyObject_SetAttr(self.as_ptr(), n.as_ptr(), std::ptr::null_mut()) } < 0 {
            return Err(Error::fetch(self.py()));
        }
        Ok(())
    }

    /// `obj()` (`PyObject_CallNoArgs`).
    #[inline]
    pub fn call0(&self) -> Result<Bound<'py>> {
        // SAFETY: GIL held; callable live.
        unsafe { Bound::from_owned_ptr_or_err(self.py(), ffi::PyObject_CallNoArgs(self.as_ptr())) }
    }

    /// `obj(*args)` with a Rust tuple of arguments (`PyObject_Vectorcall`,
    /// no argument tuple is built).
    #[inline]
    pub fn call1(&self, args: impl IntoArgs<'py>) -> Result<Bound<'py>> {
        args.call(self, None)
    }

    /// `obj(*args, **kwargs)` (`PyObject_VectorcallDict`).
    #[inline]
    pub fn call(&self, args: impl IntoArgs<'py>, kwargs: Option<&Dict<'py>>) -> Result<Bound<'py>> {
        args.call(self, kwargs)
    }

    /// `obj.name()`.
    pub fn call_method0(&self, name: &str) -> Result<Bound<'py>> {
        self.getattr(name)?.call0()
    }

    /// `obj.name(*args)`.
    pub fn call_method1(&self, name: &str, args: impl IntoArgs<'py>) -> Result<Bound<'py>> {
        self.getattr(name)?.call1(args)
    }

    /// `obj.name(*args, **kwargs)`.
    pub fn call_method(&self, name: &str, args: impl IntoArgs<'py>, kwargs: Option<&Dict<'py>>) -> Result<Bound<'py>> {
        self.getattr(name)?.call(args, kwargs)
    }

    /// Convert to a Rust value.
    #[inline]
    pub fn extract<T: FromPython<'py>>(&self) -> Result<T> {
        T::from_python(self)
    }

    /// Borrow the UTF-8 contents of a `str` without copying
    /// (`PyUnicode_AsUTF8AndSize`). Lone surrogates are an error.
    #[inline]
    pub fn to_str(&self) -> Result<&str> {
        if !self.is_str() {
            return Err(type_error_expected("str", self));
        }
        self.str_contents()
    }

    /// [`to_str`](Self::to_str) for an object already known to be a `str`.
    #[inline(always)]
    pub(crate) fn str_contents(&self) -> Result<&str> {
        let mut len: ffi::Py_ssize_t = 0;
        // SAFETY: a str object; the buffer is cached in the object and lives
        // as long as it does (and so as long as &self).
        let p = unsafe { ffi::PyUnicode_AsUTF8AndSize(self.as_ptr(), &mut len) };
        if p.is_null() {
            return Err(Error::fetch(self.py()));
        }
        // SAFETY: CPython guarantees valid UTF-8 of `len` bytes.
        Ok(unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(p as *const u8, len as usize)) })
    }

    /// Borrow the contents of a `bytes` object without copying
    /// (`PyBytes_AsStringAndSize`); `TypeError` for anything else.
    #[inline]
    pub fn as_bytes(&self) -> Result<&[u8]> {
        if !self.is_bytes() {
            return Err(type_error_expected("bytes", self));
        }
        let mut p: *mut c_char = std::ptr::null_mut();
        let mut n: ffi::Py_ssize_t = 0;
        // SAFETY: GIL held; a bytes object, whose buffer lives as long as it does.
        if unsafe { ffi::PyBytes_AsStringAndSize(self.as_ptr(), &mut p, &mut n) } < 0 {
            return Err(Error::fetch(self.py()));
        }
        // SAFETY: `n` bytes at `p`, owned by the object, alive as long as &self.
        Ok(unsafe { std::slice::from_raw_parts(p as *const u8, n as usize) })
    }

    /// `str(obj)` as a Rust `String` (`PyObject_Str`).
    pub fn str(&self) -> Result<String> {
        // SAFETY: GIL held.
        let s = unsafe { Bound::from_owned_ptr_or_err(self.py(), ffi::PyObject_Str(self.as_ptr())) }?;
        s.to_str().map(str::to_owned)
    }

    /// `repr(obj)` (`PyObject_Repr`).
    pub fn repr(&self) -> Result<String> {
        // SAFETY: GIL held.
        let s = unsafe { Bound::from_owned_ptr_or_err(self.py(), ffi::PyObject_Repr(self.as_ptr())) }?;
        s.to_str().map(str::to_owned)
    }

    /// `type(obj)`.
    pub fn get_type(&self) -> Bound<'py> {
        // SAFETY: GIL held; the type of a live object is live.
        unsafe { Bound::from_borrowed_ptr(self.py(), ffi::Py_TYPE(self.as_ptr()) as *mut ffi::PyObject) }
    }

    /// The type's `tp_name` (e.g. `"int"`, `"collections.OrderedDict"`).
    pub fn type_name(&self) -> String {
        // SAFETY: GIL held; tp_name is a NUL-terminated static or heap string
        // owned by the (live) type.
        unsafe {
            let tp = ffi::Py_TYPE(self.as_ptr());
            std::ffi::CStr::from_ptr(ffi::tp_name(tp))
                .to_string_lossy()
                .into_owned()
        }
    }

    /// `obj is None`.
    #[inline]
    pub fn is_none(&self) -> bool {
        // SAFETY: comparing with the None singleton's address.
        self.as_ptr() == unsafe { ffi::Py_None() }
    }

    /// `self is other`.
    #[inline]
    pub fn is(&self, other: &Bound<'_>) -> bool {
        self.as_ptr() == other.as_ptr()
    }

    /// `bool(obj)` (`PyObject_IsTrue`).
    pub fn is_truthy(&self) -> Result<bool> {
        // SAFETY: GIL held.
        match unsafe { ffi::PyObject_IsTrue(self.as_ptr()) } {
            -1 => Err(Error::fetch(self.py())),
            v => Ok(v == 1),
        }
    }

    /// `callable(obj)`.
    pub fn is_callable(&self) -> bool {
        // SAFETY: GIL held.
        unsafe { ffi::PyCallable_Check(self.as_ptr()) == 1 }
    }

    /// `isinstance(obj, ty)`.
    pub fn is_instance(&self, ty: &Bound<'py>) -> Result<bool> {
        // SAFETY: GIL held.
        match unsafe { ffi::PyObject_IsInstance(self.as_ptr(), ty.as_ptr()) } {
            -1 => Err(Error::fetch(self.py())),
            v => Ok(v == 1),
        }
    }

    /// `obj == other` (`PyObject_RichCompareBool`).
    pub fn eq(&self, other: impl ToPython) -> Result<bool> {
        let o = other.to_python(self.py())?;
        // SAFETY: GIL held.
        match unsafe { ffi::PyObject_RichCompareBool(self.as_ptr(), o.as_ptr(), ffi::Py_EQ) } {
            -1 => Err(Error::fetch(self.py())),
            v => Ok(v == 1),
        }
    }

    /// `len(obj)` (`PyObject_Size`).
    pub fn len(&self) -> Result<usize> {
        // SAFETY: GIL held.
        let n = unsafe { ffi::PyObject_Size(self.as_ptr()) };
        if n < 0 {
            return Err(Error::fetch(self.py()));
        }
        Ok(n as usize)
    }

    /// `len(obj) == 0`.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// `obj[key]` (`PyObject_GetItem`).
    pub fn get_item(&self, key: impl ToPython) -> Result<Bound<'py>> {
        let k = key.to_python(self.py())?;
        // SAFETY: GIL held.
        unsafe { Bound::from_owned_ptr_or_err(self.py(), ffi::PyObject_GetItem(self.as_ptr(), k.as_ptr())) }
    }

    /// `obj[key] = value` (`PyObject_SetItem`).
    pub fn set_item(&self, key: impl ToPython, value: impl ToPython) -> Result<()> {
        let k = key.to_python(self.py())?;
        let v = value.to_python(self.py())?;
        // SAFETY: GIL held.
        if unsafe { ffi::PyObject_SetItem(self.as_ptr(), k.as_ptr(), v.as_ptr()) } < 0 {
            return Err(Error::fetch(self.py()));
        }
        Ok(())
    }

    /// `del obj[key]`.
    pub fn del_item(&self, key: impl ToPython) -> Result<()> {
        let k = key.to_python(self.py())?;
        // SAFETY: GIL held.
        if unsafe { ffi::PyObject_DelItem(self.as_ptr(), k.as_ptr()) } < 0 {
            return Err(Error::fetch(self.py()));
        }
        Ok(())
    }

    /// `key in obj` (`PySequence_Contains`).
    pub fn contains(&self, key: impl ToPython) -> Result<bool> {
        let k = key.to_python(self.py())?;
        // SAFETY: GIL held.
        match unsafe { ffi::PySequence_Contains(self.as_ptr(), k.as_ptr()) } {
            -1 => Err(Error::fetch(self.py())),
            v => Ok(v == 1),
        }
    }

    /// `iter(obj)` as a Rust iterator of `Result<Bound>` (`PyObject_GetIter`).
    pub fn iter(&self) -> Result<Iter<'py>> {
        // SAFETY: GIL held.
        let it = unsafe { Bound::from_owned_ptr_or_err(self.py(), ffi::PyObject_GetIter(self.as_ptr())) }?;
        Ok(Iter { it })
    }

    /// View as a `dict` (`PyDict_Check`), or a `TypeError`.
    pub fn downcast_dict(&self) -> Result<&Dict<'py>> {
        // SAFETY: GIL held.
        if unsafe { ffi::PyDict_Check(self.as_ptr()) } != 0 {
            // SAFETY: Dict is repr(transparent) over Bound.
            Ok(unsafe { &*(self as *const Bound<'py> as *const Dict<'py>) })
        } else {
            Err(type_error_expected("dict", self))
        }
    }

    /// View as a `list` (`PyList_Check`), or a `TypeError`.
    pub fn downcast_list(&self) -> Result<&List<'py>> {
        // SAFETY: GIL held.
        if unsafe { ffi::PyList_Check(self.as_ptr()) } != 0 {
            // SAFETY: List is repr(transparent) over Bound.
            Ok(unsafe { &*(self as *const Bound<'py> as *const List<'py>) })
        } else {
            Err(type_error_expected("list", self))
        }
    }

    /// View as a `tuple` (`PyTuple_Check`), or a `TypeError`.
    pub fn downcast_tuple(&self) -> Result<&Tuple<'py>> {
        // SAFETY: GIL held.
        if unsafe { ffi::PyTuple_Check(self.as_ptr()) } != 0 {
            // SAFETY: Tuple is repr(transparent) over Bound.
            Ok(unsafe { &*(self as *const Bound<'py> as *const Tuple<'py>) })
        } else {
            Err(type_error_expected("tuple", self))
        }
    }

    /// The module or object `__dict__`-style attribute lookup shortcut for
    /// `obj.__name__`.
    pub fn name(&self) -> Result<String> {
        self.getattr("__name__")?.str()
    }
}

/// Iterator over a Python iterable (`PyIter_Next`).
pub struct Iter<'py> {
    it: Bound<'py>,
}

impl std::fmt::Debug for Iter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Iter")
    }
}

impl<'py> Iterator for Iter<'py> {
    type Item = Result<Bound<'py>>;
    fn next(&mut self) -> Option<Self::Item> {
        let py = self.it.py();
        // SAFETY: GIL held; it is an iterator.
        let p = unsafe { ffi::PyIter_Next(self.it.as_ptr()) };
        if p.is_null() {
            return Error::take(py).map(Err);
        }
        // SAFETY: owned reference.
        Some(Ok(unsafe { Bound::from_owned_nonnull(py, NonNull::new_unchecked(p)) }))
    }
}

macro_rules! typed_view {
    ($name:ident, $doc:literal) => {
        #[doc = $doc]
        #[repr(transparent)]
        #[derive(Clone)]
        pub struct $name<'py>(pub(crate) Bound<'py>);

        impl<'py> Deref for $name<'py> {
            type Target = Bound<'py>;
            #[inline]
            fn deref(&self) -> &Bound<'py> {
                &self.0
            }
        }

        impl<'py> $name<'py> {
            /// The untyped handle.
            #[inline]
            pub fn into_any(self) -> Bound<'py> {
                self.0
            }
        }

        impl std::fmt::Debug for $name<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Debug::fmt(&self.0, f)
            }
        }
    };
}

typed_view!(Dict, "A Python `dict`.");
typed_view!(List, "A Python `list`.");
typed_view!(Tuple, "A Python `tuple`.");

impl<'py> Dict<'py> {
    /// `{}` (`PyDict_New`).
    pub fn new(py: Python<'py>) -> Dict<'py> {
        // SAFETY: GIL held.
        let d = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyDict_New()) }.expect("PyDict_New failed");
        Dict(d)
    }

    /// `d[key] = value` (`PyDict_SetItem`).
    pub fn set_item(&self, key: impl ToPython, value: impl ToPython) -> Result<()> {
        let k = key.to_python(self.py())?;
        let v = value.to_python(self.py())?;
        // SAFETY: GIL held; self is a dict.
        if unsafe { ffi::PyDict_SetItem(self.as_ptr(), k.as_ptr(), v.as_ptr()) } < 0 {
            return Err(Error::fetch(self.py()));
        }
        Ok(())
    }

    /// `d.get(key)`: `Ok(None)` if absent; errors from `__hash__`/`__eq__` are
    /// returned (`PyDict_GetItemWithError`).
    pub fn get_item(&self, key: impl ToPython) -> Result<Option<Bound<'py>>> {
        let k = key.to_python(self.py())?;
        // SAFETY: GIL held; returns a borrowed reference or NULL.
        let p = unsafe { ffi::PyDict_GetItemWithError(self.as_ptr(), k.as_ptr()) };
        if p.is_null() {
            return match Error::take(self.py()) {
                Some(e) => Err(e),
                None => Ok(None),
            };
        }
        // SAFETY: borrowed, non-NULL.
        Ok(Some(unsafe { Bound::from_borrowed_ptr(self.py(), p) }))
    }

    /// `len(d)`.
    pub fn len(&self) -> usize {
        // SAFETY: GIL held; a dict.
        unsafe { ffi::PyDict_Size(self.as_ptr()) as usize }
    }

    /// `len(d) == 0`.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `key in d`.
    pub fn contains(&self, key: impl ToPython) -> Result<bool> {
        Ok(self.get_item(key)?.is_some())
    }

    /// The `(key, value)` pairs (`PyDict_Next`), as a snapshot.
    pub fn items(&self) -> Vec<(Bound<'py>, Bound<'py>)> {
        #[cfg(Py_GIL_DISABLED)]
        {
            // PyDict_Next needs the dict's lock on a free-threaded build;
            // PyDict_Items takes it and returns a new list of pairs.
            // SAFETY: an attached thread state; self is a dict.
            let Ok(list) = (unsafe { Bound::from_owned_ptr_or_err(self.py(), ffi::PyDict_Items(self.as_ptr())) })
            else {
                return Vec::new();
            };
            let seq = crate::FastSequence::new(&list).expect("PyDict_Items returns a list");
            seq.iter()
                .filter_map(|pair| {
                    let t = crate::FastSequence::new(&pair)?;
                    Some((t.get(0)?, t.get(1)?))
                })
                .collect()
        }
        #[cfg(not(Py_GIL_DISABLED))]
        {
            let py = self.py();
            let mut out = Vec::with_capacity(self.len());
            let mut pos: ffi::Py_ssize_t = 0;
            let mut k = std::ptr::null_mut();
            let mut v = std::ptr::null_mut();
            // SAFETY: GIL held; PyDict_Next yields borrowed references, which we
            // incref before running any code that could mutate the dict.
            unsafe {
                while ffi::PyDict_Next(self.as_ptr(), &mut pos, &mut k, &mut v) != 0 {
                    out.push((Bound::from_borrowed_ptr(py, k), Bound::from_borrowed_ptr(py, v)));
                }
            }
            out
        }
    }

    /// `d.update(other)` / merge a mapping (`PyDict_Update`).
    pub fn update(&self, other: &Bound<'py>) -> Result<()> {
        // SAFETY: GIL held.
        if unsafe { ffi::PyDict_Update(self.as_ptr(), other.as_ptr()) } < 0 {
            return Err(Error::fetch(self.py()));
        }
        Ok(())
    }
}

impl<'py> List<'py> {
    /// `[]` (`PyList_New(0)`).
    pub fn empty(py: Python<'py>) -> List<'py> {
        // SAFETY: GIL held.
        List(unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyList_New(0)) }.expect("PyList_New failed"))
    }

    /// A list of the converted items.
    pub fn new<T: ToPython>(py: Python<'py>, items: impl IntoIterator<Item = T>) -> Result<List<'py>> {
        let list = List::empty(py);
        for item in items {
            list.append(item)?;
        }
        Ok(list)
    }

    /// `l.append(item)` (`PyList_Append`).
    pub fn append(&self, item: impl ToPython) -> Result<()> {
        let v = item.to_python(self.py())?;
        // SAFETY: GIL held; a list.
        if unsafe { ffi::PyList_Append(self.as_ptr(), v.as_ptr()) } < 0 {
            return Err(Error::fetch(self.py()));
        }
        Ok(())
    }

    /// `len(l)`.
    pub fn len(&self) -> usize {
        // SAFETY: GIL held; a list.
        unsafe { ffi::PyList_Size(self.as_ptr()) as usize }
    }

    /// `len(l) == 0`.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `l[i]`, or `IndexError`.
    pub fn get(&self, i: usize) -> Result<Bound<'py>> {
        #[cfg(Py_GIL_DISABLED)]
        {
            // SAFETY: an attached thread state; a list; a new reference or
            // NULL with IndexError (PyList_GetItemRef is safe against other
            // threads changing the list, PyList_GetItem is not).
            unsafe {
                Bound::from_owned_ptr_or_err(self.py(), ffi::PyList_GetItemRef(self.as_ptr(), i as ffi::Py_ssize_t))
            }
        }
        #[cfg(not(Py_GIL_DISABLED))]
        {
            // SAFETY: GIL held; returns a borrowed reference or NULL.
            let p = unsafe { ffi::PyList_GetItem(self.as_ptr(), i as ffi::Py_ssize_t) };
            if p.is_null() {
                return Err(Error::fetch(self.py()));
            }
            // SAFETY: borrowed, non-NULL.
            Ok(unsafe { Bound::from_borrowed_ptr(self.py(), p) })
        }
    }
}

impl<'py> Tuple<'py> {
    /// The items, borrowed in place (`PyTuple_GET_ITEM`): a tuple cannot
    /// change once made, and it holds each item, so the slice is valid as
    /// long as the tuple.
    #[inline]
    pub fn as_slice(&self) -> &[Bound<'py>] {
        // SAFETY: GIL held (a Bound exists); a tuple's items are a contiguous
        // array of live, non-NULL pointers after its header, immutable and
        // owned by the tuple for its whole life (borrowed by &self).
        unsafe {
            Bound::slice_from_ptr(
                self.py(),
                ffi::tuple_items(self.as_ptr()),
                ffi::PyTuple_GET_SIZE(self.as_ptr()) as usize,
            )
        }
    }

    /// A tuple of the given objects (`PyTuple_New` + `PyTuple_SET_ITEM`).
    pub fn new(py: Python<'py>, items: &[Bound<'py>]) -> Tuple<'py> {
        // SAFETY: GIL held.
        let t = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyTuple_New(items.len() as ffi::Py_ssize_t)) }
            .expect("PyTuple_New failed");
        for (i, it) in items.iter().enumerate() {
            // SAFETY: fresh tuple of this size; SET_ITEM steals the new reference.
            unsafe { ffi::PyTuple_SET_ITEM(t.as_ptr(), i as ffi::Py_ssize_t, it.clone().into_ptr()) };
        }
        Tuple(t)
    }

    /// `len(t)`.
    pub fn len(&self) -> usize {
        // SAFETY: GIL held; a tuple.
        unsafe { ffi::PyTuple_Size(self.as_ptr()) as usize }
    }

    /// `len(t) == 0`.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `t[i]`, or `IndexError`.
    pub fn get(&self, i: usize) -> Result<Bound<'py>> {
        // SAFETY: GIL held; borrowed reference or NULL.
        let p = unsafe { ffi::PyTuple_GetItem(self.as_ptr(), i as ffi::Py_ssize_t) };
        if p.is_null() {
            return Err(Error::fetch(self.py()));
        }
        // SAFETY: borrowed, non-NULL.
        Ok(unsafe { Bound::from_borrowed_ptr(self.py(), p) })
    }
}

/// Positional arguments for a call: Rust tuples of [`ToPython`] values
/// (called with `PyObject_Vectorcall`, no argument tuple allocated), a
/// slice of `Bound`, or a Python [`Tuple`].
pub trait IntoArgs<'py> {
    /// Call `callable` with these arguments and optional keyword arguments.
    fn call(self, callable: &Bound<'py>, kwargs: Option<&Dict<'py>>) -> Result<Bound<'py>>;
}

#[inline]
fn vectorcall<'py>(
    callable: &Bound<'py>,
    args: &mut [*mut ffi::PyObject],
    kwargs: Option<&Dict<'py>>,
) -> Result<Bound<'py>> {
    // args[0] is a free slot so callees may use PY_VECTORCALL_ARGUMENTS_OFFSET.
    let n = args.len() - 1;
    // SAFETY: GIL held; args[1..] are live borrowed references; the offset
    // flag permits the callee to overwrite args[0] temporarily.
    let p = unsafe {
        let argv = args.as_mut_ptr().add(1);
        let nargsf = n | ffi::PY_VECTORCALL_ARGUMENTS_OFFSET;
        match kwargs {
            None => ffi::PyObject_Vectorcall(callable.as_ptr(), argv, nargsf, std::ptr::null_mut()),
            Some(kw) => ffi::PyObject_VectorcallDict(callable.as_ptr(), argv, nargsf, kw.as_ptr()),
        }
    };
    // SAFETY: owned reference or NULL with an exception.
    unsafe { Bound::from_owned_ptr_or_err(callable.py(), p) }
}

impl<'py> IntoArgs<'py> for () {
    #[inline]
    fn call(self, callable: &Bound<'py>, kwargs: Option<&Dict<'py>>) -> Result<Bound<'py>> {
        match kwargs {
            None => callable.call0(),
            Some(_) => vectorcall(callable, &mut [std::ptr::null_mut()], kwargs),
        }
    }
}

macro_rules! tuple_args {
    ($n:literal; $($T:ident $i:tt),+) => {
        impl<'py, $($T: ToPython),+> IntoArgs<'py> for ($($T,)+) {
            #[inline]
            fn call(self, callable: &Bound<'py>, kwargs: Option<&Dict<'py>>) -> Result<Bound<'py>> {
                let py = callable.py();
                let owned = ($(self.$i.to_python(py)?,)+);
                let mut args = [std::ptr::null_mut(), $(owned.$i.as_ptr()),+];
                vectorcall(callable, &mut args, kwargs)
            }
        }
    };
}

tuple_args!(1; A 0);
tuple_args!(2; A 0, B 1);
tuple_args!(3; A 0, B 1, C 2);
tuple_args!(4; A 0, B 1, C 2, D 3);
tuple_args!(5; A 0, B 1, C 2, D 3, E 4);
tuple_args!(6; A 0, B 1, C 2, D 3, E 4, F 5);
tuple_args!(7; A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_args!(8; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);

impl<'py> IntoArgs<'py> for &[Bound<'py>] {
    #[inline]
    fn call(self, callable: &Bound<'py>, kwargs: Option<&Dict<'py>>) -> Result<Bound<'py>> {
        // One or two arguments (the common case) in an array of their size;
        // up to 8 on the stack; no allocation per call.
        match self {
            [a] => return vectorcall(callable, &mut [std::ptr::null_mut(), a.as_ptr()], kwargs),
            [a, b] => return vectorcall(callable, &mut [std::ptr::null_mut(), a.as_ptr(), b.as_ptr()], kwargs),
            _ => {}
        }
        const INLINE: usize = 8;
        if self.len() <= INLINE {
            let mut args = [std::ptr::null_mut(); INLINE + 1];
            for (slot, b) in args[1..].iter_mut().zip(self) {
                *slot = b.as_ptr();
            }
            return vectorcall(callable, &mut args[..self.len() + 1], kwargs);
        }
        let mut args: Vec<*mut ffi::PyObject> = Vec::with_capacity(self.len() + 1);
        args.push(std::ptr::null_mut());
        args.extend(self.iter().map(|b| b.as_ptr()));
        vectorcall(callable, &mut args, kwargs)
    }
}

impl<'py> IntoArgs<'py> for Vec<Bound<'py>> {
    fn call(self, callable: &Bound<'py>, kwargs: Option<&Dict<'py>>) -> Result<Bound<'py>> {
        self.as_slice().call(callable, kwargs)
    }
}

impl<'py> IntoArgs<'py> for &Tuple<'py> {
    fn call(self, callable: &Bound<'py>, kwargs: Option<&Dict<'py>>) -> Result<Bound<'py>> {
        let kw = kwargs.map_or(std::ptr::null_mut(), |k| k.as_ptr());
        // SAFETY: GIL held; self is a tuple; kw is NULL or a dict.
        unsafe { Bound::from_owned_ptr_or_err(callable.py(), ffi::PyObject_Call(callable.as_ptr(), self.as_ptr(), kw)) }
    }
}

impl<'py> Dict<'py> {
    /// Build keyword arguments from `(name, value)` pairs.
    pub fn from_pairs<K: ToPython, V: ToPython>(
        py: Python<'py>,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Dict<'py>> {
        let d = Dict::new(py);
        for (k, v) in pairs {
            d.set_item(k, v)?;
        }
        Ok(d)
    }
}

/// Raise `TypeError` naming what was expected, for conversions. Cold and
/// out of line, so the checks that call it stay small enough to inline.
#[cold]
#[inline(never)]
pub(crate) fn type_error_expected(what: &str, got: &Bound<'_>) -> Error {
    Error::new(ExcKind::TypeError, format!("expected {what}, got {}", got.type_name()))
}
