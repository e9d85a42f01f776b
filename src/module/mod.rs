//! Host modules: Rust functions exposed to Python as built-in modules.
//!
//! A Python plugin does `import my_module; my_module.my_func()` and the call
//! lands in the host's memory. Two ways to write one:
//!
//! * **[`HostModule`]**, built at run time from Rust closures: name, doc,
//!   functions, int/float/str constants and exception types. Register it
//!   before start-up with [`Builder::add_module`](crate::Builder::add_module)
//!   (`PyImport_AppendInittab`: a real built-in, listed in
//!   `sys.builtin_module_names`), or add it to a running interpreter with
//!   [`HostModule::install`].
//! * **A fixed module**: a static `PyMethodDef` table in `csrc/` whose
//!   entries are `#[no_mangle] extern "C"` Rust functions, each defined with
//!   [`host_function!`](crate::host_function) (a call to [`fastcall`]).
//!   `csrc/demo_module.c` + [`demo`] is the example
//!   (and what the benchmark measures); register it with
//!   [`Builder::add_init_func`](crate::Builder::add_init_func).
//!
//! Both use `METH_FASTCALL | METH_KEYWORDS` (no argument tuple or dict is
//! built; half the cost of `METH_VARARGS`) and PEP 489 multi-phase
//! initialisation.
//!
//! ```no_run
//! use pyhost::module::HostModule;
//! use pyhost::{Interpreter, ToPython};
//!
//! # fn main() -> pyhost::Result<()> {
//! let module = HostModule::new("my_module")
//!     .doc("Lives in the host.")
//!     .constant("VERSION", "1.0")
//!     .function("add", "add(a, b)\n--\n\nAdd two ints.", |py, args| {
//!         args.check(&["a", "b"], 2)?;
//!         let a: i64 = args.get(0, "a")?;
//!         let b: i64 = args.get(1, "b")?;
//!         (a + b).to_python(py)
//!     });
//! let interp = Interpreter::builder().add_module(module).init()?;
//! interp.with_gil(|py| py.run("import my_module; assert my_module.add(2, 3) == 5", None, None))?;
//! # Ok(()) }
//! ```
//!
//! # How a call crosses
//!
//! Python calls the C entry with the GIL held. The entry (the one closure
//! trampoline, or a fixed function through [`fastcall`]):
//!
//! 1. marks this thread as holding the GIL for pyhost (so [`Bound`] drops,
//!    nested [`with_gil`](crate::with_gil) and
//!    [`allow_threads`](crate::Python::allow_threads) behave);
//! 2. views the arguments in place as [`Args`] (no reference-count traffic);
//! 3. runs the Rust body inside `catch_unwind`;
//! 4. returns the result as a new reference, or raises: an [`Error`] with
//!    [`Error::restore`], a panic as [`pyhost.PanicException`](panic_exception)
//!    (a `RuntimeError` subclass) with the panic message. A panic never
//!    unwinds into C, and the interpreter and module stay usable.
//!
//! Closures must be `Send + Sync`: any thread holding the GIL may call them,
//! and a closure that releases the GIL may be entered again by another
//! thread meanwhile. They are kept for the life of the process (Python may
//! hold a reference to the function object forever).

mod args;
pub mod demo;
pub mod table;

pub use args::{ArgError, Args, FromArg};
pub use table::MethodTable;
#[doc(hidden)]
pub use table::{method_def, METHOD_TABLE_END};

use std::any::Any;
use std::ffi::CString;
use std::os::raw::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::{self, NonNull};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::err::{Error, ExcKind, PyException, Result};
use crate::ffi;
use crate::gil::{GilCountGuard, Python};
use crate::interpreter::InitFunc;
use crate::object::{Bound, Dict};
use crate::panic::panic_message;

/// The body of a host function: the GIL token and the call's arguments in,
/// a new Python object (or an error to raise) out.
pub type HostFn = dyn for<'a, 'py> Fn(Python<'py>, &Args<'a, 'py>) -> Result<Bound<'py>> + Send + Sync + 'static;

/// Run a host function body the way every C entry point must: mark the GIL
/// as held for pyhost, view the arguments, catch panics, and turn the result
/// into what CPython expects (a new reference, or NULL with an exception).
///
/// This is what a fixed module's `#[no_mangle] extern "C"` function calls;
/// [`host_function!`](crate::host_function) writes such a function for you.
/// By hand:
///
/// ```no_run
/// use pyhost::{ffi, module::fastcall};
///
/// #[no_mangle]
/// pub unsafe extern "C" fn my_noop(
///     slf: *mut ffi::PyObject,
///     args: *const *mut ffi::PyObject,
///     nargs: ffi::Py_ssize_t,
///     kwnames: *mut ffi::PyObject,
/// ) -> *mut ffi::PyObject {
///     // SAFETY: CPython calls this through a METH_FASTCALL | METH_KEYWORDS entry.
///     unsafe { fastcall("my_noop", slf, args, nargs, kwnames, |py, args| {
///         args.no_args()?;
///         Ok(py.None())
///     }) }
/// }
/// ```
///
/// # Safety
/// Call it only from a function CPython invokes as `METH_FASTCALL |
/// METH_KEYWORDS` (so the GIL is held and the arguments are as
/// [`Args::from_fastcall`] requires), forwarding the arguments unchanged.
#[inline(always)]
pub unsafe fn fastcall<F>(
    name: &str,
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
    f: F,
) -> *mut ffi::PyObject
where
    F: for<'a, 'py> FnOnce(Python<'py>, &Args<'a, 'py>) -> Result<Bound<'py>>,
{
    // SAFETY: CPython holds the GIL while it calls a C function, for the
    // whole call; the guard ends before we return to it.
    let guard = unsafe { GilCountGuard::new() };
    let py = guard.python();
    let result = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: forwarded contract (fastcall arguments, alive for the call).
        let a = unsafe { Args::from_fastcall(py, name, slf, args, nargs, kwnames) };
        match f(py, &a) {
            Ok(v) => v.into_ptr(),
            Err(e) => {
                e.restore(py);
                ptr::null_mut()
            }
        }
    }));
    match result {
        Ok(p) => p,
        Err(payload) => {
            raise_panic(py, &format!("{name}()"), payload);
            ptr::null_mut()
        }
    }
}

/// Define the `#[no_mangle] extern "C"` function a static
/// `METH_FASTCALL | METH_KEYWORDS` method-table entry in C points at: a
/// call to [`fastcall`] with the function's name (as error messages show
/// it) and its body, anything `FnOnce(Python, &Args) -> Result<Bound>` (a
/// closure or a function path).
///
/// ```no_run
/// pyhost::host_function!(
///     /// `my_module.add(a, b)`.
///     my_module_add, "add", |py, args| {
///         args.check(&["a", "b"], 2)?;
///         let (a, b): (i64, i64) = (args.get(0, "a")?, args.get(1, "b")?);
///         pyhost::ToPython::to_python(&(a + b), py)
///     }
/// );
/// ```
///
/// The C side declares `PyObject *my_module_add(PyObject *self, PyObject
/// *const *args, Py_ssize_t nargs, PyObject *kwnames);` and lists it as
/// `{"add", (PyCFunction)(void (*)(void))my_module_add, METH_FASTCALL |
/// METH_KEYWORDS, doc}`. The function's `self` (for a static table: the
/// module object, e.g. to read its state) is [`Args::self_obj`].
///
/// The doc comments given become the function's, followed by a `# Safety`
/// section. The body is not inside the generated `unsafe` block: unsafe
/// operations in it need their own.
#[macro_export]
macro_rules! host_function {
    ($(#[$attr:meta])* $cname:ident, $pyname:expr, $body:expr $(,)?) => {
        $(#[$attr])*
        ///
        /// # Safety
        /// Called by CPython through a static `METH_FASTCALL | METH_KEYWORDS`
        /// method-table entry, with the GIL held.
        #[no_mangle]
        pub unsafe extern "C" fn $cname(
            slf: *mut $crate::ffi::PyObject,
            args: *const *mut $crate::ffi::PyObject,
            nargs: $crate::ffi::Py_ssize_t,
            kwnames: *mut $crate::ffi::PyObject,
        ) -> *mut $crate::ffi::PyObject {
            // Outside the unsafe block below, so the caller's expressions
            // get no unsafe context from it.
            let name: &str = $pyname;
            let body = $crate::module::host_body($body);
            // SAFETY: CPython calls this entry as METH_FASTCALL |
            // METH_KEYWORDS (GIL held); the arguments are forwarded unchanged.
            unsafe { $crate::module::fastcall(name, slf, args, nargs, kwnames, body) }
        }
    };
}

/// The identity, with the signature of a host function body: gives a
/// closure written in [`host_function!`](crate::host_function) its argument
/// types. Not for direct use.
#[doc(hidden)]
#[inline(always)]
pub fn host_body<F>(f: F) -> F
where
    F: for<'a, 'py> FnOnce(Python<'py>, &Args<'a, 'py>) -> Result<Bound<'py>>,
{
    f
}

/// Run `f` at a C boundary that reports failure with -1 (a module exec
/// slot): same GIL marking and panic handling as [`fastcall`]; `what` names
/// the step in a panic's message.
///
/// # Safety
/// The calling thread holds the GIL (CPython called us).
unsafe fn guard_status(what: &str, f: impl FnOnce(Python<'_>) -> Result<()>) -> c_int {
    // SAFETY: per the contract.
    let guard = unsafe { GilCountGuard::new() };
    let py = guard.python();
    match catch_unwind(AssertUnwindSafe(|| f(py))) {
        Ok(Ok(())) => 0,
        Ok(Err(e)) => {
            e.restore(py);
            -1
        }
        Err(payload) => {
            raise_panic(py, what, payload);
            -1
        }
    }
}

/// Raise `pyhost.PanicException("<what> panicked: <message>")`.
#[cold]
fn raise_panic(py: Python<'_>, what: &str, payload: Box<dyn Any + Send>) {
    let msg = format!("{what} panicked: {}", panic_message(&*payload));
    // Dropping a payload can itself panic; never let that reach C.
    let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
    // The body may have panicked with an exception still set (a failed C
    // API call not yet fetched); the panic is what gets reported.
    // SAFETY: GIL held.
    unsafe { ffi::PyErr_Clear() };
    let raised = catch_unwind(AssertUnwindSafe(|| {
        let text = Bound::new_str(py, &msg);
        let ty = match panic_exception(py) {
            Ok(t) => t,
            Err(_) => {
                // SAFETY: the static RuntimeError type object.
                unsafe { Bound::from_borrowed_ptr(py, ffi::PyExc_RuntimeError) }
            }
        };
        // SAFETY: GIL held; ty is an exception type, text a str.
        unsafe { ffi::PyErr_SetObject(ty.as_ptr(), text.as_ptr()) };
    }));
    if raised.is_err() {
        // Out of memory while raising: the static MemoryError instance.
        // SAFETY: GIL held.
        unsafe { ffi::PyErr_NoMemory() };
    }
}

/// `pyhost.PanicException`: what a Rust panic inside a host function raises
/// in Python. A subclass of `RuntimeError`, so a plugin's `except
/// Exception` (a Datadog check's error handling) reports it like any other
/// failure instead of letting it escape; the message is the panic's.
///
/// Created on first use in each interpreter (`PyErr_NewExceptionWithDoc`)
/// and kept for its life.
pub fn panic_exception(py: Python<'_>) -> Result<Bound<'_>> {
    crate::interp::cached(py, crate::interp::keys::PANIC_EXCEPTION, |py| {
        // SAFETY: GIL held; C strings are static; base is a static type.
        unsafe {
            Bound::from_owned_ptr_or_err(
                py,
                ffi::PyErr_NewExceptionWithDoc(
                    c"pyhost.PanicException".as_ptr() as *mut _,
                    c"A Rust panic in a host function. The host keeps running; the message is the panic's.".as_ptr()
                        as *mut _,
                    ffi::PyExc_RuntimeError,
                    ptr::null_mut(),
                ),
            )
        }
    })
}

// ---- exception types owned by the host ------------------------------------

struct ExceptionInner {
    qualname: CString,
    doc: Option<CString>,
    base: ExcKind,
    /// Its type objects, one per interpreter, are cached under this key.
    key: u64,
}

/// An exception type defined by the host (`PyErr_NewExceptionWithDoc`),
/// e.g. `my_module.HostError`: add it to a module with
/// [`HostModule::exception`] and raise it from a closure with
/// [`HostException::err`]. Cheap to clone (closures capture a clone).
///
/// The type object is created once per interpreter, on first use, so a
/// re-imported module exposes the same class.
#[derive(Clone)]
pub struct HostException(Arc<ExceptionInner>);

impl std::fmt::Debug for HostException {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("HostException").field(&self.0.qualname).finish()
    }
}

impl HostException {
    /// A new exception type `qualified_name` (`"module.Name"`) deriving
    /// from `Exception`.
    ///
    /// # Panics
    /// If the name has no dot or contains a NUL byte (a programming error).
    pub fn new(qualified_name: &str) -> HostException {
        HostException::with_base(qualified_name, ExcKind::Exception)
    }

    /// Like [`new`](Self::new), deriving from a built-in exception type.
    pub fn with_base(qualified_name: &str, base: ExcKind) -> HostException {
        assert!(
            qualified_name.contains('.'),
            "exception name must be 'module.Name': {qualified_name:?}"
        );
        HostException(Arc::new(ExceptionInner {
            qualname: c_string(qualified_name, "exception name"),
            doc: None,
            base,
            key: crate::interp::next_cache_key(),
        }))
    }

    /// Set the class docstring. Call it on the handle [`new`](Self::new)
    /// returned, before cloning it (clones share one type, created once).
    ///
    /// # Panics
    /// If the handle was already cloned, or `doc` contains a NUL byte.
    pub fn doc(mut self, doc: &str) -> HostException {
        let inner = Arc::get_mut(&mut self.0).expect("HostException::doc must be called before the handle is cloned");
        inner.doc = Some(c_string(doc, "exception doc"));
        self
    }

    /// The name after the last dot (the module attribute).
    pub fn name(&self) -> &str {
        let q = self.0.qualname.to_str().unwrap_or("");
        q.rsplit('.').next().unwrap_or(q)
    }

    /// The type object in the calling thread's interpreter, created on first use.
    pub fn type_object<'py>(&self, py: Python<'py>) -> Result<Bound<'py>> {
        crate::interp::cached(py, self.0.key, |py| {
            let doc = self.0.doc.as_ref().map_or(ptr::null(), |d| d.as_ptr());
            // SAFETY: GIL held; both strings outlive the call (CPython copies
            // them); the base is a static exception type.
            unsafe {
                Bound::from_owned_ptr_or_err(
                    py,
                    ffi::PyErr_NewExceptionWithDoc(
                        self.0.qualname.as_ptr() as *mut _,
                        doc as *mut _,
                        self.0.base.type_object(),
                        ptr::null_mut(),
                    ),
                )
            }
        })
    }

    /// An [`Error`] that raises this exception with `message` when it
    /// reaches Python (or `RuntimeError` if the type cannot be created).
    pub fn err(&self, py: Python<'_>, message: impl Into<String>) -> Error {
        let message = message.into();
        match self.type_object(py).and_then(|t| t.call1((message.as_str(),))) {
            Ok(instance) => Error::Python(PyException::from_value(instance)),
            Err(e) => Error::runtime_error(format!(
                "{message} (and {} could not be raised: {e})",
                self.0.qualname.to_string_lossy()
            )),
        }
    }
}

// ---- modules built from closures ----------------------------------------

/// A constant of a host module.
#[derive(Debug, Clone, PartialEq)]
pub enum Constant {
    /// A Python `int`.
    Int(i64),
    /// A Python `float`.
    Float(f64),
    /// A Python `str`.
    Str(String),
    /// `True` or `False`.
    Bool(bool),
}

macro_rules! constant_from {
    ($($t:ty => $v:ident),*) => {$(
        impl From<$t> for Constant {
            fn from(v: $t) -> Constant {
                Constant::$v(v.into())
            }
        }
    )*};
}

constant_from!(i64 => Int, i32 => Int, u32 => Int, i16 => Int, u16 => Int, i8 => Int, u8 => Int,
    f64 => Float, f32 => Float, bool => Bool, String => Str, &str => Str);

/// One host function, kept for the life of the process: its `PyMethodDef`
/// (which CPython points at, never copies) and its closure.
struct FnEntry {
    def: ffi::PyMethodDef,
    name: CString,
    doc: Option<CString>,
    /// `module.name` for error messages, or just `name`.
    display: String,
    f: Box<HostFn>,
}

/// A pointer to a leaked [`FnEntry`].
#[derive(Clone, Copy)]
struct EntryRef(NonNull<FnEntry>);

// SAFETY: the entry is immutable after creation and never freed; its closure
// is Send + Sync; the raw pointers in the PyMethodDef point into the entry.
unsafe impl Send for EntryRef {}
// SAFETY: as above.
unsafe impl Sync for EntryRef {}

impl EntryRef {
    fn leak(name: &str, doc: Option<&str>, display: String, f: Box<HostFn>) -> EntryRef {
        let entry = Box::new(FnEntry {
            def: ffi::PyMethodDef::default(),
            name: c_string(name, "function name"),
            doc: doc.map(|d| c_string(d, "function doc")),
            display,
            f,
        });
        let p = Box::into_raw(entry);
        // SAFETY: p is a fresh, unique allocation; the pointers stored in the
        // def point at the CStrings' heap buffers, which never move.
        unsafe {
            let e = &mut *p;
            e.def.ml_name = e.name.as_ptr();
            e.def.ml_doc = e.doc.as_ref().map_or(ptr::null(), |d| d.as_ptr());
            e.def.ml_flags = ffi::METH_FASTCALL | ffi::METH_KEYWORDS;
            // CPython calls ml_meth through the type ml_flags names
            // (_PyCFunctionFastWithKeywords); the field is declared with
            // the METH_VARARGS type, as the C casts do.
            e.def.ml_meth =
                Some(std::mem::transmute::<ffi::_PyCFunctionFastWithKeywords, ffi::PyCFunction>(closure_trampoline));
            EntryRef(NonNull::new_unchecked(p))
        }
    }

    fn get(&self) -> &'static FnEntry {
        // SAFETY: leaked in `leak`, never freed or mutated afterwards.
        unsafe { self.0.as_ref() }
    }

    /// A new function object: a PyCFunction over this entry's PyMethodDef
    /// whose self is a `pyhost.FunctionData` pointing back at the entry.
    fn to_function<'py>(self, py: Python<'py>, module_name: Option<&Bound<'py>>) -> Result<Bound<'py>> {
        let ty = crate::interp::cached(py, crate::interp::keys::FUNCTION_DATA_TYPE, |py| {
            // SAFETY: GIL held; a new reference or NULL with an exception.
            unsafe { Bound::from_owned_ptr_or_err(py, ffi::pyhost_function_data_type_new()) }
        })?;
        // SAFETY: GIL held; `ty` is this interpreter's FunctionData type; the
        // object stores a pointer that stays valid for the process (the entry
        // is never freed).
        let data = unsafe {
            Bound::from_owned_ptr_or_err(
                py,
                ffi::pyhost_function_data_new(ty.as_ptr(), self.0.as_ptr() as *mut c_void),
            )
        }?;
        let module = module_name.map_or(ptr::null_mut(), |m| m.as_ptr());
        // SAFETY: GIL held; the def lives for the process (CPython keeps
        // the pointer); self and module are live (PyCMethod_New increfs).
        unsafe {
            Bound::from_owned_ptr_or_err(
                py,
                ffi::PyCMethod_New(
                    ptr::addr_of!(self.get().def) as *mut ffi::PyMethodDef,
                    data.as_ptr(),
                    module,
                    ptr::null_mut(),
                ),
            )
        }
    }
}

/// `pyhost_function_data` of csrc/pyhost_layout.h: the self object of a
/// closure-backed function (its layout is checked against C's at build time,
/// `ffi::layout::FunctionDataLayout`).
#[repr(C)]
pub(crate) struct FunctionData {
    pub(crate) ob_base: ffi::ObjectHead,
    entry: *const FnEntry,
}

const _: () = assert!(
    std::mem::offset_of!(FunctionData, entry) == ffi::layout::c::pyhost_function_data_entry,
    "FunctionData differs from pyhost_function_data"
);

/// The one trampoline of every closure-backed function: the closure is
/// found through the function's self object.
unsafe extern "C" fn closure_trampoline(
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls this with the GIL held and `slf` the self object
    // given to PyCMethod_New with this trampoline's PyMethodDef: always a
    // live FunctionData (a PyCFunction's self cannot be replaced), whose
    // entry is leaked and never freed.
    let entry: &'static FnEntry = unsafe { &*(*(slf as *const FunctionData)).entry };
    // SAFETY: called as METH_FASTCALL | METH_KEYWORDS; arguments forwarded.
    unsafe {
        fastcall(&entry.display, ptr::null_mut(), args, nargs, kwnames, |py, a| {
            (entry.f)(py, a)
        })
    }
}

/// A built-in module whose functions are Rust closures.
///
/// Build it, then register it before start-up with
/// [`Builder::add_module`](crate::Builder::add_module), or add it to a
/// running interpreter with [`install`](Self::install).
pub struct HostModule {
    name: String,
    doc: Option<String>,
    functions: Vec<EntryRef>,
    tables: Vec<&'static MethodTable>,
    constants: Vec<(String, Constant)>,
    exceptions: Vec<HostException>,
}

impl std::fmt::Debug for HostModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostModule")
            .field("name", &self.name)
            .field(
                "functions",
                &self
                    .functions
                    .iter()
                    .map(|e| e.get().display.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("constants", &self.constants)
            .field("exceptions", &self.exceptions)
            .finish()
    }
}

impl HostModule {
    /// A module called `name` (may be dotted, e.g. `"host.metrics"`).
    ///
    /// # Panics
    /// If `name` is empty or contains a NUL byte.
    pub fn new(name: &str) -> HostModule {
        assert!(!name.is_empty(), "a host module needs a name");
        let _ = c_string(name, "module name");
        HostModule {
            name: name.to_string(),
            doc: None,
            functions: Vec::new(),
            tables: Vec::new(),
            constants: Vec::new(),
            exceptions: Vec::new(),
        }
    }

    /// The module's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The module docstring (`__doc__`).
    pub fn doc(mut self, doc: &str) -> Self {
        self.doc = Some(doc.to_string());
        self
    }

    /// Add a function. `doc` may start with a signature line
    /// (`"add(a, b)\n--\n\n..."`) for `inspect.signature` and `help()`.
    ///
    /// The closure and its `PyMethodDef` are kept for the life of the
    /// process (Python may keep the function object forever).
    ///
    /// # Panics
    /// If `name` or `doc` contains a NUL byte.
    pub fn function<F>(mut self, name: &str, doc: &str, f: F) -> Self
    where
        F: for<'a, 'py> Fn(Python<'py>, &Args<'a, 'py>) -> Result<Bound<'py>> + Send + Sync + 'static,
    {
        let doc = (!doc.is_empty()).then_some(doc);
        self.functions
            .push(EntryRef::leak(name, doc, name.to_string(), Box::new(f)));
        self
    }

    /// Add the functions of a static table declared with
    /// [`method_table!`](crate::method_table): each becomes a built-in
    /// function of the module, called by CPython directly with the module as
    /// `self` (the cost of a C method table, no closure in between).
    pub fn methods(mut self, table: &'static MethodTable) -> Self {
        self.tables.push(table);
        self
    }

    /// Add a constant (`int`, `float`, `str` or `bool`).
    pub fn constant(mut self, name: &str, value: impl Into<Constant>) -> Self {
        self.constants.push((name.to_string(), value.into()));
        self
    }

    /// Add an exception type as the attribute [`HostException::name`].
    pub fn exception(mut self, exception: &HostException) -> Self {
        self.exceptions.push(exception.clone());
        self
    }

    /// Register this module so the shared init function can build it, and
    /// return that function (for `PyImport_AppendInittab`). A later
    /// registration under the same name replaces this one.
    pub(crate) fn register(self) -> (String, InitFunc) {
        let name = self.name.clone();
        let mut reg = REGISTRY.lock();
        reg.retain(|m| m.name != name);
        reg.push(Arc::new(self));
        (name, ffi::pyhost_module_host_init)
    }

    /// Create the module in a running interpreter, run its set-up and put it
    /// in `sys.modules`, so `import name` finds it: `PyModule_FromDefAndSpec`
    /// and `PyModule_ExecDef` on an `importlib.machinery.ModuleSpec`. A
    /// module already imported under that name is replaced.
    pub fn install(self, py: Python<'_>) -> Result<Bound<'_>> {
        let (name, _) = self.register();
        let machinery = py.import("importlib.machinery")?;
        let kwargs = Dict::from_pairs(py, [("origin", "pyhost")])?;
        let spec = machinery
            .getattr("ModuleSpec")?
            .call((name.as_str(), py.None()), Some(&kwargs))?;
        // SAFETY: GIL held; spec has a `name` attribute; returns a new
        // reference or NULL with an exception.
        let module = unsafe { Bound::from_owned_ptr_or_err(py, ffi::pyhost_module_host_create(spec.as_ptr())) }?;
        module.setattr("__spec__", &spec)?;
        py.import("sys")?.getattr("modules")?.set_item(name.as_str(), &module)?;
        Ok(module)
    }

    /// Fill a new module object (the exec step).
    fn populate(&self, py: Python<'_>, module: &Bound<'_>) -> Result<()> {
        if let Some(doc) = &self.doc {
            module.setattr("__doc__", doc.as_str())?;
        }
        let modname = Bound::new_str(py, &self.name);
        for f in &self.functions {
            let func = f.to_function(py, Some(&modname))?;
            module.setattr(f.get().name.to_str().unwrap_or(""), &func)?;
        }
        for table in &self.tables {
            for def in table.entries() {
                // SAFETY: GIL held; the def is static and never written (CPython
                // keeps the pointer); self and module are live (PyCMethod_New
                // increfs them).
                let func = unsafe {
                    Bound::from_owned_ptr_or_err(
                        py,
                        ffi::PyCMethod_New(
                            def as *const ffi::PyMethodDef as *mut ffi::PyMethodDef,
                            module.as_ptr(),
                            modname.as_ptr(),
                            ptr::null_mut(),
                        ),
                    )
                }?;
                // SAFETY: ml_name is a NUL-terminated static string (the macro's).
                let name = unsafe { std::ffi::CStr::from_ptr(def.ml_name) };
                module.setattr(name.to_str().unwrap_or(""), &func)?;
            }
        }
        for (name, value) in &self.constants {
            match value {
                Constant::Int(v) => module.setattr(name, *v)?,
                Constant::Float(v) => module.setattr(name, *v)?,
                Constant::Str(v) => module.setattr(name, v.as_str())?,
                Constant::Bool(v) => module.setattr(name, *v)?,
            }
        }
        for e in &self.exceptions {
            module.setattr(e.name(), e.type_object(py)?)?;
        }
        Ok(())
    }
}

/// Host modules by name: the shared module definition's exec slot finds
/// its module here. A lock held only to look up, never while running Python.
static REGISTRY: Mutex<Vec<Arc<HostModule>>> = Mutex::new(Vec::new());

fn lookup(name: &str) -> Option<Arc<HostModule>> {
    REGISTRY.lock().iter().find(|m| m.name == name).cloned()
}

/// `Py_mod_exec` slot of the shared definition in `csrc/module.c`: find the
/// module by its `__name__` and add its functions, constants and exceptions.
///
/// # Safety
/// Called by CPython with the GIL held and a new module object.
#[no_mangle]
pub unsafe extern "C" fn pyhost_rs_hostmodule_exec(module: *mut ffi::PyObject) -> c_int {
    // SAFETY: CPython calls exec slots with the GIL held.
    unsafe {
        guard_status("host module set-up", |py| {
            // SAFETY: `module` is a live module object for the whole call.
            let m = Bound::ref_from_ptr(py, &module);
            let name = m.name()?;
            let spec = lookup(&name).ok_or_else(|| {
                Error::new(
                    ExcKind::ImportError,
                    format!("no pyhost host module is registered as {name:?}"),
                )
            })?;
            spec.populate(py, m)
        })
    }
}

/// A stand-alone function object whose body is a Rust closure (e.g. a
/// callback to hand to Python code). Like a module function, the closure is
/// kept for the life of the process: create such functions once, not per
/// call.
pub fn function<'py, F>(py: Python<'py>, name: &str, doc: &str, f: F) -> Result<Bound<'py>>
where
    F: for<'a, 'b> Fn(Python<'b>, &Args<'a, 'b>) -> Result<Bound<'b>> + Send + Sync + 'static,
{
    let doc = (!doc.is_empty()).then_some(doc);
    EntryRef::leak(name, doc, name.to_string(), Box::new(f)).to_function(py, None)
}

fn c_string(s: &str, what: &str) -> CString {
    CString::new(s).unwrap_or_else(|_| panic!("{what} contains a NUL byte: {s:?}"))
}
