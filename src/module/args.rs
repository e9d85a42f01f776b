//! Arguments of a host function: the `METH_FASTCALL | METH_KEYWORDS` calling
//! convention (a C array of positional arguments, then the values of the
//! keyword arguments, whose names come in a tuple), viewed without touching
//! reference counts, with typed extraction that raises CPython's messages.

use std::borrow::Cow;

use crate::conv::{strict_bool, Bytes};
use crate::err::{Error, ExcKind, Result};
use crate::ffi;
use crate::gil::Python;
use crate::object::{Bound, Dict, List, Py, Tuple};
use crate::sequence::{critical_section, FastSequence};

/// The arguments of one call to a host function.
///
/// Positional arguments and keyword values are borrowed from the caller's
/// argument array (alive for the whole call); nothing is copied and no
/// reference count changes until a value is extracted.
///
/// ```no_run
/// # use pyhost::module::Args;
/// # fn f<'py>(py: pyhost::Python<'py>, args: &Args<'_, 'py>) -> pyhost::Result<pyhost::Bound<'py>> {
/// args.check(&["name", "value", "tags", "hostname"], 4)?;
/// let name: &str = args.get(0, "name")?;           // required
/// let value: f64 = args.get(1, "value")?;          // TypeError: gauge() argument 2 must be float, not str
/// let tags: Vec<String> = args.get_or(2, "tags", Vec::new())?;
/// let host: Option<String> = args.get_opt(3, "hostname")?;
/// # let _ = (name, value, tags, host); Ok(py.None())
/// # }
/// ```
pub struct Args<'a, 'py> {
    py: Python<'py>,
    fname: &'a str,
    /// The function's `self` (the module, for a fixed module's function), or NULL.
    slf: *mut ffi::PyObject,
    positional: &'a [Bound<'py>],
    /// The keyword names (a tuple of str), or NULL.
    kwnames: *mut ffi::PyObject,
    kwvalues: &'a [Bound<'py>],
}

impl std::fmt::Debug for Args<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Args")
            .field("function", &self.fname)
            .field("positional", &self.positional)
            .field("keywords", &self.kwvalues.len())
            .finish()
    }
}

/// Where an argument came from, for error messages.
#[derive(Clone, Copy)]
enum ArgPos<'n> {
    /// 1-based position, as CPython counts.
    Position(usize),
    Keyword(&'n str),
}

impl std::fmt::Display for ArgPos<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ArgPos::Position(n) => write!(f, "argument {n}"),
            ArgPos::Keyword(name) => write!(f, "argument '{name}'"),
        }
    }
}

impl<'a, 'py> Args<'a, 'py> {
    /// View a `METH_FASTCALL | METH_KEYWORDS` call's arguments.
    ///
    /// # Safety
    /// The GIL is held for `'py`; `slf` is NULL or a live object for `'a`;
    /// `args` points to `nargs` positional arguments followed by one value per
    /// name in `kwnames` (a tuple of str, or NULL), all alive for `'a`:
    /// exactly what CPython passes to such a function.
    #[inline]
    pub unsafe fn from_fastcall(
        py: Python<'py>,
        fname: &'a str,
        slf: *mut ffi::PyObject,
        args: *const *mut ffi::PyObject,
        nargs: ffi::Py_ssize_t,
        kwnames: *mut ffi::PyObject,
    ) -> Args<'a, 'py> {
        let nargs = ffi::PyVectorcall_NARGS(nargs as usize) as usize;
        let nkw = if kwnames.is_null() {
            0
        } else {
            // SAFETY: kwnames is a tuple (the calling convention).
            unsafe { ffi::PyTuple_GET_SIZE(kwnames) as usize }
        };
        // SAFETY: the caller guarantees nargs + nkw live, non-NULL pointers.
        let (positional, kwvalues) = unsafe {
            (
                Bound::slice_from_ptr(py, args, nargs),
                if nkw == 0 {
                    &[][..]
                } else {
                    Bound::slice_from_ptr(py, args.add(nargs), nkw)
                },
            )
        };
        Args {
            py,
            fname,
            slf,
            positional,
            kwnames,
            kwvalues,
        }
    }

    /// The GIL token.
    #[inline]
    pub fn py(&self) -> Python<'py> {
        self.py
    }

    /// The function's `self`: the module object for a function of a fixed
    /// module's method table (to reach its module state), `None` for a
    /// stand-alone function and for closures behind a
    /// [`HostModule`](super::HostModule).
    #[inline]
    pub fn self_obj(&self) -> Option<&Bound<'py>> {
        if self.slf.is_null() {
            return None;
        }
        // SAFETY: per from_fastcall's contract, a live object for 'a, which
        // outlives this borrow of the Args holding the pointer.
        Some(unsafe { Bound::ref_from_ptr(self.py, &self.slf) })
    }

    /// The function's name, as error messages show it.
    #[inline]
    pub fn function_name(&self) -> &'a str {
        self.fname
    }

    /// The positional arguments.
    #[inline]
    pub fn positional(&self) -> &'a [Bound<'py>] {
        self.positional
    }

    /// Number of positional arguments.
    #[inline]
    pub fn len(&self) -> usize {
        self.positional.len()
    }

    /// True if there are no positional arguments.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.positional.is_empty()
    }

    /// Number of keyword arguments.
    #[inline]
    pub fn keyword_len(&self) -> usize {
        self.kwvalues.len()
    }

    /// The keyword arguments as `(name, value)` pairs, in call order.
    pub fn keywords(&self) -> impl Iterator<Item = (&'a Bound<'py>, &'a Bound<'py>)> + 'a {
        let names = self.kw_names();
        names.iter().zip(self.kwvalues.iter())
    }

    /// The keyword arguments as a new dict (for `**kwargs`-style functions),
    /// or `None` if there are none.
    pub fn kwargs(&self) -> Result<Option<Dict<'py>>> {
        if self.kwvalues.is_empty() {
            return Ok(None);
        }
        let d = Dict::new(self.py);
        for (k, v) in self.keywords() {
            d.set_item(k, v)?;
        }
        Ok(Some(d))
    }

    fn kw_names(&self) -> &'a [Bound<'py>] {
        if self.kwnames.is_null() {
            return &[];
        }
        // SAFETY: kwnames is a live tuple of str for 'a; a tuple's items are
        // a contiguous array of non-NULL pointers (PyTuple_GET_ITEM).
        unsafe {
            let n = ffi::PyTuple_GET_SIZE(self.kwnames) as usize;
            let items = ffi::tuple_items(self.kwnames);
            Bound::slice_from_ptr(self.py, items, n)
        }
    }

    /// Index of the keyword argument called `name`.
    #[inline]
    fn kw_index(&self, name: &str) -> Option<usize> {
        if self.kwnames.is_null() {
            return None;
        }
        self.kw_names().iter().position(|k| k.to_str().is_ok_and(|k| k == name))
    }

    /// The argument at position `index` (0-based) or passed by keyword as
    /// `name`, if given. Both at once is a `TypeError`. The slow path of
    /// [`get`](Self::get) and friends, taken only when the call has keyword
    /// arguments.
    #[inline(never)]
    fn find_with_keywords(&self, index: usize, name: &'a str) -> Result<Option<(&'a Bound<'py>, ArgPos<'a>)>> {
        if index < self.positional.len() {
            if self.kw_index(name).is_some() {
                return Err(Error::type_error(format!(
                    "{}() got multiple values for argument '{name}'",
                    self.fname
                )));
            }
            return Ok(Some((&self.positional[index], ArgPos::Position(index + 1))));
        }
        Ok(self.kw_index(name).map(|k| (&self.kwvalues[k], ArgPos::Keyword(name))))
    }

    // The error helpers below take the function name, not `&self`: a
    // `&self` reaching them made LLVM store the whole view to the stack on
    // every call, error or not.
    #[inline(always)]
    fn convert<T: FromArg<'a, 'py>>(&self, obj: &'a Bound<'py>, pos: ArgPos<'_>) -> Result<T> {
        let fname = self.fname;
        T::from_arg(obj).map_err(|e| arg_error(fname, e, pos))
    }

    /// A required argument: position `index` (0-based) or keyword `name`,
    /// converted to `T`.
    ///
    /// Errors, as CPython words them: `f() missing required argument 'name'
    /// (pos 1)`, `f() argument 1 must be str, not int`, `f() argument 'name'
    /// must be str, not int`, `f() got multiple values for argument 'name'`.
    //
    // The fast path (no keyword arguments) is written out rather than
    // sharing a lookup that returns Result<Option<..>>: LLVM moved that
    // value through the stack with mismatched store/load widths, a
    // store-forwarding stall per argument (~15 ns on the gauge benchmark).
    #[inline(always)]
    pub fn get<T: FromArg<'a, 'py>>(&self, index: usize, name: &'a str) -> Result<T> {
        if self.kwnames.is_null() {
            return match self.positional.get(index) {
                Some(obj) => self.convert(obj, ArgPos::Position(index + 1)),
                None => Err(missing(self.fname, index, name)),
            };
        }
        match self.find_with_keywords(index, name)? {
            Some((obj, pos)) => self.convert(obj, pos),
            None => Err(missing(self.fname, index, name)),
        }
    }

    /// An optional argument: `None` if it was not given or was `None`
    /// (`f() argument 4 must be str or None, not int`).
    #[inline(always)]
    pub fn get_opt<T: FromArg<'a, 'py>>(&self, index: usize, name: &'a str) -> Result<Option<T>> {
        if self.kwnames.is_null() {
            return match self.positional.get(index) {
                Some(obj) => self.convert::<Option<T>>(obj, ArgPos::Position(index + 1)),
                None => Ok(None),
            };
        }
        match self.find_with_keywords(index, name)? {
            Some((obj, pos)) => self.convert::<Option<T>>(obj, pos),
            None => Ok(None),
        }
    }

    /// An optional argument with a default for "not given" or `None`.
    #[inline(always)]
    pub fn get_or<T: FromArg<'a, 'py>>(&self, index: usize, name: &'a str, default: T) -> Result<T> {
        Ok(self.get_opt(index, name)?.unwrap_or(default))
    }

    /// A keyword-only argument (`None` if not given or `None`).
    pub fn keyword<T: FromArg<'a, 'py>>(&self, name: &'a str) -> Result<Option<T>> {
        match self.kw_index(name) {
            Some(k) => self.convert::<Option<T>>(&self.kwvalues[k], ArgPos::Keyword(name)),
            None => Ok(None),
        }
    }

    /// Check the call against a signature: `params` names every parameter in
    /// order, and the first `max_positional` of them may be passed by
    /// position (the rest are keyword-only).
    ///
    /// Errors: `f() takes at most 2 arguments (3 given)` (`positional
    /// arguments` when some are keyword-only), `f() got an unexpected keyword
    /// argument 'x'`.
    #[inline(always)]
    pub fn check(&self, params: &[&str], max_positional: usize) -> Result<()> {
        if self.positional.len() <= max_positional && self.kwnames.is_null() {
            return Ok(());
        }
        self.check_slow(params, max_positional)
    }

    #[inline(never)]
    fn check_slow(&self, params: &[&str], max_positional: usize) -> Result<()> {
        let n = self.positional.len();
        if n > max_positional {
            return Err(too_many(self.fname, n, max_positional, max_positional < params.len()));
        }
        for k in self.kw_names() {
            let known = k.to_str().is_ok_and(|k| params.contains(&k));
            if !known {
                return Err(Error::type_error(format!(
                    "{}() got an unexpected keyword argument '{}'",
                    self.fname,
                    k.str().unwrap_or_default()
                )));
            }
        }
        Ok(())
    }

    /// Check that the call passed nothing: `f() takes no arguments (1 given)`,
    /// `f() takes no keyword arguments`.
    #[inline(always)]
    pub fn no_args(&self) -> Result<()> {
        if !self.positional.is_empty() {
            return Err(too_many(self.fname, self.positional.len(), 0, false));
        }
        if !self.kwvalues.is_empty() {
            return Err(no_keywords(self.fname));
        }
        Ok(())
    }
}

#[cold]
fn arg_error(fname: &str, e: ArgError, pos: ArgPos<'_>) -> Error {
    match *e.0 {
        ArgErrorKind::WrongType { expected, got, path } => {
            Error::type_error(format!("{fname}() {pos}{path} must be {expected}, not {got}"))
        }
        ArgErrorKind::Value { kind, message, path } => Error::new(kind, format!("{fname}() {pos}{path}: {message}")),
        ArgErrorKind::Python(e) => e,
    }
}

#[cold]
fn missing(fname: &str, index: usize, name: &str) -> Error {
    Error::type_error(format!(
        "{fname}() missing required argument '{name}' (pos {})",
        index + 1
    ))
}

#[cold]
fn too_many(fname: &str, given: usize, max: usize, has_kwonly: bool) -> Error {
    if max == 0 && !has_kwonly {
        return Error::type_error(format!("{fname}() takes no arguments ({given} given)"));
    }
    let what = if has_kwonly { "positional argument" } else { "argument" };
    let s = if max == 1 { "" } else { "s" };
    Error::type_error(format!("{fname}() takes at most {max} {what}{s} ({given} given)"))
}

#[cold]
fn no_keywords(fname: &str) -> Error {
    Error::type_error(format!("{fname}() takes no keyword arguments"))
}

/// Why an argument could not be converted; [`Args`] adds the function and
/// argument to the message. Boxed, so a conversion's `Result` stays small on
/// the success path.
#[derive(Debug)]
pub struct ArgError(Box<ArgErrorKind>);

#[derive(Debug)]
enum ArgErrorKind {
    /// `TypeError: f() argument N{path} must be {expected}, not {got}`.
    WrongType {
        expected: Cow<'static, str>,
        got: String,
        path: String,
    },
    /// `{kind}: f() argument N{path}: {message}` (e.g. OverflowError).
    Value {
        kind: ExcKind,
        message: String,
        path: String,
    },
    /// Any other exception, passed through unchanged.
    Python(Error),
}

impl ArgError {
    /// The object is not of the expected type (`expected` as Python names
    /// it: `"str"`, `"list"`, `"int or None"`).
    pub fn wrong_type(expected: impl Into<Cow<'static, str>>, got: &Bound<'_>) -> ArgError {
        ArgError(Box::new(ArgErrorKind::WrongType {
            expected: expected.into(),
            got: got.type_name(),
            path: String::new(),
        }))
    }

    /// The type is right but the value is not (e.g. `OverflowError`).
    pub fn value(kind: ExcKind, message: impl Into<String>) -> ArgError {
        ArgError(Box::new(ArgErrorKind::Value {
            kind,
            message: message.into(),
            path: String::new(),
        }))
    }

    /// "must be str" becomes "must be str or None".
    #[cold]
    fn or_none(mut self) -> ArgError {
        if let ArgErrorKind::WrongType { expected, path, .. } = &mut *self.0 {
            if path.is_empty() {
                *expected = format!("{expected} or None").into();
            }
        }
        self
    }

    /// The error happened in item `index` of a sequence argument: the
    /// message becomes `f() argument 3 item 1 must be str, not int`. For
    /// [`FromArg`] implementations that read a sequence themselves.
    #[cold]
    pub fn in_item(mut self, index: usize) -> ArgError {
        match &mut *self.0 {
            ArgErrorKind::WrongType { path, .. } | ArgErrorKind::Value { path, .. } => {
                *path = format!(" item {index}{path}");
            }
            ArgErrorKind::Python(_) => {}
        }
        self
    }
}

impl From<Error> for ArgError {
    fn from(e: Error) -> Self {
        ArgError(Box::new(ArgErrorKind::Python(e)))
    }
}

/// Conversion of one argument. Implemented for the types host functions
/// take; for anything else take a [`Bound`] and call
/// [`extract`](Bound::extract).
///
/// `'a` is how long the argument is borrowed (the call), so `&'a str` and
/// `&'a Bound<'py>` borrow without copying.
pub trait FromArg<'a, 'py>: Sized {
    /// Convert, or say why not.
    fn from_arg(obj: &'a Bound<'py>) -> std::result::Result<Self, ArgError>;

    /// Whether converting may run Python code (`__index__`, `__float__`),
    /// which could change a list being converted. If not, `Vec<Self>`
    /// converts list items without taking a reference to each.
    #[doc(hidden)]
    const MAY_RUN_PYTHON: bool = true;
}

impl<'a, 'py> FromArg<'a, 'py> for &'a Bound<'py> {
    #[inline]
    fn from_arg(obj: &'a Bound<'py>) -> std::result::Result<Self, ArgError> {
        Ok(obj)
    }
}

impl<'a, 'py> FromArg<'a, 'py> for Bound<'py> {
    #[inline]
    fn from_arg(obj: &'a Bound<'py>) -> std::result::Result<Self, ArgError> {
        Ok(obj.clone())
    }
}

impl<'a, 'py> FromArg<'a, 'py> for Py {
    #[inline]
    fn from_arg(obj: &'a Bound<'py>) -> std::result::Result<Self, ArgError> {
        Ok(obj.clone().unbind())
    }
}

impl<'a, 'py> FromArg<'a, 'py> for &'a str {
    const MAY_RUN_PYTHON: bool = false;
    #[inline(always)]
    fn from_arg(obj: &'a Bound<'py>) -> std::result::Result<Self, ArgError> {
        if !obj.is_str() {
            return Err(ArgError::wrong_type("str", obj));
        }
        Ok(obj.str_contents()?)
    }
}

impl<'a, 'py> FromArg<'a, 'py> for String {
    const MAY_RUN_PYTHON: bool = false;
    #[inline(always)]
    fn from_arg(obj: &'a Bound<'py>) -> std::result::Result<Self, ArgError> {
        <&str>::from_arg(obj).map(str::to_owned)
    }
}

impl<'a, 'py> FromArg<'a, 'py> for &'a [u8] {
    fn from_arg(obj: &'a Bound<'py>) -> std::result::Result<Self, ArgError> {
        if !obj.is_bytes() {
            return Err(ArgError::wrong_type("bytes", obj));
        }
        Ok(obj.as_bytes()?)
    }
}

impl<'a, 'py> FromArg<'a, 'py> for Bytes {
    const MAY_RUN_PYTHON: bool = false;
    fn from_arg(obj: &'a Bound<'py>) -> std::result::Result<Self, ArgError> {
        <&[u8]>::from_arg(obj).map(|b| Bytes(b.to_vec()))
    }
}

impl<'a, 'py> FromArg<'a, 'py> for bool {
    const MAY_RUN_PYTHON: bool = false;
    /// Only `True` and `False`: a flag given as `1` is more likely a mistake
    /// than a choice.
    #[inline(always)]
    fn from_arg(obj: &'a Bound<'py>) -> std::result::Result<Self, ArgError> {
        strict_bool(obj).ok_or_else(|| ArgError::wrong_type("bool", obj))
    }
}

/// The int value of `obj` (`PyLong_AsLongLongAndOverflow`; objects with
/// `__index__` are accepted, as CPython's `i`/`l` formats do), or whether it
/// overflowed 64 bits (-1 below, +1 above).
fn int_value(obj: &Bound<'_>) -> std::result::Result<std::result::Result<i64, i32>, ArgError> {
    let p = obj.as_ptr();
    // SAFETY: GIL held; type checks on a live object.
    if unsafe { ffi::PyLong_Check(p) } == 0 {
        // PyIndex_Check is a macro; try __index__ and map its TypeError.
        // SAFETY: GIL held.
        let idx = unsafe { ffi::PyNumber_Index(p) };
        if idx.is_null() {
            let e = Error::fetch(obj.py());
            return Err(if e.is("TypeError") {
                ArgError::wrong_type("int", obj)
            } else {
                e.into()
            });
        }
        // SAFETY: owned reference returned by PyNumber_Index.
        let idx = unsafe { Bound::from_owned_nonnull(obj.py(), std::ptr::NonNull::new_unchecked(idx)) };
        return int_value(&idx);
    }
    let mut overflow = 0;
    // SAFETY: GIL held; p is an int.
    let v = unsafe { ffi::PyLong_AsLongLongAndOverflow(p, &mut overflow) };
    if overflow != 0 {
        return Ok(Err(overflow));
    }
    if v == -1 {
        if let Some(e) = Error::take(obj.py()) {
            return Err(e.into());
        }
    }
    Ok(Ok(v))
}

macro_rules! int_args {
    ($($t:ty),*) => {$(
        impl<'a, 'py> FromArg<'a, 'py> for $t {
            #[inline]
            fn from_arg(obj: &'a Bound<'py>) -> std::result::Result<Self, ArgError> {
                let out_of_range = |below: bool| {
                    let msg = if below && <$t>::MIN == 0 {
                        "can't convert negative int to unsigned".to_string()
                    } else {
                        format!("Python int too {} to convert to {}",
                            if below { "small" } else { "large" }, stringify!($t))
                    };
                    ArgError::value(ExcKind::OverflowError, msg)
                };
                match int_value(obj)? {
                    Ok(v) => <$t>::try_from(v).map_err(|_| out_of_range(v < 0)),
                    // Above i64::MAX: only u64/usize can still hold it.
                    Err(1) if <$t>::MAX as u128 > i64::MAX as u128 => {
                        // SAFETY: GIL held; obj (or its __index__) is an int.
                        let idx = unsafe { ffi::PyNumber_Index(obj.as_ptr()) };
                        if idx.is_null() {
                            return Err(Error::fetch(obj.py()).into());
                        }
                        // SAFETY: owned reference from PyNumber_Index.
                        let idx = unsafe { Bound::from_owned_nonnull(obj.py(), std::ptr::NonNull::new_unchecked(idx)) };
                        // SAFETY: idx is an int.
                        let u = unsafe { ffi::PyLong_AsUnsignedLongLong(idx.as_ptr()) };
                        if u == u64::MAX {
                            if let Some(_e) = Error::take(obj.py()) {
                                return Err(out_of_range(false));
                            }
                        }
                        <$t>::try_from(u).map_err(|_| out_of_range(false))
                    }
                    Err(o) => Err(out_of_range(o < 0)),
                }
            }
        }
    )*};
}

int_args!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

impl<'a, 'py> FromArg<'a, 'py> for f64 {
    /// A float, or anything with `__float__` or `__index__` (an int), as
    /// CPython's `d` format.
    #[inline(always)]
    fn from_arg(obj: &'a Bound<'py>) -> std::result::Result<Self, ArgError> {
        // SAFETY: GIL held; live object.
        let v = unsafe { ffi::PyFloat_AsDouble(obj.as_ptr()) };
        if v == -1.0 {
            return float_error(obj).map_or(Ok(v), Err);
        }
        Ok(v)
    }
}

/// After `PyFloat_AsDouble` returned -1.0: the error, if one is set.
#[cold]
fn float_error(obj: &Bound<'_>) -> Option<ArgError> {
    let e = Error::take(obj.py())?;
    Some(if e.is("TypeError") {
        ArgError::wrong_type("float", obj)
    } else {
        e.into()
    })
}

impl<'a, 'py> FromArg<'a, 'py> for f32 {
    #[inline]
    fn from_arg(obj: &'a Bound<'py>) -> std::result::Result<Self, ArgError> {
        f64::from_arg(obj).map(|v| v as f32)
    }
}

impl<'a, 'py, T: FromArg<'a, 'py>> FromArg<'a, 'py> for Option<T> {
    const MAY_RUN_PYTHON: bool = T::MAY_RUN_PYTHON;
    /// `None`, or a `T`.
    //
    // Inlined (with the error rewriting out of line): returned through
    // memory from a call, this Result cost a store-forwarding stall.
    #[inline(always)]
    fn from_arg(obj: &'a Bound<'py>) -> std::result::Result<Self, ArgError> {
        if obj.is_none() {
            return Ok(None);
        }
        match T::from_arg(obj) {
            Ok(v) => Ok(Some(v)),
            Err(e) => Err(e.or_none()),
        }
    }
}

impl<'a, 'py, T> FromArg<'a, 'py> for Vec<T>
where
    T: for<'b> FromArg<'b, 'py>,
{
    /// A list or tuple whose items convert to `T`; a bad item is reported
    /// as `f() argument 3 item 1 must be str, not int`.
    fn from_arg(obj: &'a Bound<'py>) -> std::result::Result<Self, ArgError> {
        let p = obj.as_ptr();
        let (is_list, is_tuple) = (obj.is_list(), obj.is_tuple());
        if !is_list && !is_tuple {
            return Err(ArgError::wrong_type("list", obj));
        }
        // SAFETY: GIL held (or an attached thread state); `p` is a list or
        // tuple, read as the PyList_/PyTuple_GET_SIZE macros do.
        let len = || unsafe {
            (if is_list {
                ffi::PyList_GET_SIZE(p)
            } else {
                ffi::PyTuple_GET_SIZE(p)
            }) as usize
        };
        // SAFETY: as above (PyList_/PyTuple_GET_ITEM); `i` is below the
        // length when called.
        let item = |i: usize| unsafe {
            if is_list {
                ffi::PyList_GET_ITEM(p, i as ffi::Py_ssize_t)
            } else {
                ffi::PyTuple_GET_ITEM(p, i as ffi::Py_ssize_t)
            }
        };
        if !T::MAY_RUN_PYTHON {
            // Nothing can change the list during these conversions (on a
            // free-threaded build, the list's lock keeps other threads out),
            // and their results borrow nothing (T is FromArg for every 'b):
            // read the items in place.
            return critical_section(obj, || {
                let n = len();
                let mut out = Vec::with_capacity(n);
                for i in 0..n {
                    let raw = item(i);
                    // SAFETY: a live item, kept by the sequence, which nothing
                    // changes while it is converted.
                    match T::from_arg(unsafe { Bound::ref_from_ptr(obj.py(), &raw) }) {
                        Ok(v) => out.push(v),
                        Err(e) => return Err(e.in_item(i)),
                    }
                }
                Ok(out)
            });
        }
        // Converting an item may run Python code (__index__, __float__) that
        // changes a list: hold each item, and re-read the length each time.
        let seq = FastSequence::new(obj).expect("a list or tuple");
        let mut out = Vec::with_capacity(seq.len());
        let mut i = 0;
        while let Some(held) = seq.get(i) {
            match T::from_arg(&held) {
                Ok(v) => out.push(v),
                Err(e) => return Err(e.in_item(i)),
            }
            i += 1;
        }
        Ok(out)
    }
}

macro_rules! typed_arg {
    ($t:ident, $check:ident, $expected:literal, $down:ident) => {
        impl<'a, 'py> FromArg<'a, 'py> for $t<'py> {
            #[inline]
            fn from_arg(obj: &'a Bound<'py>) -> std::result::Result<Self, ArgError> {
                if !obj.$check() {
                    return Err(ArgError::wrong_type($expected, obj));
                }
                Ok(obj.$down()?.clone())
            }
        }
    };
}

typed_arg!(Dict, is_dict, "dict", downcast_dict);
typed_arg!(List, is_list, "list", downcast_list);
typed_arg!(Tuple, is_tuple, "tuple", downcast_tuple);
