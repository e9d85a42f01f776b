//! One call of a C host function: the arguments converted by declared
//! parameters or read through `pyhost_arg`, the exception to raise, and the
//! result (`pyhost_ctx` in the header).
//!
//! Positional arguments of the exact expected type are converted directly
//! (the fast path); everything else goes through pyhost's [`Args`] (`get`,
//! `get_opt`, `check`), which also words every error, so the checks and the
//! CPython-worded messages are exactly a Rust host function's.

use std::cell::Cell;
use std::ffi::{c_char, c_int, c_void};
use std::mem::MaybeUninit;
use std::ptr;

use pyhost::module::{ArgError, Args, FromArg, HostException};
use pyhost::{Bound, Error, ExcKind, FastSequence, Python};

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

/// Handles lent to C for one call (boxed: C holds their addresses while
/// the vector grows).
#[allow(clippy::vec_box)]
type Handles = Vec<Box<pyhost_object>>;

/// Declared values kept on the stack up to this many parameters.
const INLINE_PARAMS: usize = 8;

/// A call in progress; C sees it as `*mut pyhost_ctx` (the accessors in
/// [`crate::accessors`] turn it back).
pub(crate) struct Ctx<'a, 'py> {
    pub(crate) py: Python<'py>,
    pub(crate) args: &'a Args<'a, 'py>,
    pub(crate) info: &'a FnInfo,
    /// The exception the callback will raise (from `pyhost_raise` or a
    /// failed `pyhost_arg`).
    pub(crate) pending: Option<Error>,
    /// The value given to `pyhost_return` (it wins over `*result`).
    pub(crate) returned: Option<Bound<'py>>,
    /// Lists read with `pyhost_arg`: texts and items, owned by the call.
    lists: Vec<(Vec<u8>, Vec<pyhost_str>)>,
    /// Handles given to C for `PYHOST_OBJECT` arguments, released after the call.
    objects: Handles,
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
        // Uninitialised: only the first `params.len()` are set (a memset of
        // the whole array showed up per call).
        let mut inline = [MaybeUninit::<pyhost_value>::uninit(); INLINE_PARAMS];
        let mut heap = Vec::new();
        // The per-thread list buffers, taken for this call (a nested call
        // gets buffers of its own) and given back after it.
        let mut scratch = if self.has_lists {
            LISTS.with(Cell::take)
        } else {
            ListScratch::default()
        };
        let (argv, argc) = match &self.params {
            None => (ptr::null(), 0),
            Some(params) => {
                let values = if params.len() <= INLINE_PARAMS {
                    let slots = &mut inline[..params.len()];
                    for slot in slots.iter_mut() {
                        slot.write(pyhost_value::NONE);
                    }
                    // SAFETY: every element of `slots` was just initialised;
                    // MaybeUninit<T> has T's layout.
                    unsafe { &mut *(slots as *mut [MaybeUninit<pyhost_value>] as *mut [pyhost_value]) }
                } else {
                    heap.resize(params.len(), pyhost_value::NONE);
                    &mut heap[..]
                };
                if let Err(e) = self.parse(&mut ctx, params, values, &mut scratch) {
                    give_back(scratch, self.has_lists);
                    return Err(e);
                }
                if self.has_lists {
                    scratch.point_values(values);
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
        give_back(scratch, self.has_lists);
        ctx.finish(rc, &mut result)
    }

    /// Check the call and convert every declared argument. Positional
    /// arguments of the expected exact type take a fast path; anything else
    /// (keywords, None for a required one, a wrong type, a subclass, an
    /// object with `__index__`) goes through [`Args`], which also words the errors.
    fn parse(
        &self,
        ctx: &mut Ctx<'_, '_>,
        params: &[Param],
        values: &mut [pyhost_value],
        scratch: &mut ListScratch,
    ) -> pyhost::Result<()> {
        let args = ctx.args;
        args.check(&self.names, self.max_positional)?;
        let positional = if args.keyword_len() == 0 {
            args.positional()
        } else {
            &[]
        };
        for (i, (p, out)) in params.iter().zip(values.iter_mut()).enumerate() {
            if !p.keyword_only {
                match positional.get(i) {
                    Some(obj) if read_fast(obj, p, out, scratch, &mut ctx.objects) => continue,
                    None if p.optional && args.keyword_len() == 0 => {
                        *out = pyhost_value::NONE;
                        continue;
                    }
                    _ => {}
                }
            }
            let index = if p.keyword_only { None } else { Some(i) };
            read_arg(ctx, index, p.name, p.type_, p.optional, out, Some(&mut *scratch))?;
        }
        Ok(())
    }
}

/// Convert a positional argument of the expected exact type; `false`
/// (nothing done) sends it to the general path.
#[inline(always)]
fn read_fast(
    obj: &Bound<'_>,
    p: &Param,
    out: &mut pyhost_value,
    scratch: &mut ListScratch,
    objects: &mut Handles,
) -> bool {
    if obj.is_none() {
        if p.optional {
            *out = pyhost_value::NONE;
            return true;
        }
        return false;
    }
    match p.type_ {
        PYHOST_STR if obj.is_str() => {
            let Ok(s) = obj.to_str() else { return false };
            *out = pyhost_value::str(s);
        }
        PYHOST_FLOAT if obj.is_exact_float() || obj.is_exact_int() => {
            let Ok(f) = obj.extract::<f64>() else { return false };
            *out = pyhost_value {
                type_: PYHOST_FLOAT,
                f,
                ..pyhost_value::NONE
            };
        }
        PYHOST_INT if obj.is_exact_int() => {
            let Ok(i) = obj.extract::<i64>() else { return false };
            *out = pyhost_value::int(i);
        }
        PYHOST_BOOL if obj.is_bool() => {
            *out = pyhost_value {
                type_: PYHOST_BOOL,
                i: obj.is_true() as i64,
                ..pyhost_value::NONE
            };
        }
        PYHOST_BYTES if obj.is_bytes() => {
            let Ok(b) = obj.as_bytes() else { return false };
            *out = pyhost_value {
                type_: PYHOST_BYTES,
                ptr: b.as_ptr() as *const c_void,
                len: b.len(),
                ..pyhost_value::NONE
            };
        }
        PYHOST_STR_LIST if obj.is_exact_list() || obj.is_exact_tuple() => {
            let Some((first, count)) = scratch.push_list(obj) else {
                return false;
            };
            *out = pyhost_value {
                type_: PYHOST_STR_LIST,
                i: first as i64,
                len: count,
                ..pyhost_value::NONE
            };
        }
        PYHOST_OBJECT => *out = object_value(obj, objects),
        _ => return false,
    }
    true
}

/// A borrowed handle on `obj` for C, kept (and released) by the call.
fn object_value(obj: &Bound<'_>, objects: &mut Handles) -> pyhost_value {
    let handle = Box::new(pyhost_object::new(obj.clone().unbind(), true));
    let v = pyhost_value {
        type_: PYHOST_OBJECT,
        ptr: &*handle as *const pyhost_object as *const c_void,
        ..pyhost_value::NONE
    };
    objects.push(handle);
    v
}

impl<'py> Ctx<'_, 'py> {
    /// What the call returns to Python, given the C function's return code.
    fn finish(mut self, rc: c_int, result: &mut pyhost_value) -> pyhost::Result<Bound<'py>> {
        let out = match (rc, self.pending.take()) {
            (_, Some(e)) => Err(e),
            (0, None) if self.returned.is_some() => Ok(self.returned.take().expect("checked")),
            (0, None) if result.type_ == PYHOST_NONE => Ok(self.py.None()),
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

/// Texts of `str` list items, each followed by a NUL, and their
/// `pyhost_str`s (whose `ptr` holds the text's offset until
/// [`point_values`](Self::point_values) makes it a pointer).
#[derive(Default)]
pub(crate) struct ListScratch {
    text: Vec<u8>,
    items: Vec<pyhost_str>,
}

thread_local! {
    /// Reused by every call on this thread: no allocation per call once the
    /// buffers have grown.
    static LISTS: Cell<ListScratch> = const { Cell::new(ListScratch { text: Vec::new(), items: Vec::new() }) };
}

impl ListScratch {
    /// Copy the texts of a list or tuple of `str`: `(first item, count)`,
    /// or `None` (nothing kept) if it is not one or an item is not a `str`
    /// that UTF-8 can hold. Each item is held while it is read (the list may
    /// change meanwhile on a free-threaded build).
    fn push_list(&mut self, obj: &Bound<'_>) -> Option<(usize, usize)> {
        let seq = FastSequence::new(obj)?;
        let (first, text_start) = (self.items.len(), self.text.len());
        let mut i = 0;
        while let Some(item) = seq.get(i) {
            let text = if item.is_str() { item.to_str().ok() } else { None };
            let Some(t) = text else {
                self.items.truncate(first);
                self.text.truncate(text_start);
                return None;
            };
            let offset = self.text.len();
            self.text.extend_from_slice(t.as_bytes());
            self.text.push(0);
            self.items.push(pyhost_str {
                ptr: offset as *const c_char,
                len: t.len(),
            });
            i += 1;
        }
        Some((first, i))
    }

    /// Turn the items' offsets into pointers, and point the list values
    /// (which hold their first item's index in `i`) at their items.
    fn point_values(&mut self, values: &mut [pyhost_value]) {
        let text = self.text.as_ptr();
        for item in &mut self.items {
            // SAFETY: `ptr` holds an offset into `text` (push_list).
            item.ptr = unsafe { text.add(item.ptr as usize) } as *const c_char;
        }
        for v in values.iter_mut().filter(|v| v.type_ == PYHOST_STR_LIST) {
            // SAFETY: `i` is an index into `items` (set with the list).
            v.ptr = unsafe { self.items.as_ptr().add(v.i as usize) } as *const c_void;
            v.i = 0;
        }
    }
}

/// Empty the buffers and give them back for the next call (unless they grew
/// past 64 KiB: a rare huge list does not pin its memory).
fn give_back(mut s: ListScratch, pooled: bool) {
    if !pooled {
        return;
    }
    s.text.clear();
    s.items.clear();
    if s.text.capacity() > 1 << 16 {
        s = ListScratch::default();
    }
    LISTS.with(|c| c.set(s));
}

/// A list or tuple whose items are all `str`, checked with the layer's
/// messages (`f() argument 3 item 1 must be str, not int`); the texts are
/// copied afterwards by [`ListScratch::push_list`].
struct StrList<'a, 'py>(&'a Bound<'py>);

impl<'a, 'py> FromArg<'a, 'py> for StrList<'a, 'py> {
    fn from_arg(obj: &'a Bound<'py>) -> Result<Self, ArgError> {
        let Some(seq) = FastSequence::new(obj) else {
            return Err(ArgError::wrong_type("list", obj));
        };
        let mut i = 0;
        while let Some(item) = seq.get(i) {
            if !item.is_str() {
                return Err(ArgError::wrong_type("str", &item).in_item(i));
            }
            if let Err(e) = item.to_str() {
                return Err(ArgError::from(e).in_item(i));
            }
            i += 1;
        }
        Ok(StrList(obj))
    }
}

// ---- reading one argument --------------------------------------------------

/// The argument at `index` (or keyword-only if `None`) called `name`:
/// `Some(value)`, or `None` if optional and missing or `None`.
pub(crate) fn fetch<'a, 'py, T: FromArg<'a, 'py>>(
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

/// Read one argument into `out` as `type_`, through [`Args`]. Lists go to
/// `pooled` (declared parameters; pointed at by
/// [`ListScratch::point_values`]) or, if `None`, into buffers the call
/// owns (`pyhost_arg`, whose pointers must stay put).
pub(crate) fn read_arg(
    ctx: &mut Ctx<'_, '_>,
    index: Option<usize>,
    name: &str,
    type_: i32,
    optional: bool,
    out: &mut pyhost_value,
    pooled: Option<&mut ListScratch>,
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
            if let Some(StrList(list)) = fetch::<StrList<'_, '_>>(args, index, name, optional)? {
                // Checked just above; only another thread (3.13t) could have
                // changed the list since.
                let changed = || {
                    Error::type_error(format!(
                        "{}() argument '{name}' changed while it was read",
                        args.function_name()
                    ))
                };
                match pooled {
                    Some(scratch) => {
                        let (first, count) = scratch.push_list(list).ok_or_else(changed)?;
                        *out = pyhost_value {
                            type_: PYHOST_STR_LIST,
                            i: first as i64,
                            len: count,
                            ..pyhost_value::NONE
                        };
                    }
                    None => {
                        let mut own = ListScratch::default();
                        let (_, count) = own.push_list(list).ok_or_else(changed)?;
                        *out = pyhost_value {
                            type_: PYHOST_STR_LIST,
                            len: count,
                            ..pyhost_value::NONE
                        };
                        own.point_values(std::slice::from_mut(out));
                        // The buffers move into the call; their heap memory
                        // (what the pointers point at) stays put.
                        ctx.lists.push((own.text, own.items));
                    }
                }
            }
        }
        PYHOST_OBJECT => {
            if let Some(o) = fetch::<&Bound<'_>>(args, index, name, optional)? {
                *out = object_value(o, &mut ctx.objects);
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
