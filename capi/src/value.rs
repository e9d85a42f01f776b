//! `pyhost_value`: the tagged value of typed calls and host functions, and
//! its conversions to and from Python objects.

use std::ffi::{c_char, c_void};
use std::ptr;

use pyhost::{str_from_utf8, Bound, Bytes, Error, FastSequence, List, Python, ToPython};

use crate::error::malloc_bytes;
use crate::object::pyhost_object;

/// `PYHOST_NONE`: `None`.
pub const PYHOST_NONE: i32 = 0;
/// `PYHOST_BOOL`: `i` is 0 or 1.
pub const PYHOST_BOOL: i32 = 1;
/// `PYHOST_INT`: `i`.
pub const PYHOST_INT: i32 = 2;
/// `PYHOST_FLOAT`: `f`.
pub const PYHOST_FLOAT: i32 = 3;
/// `PYHOST_STR`: `ptr` + `len` bytes of UTF-8.
pub const PYHOST_STR: i32 = 4;
/// `PYHOST_BYTES`: `ptr` + `len` bytes.
pub const PYHOST_BYTES: i32 = 5;
/// `PYHOST_STR_LIST`: `ptr` is a `pyhost_str` array of `len` items.
pub const PYHOST_STR_LIST: i32 = 6;
/// `PYHOST_OBJECT`: `ptr` is a `pyhost_object *`.
pub const PYHOST_OBJECT: i32 = 7;

/// `PYHOST_VALUE_OWNED`: pyhost allocated the value's memory.
pub const PYHOST_VALUE_OWNED: i32 = 1;

/// A UTF-8 string by pointer and length (`pyhost_str`).
#[allow(non_camel_case_types)] // the C name
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct pyhost_str {
    /// The bytes (NULL allowed when `len` is 0).
    pub ptr: *const c_char,
    /// Their number.
    pub len: usize,
}

/// A typed value (`pyhost_value`); `type_` is `type` in C.
#[allow(non_camel_case_types)] // the C name
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct pyhost_value {
    /// A `PYHOST_*` type.
    pub type_: i32,
    /// `PYHOST_VALUE_OWNED` on results pyhost allocated.
    pub flags: i32,
    /// Bool and int.
    pub i: i64,
    /// Float.
    pub f: f64,
    /// Str, bytes, list of str, object.
    pub ptr: *const c_void,
    /// Str and bytes: bytes; list of str: items.
    pub len: usize,
}

impl pyhost_value {
    /// `None`.
    pub const NONE: pyhost_value = pyhost_value {
        type_: PYHOST_NONE,
        flags: 0,
        i: 0,
        f: 0.0,
        ptr: ptr::null(),
        len: 0,
    };

    /// An int.
    pub fn int(i: i64) -> pyhost_value {
        pyhost_value {
            type_: PYHOST_INT,
            i,
            ..pyhost_value::NONE
        }
    }

    /// A str (borrowed).
    pub fn str(s: &str) -> pyhost_value {
        pyhost_value {
            type_: PYHOST_STR,
            ptr: s.as_ptr().cast(),
            len: s.len(),
            ..pyhost_value::NONE
        }
    }
}

/// The bytes a str, bytes or str-list item points at; NULL is allowed for
/// an empty one only.
///
/// # Safety
/// `p` is NULL or valid for `len` bytes for `'a`.
unsafe fn bytes_at<'a>(p: *const c_void, len: usize, what: &dyn Fn() -> String) -> pyhost::Result<&'a [u8]> {
    if p.is_null() {
        if len == 0 {
            return Ok(&[]);
        }
        return Err(Error::value_error(format!("{} is NULL with length {len}", what())));
    }
    // SAFETY: per the contract.
    Ok(unsafe { std::slice::from_raw_parts(p as *const u8, len) })
}

/// The Python object for `v` (strings, bytes and lists are copied into new
/// objects). `what` names the value in error messages ("argument 2").
///
/// # Safety
/// `v`'s pointers are valid for its type, as the header documents.
#[inline]
pub(crate) unsafe fn to_python<'py>(
    py: Python<'py>,
    v: &pyhost_value,
    what: &dyn Fn() -> String,
) -> pyhost::Result<Bound<'py>> {
    match v.type_ {
        PYHOST_NONE => Ok(py.None()),
        PYHOST_BOOL => Ok(py.bool(v.i != 0)),
        PYHOST_INT => v.i.to_python(py),
        PYHOST_FLOAT => v.f.to_python(py),
        PYHOST_STR => {
            // SAFETY: a str value's ptr/len (caller contract).
            let b = unsafe { bytes_at(v.ptr, v.len, what) }?;
            utf8(py, b, what)
        }
        PYHOST_BYTES => {
            // SAFETY: as above.
            let b = unsafe { bytes_at(v.ptr, v.len, what) }?;
            Bytes(b.to_vec()).to_python(py)
        }
        PYHOST_STR_LIST => {
            let items = if v.len == 0 {
                &[][..]
            } else if v.ptr.is_null() {
                return Err(Error::value_error(format!("{} is NULL with {} items", what(), v.len)));
            } else {
                // SAFETY: a list value points at `len` pyhost_str (caller contract).
                unsafe { std::slice::from_raw_parts(v.ptr as *const pyhost_str, v.len) }
            };
            let list = List::empty(py);
            for (i, item) in items.iter().enumerate() {
                let item_what = || format!("{} item {i}", what());
                // SAFETY: each item's ptr/len (caller contract).
                let b = unsafe { bytes_at(item.ptr.cast(), item.len, &item_what) }?;
                list.append(utf8(py, b, &item_what)?)?;
            }
            Ok(list.into_any())
        }
        PYHOST_OBJECT => {
            if v.ptr.is_null() {
                return Err(Error::value_error(format!("{} is a NULL object handle", what())));
            }
            // SAFETY: an object value's ptr is a live handle (caller contract).
            let obj = unsafe { &*(v.ptr as *const pyhost_object) };
            Ok(obj.obj.try_bind(py)?.clone())
        }
        other => Err(Error::value_error(format!(
            "{} has an unknown pyhost_value type {other}",
            what()
        ))),
    }
}

fn utf8<'py>(py: Python<'py>, b: &[u8], what: &dyn Fn() -> String) -> pyhost::Result<Bound<'py>> {
    if let Ok(s) = std::str::from_utf8(b) {
        return s.to_python(py);
    }
    let e = str_from_utf8(py, b).expect_err("not UTF-8");
    let msg = e.as_python().map_or_else(|| e.to_string(), |p| p.message().to_string());
    Err(Error::value_error(format!("{} is not valid UTF-8: {msg}", what())))
}

/// Fill `out` with `obj` as the header's result rules say: scalars by
/// value, str/bytes/lists of str copied into malloc'd memory, anything else
/// as a new handle (all flagged `PYHOST_VALUE_OWNED`).
#[inline]
pub(crate) fn from_python(obj: &Bound<'_>, out: &mut pyhost_value) -> pyhost::Result<()> {
    // The common results first, without a detour.
    if obj.is_exact_int() {
        if let Ok(i) = obj.extract::<i64>() {
            *out = pyhost_value::int(i);
            return Ok(());
        }
    } else if obj.is_exact_float() {
        *out = pyhost_value {
            type_: PYHOST_FLOAT,
            f: obj.extract::<f64>()?,
            ..pyhost_value::NONE
        };
        return Ok(());
    }
    from_python_other(obj, out)
}

fn from_python_other(obj: &Bound<'_>, out: &mut pyhost_value) -> pyhost::Result<()> {
    *out = pyhost_value::NONE;
    if obj.is_none() {
        return Ok(());
    }
    if obj.is_bool() {
        *out = pyhost_value {
            type_: PYHOST_BOOL,
            i: obj.is_true() as i64,
            ..pyhost_value::NONE
        };
        return Ok(());
    }
    if obj.is_int() {
        if let Ok(i) = obj.extract::<i64>() {
            *out = pyhost_value::int(i);
            return Ok(());
        }
    } else if obj.is_float() {
        *out = pyhost_value {
            type_: PYHOST_FLOAT,
            f: obj.extract::<f64>()?,
            ..pyhost_value::NONE
        };
        return Ok(());
    } else if obj.is_str() {
        if let Ok(s) = obj.to_str() {
            *out = owned_bytes(PYHOST_STR, s.as_bytes())?;
            return Ok(());
        }
        // A lone surrogate (the error was fetched): it comes back as an object.
    } else if obj.is_bytes() {
        *out = owned_bytes(PYHOST_BYTES, obj.as_bytes()?)?;
        return Ok(());
    } else if obj.is_list() || obj.is_tuple() {
        if let Some(v) = str_list(obj)? {
            *out = v;
            return Ok(());
        }
    }
    let handle = Box::new(pyhost_object::new(obj.clone().unbind(), false));
    *out = pyhost_value {
        type_: PYHOST_OBJECT,
        flags: PYHOST_VALUE_OWNED,
        ptr: Box::into_raw(handle) as *const c_void,
        ..pyhost_value::NONE
    };
    Ok(())
}

fn owned_bytes(type_: i32, b: &[u8]) -> pyhost::Result<pyhost_value> {
    let p = malloc_bytes(b).map_err(|_| Error::new(pyhost::ExcKind::MemoryError, "out of memory"))?;
    Ok(pyhost_value {
        type_,
        flags: PYHOST_VALUE_OWNED,
        ptr: p as *const c_void,
        len: b.len(),
        ..pyhost_value::NONE
    })
}

/// A list or tuple of str as one malloc'd block: the `pyhost_str` array,
/// then the texts, each followed by a NUL. `None` if an item is not a str
/// (or cannot be encoded).
fn str_list(obj: &Bound<'_>) -> pyhost::Result<Option<pyhost_value>> {
    let Some(seq) = FastSequence::new(obj) else {
        return Ok(None);
    };
    // Hold every item (the list may change while we copy, on 3.13t).
    let items: Vec<Bound<'_>> = seq.iter().collect();
    let mut texts = Vec::with_capacity(items.len());
    for item in &items {
        if !item.is_str() {
            return Ok(None);
        }
        match item.to_str() {
            Ok(s) => texts.push(s),
            Err(_) => return Ok(None),
        }
    }
    let head = texts.len() * std::mem::size_of::<pyhost_str>();
    let total = head + texts.iter().map(|t| t.len() + 1).sum::<usize>();
    // SAFETY: malloc of `total` bytes (at least 1); NULL is checked.
    let block = unsafe { libc::malloc(total.max(1)) } as *mut u8;
    if block.is_null() {
        return Err(Error::new(pyhost::ExcKind::MemoryError, "out of memory"));
    }
    let mut offset = head;
    for (i, t) in texts.iter().enumerate() {
        // SAFETY: the block holds the array (malloc aligns it for any type)
        // and every text with its NUL, laid out as computed above.
        unsafe {
            let text = block.add(offset);
            ptr::copy_nonoverlapping(t.as_ptr(), text, t.len());
            *text.add(t.len()) = 0;
            (block as *mut pyhost_str).add(i).write(pyhost_str {
                ptr: text as *const c_char,
                len: t.len(),
            });
        }
        offset += t.len() + 1;
    }
    Ok(Some(pyhost_value {
        type_: PYHOST_STR_LIST,
        flags: PYHOST_VALUE_OWNED,
        ptr: block as *const c_void,
        len: texts.len(),
        ..pyhost_value::NONE
    }))
}

/// Release what pyhost allocated for a value and set it to `None`. See
/// `include/pyhost.h`.
///
/// # Safety
/// `value` is NULL or a valid value; if flagged `PYHOST_VALUE_OWNED`, pyhost
/// filled it in and it was not freed since.
#[no_mangle]
pub unsafe extern "C" fn pyhost_value_free(value: *mut pyhost_value) {
    if value.is_null() {
        return;
    }
    // SAFETY: non-NULL, valid per the contract.
    let v = unsafe { &mut *value };
    if v.flags & PYHOST_VALUE_OWNED != 0 {
        match v.type_ {
            // SAFETY: malloc'd by pyhost (owned_bytes, str_list), freed once.
            PYHOST_STR | PYHOST_BYTES | PYHOST_STR_LIST => unsafe { libc::free(v.ptr as *mut c_void) },
            PYHOST_OBJECT if !v.ptr.is_null() => {
                // SAFETY: a handle pyhost made for this value, released once.
                unsafe { crate::object::pyhost_object_release(v.ptr as *mut pyhost_object) }
            }
            _ => {}
        }
    }
    *v = pyhost_value::NONE;
}

/// `args[..nargs]` of a C call (NULL allowed for none).
///
/// # Safety
/// `args` is NULL or points to `nargs` values alive for `'a`.
pub(crate) unsafe fn values<'a>(args: *const pyhost_value, nargs: usize) -> crate::error::CResult<&'a [pyhost_value]> {
    if nargs == 0 {
        return Ok(&[]);
    }
    if args.is_null() {
        return Err(format!("args is NULL with nargs {nargs}"));
    }
    // SAFETY: per the contract.
    Ok(unsafe { std::slice::from_raw_parts(args, nargs) })
}
