//! Conversions between Rust and Python values, both ways.
//!
//! | Rust | Python | notes |
//! |---|---|---|
//! | `()` | `None` | |
//! | `bool` | `bool` | extraction accepts only `True`/`False` |
//! | `i8`..`i64`, `isize`, `u8`..`u64`, `usize` | `int` | out of range is `OverflowError` |
//! | `i128`, `u128` | `int` | through `_PyLong_{From,As}ByteArray` |
//! | `f64`, `f32` | `float` | extraction accepts `int` and `__float__` objects |
//! | `&str`, `String` | `str` | lone surrogates are `UnicodeEncodeError` |
//! | [`Bytes`] | `bytes` | |
//! | `Option<T>` | `T` or `None` | |
//! | `Vec<T>`, `&[T]` | `list` | extraction accepts `list` and `tuple`, not `str` |
//! | tuples up to 8 | `tuple` | extraction requires a tuple of the same length |
//! | `HashMap<K, V>`, `BTreeMap<K, V>` | `dict` | |
//! | [`Bound`], [`Py`] | the object itself | |
//!
//! To make a `str` from bytes that may not be UTF-8, use [`str_from_utf8`]:
//! invalid UTF-8 is a `UnicodeDecodeError`, never a lossy replacement.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash};
use std::os::raw::c_char;

use crate::err::{Error, Result};
use crate::ffi;
use crate::gil::Python;
use crate::object::{type_error_expected, Bound, Dict, List, Py, Tuple};

/// Convert a Rust value to a new Python object.
pub trait ToPython {
    /// The Python object for this value.
    fn to_python<'py>(&self, py: Python<'py>) -> Result<Bound<'py>>;
}

/// Convert a Python object to a Rust value.
pub trait FromPython<'py>: Sized {
    /// The Rust value for this object, or a `TypeError`/`OverflowError`/... .
    fn from_python(obj: &Bound<'py>) -> Result<Self>;
}

/// Python `bytes` as a Rust byte vector (a newtype, since `Vec<u8>` is a list of ints).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Bytes(pub Vec<u8>);

/// Make a Python `str` from bytes that must be UTF-8 (`PyUnicode_DecodeUTF8`,
/// strict): invalid input is a `UnicodeDecodeError`.
pub fn str_from_utf8<'py>(py: Python<'py>, bytes: &[u8]) -> Result<Bound<'py>> {
    // SAFETY: GIL held; buffer valid for its length; "strict" is a C string.
    unsafe {
        Bound::from_owned_ptr_or_err(
            py,
            ffi::PyUnicode_DecodeUTF8(
                bytes.as_ptr() as *const c_char,
                bytes.len() as ffi::Py_ssize_t,
                c"strict".as_ptr(),
            ),
        )
    }
}

#[inline]
unsafe fn owned<'py>(py: Python<'py>, p: *mut ffi::PyObject) -> Result<Bound<'py>> {
    // SAFETY: forwarded contract: p is NULL (with an exception) or a new reference.
    unsafe { Bound::from_owned_ptr_or_err(py, p) }
}

// ---- references and handles ---------------------------------------------

impl<T: ToPython + ?Sized> ToPython for &T {
    #[inline]
    fn to_python<'py>(&self, py: Python<'py>) -> Result<Bound<'py>> {
        (**self).to_python(py)
    }
}

impl ToPython for Bound<'_> {
    #[inline]
    fn to_python<'py>(&self, py: Python<'py>) -> Result<Bound<'py>> {
        // SAFETY: GIL held (token); self is live.
        Ok(unsafe { Bound::from_borrowed_ptr(py, self.as_ptr()) })
    }
}

impl ToPython for Dict<'_> {
    fn to_python<'py>(&self, py: Python<'py>) -> Result<Bound<'py>> {
        (**self).to_python(py)
    }
}
impl ToPython for List<'_> {
    fn to_python<'py>(&self, py: Python<'py>) -> Result<Bound<'py>> {
        (**self).to_python(py)
    }
}
impl ToPython for Tuple<'_> {
    fn to_python<'py>(&self, py: Python<'py>) -> Result<Bound<'py>> {
        (**self).to_python(py)
    }
}

impl ToPython for Py {
    #[inline]
    fn to_python<'py>(&self, py: Python<'py>) -> Result<Bound<'py>> {
        Ok(self.to_bound(py))
    }
}

impl<'py> FromPython<'py> for Bound<'py> {
    #[inline]
    fn from_python(obj: &Bound<'py>) -> Result<Self> {
        Ok(obj.clone())
    }
}

impl<'py> FromPython<'py> for Py {
    fn from_python(obj: &Bound<'py>) -> Result<Self> {
        Ok(obj.clone().unbind())
    }
}

impl<'py> FromPython<'py> for Dict<'py> {
    fn from_python(obj: &Bound<'py>) -> Result<Self> {
        obj.downcast_dict().cloned()
    }
}
impl<'py> FromPython<'py> for List<'py> {
    fn from_python(obj: &Bound<'py>) -> Result<Self> {
        obj.downcast_list().cloned()
    }
}
impl<'py> FromPython<'py> for Tuple<'py> {
    fn from_python(obj: &Bound<'py>) -> Result<Self> {
        obj.downcast_tuple().cloned()
    }
}

// ---- None and bool -------------------------------------------------------

impl ToPython for () {
    #[inline]
    fn to_python<'py>(&self, py: Python<'py>) -> Result<Bound<'py>> {
        Ok(py.None())
    }
}

impl<'py> FromPython<'py> for () {
    fn from_python(obj: &Bound<'py>) -> Result<Self> {
        if obj.is_none() {
            Ok(())
        } else {
            Err(type_error_expected("None", obj))
        }
    }
}

impl ToPython for bool {
    #[inline]
    fn to_python<'py>(&self, py: Python<'py>) -> Result<Bound<'py>> {
        Ok(py.bool(*self))
    }
}

impl<'py> FromPython<'py> for bool {
    fn from_python(obj: &Bound<'py>) -> Result<Self> {
        strict_bool(obj).ok_or_else(|| type_error_expected("bool", obj))
    }
}

/// `True` or `False` as a Rust `bool`, and `None` for any other object
/// (ints included: a flag given as `1` is more likely a mistake than a
/// choice). Shared by [`FromPython`] and the host-function argument
/// conversions.
#[inline(always)]
pub(crate) fn strict_bool(obj: &Bound<'_>) -> Option<bool> {
    // SAFETY: comparing with the bool singletons' addresses.
    let (t, f) = unsafe { (ffi::Py_True(), ffi::Py_False()) };
    if obj.as_ptr() == t {
        Some(true)
    } else if obj.as_ptr() == f {
        Some(false)
    } else {
        None
    }
}

// ---- integers ------------------------------------------------------------

#[inline]
fn extract_i64(obj: &Bound<'_>) -> Result<i64> {
    // SAFETY: GIL held; calls __index__ for non-int objects. (Cheaper than
    // PyLong_AsLongLongAndOverflow on 3.12+; the overflow is told apart on
    // the error path.)
    let v = unsafe { ffi::PyLong_AsLongLong(obj.as_ptr()) };
    if v == -1 {
        return i64_error(obj);
    }
    Ok(v)
}

/// -1 from `PyLong_AsLongLong`: the value, or the error it raised.
#[cold]
#[inline(never)]
fn i64_error(obj: &Bound<'_>) -> Result<i64> {
    match Error::take(obj.py()) {
        Some(e) if e.is("OverflowError") => Err(Error::overflow_error(
            "Python int too large to convert to a 64-bit signed integer",
        )),
        Some(e) => Err(e),
        None => Ok(-1),
    }
}

fn extract_u64(obj: &Bound<'_>) -> Result<u64> {
    // PyLong_AsUnsignedLongLong does not call __index__; do it first.
    // SAFETY: GIL held.
    let num = unsafe { owned(obj.py(), ffi::PyNumber_Index(obj.as_ptr())) }?;
    // SAFETY: GIL held; num is an int.
    let v = unsafe { ffi::PyLong_AsUnsignedLongLong(num.as_ptr()) };
    if v == u64::MAX {
        if let Some(e) = Error::take(obj.py()) {
            return Err(e);
        }
    }
    Ok(v)
}

macro_rules! int_signed {
    ($($t:ty),*) => {$(
        impl ToPython for $t {
            #[inline]
            fn to_python<'py>(&self, py: Python<'py>) -> Result<Bound<'py>> {
                // SAFETY: GIL held.
                unsafe { owned(py, ffi::PyLong_FromLongLong(*self as i64)) }
            }
        }
        impl<'py> FromPython<'py> for $t {
            #[inline]
            fn from_python(obj: &Bound<'py>) -> Result<Self> {
                let v = extract_i64(obj)?;
                <$t>::try_from(v).map_err(|_| Error::overflow_error(
                    format!("Python int {v} out of range for {}", stringify!($t))))
            }
        }
    )*};
}

macro_rules! int_unsigned {
    ($($t:ty),*) => {$(
        impl ToPython for $t {
            #[inline]
            fn to_python<'py>(&self, py: Python<'py>) -> Result<Bound<'py>> {
                // SAFETY: GIL held.
                unsafe { owned(py, ffi::PyLong_FromUnsignedLongLong(*self as u64)) }
            }
        }
        impl<'py> FromPython<'py> for $t {
            #[inline]
            fn from_python(obj: &Bound<'py>) -> Result<Self> {
                let v = extract_u64(obj)?;
                <$t>::try_from(v).map_err(|_| Error::overflow_error(
                    format!("Python int {v} out of range for {}", stringify!($t))))
            }
        }
    )*};
}

int_signed!(i8, i16, i32, i64, isize);
int_unsigned!(u8, u16, u32, u64, usize);

impl ToPython for i128 {
    fn to_python<'py>(&self, py: Python<'py>) -> Result<Bound<'py>> {
        let v = *self as u128;
        // SAFETY: GIL held.
        unsafe { owned(py, ffi::pyhost_long_from_128(v as u64, (v >> 64) as u64, 1)) }
    }
}

impl ToPython for u128 {
    fn to_python<'py>(&self, py: Python<'py>) -> Result<Bound<'py>> {
        // SAFETY: GIL held.
        unsafe { owned(py, ffi::pyhost_long_from_128(*self as u64, (*self >> 64) as u64, 0)) }
    }
}

fn extract_128(obj: &Bound<'_>, signed: bool) -> Result<u128> {
    let (mut lo, mut hi) = (0u64, 0u64);
    // SAFETY: GIL held; out-params are valid.
    if unsafe { ffi::pyhost_long_as_128(obj.as_ptr(), &mut lo, &mut hi, signed as i32) } < 0 {
        return Err(Error::fetch(obj.py()));
    }
    Ok(((hi as u128) << 64) | lo as u128)
}

impl<'py> FromPython<'py> for i128 {
    fn from_python(obj: &Bound<'py>) -> Result<Self> {
        extract_128(obj, true).map(|v| v as i128)
    }
}

impl<'py> FromPython<'py> for u128 {
    fn from_python(obj: &Bound<'py>) -> Result<Self> {
        extract_128(obj, false)
    }
}

// ---- floats --------------------------------------------------------------

impl ToPython for f64 {
    #[inline]
    fn to_python<'py>(&self, py: Python<'py>) -> Result<Bound<'py>> {
        // SAFETY: GIL held.
        unsafe { owned(py, ffi::PyFloat_FromDouble(*self)) }
    }
}

impl ToPython for f32 {
    fn to_python<'py>(&self, py: Python<'py>) -> Result<Bound<'py>> {
        (*self as f64).to_python(py)
    }
}

impl<'py> FromPython<'py> for f64 {
    #[inline]
    fn from_python(obj: &Bound<'py>) -> Result<Self> {
        // SAFETY: GIL held.
        let v = unsafe { ffi::PyFloat_AsDouble(obj.as_ptr()) };
        if v == -1.0 {
            if let Some(e) = Error::take(obj.py()) {
                return Err(e);
            }
        }
        Ok(v)
    }
}

impl<'py> FromPython<'py> for f32 {
    fn from_python(obj: &Bound<'py>) -> Result<Self> {
        f64::from_python(obj).map(|v| v as f32)
    }
}

// ---- strings and bytes ---------------------------------------------------

impl ToPython for str {
    #[inline]
    fn to_python<'py>(&self, py: Python<'py>) -> Result<Bound<'py>> {
        Ok(Bound::new_str(py, self))
    }
}

impl ToPython for String {
    #[inline]
    fn to_python<'py>(&self, py: Python<'py>) -> Result<Bound<'py>> {
        Ok(Bound::new_str(py, self))
    }
}

impl<'py> FromPython<'py> for String {
    #[inline]
    fn from_python(obj: &Bound<'py>) -> Result<Self> {
        obj.to_str().map(str::to_owned)
    }
}

impl ToPython for Bytes {
    fn to_python<'py>(&self, py: Python<'py>) -> Result<Bound<'py>> {
        // SAFETY: GIL held; buffer valid for its length.
        unsafe {
            owned(
                py,
                ffi::PyBytes_FromStringAndSize(self.0.as_ptr() as *const c_char, self.0.len() as ffi::Py_ssize_t),
            )
        }
    }
}

impl<'py> FromPython<'py> for Bytes {
    fn from_python(obj: &Bound<'py>) -> Result<Self> {
        // SAFETY: GIL held.
        if unsafe { ffi::PyBytes_Check(obj.as_ptr()) } == 0 {
            return Err(type_error_expected("bytes", obj));
        }
        let mut p: *mut c_char = std::ptr::null_mut();
        let mut n: ffi::Py_ssize_t = 0;
        // SAFETY: a bytes object; the buffer lives as long as obj.
        if unsafe { ffi::PyBytes_AsStringAndSize(obj.as_ptr(), &mut p, &mut n) } < 0 {
            return Err(Error::fetch(obj.py()));
        }
        // SAFETY: p points to n bytes owned by obj.
        Ok(Bytes(
            unsafe { std::slice::from_raw_parts(p as *const u8, n as usize) }.to_vec(),
        ))
    }
}

// ---- Option --------------------------------------------------------------

impl<T: ToPython> ToPython for Option<T> {
    #[inline]
    fn to_python<'py>(&self, py: Python<'py>) -> Result<Bound<'py>> {
        match self {
            Some(v) => v.to_python(py),
            None => Ok(py.None()),
        }
    }
}

impl<'py, T: FromPython<'py>> FromPython<'py> for Option<T> {
    #[inline]
    fn from_python(obj: &Bound<'py>) -> Result<Self> {
        if obj.is_none() {
            Ok(None)
        } else {
            T::from_python(obj).map(Some)
        }
    }
}

// ---- sequences -----------------------------------------------------------

impl<T: ToPython> ToPython for [T] {
    fn to_python<'py>(&self, py: Python<'py>) -> Result<Bound<'py>> {
        // SAFETY: GIL held.
        let list = unsafe { owned(py, ffi::PyList_New(self.len() as ffi::Py_ssize_t)) }?;
        for (i, item) in self.iter().enumerate() {
            let v = item.to_python(py)?;
            // SAFETY: fresh list of this length; SET_ITEM steals the reference.
            unsafe { ffi::PyList_SetItem(list.as_ptr(), i as ffi::Py_ssize_t, v.into_ptr()) };
        }
        Ok(list)
    }
}

impl<T: ToPython> ToPython for Vec<T> {
    #[inline]
    fn to_python<'py>(&self, py: Python<'py>) -> Result<Bound<'py>> {
        self.as_slice().to_python(py)
    }
}

impl<'py, T: FromPython<'py>> FromPython<'py> for Vec<T> {
    fn from_python(obj: &Bound<'py>) -> Result<Self> {
        let p = obj.as_ptr();
        // SAFETY: GIL held; type checks.
        let ok = unsafe { ffi::PyList_Check(p) != 0 || ffi::PyTuple_Check(p) != 0 };
        if !ok {
            return Err(type_error_expected("list or tuple", obj));
        }
        let py = obj.py();
        // SAFETY: list or tuple; size is exact.
        let n = unsafe { ffi::PyObject_Size(p) };
        let mut out = Vec::with_capacity(n.max(0) as usize);
        for i in 0..n {
            // SAFETY: i < len; PySequence_GetItem returns a new reference.
            let item = unsafe { owned(py, ffi::PySequence_GetItem(p, i)) }?;
            out.push(T::from_python(&item)?);
        }
        Ok(out)
    }
}

// ---- tuples --------------------------------------------------------------

macro_rules! tuple_conv {
    ($n:literal; $($T:ident $i:tt),+) => {
        impl<$($T: ToPython),+> ToPython for ($($T,)+) {
            fn to_python<'py>(&self, py: Python<'py>) -> Result<Bound<'py>> {
                let items = [$(self.$i.to_python(py)?),+];
                Ok(Tuple::new(py, &items).into_any())
            }
        }
        impl<'py, $($T: FromPython<'py>),+> FromPython<'py> for ($($T,)+) {
            fn from_python(obj: &Bound<'py>) -> Result<Self> {
                let t = obj.downcast_tuple()?;
                if t.len() != $n {
                    return Err(Error::value_error(format!(
                        "expected a tuple of length {}, got length {}", $n, t.len())));
                }
                Ok(($($T::from_python(&t.get($i)?)?,)+))
            }
        }
    };
}

tuple_conv!(1; A 0);
tuple_conv!(2; A 0, B 1);
tuple_conv!(3; A 0, B 1, C 2);
tuple_conv!(4; A 0, B 1, C 2, D 3);
tuple_conv!(5; A 0, B 1, C 2, D 3, E 4);
tuple_conv!(6; A 0, B 1, C 2, D 3, E 4, F 5);
tuple_conv!(7; A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_conv!(8; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);

// ---- maps ----------------------------------------------------------------

fn map_to_python<'py, 'a, K: ToPython + 'a, V: ToPython + 'a>(
    py: Python<'py>,
    it: impl Iterator<Item = (&'a K, &'a V)>,
) -> Result<Bound<'py>> {
    let d = Dict::new(py);
    for (k, v) in it {
        d.set_item(k, v)?;
    }
    Ok(d.into_any())
}

impl<K: ToPython, V: ToPython, S> ToPython for HashMap<K, V, S> {
    fn to_python<'py>(&self, py: Python<'py>) -> Result<Bound<'py>> {
        map_to_python(py, self.iter())
    }
}

impl<K: ToPython, V: ToPython> ToPython for BTreeMap<K, V> {
    fn to_python<'py>(&self, py: Python<'py>) -> Result<Bound<'py>> {
        map_to_python(py, self.iter())
    }
}

impl<'py, K, V, S> FromPython<'py> for HashMap<K, V, S>
where
    K: FromPython<'py> + Eq + Hash,
    V: FromPython<'py>,
    S: BuildHasher + Default,
{
    fn from_python(obj: &Bound<'py>) -> Result<Self> {
        let d = obj.downcast_dict()?;
        let mut out = HashMap::with_capacity_and_hasher(d.len(), S::default());
        for (k, v) in d.items() {
            out.insert(K::from_python(&k)?, V::from_python(&v)?);
        }
        Ok(out)
    }
}

impl<'py, K, V> FromPython<'py> for BTreeMap<K, V>
where
    K: FromPython<'py> + Ord,
    V: FromPython<'py>,
{
    fn from_python(obj: &Bound<'py>) -> Result<Self> {
        let d = obj.downcast_dict()?;
        let mut out = BTreeMap::new();
        for (k, v) in d.items() {
            out.insert(K::from_python(&k)?, V::from_python(&v)?);
        }
        Ok(out)
    }
}
