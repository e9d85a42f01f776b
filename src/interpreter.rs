//! Starting (and, rarely, stopping) the one CPython interpreter of the process.
//!
//! # Start-up
//!
//! [`Interpreter::builder`] collects a `PyConfig` (PEP 587); the C shim fills
//! the real struct (it knows this Python's layout) and calls
//! `Py_InitializeFromConfig`. Before that, the run-time libpython's version
//! (`Py_GetVersion`) is compared with the headers we compiled against: a
//! binary built against one libpython that loads another is refused.
//! After start-up the GIL is released (`PyEval_SaveThread`), so any thread
//! can enter with [`with_gil`](crate::with_gil).
//!
//! Python is initialised once per process. A second attempt, even after a
//! failed first one or after finalisation, returns
//! [`Error::AlreadyInitialized`]: CPython does not support re-initialisation
//! reliably (single-phase extension modules such as numpy crash on it).
//!
//! # Finalisation policy
//!
//! **The default is never to finalise**, as the Datadog Agent's rtloader and
//! pyo3 do: the interpreter lives until the process exits. Finalising is only
//! safe when nothing can touch Python again, and `Py_FinalizeEx` must run on
//! the thread that initialised it, with no other thread inside Python: a
//! thread that enters during finalisation is terminated by CPython (3.11
//! `pthread_exit`s it, which is undefined behaviour for a Rust thread).
//!
//! [`Interpreter::finalize`] enforces this: it refuses unless it is called on
//! the initialising thread, outside any GIL scope, with every worker pool shut
//! down; it then stops new GIL entries, waits for threads already inside a
//! GIL scope to leave, and calls `Py_FinalizeEx`. Afterwards every attempt to
//! take the GIL returns [`Error::Finalized`].

use std::ffi::{CStr, CString};
use std::os::raw::c_char;
use std::path::{Path, PathBuf};
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicU8, AtomicUsize, Ordering};
use std::thread::ThreadId;

use parking_lot::Mutex;

use crate::err::{Error, Result};
use crate::ffi;
use crate::gil::{GilCountGuard, Python};

const UNINIT: u8 = 0;
const STARTING: u8 = 1;
const RUNNING: u8 = 2;
const FINALIZING: u8 = 3;
const FINALIZED: u8 = 4;
const FAILED: u8 = 5;

static STATE: AtomicU8 = AtomicU8::new(UNINIT);
/// Threads currently inside an outermost GIL scope entered through pyhost.
static ENTERED: AtomicUsize = AtomicUsize::new(0);
/// Threads (workers) that own a Python thread state for their whole life.
static THREAD_STATE_OWNERS: AtomicUsize = AtomicUsize::new(0);
/// The initialising thread's state, parked by `PyEval_SaveThread`.
static MAIN_TSTATE: AtomicPtr<ffi::PyThreadState> = AtomicPtr::new(ptr::null_mut());
static INIT_THREAD: Mutex<Option<ThreadId>> = Mutex::new(None);
static INIT_FAILURE: Mutex<Option<String>> = Mutex::new(None);
/// `Builder::add_path` entries, for every sub-interpreter created later.
static ADDED_PATHS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The directories [`Builder::add_path`] appended to the main interpreter's
/// `sys.path`: each new sub-interpreter gets them too.
pub(crate) fn added_paths() -> Vec<PathBuf> {
    ADDED_PATHS.lock().clone()
}

/// The Python version pyhost was compiled against (`PY_VERSION` of the headers).
pub fn compiled_version() -> &'static str {
    // SAFETY: returns a pointer to a static string literal in the shim.
    let c = unsafe { CStr::from_ptr(ffi::pyhost_compiled_version()) };
    c.to_str().unwrap_or("?")
}

/// The interpreter pyhost was built against (`sys.executable` of the build's
/// Python, symlinks resolved): the default `sys.executable` of [`Builder`].
pub fn build_python_executable() -> &'static str {
    env!("PYHOST_BUILD_PYTHON_EXECUTABLE")
}

/// The directory of the `Python.h` pyhost was compiled against, for hosts
/// and tests that compile C extensions for the same Python.
pub fn build_python_include() -> &'static str {
    env!("PYHOST_BUILD_PYTHON_INCLUDE")
}

/// The name of the libpython pyhost links, as a linker takes it: `python3.11`,
/// or `python3.13t` for a free-threaded build (`-lpython3.13t`).
pub fn build_python_library() -> String {
    format!("python{}", env!("PYHOST_BUILD_PYTHON_LDVERSION"))
}

/// Whether pyhost was built against a free-threaded Python (`Py_GIL_DISABLED`,
/// e.g. 3.13t).
pub const fn compiled_free_threaded() -> bool {
    cfg!(Py_GIL_DISABLED)
}

/// The library directory of the Python pyhost was built against (its
/// `sysconfig` `LIBDIR`), for hosts that link libpython themselves (the C ABI).
pub fn build_python_libdir() -> &'static str {
    env!("PYHOST_BUILD_PYTHON_LIBDIR")
}

/// The version of the libpython loaded at run time (`Py_GetVersion`, which is
/// callable before initialisation), e.g. `"3.11.7 (main, ...) [GCC 12.2.0]"`.
pub fn runtime_version_string() -> String {
    // SAFETY: Py_GetVersion returns a static NUL-terminated string and may be
    // called before Py_Initialize.
    let c = unsafe { CStr::from_ptr(ffi::Py_GetVersion()) };
    c.to_string_lossy().into_owned()
}

/// Whether a `Py_GetVersion()` string is a free-threaded build's
/// (`"3.13.1 experimental free-threading build (main, ...)"`).
pub fn is_free_threaded_version(version: &str) -> bool {
    version.contains("free-threading build")
}

/// Compare the compiled-against version (and build: default or free-threaded)
/// with a run-time `Py_GetVersion()` string; `Err` describes the mismatch,
/// with both libraries.
pub fn check_version(compiled: &str, runtime: &str) -> Result<()> {
    let runtime_number = runtime.split_whitespace().next().unwrap_or("");
    let runtime_free_threaded = is_free_threaded_version(runtime);
    if runtime_number == compiled && runtime_free_threaded == compiled_free_threaded() {
        return Ok(());
    }
    Err(Error::VersionMismatch {
        compiled: compiled.to_string(),
        runtime: runtime_number.to_string(),
        compiled_free_threaded: compiled_free_threaded(),
        runtime_free_threaded,
        compiled_libdir: build_python_libdir().to_string(),
        runtime_library: loaded_libpython(),
    })
}

/// The file the running libpython was loaded from (`dladdr` on one of its
/// functions), or `None` if the loader cannot say.
pub fn loaded_libpython() -> Option<String> {
    // SAFETY: dladdr only reads the loader's tables; `info` is a valid out
    // parameter and its strings are owned by the loader (copied at once).
    unsafe {
        let mut info: libc::Dl_info = std::mem::zeroed();
        let addr = ffi::Py_GetVersion as *const libc::c_void;
        if libc::dladdr(addr, &mut info) == 0 || info.dli_fname.is_null() {
            return None;
        }
        Some(CStr::from_ptr(info.dli_fname).to_string_lossy().into_owned())
    }
}

/// Entry check used by every GIL acquisition: counts the caller as inside
/// Python. Pair with [`leave`].
#[inline]
pub(crate) fn enter() -> Result<()> {
    ENTERED.fetch_add(1, Ordering::SeqCst);
    match STATE.load(Ordering::SeqCst) {
        RUNNING => Ok(()),
        s => {
            ENTERED.fetch_sub(1, Ordering::SeqCst);
            Err(state_error(s))
        }
    }
}

#[inline]
pub(crate) fn leave() {
    ENTERED.fetch_sub(1, Ordering::SeqCst);
}

/// Error unless the interpreter is running (without counting an entry).
#[inline]
pub(crate) fn ensure_running() -> Result<()> {
    match STATE.load(Ordering::SeqCst) {
        RUNNING => Ok(()),
        s => Err(state_error(s)),
    }
}

#[cold]
fn state_error(state: u8) -> Error {
    match state {
        UNINIT | STARTING => Error::NotInitialized,
        FINALIZING | FINALIZED => Error::Finalized,
        _ => Error::Init(
            INIT_FAILURE
                .lock()
                .clone()
                .unwrap_or_else(|| "Python failed to start".to_string()),
        ),
    }
}

/// Register a thread that owns a Python thread state for its whole life (a
/// worker). Finalisation is refused while any are registered.
pub(crate) fn register_thread_state_owner() -> Result<()> {
    // Count first, then check: `finalize` moves to FINALIZING before it
    // reads the count, so one of the two always sees the other.
    THREAD_STATE_OWNERS.fetch_add(1, Ordering::SeqCst);
    if let Err(e) = ensure_running() {
        THREAD_STATE_OWNERS.fetch_sub(1, Ordering::SeqCst);
        return Err(e);
    }
    Ok(())
}

pub(crate) fn unregister_thread_state_owner() {
    THREAD_STATE_OWNERS.fetch_sub(1, Ordering::SeqCst);
}

/// Number of live threads that own a thread state through pyhost (workers).
pub fn thread_state_owners() -> usize {
    THREAD_STATE_OWNERS.load(Ordering::SeqCst)
}

/// A C function that creates a built-in module, as `PyImport_AppendInittab` takes it.
pub type InitFunc = unsafe extern "C" fn() -> *mut ffi::PyObject;

/// Configuration for the interpreter (`PyConfig`). Start with
/// [`Interpreter::builder`].
#[derive(Debug, Clone)]
pub struct Builder {
    isolated: bool,
    signal_handlers: bool,
    utf8_mode: bool,
    site_import: bool,
    write_bytecode: bool,
    home: Option<PathBuf>,
    program_name: Option<String>,
    executable: Option<PathBuf>,
    paths: Vec<PathBuf>,
    argv: Vec<String>,
    inittab: Vec<(String, InitFunc)>,
    simulated_runtime_version: Option<String>,
}

impl Default for Builder {
    fn default() -> Self {
        let build_exe = PathBuf::from(env!("PYHOST_BUILD_PYTHON_EXECUTABLE"));
        Builder {
            isolated: true,
            signal_handlers: false,
            utf8_mode: true,
            site_import: true,
            write_bytecode: true,
            home: None,
            program_name: None,
            executable: build_exe.exists().then_some(build_exe),
            paths: Vec::new(),
            argv: Vec::new(),
            inittab: Vec::new(),
            simulated_runtime_version: None,
        }
    }
}

impl Builder {
    /// Isolated mode (the default): ignore `PYTHON*` environment variables
    /// and the user site directory (`PyConfig_InitIsolatedConfig`). Pass
    /// `false` to honour them (`PyConfig_InitPythonConfig`).
    pub fn isolated(mut self, yes: bool) -> Self {
        self.isolated = yes;
        self
    }

    /// Shorthand for `isolated(!yes)`: honour `PYTHONPATH`, `PYTHONHOME` and friends.
    pub fn use_environment(self, yes: bool) -> Self {
        self.isolated(!yes)
    }

    /// Let Python install its signal handlers (`PyConfig.install_signal_handlers`).
    /// Off by default: the host owns signals (SIGINT stays the host's).
    pub fn signal_handlers(mut self, yes: bool) -> Self {
        self.signal_handlers = yes;
        self
    }

    /// UTF-8 mode (`PyPreConfig.utf8_mode`, PEP 540). On by default, as the
    /// Datadog Agent runs its checks.
    pub fn utf8_mode(mut self, yes: bool) -> Self {
        self.utf8_mode = yes;
        self
    }

    /// Import `site` at start-up (`PyConfig.site_import`): site-packages and
    /// `.pth` files. On by default.
    pub fn site_import(mut self, yes: bool) -> Self {
        self.site_import = yes;
        self
    }

    /// Write `.pyc` files (`PyConfig.write_bytecode`). On by default.
    pub fn write_bytecode(mut self, yes: bool) -> Self {
        self.write_bytecode = yes;
        self
    }

    /// `PyConfig.home`: the Python installation prefix (like `PYTHONHOME`).
    pub fn home(mut self, home: impl AsRef<Path>) -> Self {
        self.home = Some(home.as_ref().to_path_buf());
        self
    }

    /// `PyConfig.program_name`.
    pub fn program_name(mut self, name: impl Into<String>) -> Self {
        self.program_name = Some(name.into());
        self
    }

    /// `PyConfig.executable`, seen as `sys.executable`. Defaults to the
    /// `python3` pyhost was built against, because libraries spawn
    /// `sys.executable` (Datadog's `AgentCheck.load_config` does).
    pub fn executable(mut self, exe: impl AsRef<Path>) -> Self {
        self.executable = Some(exe.as_ref().to_path_buf());
        self
    }

    /// Use a virtual environment: its `bin/python3` becomes `sys.executable`,
    /// and CPython's path computation then finds its `pyvenv.cfg` and adds
    /// its site-packages.
    pub fn venv(self, venv: impl AsRef<Path>) -> Self {
        let venv = venv.as_ref();
        let exe = ["python3", "python"]
            .iter()
            .map(|n| venv.join("bin").join(n))
            .find(|p| p.exists());
        self.executable(exe.unwrap_or_else(|| venv.join("bin").join("python3")))
    }

    /// Append a directory to `sys.path` after start-up.
    pub fn add_path(mut self, path: impl AsRef<Path>) -> Self {
        self.paths.push(path.as_ref().to_path_buf());
        self
    }

    /// `sys.argv` (not parsed as Python options).
    pub fn argv<I, S>(mut self, argv: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.argv = argv.into_iter().map(Into::into).collect();
        self
    }

    /// Register a built-in module (`PyImport_AppendInittab`) created by a C
    /// init function; see [`crate::module`] for modules written in Rust.
    pub fn add_init_func(mut self, name: impl Into<String>, init: InitFunc) -> Self {
        self.inittab.push((name.into(), init));
        self
    }

    /// Register a host module written in Rust as a built-in
    /// (`PyImport_AppendInittab`); see [`crate::module::HostModule`].
    pub fn add_module(self, module: crate::module::HostModule) -> Self {
        let (name, init) = module.register();
        self.add_init_func(name, init)
    }

    /// Test hook: pretend `Py_GetVersion()` returned this string.
    #[doc(hidden)]
    pub fn simulate_runtime_version(mut self, version: impl Into<String>) -> Self {
        self.simulated_runtime_version = Some(version.into());
        self
    }

    /// Start Python. Returns [`Error::AlreadyInitialized`] if this process
    /// already started (or tried to start) it.
    pub fn init(self) -> Result<Interpreter> {
        // SAFETY: Py_IsInitialized may be called at any time.
        if unsafe { ffi::Py_IsInitialized() } != 0 && STATE.load(Ordering::SeqCst) == UNINIT {
            return Err(Error::AlreadyInitialized(
                "Python was initialised outside pyhost in this process".to_string(),
            ));
        }
        if let Err(s) = STATE.compare_exchange(UNINIT, STARTING, Ordering::SeqCst, Ordering::SeqCst) {
            let why = match s {
                FAILED => format!(
                    "a previous start-up failed ({}); Python can be initialised once per process",
                    INIT_FAILURE.lock().clone().unwrap_or_default()
                ),
                FINALIZING | FINALIZED => "Python was finalised; it can be initialised once per process".to_string(),
                _ => "Python is already initialised in this process".to_string(),
            };
            return Err(Error::AlreadyInitialized(why));
        }
        match self.start() {
            Ok(()) => {
                STATE.store(RUNNING, Ordering::SeqCst);
                Ok(Interpreter { _private: () })
            }
            Err(e) => {
                *INIT_FAILURE.lock() = Some(e.to_string());
                STATE.store(FAILED, Ordering::SeqCst);
                Err(e)
            }
        }
    }

    fn start(self) -> Result<()> {
        let runtime = self
            .simulated_runtime_version
            .clone()
            .unwrap_or_else(runtime_version_string);
        check_version(compiled_version(), &runtime)?;

        for (name, init) in &self.inittab {
            let cname = cstring(name, "module name")?;
            // PyImport_AppendInittab keeps the pointer for the life of the process.
            let leaked: &'static CStr = Box::leak(cname.into_boxed_c_str());
            // SAFETY: called before Py_InitializeFromConfig, name is 'static.
            if unsafe { ffi::PyImport_AppendInittab(leaked.as_ptr(), Some(*init)) } != 0 {
                return Err(Error::Init(format!("PyImport_AppendInittab({name}) failed")));
            }
        }

        let home = self.home.as_deref().map(|p| path_cstring(p, "home")).transpose()?;
        let program_name = self
            .program_name
            .as_deref()
            .map(|s| cstring(s, "program name"))
            .transpose()?;
        let executable = self
            .executable
            .as_deref()
            .map(|p| path_cstring(p, "executable"))
            .transpose()?;
        let argv: Vec<CString> = self.argv.iter().map(|a| cstring(a, "argv")).collect::<Result<_>>()?;
        let argv_ptrs: Vec<*const c_char> = argv.iter().map(|a| a.as_ptr()).collect();

        let opts = ffi::pyhost_init_options {
            isolated: self.isolated as i32,
            install_signal_handlers: self.signal_handlers as i32,
            utf8_mode: self.utf8_mode as i32,
            site_import: self.site_import as i32,
            write_bytecode: self.write_bytecode as i32,
            home: home.as_ref().map_or(ptr::null(), |c| c.as_ptr()),
            program_name: program_name.as_ref().map_or(ptr::null(), |c| c.as_ptr()),
            executable: executable.as_ref().map_or(ptr::null(), |c| c.as_ptr()),
            argv: if argv_ptrs.is_empty() {
                ptr::null()
            } else {
                argv_ptrs.as_ptr()
            },
            argc: argv_ptrs.len(),
        };
        let mut err = [0 as c_char; 1024];
        // SAFETY: opts and every string it points to outlive the call; err is
        // a writable buffer of the stated length.
        let rc = unsafe { ffi::pyhost_initialize(&opts, err.as_mut_ptr(), err.len()) };
        if rc != 0 {
            // SAFETY: the shim NUL-terminates err.
            let msg = unsafe { CStr::from_ptr(err.as_ptr()) }.to_string_lossy().into_owned();
            return Err(Error::Init(format!("Python failed to start: {msg}")));
        }

        // The GIL is held here. Mark it so, finish set-up, then park the
        // main thread state.
        let result = {
            // SAFETY: pyhost_initialize returned with the GIL held.
            let count = unsafe { GilCountGuard::new() };
            append_sys_path(count.python(), &self.paths)
        };
        *INIT_THREAD.lock() = Some(std::thread::current().id());
        *ADDED_PATHS.lock() = self.paths.clone();
        // SAFETY: this thread holds the GIL after initialisation.
        let tstate = unsafe { ffi::PyEval_SaveThread() };
        MAIN_TSTATE.store(tstate, Ordering::SeqCst);
        result
    }
}

fn cstring(s: &str, what: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::Init(format!("{what} contains a NUL byte: {s:?}")))
}

fn path_cstring(p: &Path, what: &str) -> Result<CString> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| Error::Init(format!("{what} path contains a NUL byte: {}", p.display())))
}

pub(crate) fn append_sys_path(py: Python<'_>, paths: &[PathBuf]) -> Result<()> {
    if paths.is_empty() {
        return Ok(());
    }
    let sys = py.import("sys")?;
    let path = sys.getattr("path")?;
    for p in paths {
        let s = p
            .to_str()
            .ok_or_else(|| Error::Init(format!("sys.path entry is not UTF-8: {}", p.display())))?;
        path.call_method1("append", (s,))?;
    }
    Ok(())
}

/// A handle on the running interpreter. Cheap to copy, `Send` and `Sync`.
#[derive(Debug, Clone, Copy)]
pub struct Interpreter {
    _private: (),
}

impl Interpreter {
    /// A builder for the interpreter's configuration.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// The running interpreter, if this process started one and has not finalised it.
    pub fn get() -> Option<Interpreter> {
        ensure_running().ok().map(|()| Interpreter { _private: () })
    }

    /// Run `f` with the GIL held; see [`with_gil`](crate::with_gil).
    pub fn with_gil<F, R>(&self, f: F) -> R
    where
        F: for<'py> FnOnce(Python<'py>) -> R,
    {
        crate::gil::with_gil(f)
    }

    /// Finalise Python (`Py_FinalizeEx`); see the module docs for when this
    /// is allowed. Waits for threads inside a GIL scope to leave it. After
    /// this, every GIL acquisition fails with [`Error::Finalized`].
    pub fn finalize(self) -> Result<()> {
        if crate::gil::gil_is_held() {
            return Err(Error::Lifecycle(
                "finalize called while this thread holds the GIL".into(),
            ));
        }
        if *INIT_THREAD.lock() != Some(std::thread::current().id()) {
            return Err(Error::Lifecycle(
                "finalize must run on the thread that initialised Python".into(),
            ));
        }
        let owners = thread_state_owners();
        if owners > 0 {
            return Err(Error::Lifecycle(format!(
                "{owners} worker thread(s) still own Python thread states; shut every pool down before finalising"
            )));
        }
        if STATE
            .compare_exchange(RUNNING, FINALIZING, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return Err(Error::Finalized);
        }
        // Re-check under the FINALIZING state: a pool may have registered in between.
        if thread_state_owners() > 0 {
            STATE.store(RUNNING, Ordering::SeqCst);
            return Err(Error::Lifecycle("a worker pool started while finalising".into()));
        }
        while ENTERED.load(Ordering::SeqCst) > 0 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let tstate = MAIN_TSTATE.swap(ptr::null_mut(), Ordering::SeqCst);
        // SAFETY: tstate is this (initialising) thread's state parked by
        // PyEval_SaveThread at start-up; no pyhost thread is inside Python.
        unsafe { ffi::PyEval_RestoreThread(tstate) };
        {
            // SAFETY: the GIL is held again.
            let count = unsafe { GilCountGuard::new() };
            crate::interp::drain_current(count.python());
        }
        // SAFETY: GIL held, on the initialising thread, no workers alive.
        let rc = unsafe { ffi::Py_FinalizeEx() };
        STATE.store(FINALIZED, Ordering::SeqCst);
        if rc < 0 {
            return Err(Error::Lifecycle("Py_FinalizeEx could not flush buffered data".into()));
        }
        Ok(())
    }
}
