//! rtloader's argument parsing, on `METH_FASTCALL` arguments.
//!
//! rtloader's builtins are `METH_VARARGS` functions that call
//! `PyArg_ParseTuple(args, "OsisdOs|b", ...)` (or `...AndKeywords`). Checks
//! and their tests see the messages those produce, which differ from what
//! [`Args::get`](pyhost::module::Args::get) says (`argument 2 must be str,
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
use std::cell::Cell;

use pyhost::module::Args;
use pyhost::{Bound, Error, FastSequence, Result};

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

/// `s`: a `str` (not bytes), borrowed as UTF-8 without copying; a
/// surrogate raises `UnicodeEncodeError`, a NUL character `ValueError:
/// embedded null character`. `iarg` is the 1-based position for messages.
#[inline(always)]
pub(super) fn s<'a>(obj: &'a Bound<'_>, iarg: usize) -> Result<&'a str> {
    // One type check on the way that succeeds (to_str makes it).
    let text = obj
        .to_str()
        .map_err(|e| if obj.is_str() { e } else { must_be(iarg, "str", obj) })?;
    if text.as_bytes().contains(&0) {
        return Err(Error::value_error("embedded null character"));
    }
    Ok(text)
}

/// `s#`: a `str` (as UTF-8) or `bytes`, borrowed with its length (NUL bytes
/// allowed). Other buffers are refused as CPython refuses writable ones.
pub(super) fn s_hash<'a>(obj: &'a Bound<'_>, iarg: usize) -> Result<&'a [u8]> {
    if obj.is_str() {
        return obj.to_str().map(str::as_bytes);
    }
    if obj.is_bytes() {
        return obj.as_bytes();
    }
    if obj.is_buffer() {
        return Err(must_be(iarg, "read-only bytes-like object", obj));
    }
    Err(Error::type_error(format!(
        "a bytes-like object is required, not '{}'",
        obj.type_name()
    )))
}

/// `i`: a C `int` (`OverflowError: signed integer is greater than maximum`).
/// Ints and objects with `__index__`, with `PyLong_AsLong`'s own errors
/// (`'float' object cannot be interpreted as an integer`).
#[inline(always)]
pub(super) fn i(obj: &Bound<'_>) -> Result<i32> {
    let v = obj.to_long()?;
    i32::try_from(v).map_err(|_| out_of_range("signed integer", v < 0))
}

/// `b`: an unsigned char (`OverflowError: unsigned byte integer is less than minimum`).
#[inline(always)]
pub(super) fn b(obj: &Bound<'_>) -> Result<u8> {
    let v = obj.to_long()?;
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
    obj.to_long_long()
}

/// `d`: a C double (`PyFloat_AsDouble`: floats, `__float__`, `__index__`;
/// `TypeError: must be real number, not str`).
#[inline(always)]
pub(super) fn d(obj: &Bound<'_>) -> Result<f64> {
    obj.to_double()
}

/// `f`: a C float (a double, narrowed).
pub(super) fn f(obj: &Bound<'_>) -> Result<f32> {
    d(obj).map(|v| v as f32)
}

// ---- rtloader's helpers -------------------------------------------------------

/// What `as_string` makes of an object: text borrowed in place when
/// possible, `None` for anything that is not a string.
enum Text<'a> {
    Str(&'a str),
    Owned(String),
    /// Not a string, or a str that does not encode (a surrogate; the
    /// encoding error is cleared): skipped.
    Other,
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
    match s.as_bytes().iter().position(|&b| b == 0) {
        // A NUL byte is a character boundary in UTF-8.
        Some(end) => &s[..end],
        None => s,
    }
}

/// The text of `obj`, borrowed in place when possible.
#[inline(always)]
fn text_of<'a>(obj: &'a Bound<'_>) -> Text<'a> {
    // to_str fails for anything but a str that encodes.
    if let Ok(s) = obj.to_str() {
        return Text::Str(c_string(s));
    }
    if obj.is_bytes() {
        return match obj.as_bytes() {
            Ok(b) => bytes_text(&b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]),
            Err(_) => Text::Other,
        };
    }
    Text::Other
}

/// rtloader's `as_string` (`stringutils.c`): `bytes` as they are, a `str`
/// encoded to UTF-8 (strictly: a surrogate gives `None`, its error cleared),
/// anything else (or a missing value) `None`; cut at the first NUL like the
/// C copy.
pub(super) fn as_string<'a>(obj: Option<&'a Bound<'_>>) -> Option<Cow<'a, str>> {
    match text_of(obj?) {
        Text::Str(s) => Some(Cow::Borrowed(s)),
        Text::Owned(s) => Some(Cow::Owned(s)),
        Text::Other => None,
    }
}

// Tag texts are copied into one reusable buffer per thread (tags are short:
// a copy costs less than holding a reference to each item, or a snapshot of
// the list), and read back as `&str` slices of it.
thread_local! {
    static TAG_TEXT: Cell<String> = const { Cell::new(String::new()) };
}

/// Tags whose end offsets fit on the stack.
const INLINE_TAGS: usize = 16;

/// A `tags` argument checked as rtloader's `py_tag_to_c` checks it, read
/// with [`with_tags`](Self::with_tags).
pub(super) struct TagSeq<'py> {
    /// `PySequence_Fast(tags)` (the list or tuple itself), or `None` when empty.
    seq: Option<FastSequence<'py>>,
    /// `PySequence_Length(tags)`, which rtloader iterates up to.
    len: usize,
}

impl<'py> TagSeq<'py> {
    /// `TypeError("tags must be a sequence")` if `tags` is not one;
    /// `RuntimeError("could not compute tags length")` if `len()` fails.
    /// A `str` is a sequence: its characters become tags, as in rtloader.
    #[inline]
    pub(super) fn new(tags: &Bound<'py>) -> Result<TagSeq<'py>> {
        if !tags.is_sequence() {
            return Err(Error::type_error("tags must be a sequence"));
        }
        // rtloader replaces the length's error with its own.
        let Ok(len) = tags.sequence_len() else {
            return Err(Error::runtime_error("could not compute tags length"));
        };
        if len == 0 {
            return Ok(TagSeq { seq: None, len: 0 });
        }
        let seq = tags.sequence_fast(c"py_tags is not a sequence")?;
        Ok(TagSeq { seq: Some(seq), len })
    }

    /// Run `f` with the tags as `as_string` reads them (non-strings dropped),
    /// each copied while its item is held: converting one item (a str that
    /// does not encode raises, and the garbage collector may run) can never
    /// free another one under us.
    #[inline]
    pub(super) fn with_tags<R>(&self, f: impl FnOnce(&TagList<'_>) -> R) -> R {
        let mut text = TAG_TEXT.with(Cell::take);
        text.clear();
        let mut ends = [0usize; INLINE_TAGS];
        let mut n = 0;
        let mut spill = Vec::new();
        if let Some(seq) = &self.seq {
            for i in 0..self.len {
                let Some(item) = seq.get(i) else { break };
                match text_of(&item) {
                    Text::Str(s) => text.push_str(s),
                    Text::Owned(s) => text.push_str(&s),
                    Text::Other => continue,
                }
                if n < INLINE_TAGS {
                    ends[n] = text.len();
                    n += 1;
                } else {
                    spill.push(text.len());
                }
            }
        }
        let list = TagList {
            text: &text,
            ends: &ends[..n],
            spill: &spill,
        };
        let r = f(&list);
        TAG_TEXT.with(|c| c.set(text));
        r
    }

    /// The tags, copied out.
    pub(super) fn to_vec(&self) -> Vec<String> {
        self.with_tags(|tags| tags.to_vec())
    }
}

/// Tags read by [`TagSeq::with_tags`]: slices of one text buffer.
pub(super) struct TagList<'a> {
    text: &'a str,
    ends: &'a [usize],
    spill: &'a [usize],
}

impl<'a> TagList<'a> {
    /// The tags, in order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &'a str> + '_ {
        let text = self.text;
        let mut start = 0;
        self.ends.iter().chain(self.spill.iter()).map(move |&end| {
            let tag = &text[start..end];
            start = end;
            tag
        })
    }

    /// Owned copies.
    pub(super) fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_owned).collect()
    }
}
