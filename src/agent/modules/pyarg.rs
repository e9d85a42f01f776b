//! rtloader's argument parsing, on `METH_FASTCALL` arguments.
//!
//! rtloader's builtins are `METH_VARARGS` functions that call
//! `PyArg_ParseTuple(args, "OsisdOs|b", ...)` (or `...AndKeywords`). Checks
//! and their tests see the messages those produce, which differ from what
//! [`Args::get`](crate::module::Args::get) says (`argument 2 must be str,
//! not int`, with no function name; `'str' object cannot be interpreted as
//! an integer` for `i`; `must be real number, not str` for `d`...). This
//! module reproduces them for the formats rtloader uses, on the
//! arguments viewed in place by [`Args`]:
//!
//! * [`no_keywords`], [`count`]: what CPython checks before calling a
//!   `METH_VARARGS` function, then `PyArg_ParseTuple`'s argument count;
//! * `METH_NOARGS` functions: [`noargs`];
//! * `PyArg_ParseTupleAndKeywords` with a keyword list: [`KwArgs`];
//! * one converter per format unit: [`s`], [`s_hash`], [`i`], [`b`],
//!   [`ll`] (`L`), [`d`], [`f`]; `O` is the object itself;
//! * rtloader's own helpers: [`as_string`] (`stringutils.c`) and
//!   [`TagSeq`] (`py_tag_to_c` in `aggregator.c`).
//!
//! The messages are CPython 3.11's (`Python/getargs.c`, `Objects/methodobject.c`).

use std::borrow::Cow;
use std::os::raw::c_char;

use crate::err::{Error, Result};
use crate::ffi;
use crate::module::Args;
use crate::object::Bound;

// ---- calling conventions -------------------------------------------------------

/// A `METH_VARARGS` function refuses keyword arguments before it runs:
/// `f() takes no keyword arguments` (`cfunction_call`, with the bare name).
#[inline(always)]
pub(super) fn no_keywords(args: &Args<'_, '_>) -> Result<()> {
    if args.keyword_len() != 0 {
        return Err(takes_no_keywords(args.function_name()));
    }
    Ok(())
}

#[cold]
fn takes_no_keywords(fname: &str) -> Error {
    Error::type_error(format!("{fname}() takes no keyword arguments"))
}

/// `PyArg_ParseTuple`'s count check for a format without a `:name`:
/// `function takes exactly 2 arguments (1 given)`, `... at least 7 ...`,
/// `... at most 8 ...`. Returns the positional arguments.
#[inline(always)]
pub(super) fn count<'a, 'py>(args: &Args<'a, 'py>, min: usize, max: usize) -> Result<&'a [Bound<'py>]> {
    let n = args.len();
    if n < min || n > max {
        return Err(count_error(None, min, max, n));
    }
    Ok(args.positional())
}

#[cold]
fn count_error(fname: Option<&str>, min: usize, max: usize, given: usize) -> Error {
    let bound = if given < min { min } else { max };
    let how = if min == max {
        "exactly"
    } else if given < min {
        "at least"
    } else {
        "at most"
    };
    Error::type_error(format!(
        "{} takes {how} {bound} argument{} ({given} given)",
        display_name(fname),
        plural(bound)
    ))
}

/// `METH_NOARGS`: `module.f() takes no keyword arguments`, then
/// `module.f() takes no arguments (1 given)` (`cfunction_vectorcall_NOARGS`,
/// which names the function `module.name()`).
#[inline(always)]
pub(super) fn noargs(args: &Args<'_, '_>) -> Result<()> {
    if args.keyword_len() != 0 || !args.is_empty() {
        return Err(noargs_error(args.function_name(), args.keyword_len(), args.len()));
    }
    Ok(())
}

#[cold]
fn noargs_error(qualname: &str, nkw: usize, n: usize) -> Error {
    if nkw != 0 {
        Error::type_error(format!("{qualname}() takes no keyword arguments"))
    } else {
        Error::type_error(format!("{qualname}() takes no arguments ({n} given)"))
    }
}

fn display_name(fname: Option<&str>) -> Cow<'static, str> {
    match fname {
        Some(f) => Cow::Owned(format!("{f}()")),
        None => Cow::Borrowed("function"),
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

// ---- PyArg_ParseTupleAndKeywords ----------------------------------------------

/// A keyword list and format shape for [`KwArgs`]: `"O|O$O:get_subprocess_output"`
/// with `{"command", "raise_on_empty", "env"}` is
/// `KwSpec { fname: Some("get_subprocess_output"), kwlist: &[..], required: 1, max_positional: 2 }`.
#[derive(Debug)]
pub(super) struct KwSpec {
    /// The name after `:` in the format, if any (messages say `function` otherwise).
    pub fname: Option<&'static str>,
    /// Every parameter, in order.
    pub kwlist: &'static [&'static str],
    /// How many come before `|`.
    pub required: usize,
    /// How many may be passed by position (where `$` is; `kwlist.len()` without it).
    pub max_positional: usize,
}

/// The parameters of one call, matched as `PyArg_ParseTupleAndKeywords`
/// matches them. Convert the slots in order ([`get`](Self::get),
/// [`required`](Self::required)), then call [`finish`](Self::finish): like
/// CPython, errors about a keyword given twice or unknown come after the
/// conversions.
pub(super) struct KwArgs<'s, 'a, 'py> {
    spec: &'static KwSpec,
    args: &'s Args<'a, 'py>,
    slots: [Option<&'a Bound<'py>>; 4],
}

impl<'s, 'a, 'py> KwArgs<'s, 'a, 'py> {
    /// Match the arguments to the keyword list (the checks CPython makes
    /// before converting anything).
    pub(super) fn parse(args: &'s Args<'a, 'py>, spec: &'static KwSpec) -> Result<Self> {
        let len = spec.kwlist.len();
        debug_assert!(len <= 4 && spec.required <= spec.max_positional && spec.max_positional <= len);
        let nargs = args.len();
        let nkw = args.keyword_len();
        let f = spec.fname;
        if nargs + nkw > len {
            return Err(Error::type_error(format!(
                "{} takes at most {len} {}argument{} ({} given)",
                display_name(f),
                if nargs == 0 { "keyword " } else { "" },
                plural(len),
                nargs + nkw
            )));
        }
        if spec.max_positional < len && nargs > spec.max_positional {
            let max = spec.max_positional;
            return Err(Error::type_error(if max == 0 {
                format!("{} takes no positional arguments", display_name(f))
            } else {
                format!(
                    "{} takes {} {max} positional argument{} ({nargs} given)",
                    display_name(f),
                    if spec.required < max { "at most" } else { "exactly" },
                    plural(max)
                )
            }));
        }
        let mut slots = [None; 4];
        for (i, slot) in slots.iter_mut().enumerate().take(len) {
            *slot = if i < nargs {
                Some(&args.positional()[i])
            } else if nkw != 0 {
                keyword(args, spec.kwlist[i])
            } else {
                None
            };
        }
        Ok(KwArgs { spec, args, slots })
    }

    /// Parameter `i` if given (by position or keyword).
    pub(super) fn get(&self, i: usize) -> Option<&'a Bound<'py>> {
        self.slots[i]
    }

    /// Required parameter `i`: `function missing required argument 'query' (pos 1)`.
    pub(super) fn required(&self, i: usize) -> Result<&'a Bound<'py>> {
        self.slots[i].ok_or_else(|| {
            Error::type_error(format!(
                "{} missing required argument '{}' (pos {})",
                display_name(self.spec.fname),
                self.spec.kwlist[i],
                i + 1
            ))
        })
    }

    /// The checks CPython makes after converting: a parameter given both by
    /// position and keyword (`argument for function given by name ('query')
    /// and position (1)`), then unknown keywords (`'foo' is an invalid
    /// keyword argument for this function`).
    pub(super) fn finish(&self) -> Result<()> {
        if self.args.keyword_len() == 0 {
            return Ok(());
        }
        let f = self.spec.fname;
        for i in 0..self.args.len().min(self.spec.kwlist.len()) {
            let name = self.spec.kwlist[i];
            if keyword(self.args, name).is_some() {
                return Err(Error::type_error(format!(
                    "argument for {} given by name ('{name}') and position ({})",
                    display_name(f),
                    i + 1
                )));
            }
        }
        for (k, _) in self.args.keywords() {
            let known = k.to_str().is_ok_and(|k| self.spec.kwlist.contains(&k));
            if !known {
                let what = match f {
                    Some(f) => format!("{f}()"),
                    None => "this function".to_string(),
                };
                return Err(Error::type_error(format!(
                    "'{}' is an invalid keyword argument for {what}",
                    k.str().unwrap_or_default()
                )));
            }
        }
        Ok(())
    }
}

/// The value of keyword argument `name`, if given.
fn keyword<'a, 'py>(args: &Args<'a, 'py>, name: &str) -> Option<&'a Bound<'py>> {
    args.keywords()
        .find(|(k, _)| k.to_str().is_ok_and(|k| k == name))
        .map(|(_, v)| v)
}

// ---- format units ------------------------------------------------------------

/// `argument 2 must be str, not int` (`converterr`: `None` is named `None`,
/// other objects by their type's `tp_name`).
#[cold]
pub(super) fn must_be(iarg: usize, expected: &str, got: &Bound<'_>) -> Error {
    let got = if got.is_none() {
        "None".to_string()
    } else {
        got.type_name()
    };
    Error::type_error(format!("argument {iarg} must be {expected}, not {got}"))
}

/// The exception a C API call just raised.
#[cold]
fn fetch(obj: &Bound<'_>) -> Error {
    Error::fetch(obj.py())
}

/// `s`: a `str` (not bytes), borrowed as UTF-8 without copying; a
/// surrogate raises `UnicodeEncodeError`, a NUL character `ValueError:
/// embedded null character`. `iarg` is the 1-based position for messages.
#[inline(always)]
pub(super) fn s<'a>(obj: &'a Bound<'_>, iarg: usize) -> Result<&'a str> {
    // SAFETY: GIL held (a Bound exists); type check on a live object.
    if unsafe { ffi::PyUnicode_Check(obj.as_ptr()) } == 0 {
        return Err(must_be(iarg, "str", obj));
    }
    let mut len: ffi::Py_ssize_t = 0;
    // SAFETY: a str; the UTF-8 buffer is cached in the object, which the
    // caller keeps alive for 'a.
    let p = unsafe { ffi::PyUnicode_AsUTF8AndSize(obj.as_ptr(), &mut len) };
    if p.is_null() {
        return Err(fetch(obj));
    }
    // SAFETY: CPython returned `len` bytes of valid UTF-8 owned by `obj`.
    let text = unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(p as *const u8, len as usize)) };
    if text.as_bytes().contains(&0) {
        return Err(Error::value_error("embedded null character"));
    }
    Ok(text)
}

/// `s#`: a `str` (as UTF-8) or `bytes`, borrowed with its length (NUL bytes
/// allowed). Other buffers are refused as CPython refuses writable ones.
pub(super) fn s_hash<'a>(obj: &'a Bound<'_>, iarg: usize) -> Result<&'a [u8]> {
    let p = obj.as_ptr();
    // SAFETY: GIL held; type checks on a live object.
    if unsafe { ffi::PyUnicode_Check(p) } != 0 {
        let mut len: ffi::Py_ssize_t = 0;
        // SAFETY: a str; buffer owned by the object for 'a.
        let data = unsafe { ffi::PyUnicode_AsUTF8AndSize(p, &mut len) };
        if data.is_null() {
            return Err(fetch(obj));
        }
        // SAFETY: `len` bytes at `data`, owned by `obj`.
        return Ok(unsafe { std::slice::from_raw_parts(data as *const u8, len as usize) });
    }
    // SAFETY: as above.
    if unsafe { ffi::PyBytes_Check(p) } != 0 {
        let mut data: *mut c_char = std::ptr::null_mut();
        let mut len: ffi::Py_ssize_t = 0;
        // SAFETY: a bytes object; its buffer lives as long as the object.
        if unsafe { ffi::PyBytes_AsStringAndSize(p, &mut data, &mut len) } < 0 {
            return Err(fetch(obj));
        }
        // SAFETY: `len` bytes at `data`, owned by `obj`.
        return Ok(unsafe { std::slice::from_raw_parts(data as *const u8, len as usize) });
    }
    // SAFETY: as above.
    if unsafe { ffi::PyObject_CheckBuffer(p) } != 0 {
        return Err(must_be(iarg, "read-only bytes-like object", obj));
    }
    Err(Error::type_error(format!(
        "a bytes-like object is required, not '{}'",
        obj.type_name()
    )))
}

/// `PyLong_AsLong`, which takes ints and objects with `__index__` and raises
/// CPython's own errors (`'float' object cannot be interpreted as an integer`).
#[inline(always)]
fn as_long(obj: &Bound<'_>) -> Result<i64> {
    // SAFETY: GIL held; live object.
    let v = unsafe { ffi::PyLong_AsLong(obj.as_ptr()) };
    if v == -1 && long_failed() {
        return Err(fetch(obj));
    }
    Ok(v as i64)
}

#[inline(always)]
fn long_failed() -> bool {
    // SAFETY: GIL held by the callers (they hold a Bound).
    !unsafe { ffi::PyErr_Occurred() }.is_null()
}

/// `i`: a C `int` (`OverflowError: signed integer is greater than maximum`).
#[inline(always)]
pub(super) fn i(obj: &Bound<'_>) -> Result<i32> {
    let v = as_long(obj)?;
    i32::try_from(v).map_err(|_| out_of_range("signed integer", v < 0))
}

/// `b`: an unsigned char (`OverflowError: unsigned byte integer is less than minimum`).
#[inline(always)]
pub(super) fn b(obj: &Bound<'_>) -> Result<u8> {
    let v = as_long(obj)?;
    u8::try_from(v).map_err(|_| out_of_range("unsigned byte integer", v < 0))
}

#[cold]
fn out_of_range(what: &str, below: bool) -> Error {
    let side = if below {
        "less than minimum"
    } else {
        "greater than maximum"
    };
    Error::overflow_error(format!("{what} is {side}"))
}

/// `L`: a C `long long` (`PyLong_AsLongLong`'s errors).
pub(super) fn ll(obj: &Bound<'_>) -> Result<i64> {
    // SAFETY: GIL held; live object.
    let v = unsafe { ffi::PyLong_AsLongLong(obj.as_ptr()) };
    if v == -1 && long_failed() {
        return Err(fetch(obj));
    }
    Ok(v)
}

/// `d`: a C double (`PyFloat_AsDouble`: floats, `__float__`, `__index__`;
/// `TypeError: must be real number, not str`).
#[inline(always)]
pub(super) fn d(obj: &Bound<'_>) -> Result<f64> {
    // SAFETY: GIL held; live object.
    let v = unsafe { ffi::PyFloat_AsDouble(obj.as_ptr()) };
    if v == -1.0 && long_failed() {
        return Err(fetch(obj));
    }
    Ok(v)
}

/// `f`: a C float (a double, narrowed).
pub(super) fn f(obj: &Bound<'_>) -> Result<f32> {
    d(obj).map(|v| v as f32)
}

// ---- rtloader's helpers -------------------------------------------------------

/// What `as_string` would make of `obj` before its C copy: `None` unless it
/// is `bytes` or a `str` that encodes to UTF-8; without copying when possible.
/// Call only where no error may be pending.
enum Text<'a> {
    Str(&'a str),
    Owned(String),
    /// Not a string: skipped.
    Other,
    /// A str that does not encode (a surrogate): the encoding error was
    /// raised and cleared, which may have run Python code (GC).
    Failed,
}

/// `bytes` as text: borrowed when valid UTF-8, replacement characters
/// otherwise (rtloader passes the raw bytes on as a C string).
fn bytes_text(b: &[u8]) -> Text<'_> {
    match std::str::from_utf8(b) {
        Ok(s) => Text::Str(s),
        Err(_) => Text::Owned(String::from_utf8_lossy(b).into_owned()),
    }
}

/// Cut at the first NUL, as the C copy (`strdup`) does.
#[inline(always)]
fn c_string(s: &str) -> &str {
    if s.as_bytes().contains(&0) {
        &s[..s.find('\0').unwrap_or(s.len())]
    } else {
        s
    }
}

/// The text of `obj`, borrowed in place when possible.
///
/// # Safety
/// The GIL is held, `obj` is a live object, no exception is pending, and
/// `obj` outlives `'a` (a borrowed text points into it).
#[inline(always)]
unsafe fn text_of<'a>(obj: *mut ffi::PyObject) -> Text<'a> {
    // SAFETY: per the contract: type checks and accessors on a live object
    // with the GIL held; the buffers belong to `obj`, alive for 'a.
    unsafe {
        if ffi::PyUnicode_Check(obj) != 0 {
            let mut len: ffi::Py_ssize_t = 0;
            let p = ffi::PyUnicode_AsUTF8AndSize(obj, &mut len);
            if p.is_null() {
                ffi::PyErr_Clear();
                return Text::Failed;
            }
            let s = std::str::from_utf8_unchecked(std::slice::from_raw_parts(p as *const u8, len as usize));
            return Text::Str(c_string(s));
        }
        if ffi::PyBytes_Check(obj) != 0 {
            let mut data: *mut c_char = std::ptr::null_mut();
            let mut len: ffi::Py_ssize_t = 0;
            if ffi::PyBytes_AsStringAndSize(obj, &mut data, &mut len) < 0 {
                ffi::PyErr_Clear();
                return Text::Failed;
            }
            let b = std::slice::from_raw_parts(data as *const u8, len as usize);
            let b = &b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())];
            return bytes_text(b);
        }
        Text::Other
    }
}

/// rtloader's `as_string` (`stringutils.c`): `bytes` as they are, a `str`
/// encoded to UTF-8 (strictly: a surrogate gives `None`, its error cleared),
/// anything else (or a missing value) `None`; cut at the first NUL like the
/// C copy.
pub(super) fn as_string<'a>(obj: Option<&'a Bound<'_>>) -> Option<Cow<'a, str>> {
    // SAFETY: GIL held (a Bound exists); `obj` is alive for 'a.
    match unsafe { text_of(obj?.as_ptr()) } {
        Text::Str(s) => Some(Cow::Borrowed(s)),
        Text::Owned(s) => Some(Cow::Owned(s)),
        Text::Other | Text::Failed => None,
    }
}

/// Tags kept on the stack before spilling to the heap.
const INLINE_TAGS: usize = 16;

/// A `tags` argument checked as rtloader's `py_tag_to_c` checks it, ready to
/// be read with [`collect`](Self::collect).
pub(super) struct TagSeq<'py> {
    /// `PySequence_Fast(tags)` (the list or tuple itself), or `None` when empty.
    seq: Option<Bound<'py>>,
    /// `PySequence_Length(tags)`, which rtloader iterates up to.
    len: usize,
}

impl<'py> TagSeq<'py> {
    /// `TypeError("tags must be a sequence")` if `tags` is not one;
    /// `RuntimeError("could not compute tags length")` if `len()` fails.
    /// A `str` is a sequence: its characters become tags, as in rtloader.
    #[inline]
    pub(super) fn new(tags: &Bound<'py>) -> Result<TagSeq<'py>> {
        let p = tags.as_ptr();
        // SAFETY: GIL held; live object.
        if unsafe { ffi::PySequence_Check(p) } == 0 {
            return Err(Error::type_error("tags must be a sequence"));
        }
        // SAFETY: as above.
        let len = unsafe { ffi::PySequence_Size(p) };
        if len < 0 {
            // SAFETY: GIL held; rtloader replaces the error with its own.
            unsafe { ffi::PyErr_Clear() };
            return Err(Error::runtime_error("could not compute tags length"));
        }
        if len == 0 {
            return Ok(TagSeq { seq: None, len: 0 });
        }
        // SAFETY: GIL held; a new reference (the list or tuple itself, or a
        // new list) or NULL with an exception.
        let seq = unsafe {
            Bound::from_owned_ptr_or_err(
                tags.py(),
                ffi::PySequence_Fast(p, c"py_tags is not a sequence".as_ptr()),
            )
        }?;
        Ok(TagSeq {
            seq: Some(seq),
            len: len as usize,
        })
    }

    /// Item `i` of the fast sequence (a list or tuple), borrowed, if still in range.
    #[inline(always)]
    fn item(seq: &Bound<'py>, i: usize) -> Option<*mut ffi::PyObject> {
        let p = seq.as_ptr();
        // SAFETY: GIL held; `seq` is a list or tuple (PySequence_Fast), so
        // Py_SIZE is its length and the accessors return borrowed items.
        unsafe {
            if i >= ffi::Py_SIZE(p) as usize {
                return None;
            }
            let item = if ffi::PyList_Check(p) != 0 {
                ffi::PyList_GetItem(p, i as ffi::Py_ssize_t)
            } else {
                ffi::PyTuple_GET_ITEM(p, i as ffi::Py_ssize_t)
            };
            (!item.is_null()).then_some(item)
        }
    }

    /// The tags as `as_string` reads them, non-strings dropped. No Python
    /// code runs while the result is used, so it borrows the strings in
    /// place; only a str that fails to encode (a surrogate, whose error may
    /// run the GC) makes it start over, copying each tag.
    pub(super) fn collect(&self) -> TagList<'_> {
        let mut out = TagList::new();
        let Some(seq) = &self.seq else { return out };
        for i in 0..self.len {
            let Some(item) = Self::item(seq, i) else {
                break;
            };
            // SAFETY: GIL held; `item` is kept by `seq`, which `self` keeps
            // for the result's lifetime, and no Python code runs while the
            // result is in use (only a `Failed` conversion could run some,
            // and then the borrowed result is dropped).
            match unsafe { text_of(item) } {
                Text::Str(s) => out.push(Cow::Borrowed(s)),
                Text::Owned(s) => out.push(Cow::Owned(s)),
                Text::Other => {}
                Text::Failed => return self.collect_owned(seq),
            }
        }
        out
    }

    /// The slow path of [`collect`](Self::collect): every tag copied as soon
    /// as it is read, each item held while it is converted, the length
    /// re-read at each step (Python code run by a failed conversion may
    /// change the list).
    #[cold]
    fn collect_owned(&self, seq: &Bound<'py>) -> TagList<'_> {
        let mut out = TagList::new();
        for i in 0..self.len {
            let Some(raw) = Self::item(seq, i) else { break };
            // SAFETY: a live item of the sequence; the new reference keeps it
            // alive through its conversion.
            let item = unsafe { Bound::from_borrowed_ptr(seq.py(), raw) };
            // SAFETY: GIL held; `item` is held for this conversion and the
            // text is copied before it is dropped.
            match unsafe { text_of(item.as_ptr()) } {
                Text::Str(s) => out.push(Cow::Owned(s.to_owned())),
                Text::Owned(s) => out.push(Cow::Owned(s)),
                Text::Other | Text::Failed => {}
            }
        }
        out
    }
}

/// Tags read by [`TagSeq::collect`]: up to 16 borrowed in place on the
/// stack, the rest (or any that had to be converted) on the heap.
pub(super) struct TagList<'a> {
    inline: [&'a str; INLINE_TAGS],
    n: usize,
    spill: Vec<Cow<'a, str>>,
}

impl<'a> TagList<'a> {
    fn new() -> Self {
        TagList {
            inline: [""; INLINE_TAGS],
            n: 0,
            spill: Vec::new(),
        }
    }

    #[inline(always)]
    fn push(&mut self, tag: Cow<'a, str>) {
        match tag {
            Cow::Borrowed(s) if self.n < INLINE_TAGS && self.spill.is_empty() => {
                self.inline[self.n] = s;
                self.n += 1;
            }
            other => self.spill.push(other),
        }
    }

    /// The tags, in order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        self.inline[..self.n]
            .iter()
            .copied()
            .chain(self.spill.iter().map(|t| &**t))
    }

    /// Owned copies.
    pub(super) fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_owned).collect()
    }
}
