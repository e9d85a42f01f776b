//! Errors: Python exceptions carried into Rust with their type, message and
//! formatted traceback, and the interpreter's own lifecycle errors.
//!
//! A [`PyException`] is fully formatted when it is fetched, while the GIL is
//! held, so `Display` never needs the GIL (formatting under a Rust lock that
//! another thread holds while waiting for the GIL is pyo3#4764's deadlock).

use std::fmt;
use std::ptr::NonNull;

use crate::ffi;
use crate::gil::Python;
use crate::object::{Bound, Py};

/// `Result` with pyhost's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in pyhost.
///
/// `Debug` prints the kind and the whole message (what `fn main() ->
/// pyhost::Result<()>` shows when it fails), not the fields.
#[non_exhaustive]
pub enum Error {
    /// A Python exception (raised by Python code, or made in Rust to be raised in Python).
    Python(PyException),
    /// Python is already initialised (or a start-up already failed) in this process.
    AlreadyInitialized(String),
    /// No interpreter has been started.
    NotInitialized,
    /// The interpreter has been finalised.
    Finalized,
    /// The libpython loaded at run time is not the one pyhost was compiled
    /// against (another version, or a free-threaded build for a default one
    /// or the reverse).
    VersionMismatch {
        /// `PY_VERSION` of the headers the C shim was compiled with.
        compiled: String,
        /// The version reported by `Py_GetVersion()` at run time.
        runtime: String,
        /// Whether pyhost was built for a free-threaded Python (`Py_GIL_DISABLED`).
        compiled_free_threaded: bool,
        /// Whether the loaded libpython is a free-threaded build.
        runtime_free_threaded: bool,
        /// The library directory of the Python pyhost was built against.
        compiled_libdir: String,
        /// The file the loaded libpython came from (`dladdr`), if known.
        runtime_library: Option<String>,
    },
    /// Start-up failed (the `PyStatus` message, or a bad configuration value).
    Init(String),
    /// A lifecycle rule was broken (e.g. finalising with workers alive).
    Lifecycle(String),
    /// A `Py` of one interpreter was used in another (objects cannot cross
    /// interpreters; convert to a Rust value instead).
    CrossInterpreter {
        /// The interpreter the object belongs to.
        object: i64,
        /// The interpreter of the thread that tried to use it.
        current: i64,
    },
}

impl Error {
    /// Take the current Python exception (`PyErr_Fetch` /
    /// `PyErr_GetRaisedException`). If none is set, returns a `SystemError`
    /// saying so: a C API call failed without setting one.
    #[cold]
    pub fn fetch(py: Python<'_>) -> Error {
        Error::Python(
            PyException::fetch(py)
                .unwrap_or_else(|| PyException::new(ExcKind::SystemError, "error return without exception set")),
        )
    }

    /// Take the current Python exception, if one is set.
    pub fn take(py: Python<'_>) -> Option<Error> {
        PyException::fetch(py).map(Error::Python)
    }

    /// A new exception of a built-in type, to be raised when it reaches Python.
    pub fn new(kind: ExcKind, message: impl Into<String>) -> Error {
        Error::Python(PyException::new(kind, message))
    }

    /// `TypeError(message)`.
    pub fn type_error(message: impl Into<String>) -> Error {
        Error::new(ExcKind::TypeError, message)
    }

    /// `ValueError(message)`.
    pub fn value_error(message: impl Into<String>) -> Error {
        Error::new(ExcKind::ValueError, message)
    }

    /// `OverflowError(message)`.
    pub fn overflow_error(message: impl Into<String>) -> Error {
        Error::new(ExcKind::OverflowError, message)
    }

    /// `RuntimeError(message)`.
    pub fn runtime_error(message: impl Into<String>) -> Error {
        Error::new(ExcKind::RuntimeError, message)
    }

    /// The Python exception, if this is one.
    pub fn as_python(&self) -> Option<&PyException> {
        match self {
            Error::Python(e) => Some(e),
            _ => None,
        }
    }

    /// The exception's type name (`"ValueError"`, `"mymod.MyError"`), if this
    /// is a Python exception.
    pub fn type_name(&self) -> Option<&str> {
        self.as_python().map(|e| e.type_name())
    }

    /// True if this is a Python exception of the given type name (exact
    /// match on the type name, e.g. `"SystemExit"`).
    pub fn is(&self, type_name: &str) -> bool {
        self.type_name() == Some(type_name)
    }

    /// Raise this error in Python (`PyErr_SetObject` / `PyErr_SetString`).
    /// Non-Python errors become `RuntimeError`.
    pub fn restore(self, py: Python<'_>) {
        match self {
            Error::Python(e) => e.restore(py),
            other => PyException::new(ExcKind::RuntimeError, other.to_string()).restore(py),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Python(e) => fmt::Display::fmt(e, f),
            Error::AlreadyInitialized(why) => write!(f, "cannot initialise Python: {why}"),
            Error::NotInitialized => f.write_str(
                "the Python interpreter is not initialised (start it with pyhost::Interpreter::builder().init())",
            ),
            Error::Finalized => f.write_str("the Python interpreter has been finalised"),
            Error::VersionMismatch {
                compiled,
                runtime,
                compiled_free_threaded,
                runtime_free_threaded,
                compiled_libdir,
                runtime_library,
            } => {
                let build = |ft: bool| if ft { " (free-threaded)" } else { "" };
                write!(
                    f,
                    "Python version mismatch: pyhost was compiled against Python {compiled}{} from {compiled_libdir}, \
                     but the libpython loaded at run time is {runtime}{}",
                    build(*compiled_free_threaded),
                    build(*runtime_free_threaded)
                )?;
                if let Some(lib) = runtime_library {
                    write!(f, " ({lib})")?;
                }
                write!(
                    f,
                    ". The binary must load the libpython in {compiled_libdir}: give it an rpath to that \
                     directory (in a crate that depends on pyhost, add pyhost-build to [build-dependencies] and \
                     `fn main() {{ pyhost_build::link_python(); }}` to build.rs; see docs/linking.md), or run it \
                     with LD_LIBRARY_PATH={compiled_libdir}, or rebuild pyhost against the Python you run \
                     (PYTHON_SYS_EXECUTABLE=/path/to/python3)"
                )
            }
            Error::Init(msg) => f.write_str(msg),
            Error::Lifecycle(msg) => f.write_str(msg),
            Error::CrossInterpreter { object, current } => write!(
                f,
                "a Python object of interpreter {object} was used in interpreter {current}: objects cannot cross \
                 interpreters (each has its own GIL and allocator); pass Rust values, bytes or JSON text instead"
            ),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            Error::Python(_) => "Python",
            Error::AlreadyInitialized(_) => "AlreadyInitialized",
            Error::NotInitialized => "NotInitialized",
            Error::Finalized => "Finalized",
            Error::VersionMismatch { .. } => "VersionMismatch",
            Error::Init(_) => "Init",
            Error::Lifecycle(_) => "Lifecycle",
            Error::CrossInterpreter { .. } => "CrossInterpreter",
        };
        write!(f, "{kind}: {self}")
    }
}

impl std::error::Error for Error {}

impl From<PyException> for Error {
    fn from(e: PyException) -> Self {
        Error::Python(e)
    }
}

/// Built-in exception types that Rust code raises by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExcKind {
    /// `Exception`
    Exception,
    /// `TypeError`
    TypeError,
    /// `ValueError`
    ValueError,
    /// `OverflowError`
    OverflowError,
    /// `RuntimeError`
    RuntimeError,
    /// `KeyError`
    KeyError,
    /// `IndexError`
    IndexError,
    /// `AttributeError`
    AttributeError,
    /// `ImportError`
    ImportError,
    /// `SystemError`
    SystemError,
    /// `MemoryError`
    MemoryError,
    /// `TimeoutError`
    TimeoutError,
    /// `KeyboardInterrupt`
    KeyboardInterrupt,
    /// `UnicodeError`
    UnicodeError,
    /// `OSError`
    OSError,
}

impl ExcKind {
    const ALL: [ExcKind; 15] = [
        ExcKind::Exception,
        ExcKind::TypeError,
        ExcKind::ValueError,
        ExcKind::OverflowError,
        ExcKind::RuntimeError,
        ExcKind::KeyError,
        ExcKind::IndexError,
        ExcKind::AttributeError,
        ExcKind::ImportError,
        ExcKind::SystemError,
        ExcKind::MemoryError,
        ExcKind::TimeoutError,
        ExcKind::KeyboardInterrupt,
        ExcKind::UnicodeError,
        ExcKind::OSError,
    ];

    /// The kind called `name` (`"ValueError"`), if it is one of these.
    pub fn from_name(name: &str) -> Option<ExcKind> {
        ExcKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The type's name as Python prints it.
    pub fn name(self) -> &'static str {
        match self {
            ExcKind::Exception => "Exception",
            ExcKind::TypeError => "TypeError",
            ExcKind::ValueError => "ValueError",
            ExcKind::OverflowError => "OverflowError",
            ExcKind::RuntimeError => "RuntimeError",
            ExcKind::KeyError => "KeyError",
            ExcKind::IndexError => "IndexError",
            ExcKind::AttributeError => "AttributeError",
            ExcKind::ImportError => "ImportError",
            ExcKind::SystemError => "SystemError",
            ExcKind::MemoryError => "MemoryError",
            ExcKind::TimeoutError => "TimeoutError",
            ExcKind::KeyboardInterrupt => "KeyboardInterrupt",
            ExcKind::UnicodeError => "UnicodeError",
            ExcKind::OSError => "OSError",
        }
    }

    /// The `PyExc_*` type object (borrowed).
    pub fn type_object(self) -> *mut ffi::PyObject {
        // SAFETY: reading the addresses of libpython's exception type statics.
        unsafe {
            match self {
                ExcKind::Exception => ffi::PyExc_Exception,
                ExcKind::TypeError => ffi::PyExc_TypeError,
                ExcKind::ValueError => ffi::PyExc_ValueError,
                ExcKind::OverflowError => ffi::PyExc_OverflowError,
                ExcKind::RuntimeError => ffi::PyExc_RuntimeError,
                ExcKind::KeyError => ffi::PyExc_KeyError,
                ExcKind::IndexError => ffi::PyExc_IndexError,
                ExcKind::AttributeError => ffi::PyExc_AttributeError,
                ExcKind::ImportError => ffi::PyExc_ImportError,
                ExcKind::SystemError => ffi::PyExc_SystemError,
                ExcKind::MemoryError => ffi::PyExc_MemoryError,
                ExcKind::TimeoutError => ffi::PyExc_TimeoutError,
                ExcKind::KeyboardInterrupt => ffi::PyExc_KeyboardInterrupt,
                ExcKind::UnicodeError => ffi::PyExc_UnicodeError,
                ExcKind::OSError => ffi::PyExc_OSError,
            }
        }
    }
}

/// A Python exception: its type name, message and, when it came from Python
/// code, the formatted traceback (`traceback.format_exception`).
pub struct PyException {
    type_name: String,
    message: String,
    traceback: Option<String>,
    /// The exception instance, kept so it can be re-raised or inspected.
    value: Option<Py>,
    /// For exceptions made in Rust: the built-in type to raise.
    kind: Option<ExcKind>,
}

impl fmt::Debug for PyException {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PyException")
            .field("type_name", &self.type_name)
            .field("message", &self.message)
            .field("traceback", &self.traceback)
            .finish()
    }
}

impl PyException {
    /// A new exception of a built-in type, raised when it reaches Python.
    pub fn new(kind: ExcKind, message: impl Into<String>) -> PyException {
        PyException {
            type_name: kind.name().to_string(),
            message: message.into(),
            traceback: None,
            value: None,
            kind: Some(kind),
        }
    }

    /// Take and describe the current exception, if any.
    pub fn fetch(py: Python<'_>) -> Option<PyException> {
        // SAFETY: GIL held (token); returns a new reference or NULL.
        let raw = unsafe { ffi::pyhost_err_take() };
        let value = NonNull::new(raw)?;
        // SAFETY: `value` is an owned reference.
        let value = unsafe { Bound::from_owned_nonnull(py, value) };
        Some(PyException::from_value(value))
    }

    /// Describe an exception instance (which need not have been raised).
    pub fn from_value(value: Bound<'_>) -> PyException {
        let py = value.py();
        // SAFETY: GIL held; Py_TYPE of a live object is a live type object.
        let ty = unsafe { Bound::from_borrowed_ptr(py, ffi::Py_TYPE(value.as_ptr()) as *mut ffi::PyObject) };
        let type_name = qualified_type_name(&ty);
        let message = match value.str() {
            Ok(s) => s,
            Err(_) => "<exception str() failed>".to_string(),
        };
        let traceback = format_traceback(&ty, &value);
        PyException {
            type_name,
            message,
            traceback,
            value: Some(value.unbind()),
            kind: None,
        }
    }

    /// The type's name: `"ValueError"` for built-ins, `"module.Qualname"` otherwise.
    pub fn type_name(&self) -> &str {
        &self.type_name
    }

    /// `str(exception)`.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The whole `traceback.format_exception` text (including chained
    /// exceptions and the final `Type: message` line), if the exception came
    /// from Python code with a traceback.
    pub fn traceback(&self) -> Option<&str> {
        self.traceback.as_deref()
    }

    /// The exception instance, if it came from Python.
    pub fn value(&self) -> Option<&Py> {
        self.value.as_ref()
    }

    /// `isinstance(exc, ty)`: true if this exception is of the given type or
    /// a subclass of it.
    pub fn is_instance_of(&self, py: Python<'_>, ty: &Bound<'_>) -> bool {
        match (&self.value, self.kind) {
            (Some(v), _) => {
                // An exception of another interpreter is no instance of a
                // type of this one (and must not be touched here).
                let Ok(v) = v.try_bind(py) else { return false };
                // SAFETY: GIL held; both are live objects of this interpreter.
                unsafe { ffi::PyObject_IsInstance(v.as_ptr(), ty.as_ptr()) == 1 }
            }
            (None, Some(k)) => {
                let _ = py;
                // SAFETY: both are type objects.
                unsafe { ffi::PyObject_IsSubclass(k.type_object(), ty.as_ptr()) == 1 }
            }
            _ => false,
        }
    }

    /// True for `SystemExit` (raised by `sys.exit()`); pyhost returns it as
    /// an error instead of letting Python exit the host.
    pub fn is_system_exit(&self) -> bool {
        self.type_name == "SystemExit"
    }

    /// Raise this exception in Python.
    pub fn restore(self, py: Python<'_>) {
        match (self.value, self.kind) {
            (Some(v), _) if v.try_bind(py).is_err() => {
                // Raised in another interpreter (a job's error re-raised in
                // the caller's): objects cannot cross, so raise its text, as
                // the same built-in type when it is one.
                let (kind, text) = match ExcKind::from_name(&self.type_name) {
                    Some(k) => (k, self.message),
                    None => (ExcKind::RuntimeError, format!("{}: {}", self.type_name, self.message)),
                };
                drop(v);
                let msg = Bound::new_str(py, &text);
                // SAFETY: GIL held; type object is a static exception type.
                unsafe { ffi::PyErr_SetObject(kind.type_object(), msg.as_ptr()) };
            }
            (Some(v), _) => {
                // SAFETY: GIL held; v is a live exception instance (or, in a
                // failed normalisation, a type); PyErr_SetObject takes new
                // references to both arguments.
                unsafe {
                    let vp = v.as_ptr();
                    let ty = if ffi::PyExceptionInstance_Check(vp) != 0 {
                        ffi::Py_TYPE(vp) as *mut ffi::PyObject
                    } else {
                        vp
                    };
                    ffi::PyErr_SetObject(ty, vp);
                }
            }
            (None, kind) => {
                let kind = kind.unwrap_or(ExcKind::RuntimeError);
                let msg = Bound::new_str(py, &self.message);
                // SAFETY: GIL held; type object is a static exception type.
                unsafe { ffi::PyErr_SetObject(kind.type_object(), msg.as_ptr()) };
            }
        }
    }
}

impl fmt::Display for PyException {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.traceback {
            Some(tb) => f.write_str(tb.trim_end()),
            None if self.message.is_empty() => f.write_str(&self.type_name),
            None => write!(f, "{}: {}", self.type_name, self.message),
        }
    }
}

impl std::error::Error for PyException {}

/// `module.qualname`, or just `qualname` for builtins and `__main__`, as
/// `traceback` prints it.
pub(crate) fn qualified_type_name(ty: &Bound<'_>) -> String {
    let qualname = ty
        .getattr("__qualname__")
        .and_then(|q| q.str())
        .unwrap_or_else(|_| "<unknown>".to_string());
    match ty.getattr("__module__").and_then(|m| m.str()) {
        Ok(m) if m != "builtins" && m != "__main__" => format!("{m}.{qualname}"),
        _ => qualname,
    }
}

/// `"".join(traceback.format_exception(type, value, tb))` when the exception
/// has a traceback or a chained cause/context; None otherwise (or if
/// formatting itself failed, with that failure cleared).
fn format_traceback(ty: &Bound<'_>, value: &Bound<'_>) -> Option<String> {
    let py = value.py();
    // SAFETY: GIL held; `value` is live.
    let (tb, has_chain) = unsafe {
        let vp = value.as_ptr();
        if ffi::PyExceptionInstance_Check(vp) == 0 {
            return None;
        }
        let tb = ffi::PyException_GetTraceback(vp);
        let cause = ffi::PyException_GetCause(vp);
        let context = ffi::PyException_GetContext(vp);
        let chain = !cause.is_null() || !context.is_null();
        ffi::Py_XDECREF(cause);
        ffi::Py_XDECREF(context);
        (Bound::from_owned_ptr_opt(py, tb), chain)
    };
    // SAFETY: GIL held; both are live objects.
    let syntax = unsafe { ffi::PyErr_GivenExceptionMatches(value.as_ptr(), ffi::PyExc_SyntaxError) } != 0;
    // A SyntaxError has no frames, but formatting shows its file, line and caret.
    if tb.is_none() && !has_chain && !syntax {
        return None;
    }
    thread_local! {
        static FORMATTING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    // An error while formatting is fetched too; do not format that one.
    if FORMATTING.with(|f| f.replace(true)) {
        return None;
    }
    let tb = tb.unwrap_or_else(|| py.None());
    let formatted = (|| -> Result<String> {
        let traceback = py.import("traceback")?;
        let lines = traceback
            .getattr("format_exception")?
            .call1((ty.clone(), value.clone(), tb))?;
        let empty = Bound::new_str(py, "");
        empty.call_method1("join", (lines,))?.str()
    })();
    FORMATTING.with(|f| f.set(false));
    formatted.ok()
}
