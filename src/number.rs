//! Numbers read as C extensions read them, with CPython's own conversions
//! and error messages: `PyLong_AsLong`, `PyLong_AsLongLong`,
//! `PyFloat_AsDouble`. (For Rust-typed extraction with range checks, see
//! [`FromPython`](crate::FromPython) and `extract`.)

use std::os::raw::{c_long, c_longlong};

use crate::err::{Error, Result};
use crate::ffi;
use crate::object::Bound;

impl Bound<'_> {
    /// `PyLong_AsLong`: an `int`, or an object with `__index__`.
    /// `TypeError: 'float' object cannot be interpreted as an integer`,
    /// `OverflowError: Python int too large to convert to C long`.
    #[inline]
    pub fn to_long(&self) -> Result<c_long> {
        // SAFETY: GIL held (a Bound exists); live object.
        let v = unsafe { ffi::PyLong_AsLong(self.as_ptr()) };
        if v == -1 {
            if let Some(e) = Error::take(self.py()) {
                return Err(e);
            }
        }
        Ok(v)
    }

    /// `PyLong_AsLongLong`: as [`to_long`](Self::to_long) for a C `long long`.
    #[inline]
    pub fn to_long_long(&self) -> Result<c_longlong> {
        // SAFETY: GIL held; live object.
        let v = unsafe { ffi::PyLong_AsLongLong(self.as_ptr()) };
        if v == -1 {
            if let Some(e) = Error::take(self.py()) {
                return Err(e);
            }
        }
        Ok(v)
    }

    /// `PyFloat_AsDouble`: a `float`, or an object with `__float__` or
    /// `__index__`. `TypeError: must be real number, not str`.
    #[inline]
    pub fn to_double(&self) -> Result<f64> {
        // SAFETY: GIL held; live object.
        let v = unsafe { ffi::PyFloat_AsDouble(self.as_ptr()) };
        if v == -1.0 {
            if let Some(e) = Error::take(self.py()) {
                return Err(e);
            }
        }
        Ok(v)
    }
}
