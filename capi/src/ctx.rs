//! One call of a C host function: the arguments converted by declared
//! parameters or read through `pyhost_arg`, the exception to raise, and the
//! result (`pyhost_ctx` in the header).
//!
//! Every conversion goes through pyhost's [`Args`] (`get`, `get_opt`,
//! `keyword`, `check`), so the checks and the CPython-worded messages are
//! exactly a Rust host function's.

use std::cell::Cell;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use pyhost::module::{ArgError, Args, FromArg, HostException};
use pyhost::{Bound, Error, ExcKind, FastSequence, PyException, Python};

use crate::object::pyhost_object;
use crate::value::{
    pyhost_str, pyhost_value, pyhost_value_free, to_python, PYHOST_BOOL, PYHOST_BYTES, PYHOST_FLOAT, PYHOST_INT,
    PYHOST_NONE, PYHOST_OBJECT, PYHOST_STR, PYHOST_STR_LIST, PYHOST_VALUE_OWNED,
};

/// `PYHOST_OPTIONAL`.
pub const PYHOST_OPTIONAL: i32 = 1;
/// `PYHOST_KEYWORD_ONLY`.
pub const PYHOST_KEYWORD_ONLY: i32 = 2;

/// The context of one host-function call, opaque to C (`pyhost_ctx`).
#[allow(non_camel_case_types)] // the C name
#[derive(Debug)]
pub struct pyhost_ctx {
    _opaque: [u8; 0],
}

/// A host function as C declares it (`pyhost_function`).
#[allow(non_camel_case_types)] // the C name
pub type pyhost_function = unsafe extern "C" fn(
    ctx: *mut pyhost_ctx,
    args: *const pyhost_value,
    nargs: usize,
    result: *mut pyhost_value,
    userdata: *mut c_void,
) -> c_int;

/// One declared parameter.
#[derive(Debug)]
pub(crate) struct Param {
    pub(crate) name: &'static str,
    pub(crate) type_: i32,
    pub(crate) optional: bool,
    pub(crate) keyword_only: bool,
}

/// Everything a call of one C function needs; kept for the life of the
/// process (as the layer keeps every host function's closure).
#[derive(Debug)]
pub(crate) struct FnInfo {
    pub(crate) name: String,
    pub(crate) f: pyhost_function,
    /// The C `void *`, which pyhost never dereferences.
    pub(crate) userdata: usize,
    /// `None`: an unchecked function (arguments read with `pyhost_arg`).
    pub(crate) params: Option<Vec<Param>>,
    /// Every parameter name, for [`Args::check`].
    pub(crate) names: Vec<&'static str>,
    /// How many may be passed by position (those before the keyword-only ones).
    pub(crate) max_positional: usize,
    pub(crate) has_lists: bool,
    /// The module's exception types, raised by name with `pyhost_raise`.
    pub(crate) exceptions: std::sync::Arc<Vec<HostException>>,
}

/// Declared values kept on the stack up to this many parameters.
const INLINE_PARAMS: usize = 8;

/// A call in progress; C sees it as `*mut pyhost_ctx`.
struct Ctx<'a, 'py> {
    py: Python<'py>,
    args: &'a Args<'a, 'py>,
    info: &'a FnInfo,
    /// The exception the callback will raise (from `pyhost_raise` or a
    /// failed `pyhost_arg`).
    pending: Option<Error>,
    /// The value given to `pyhost_return` (it wins over `*result`).
    returned: Option<Bound<'py>>,
    /// Lists read with `pyhost_arg`: texts and items, owned by the call.
    lists: Vec<(Vec<u8>, Vec<pyhost_str>)>,
    /// Handles given to C for `PYHOST_OBJECT` arguments, released after the
    /// call (boxed: C holds their addresses while the vector grows).
    #[allow(clippy::vec_box)]
    objects: Vec<Box<pyhost_object>>,
}

impl FnInfo {
    /// The closure body: convert the declared arguments, call C, turn its
    /// result (or exception) into Python's.
    pub(crate) fn call<'py>(&self, py: Python<'py>, args: &Args<'_, 'py>) -> pyhost::Result<Bound<'py>> {
        let mut ctx = Ctx {
            py,
            args,
            info: self,
            pending: None,
            returned: None,
            lists: Vec::new(),
            objects: Vec::new(),
        };
        let mut inline = [pyhost_value::NONE; INLINE_PARAMS];
        let mut heap = Vec::new();
        let mut scratch = None;
        let (argv, argc) = match &self.params {
            None => (ptr::null(), 0),
            Some(params) => {
                let values = if params.len() <= INLINE_PARAMS {
                    &mut inline[..params.len()]
                } else {
                    heap.resize(params.len(), pyhost_value::NONE);
                    &mut heap[..]
                };
                if let Err(e) = self.parse(&mut ctx, params, values) {
                    discard_pooled_lists();
                    return Err(e);
                }
                if self.has_lists {
                    scratch = Some(take_pooled_lists(values));
                }
                (values.as_ptr(), values.len())
            }
        };
        let mut result = pyhost_value::NONE;
        let ctx_ptr = &mut ctx as *mut Ctx<'_, '_> as *mut pyhost_ctx;
        // SAFETY: a C function registered for this entry, called as the
        // header documents: the context and `argc` values live until it
        // returns (their strings point into argument objects the caller
        // holds, or into `scratch`), and `result` is writable.
        let rc = unsafe { (self.f)(ctx_ptr, argv, argc, &mut result, self.userdata as *mut c_void) };
        if let Some(s) = scratch {
            put_back_pooled_lists(s);
        }
        ctx.finish(rc, &mut result)
    }

    fn parse(&self, ctx: &mut Ctx<'_, '_>, params: &[Param], values: &mut [pyhost_value]) -> pyhost::Result<()> {
        ctx.args.check(&self.names, self.max_positional)?;
        for (i, (p, out)) in params.iter().zip(values.iter_mut()).enumerate() {
            let index = if p.keyword_only { None } else { Some(i) };
            read_arg(ctx, index, p.name, p.type_, p.optional, out, false)?;
        }
        Ok(())
    }
}

impl<'py> Ctx<'_, 'py> {
    /// What the call returns to Python, given the C function's return code.
    fn finish(mut self, rc: c_int, result: &mut pyhost_value) -> pyhost::Result<Bound<'py>> {
        let out = match (rc, self.pending.take()) {
            (_, Some(e)) => Err(e),
            (0, None) if self.returned.is_some() => Ok(self.returned.take().expect("checked")),
            // SAFETY: the callback set `result` as the header documents
            // (pointers valid until now, or a value pyhost filled in).
            (0, None) => unsafe { to_python(self.py, result, &|| format!("the result of {}()", self.info.name)) },
            (_, None) => Err(Error::new(
                ExcKind::SystemError,
                format!(
                    "{}() returned -1 without raising an exception (call pyhost_raise())",
                    self.info.name
                ),
            )),
        };
        if result.flags & PYHOST_VALUE_OWNED != 0 {
            // SAFETY: a value pyhost filled in (a pyhost_call result passed on).
            unsafe { pyhost_value_free(result) };
        }
        out
    }
}

// ---- lists of str ------------------------------------------------------------

/// Texts of `str` list items and their `pyhost_str`s (whose `ptr` holds the
/// text's offset until [`take_pooled_lists`] makes it a pointer).
#[derive(Default)]
struct ListScratch {
    text: Vec<u8>,
    items: Vec<pyhost_str>,
}

thread_local! {
    /// Reused by every call on this thread: no allocation per call once the
    /// buffers have grown. Taken out while a callback runs, so a nested call
    /// gets buffers of its own.
    static LISTS: Cell<ListScratch> = const { Cell::new(ListScratch { text: Vec::new(), items: Vec::new() }) };
}

/// A list or tuple of `str` copied into [`LISTS`].
struct StrListArg {
    first_item: usize,
    count: usize,
    text_start: usize,
}

impl<'a, 'py> FromArg<'a, 'py> for StrListArg {
    fn from_arg(obj: &'a Bound<'py>) -> Result<Self, ArgError> {
        let Some(seq) = FastSequence::new(obj) else {
            return Err(ArgError::wrong_type("list", obj));
        };
        let mut s = LISTS.with(Cell::take);
        let (first_item, text_start) = (s.items.len(), s.text.len());
        let mut i = 0;
        let mut outcome = Ok(());
        // Each item is held while its text is copied (the list may change).
        while let Some(item) = seq.get(i) {
            if !item.is_str() {
                outcome = Err(ArgError::wrong_type("str", &item).in_item(i));
                break;
            }
            match item.to_str() {
                Ok(t) => {
                    let offset = s.text.len();
                    s.text.extend_from_slice(t.as_bytes());
                    s.text.push(0);
                    s.items.push(pyhost_str {
                        ptr: offset as *const c_char,
                        len: t.len(),
                    });
                }
                Err(e) => {
                    outcome = Err(ArgError::from(e).in_item(i));
                    break;
                }
            }
            i += 1;
        }
        if outcome.is_err() {
            s.items.truncate(first_item);
            s.text.truncate(text_start);
        }
        LISTS.with(|c| c.set(s));
        outcome.map(|()| StrListArg {
            first_item,
            count: i,
            text_start,
        })
    }
}

/// Take this call's lists out of [`LISTS`] and point the values and items
/// at their texts (values of type list hold their first item's index in `i`).
fn take_pooled_lists(values: &mut [pyhost_value]) -> ListScratch {
    let mut s = LISTS.with(Cell::take);
    let text = s.text.as_ptr();
    for item in &mut s.items {
        // SAFETY: `ptr` holds an offset into `text` (set by StrListArg).
        item.ptr = unsafe { text.add(item.ptr as usize) } as *const c_char;
    }
    for v in values.iter_mut().filter(|v| v.type_ == PYHOST_STR_LIST) {
        // SAFETY: `i` is an index into `items` (set by read_arg).
        v.ptr = unsafe { s.items.as_ptr().add(v.i as usize) } as *const c_void;
        v.i = 0;
    }
    s
}

/// Empty the buffers and give them back for the next call (unless they grew
/// past 64 KiB: a rare huge list does not pin its memory).
fn put_back_pooled_lists(mut s: ListScratch) {
    s.text.clear();
    s.items.clear();
    if s.text.capacity() > 1 << 16 {
        s = ListScratch::default();
    }
    LISTS.with(|c| c.set(s));
}

fn discard_pooled_lists() {
    put_back_pooled_lists(LISTS.with(Cell::take));
}

// ---- reading one argument --------------------------------------------------

/// The argument at `index` (or keyword-only if `None`) called `name`:
/// `Some(value)`, or `None` if optional and missing or `None`.
fn fetch<'a, 'py, T: FromArg<'a, 'py>>(
    args: &Args<'a, 'py>,
    index: Option<usize>,
    name: &'a str,
    optional: bool,
) -> pyhost::Result<Option<T>> {
    let i = match index {
        Some(i) => i,
        None => {
            // Keyword-only: absent is CPython's own message; present, it is
            // looked up by name (an index past every positional argument).
            if args.keyword_len() == 0 || !args.keywords().any(|(k, _)| k.to_str().is_ok_and(|k| k == name)) {
                return if optional {
                    Ok(None)
                } else {
                    Err(keyword_missing(args.function_name(), name))
                };
            }
            usize::MAX
        }
    };
    if optional {
        args.get_opt(i, name)
    } else {
        args.get(i, name).map(Some)
    }
}

#[cold]
fn keyword_missing(fname: &str, name: &str) -> Error {
    Error::type_error(format!("{fname}() missing 1 required keyword-only argument: '{name}'"))
}

/// Read one argument into `out` as `type_`. Lists go to [`LISTS`] (declared
/// parameters, fixed up by [`take_pooled_lists`]) or, with `own_lists`, into
/// buffers the call owns (`pyhost_arg`, whose pointers must stay put).
fn read_arg(
    ctx: &mut Ctx<'_, '_>,
    index: Option<usize>,
    name: &str,
    type_: i32,
    optional: bool,
    out: &mut pyhost_value,
    own_lists: bool,
) -> pyhost::Result<()> {
    let args = ctx.args;
    *out = pyhost_value::NONE;
    match type_ {
        PYHOST_STR => {
            if let Some(s) = fetch::<&str>(args, index, name, optional)? {
                *out = pyhost_value::str(s);
            }
        }
        PYHOST_INT => {
            if let Some(i) = fetch::<i64>(args, index, name, optional)? {
                *out = pyhost_value::int(i);
            }
        }
        PYHOST_FLOAT => {
            if let Some(f) = fetch::<f64>(args, index, name, optional)? {
                out.type_ = PYHOST_FLOAT;
                out.f = f;
            }
        }
        PYHOST_BOOL => {
            if let Some(b) = fetch::<bool>(args, index, name, optional)? {
                out.type_ = PYHOST_BOOL;
                out.i = b as i64;
            }
        }
        PYHOST_BYTES => {
            if let Some(b) = fetch::<&[u8]>(args, index, name, optional)? {
                out.type_ = PYHOST_BYTES;
                out.ptr = b.as_ptr() as *const c_void;
                out.len = b.len();
            }
        }
        PYHOST_STR_LIST => {
            if let Some(l) = fetch::<StrListArg>(args, index, name, optional)? {
                out.type_ = PYHOST_STR_LIST;
                out.len = l.count;
                if own_lists {
                    let (items, text) = own_list(&l);
                    out.ptr = items.as_ptr() as *const c_void;
                    ctx.lists.push((text, items));
                } else {
                    out.i = l.first_item as i64;
                }
            }
        }
        PYHOST_OBJECT => {
            if let Some(o) = fetch::<&Bound<'_>>(args, index, name, optional)? {
                let handle = Box::new(pyhost_object::new(o.clone().unbind(), true));
                out.type_ = PYHOST_OBJECT;
                out.ptr = &*handle as *const pyhost_object as *const c_void;
                ctx.objects.push(handle);
            }
        }
        other => {
            return Err(Error::new(
                ExcKind::SystemError,
                format!("{}(): parameter '{name}' has an unknown type {other}", ctx.info.name),
            ))
        }
    }
    Ok(())
}

/// Move one list out of [`LISTS`] into buffers of its own, items pointing
/// into its text.
fn own_list(l: &StrListArg) -> (Vec<pyhost_str>, Vec<u8>) {
    let mut s = LISTS.with(Cell::take);
    let text = s.text.split_off(l.text_start);
    let mut items = s.items.split_off(l.first_item);
    for item in &mut items {
        // SAFETY: the offset (into the whole buffer) minus where this list's
        // text starts is inside `text`.
        item.ptr = unsafe { text.as_ptr().add(item.ptr as usize - l.text_start) } as *const c_char;
    }
    LISTS.with(|c| c.set(s));
    (items, text)
}

// ---- the C accessors -----------------------------------------------------------

/// Run an accessor on a live context: a NULL context is an error of the
/// calling thread (there is no call to raise in); an error or panic becomes
/// the context's pending exception.
///
/// # Safety
/// `ctx` is NULL or the context of a host-function call in progress on this thread.
unsafe fn with_ctx(ctx: *mut pyhost_ctx, f: impl FnOnce(&mut Ctx<'_, '_>) -> pyhost::Result<c_int>) -> c_int {
    if ctx.is_null() {
        crate::error::set_error("ctx is NULL");
        return -1;
    }
    // SAFETY: a live Ctx made by FnInfo::call (the pointer C was given);
    // its lifetimes are the call's, which outlive this accessor.
    let ctx = unsafe { &mut *(ctx as *mut Ctx<'static, 'static>) };
    match catch_unwind(AssertUnwindSafe(|| f(ctx))) {
        Ok(Ok(rc)) => rc,
        Ok(Err(e)) => {
            ctx.pending = Some(e);
            -1
        }
        Err(payload) => {
            ctx.pending = Some(Error::runtime_error(crate::error::panic_message(payload.as_ref())));
            -1
        }
    }
}

/// A C string argument of an accessor (a programming error if bad: `SystemError`).
///
/// # Safety
/// `p` is NULL or NUL-terminated, alive for `'a`.
unsafe fn c_name<'a>(p: *const c_char, what: &str) -> pyhost::Result<&'a str> {
    if p.is_null() {
        return Err(Error::new(ExcKind::SystemError, format!("{what} is NULL")));
    }
    // SAFETY: non-NULL and NUL-terminated (contract).
    unsafe { CStr::from_ptr(p) }
        .to_str()
        .map_err(|e| Error::new(ExcKind::SystemError, format!("{what} is not valid UTF-8: {e}")))
}

fn keyword_index(index: usize) -> Option<usize> {
    (index != usize::MAX).then_some(index)
}

/// Number of positional arguments. See `include/pyhost.h`.
///
/// # Safety
/// `ctx` is NULL or a call's live context.
#[no_mangle]
pub unsafe extern "C" fn pyhost_arg_count(ctx: *const pyhost_ctx) -> usize {
    if ctx.is_null() {
        return 0;
    }
    // SAFETY: a live Ctx (contract).
    unsafe { (*(ctx as *const Ctx<'static, 'static>)).args.len() }
}

/// Number of keyword arguments. See `include/pyhost.h`.
///
/// # Safety
/// `ctx` is NULL or a call's live context.
#[no_mangle]
pub unsafe extern "C" fn pyhost_kwarg_count(ctx: *const pyhost_ctx) -> usize {
    if ctx.is_null() {
        return 0;
    }
    // SAFETY: a live Ctx (contract).
    unsafe { (*(ctx as *const Ctx<'static, 'static>)).args.keyword_len() }
}

/// Read one argument. See `include/pyhost.h`.
///
/// # Safety
/// `ctx` is NULL or a call's live context; `name` NULL or NUL-terminated;
/// `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pyhost_arg(
    ctx: *mut pyhost_ctx,
    index: usize,
    name: *const c_char,
    type_: i32,
    flags: i32,
    out: *mut pyhost_value,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_ctx(ctx, |ctx| {
            if out.is_null() {
                return Err(Error::new(ExcKind::SystemError, "pyhost_arg: out is NULL"));
            }
            // SAFETY: non-NULL and writable (contract).
            let out = &mut *out;
            *out = pyhost_value::NONE;
            // SAFETY: NULL or NUL-terminated (contract).
            let name = c_name(name, "pyhost_arg: name")?;
            if flags & !PYHOST_OPTIONAL != 0 {
                return Err(Error::new(
                    ExcKind::SystemError,
                    format!("pyhost_arg: unknown flags {flags}"),
                ));
            }
            let optional = flags & PYHOST_OPTIONAL != 0;
            read_arg(ctx, keyword_index(index), name, type_, optional, out, true)?;
            Ok(0)
        })
    }
}

/// The type of an argument as given. See `include/pyhost.h`.
///
/// # Safety
/// `ctx` is NULL or a call's live context; `name` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn pyhost_arg_type(ctx: *mut pyhost_ctx, index: usize, name: *const c_char) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_ctx(ctx, |ctx| {
            // SAFETY: NULL or NUL-terminated (contract).
            let name = c_name(name, "pyhost_arg_type: name")?;
            let obj = fetch::<&Bound<'_>>(ctx.args, keyword_index(index), name, true)?;
            Ok(obj.map_or(PYHOST_NONE, type_of))
        })
    }
}

/// The `pyhost_type` an object would convert to without loss.
fn type_of(obj: &Bound<'_>) -> c_int {
    if obj.is_bool() {
        PYHOST_BOOL
    } else if obj.is_int() {
        if obj.extract::<i64>().is_ok() {
            PYHOST_INT
        } else {
            PYHOST_OBJECT
        }
    } else if obj.is_float() {
        PYHOST_FLOAT
    } else if obj.is_str() {
        PYHOST_STR
    } else if obj.is_bytes() {
        PYHOST_BYTES
    } else if FastSequence::new(obj).is_some_and(|s| s.iter().all(|i| i.is_str())) {
        PYHOST_STR_LIST
    } else {
        PYHOST_OBJECT
    }
}

/// Check the call against a signature. See `include/pyhost.h`.
///
/// # Safety
/// `ctx` is NULL or a call's live context; `names` NULL or `nnames`
/// NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn pyhost_args_check(
    ctx: *mut pyhost_ctx,
    names: *const *const c_char,
    nnames: usize,
    max_positional: usize,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_ctx(ctx, |ctx| {
            if names.is_null() && nnames != 0 {
                return Err(Error::new(ExcKind::SystemError, "pyhost_args_check: names is NULL"));
            }
            let mut list = Vec::with_capacity(nnames);
            for i in 0..nnames {
                // SAFETY: `nnames` readable entries (contract), each NULL or NUL-terminated.
                list.push(c_name(*names.add(i), "pyhost_args_check: a name")?);
            }
            ctx.args.check(&list, max_positional)?;
            Ok(0)
        })
    }
}

/// Set the call's return value now (copied at once). See `include/pyhost.h`.
///
/// # Safety
/// `ctx` is NULL or a call's live context; `value` NULL or a valid value.
#[no_mangle]
pub unsafe extern "C" fn pyhost_return(ctx: *mut pyhost_ctx, value: *const pyhost_value) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_ctx(ctx, |ctx| {
            if value.is_null() {
                return Err(Error::new(ExcKind::SystemError, "pyhost_return: value is NULL"));
            }
            let name = &ctx.info.name;
            // SAFETY: a valid value (contract).
            let obj = to_python(ctx.py, &*value, &|| format!("the result of {name}()"))?;
            ctx.returned = Some(obj);
            Ok(0)
        })
    }
}

/// Raise an exception from a host function. See `include/pyhost.h`.
///
/// # Safety
/// `ctx` is NULL or a call's live context; `type_` and `message` NULL or
/// NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn pyhost_raise(ctx: *mut pyhost_ctx, type_: *const c_char, message: *const c_char) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with_ctx(ctx, |ctx| {
            let message = if message.is_null() {
                String::new()
            } else {
                // SAFETY: non-NULL and NUL-terminated (contract).
                CStr::from_ptr(message).to_string_lossy().into_owned()
            };
            let type_name = if type_.is_null() {
                "RuntimeError".to_string()
            } else {
                // SAFETY: as above.
                CStr::from_ptr(type_).to_string_lossy().into_owned()
            };
            Err(exception(ctx, &type_name, message))
        })
    }
}

/// The exception `type_name(message)`: one of the module's, or a built-in.
fn exception(ctx: &Ctx<'_, '_>, type_name: &str, message: String) -> Error {
    if let Some(e) = ctx.info.exceptions.iter().find(|e| e.name() == type_name) {
        return e.err(ctx.py, message);
    }
    if let Some(kind) = ExcKind::from_name(type_name) {
        return Error::new(kind, message);
    }
    match builtin_exception(ctx.py, type_name, &message) {
        Ok(Some(e)) => e,
        Ok(None) => Error::new(
            ExcKind::SystemError,
            format!("pyhost_raise: unknown exception type '{type_name}' (message: {message})"),
        ),
        Err(e) => e,
    }
}

/// `builtins.<name>(message)` if that is an exception class.
fn builtin_exception(py: Python<'_>, name: &str, message: &str) -> pyhost::Result<Option<Error>> {
    let builtins = py.builtins()?;
    let Some(ty) = builtins.getattr_opt(name)? else {
        return Ok(None);
    };
    if !ty.is_type() {
        return Ok(None);
    }
    let base = builtins.getattr("BaseException")?;
    if !builtins.getattr("issubclass")?.call1((&ty, base))?.extract::<bool>()? {
        return Ok(None);
    }
    let instance = ty.call1((message,))?;
    Ok(Some(Error::Python(PyException::from_value(instance))))
}
