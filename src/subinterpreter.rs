//! Python in parallel inside one process: sub-interpreters with their own GIL
//! (PEP 684, CPython 3.12+).
//!
//! In 2017 sub-interpreters shared one GIL, so a host could not run two Python
//! checks at once. Since 3.12 an interpreter can own its GIL (and its
//! allocator): two such interpreters run Python bytecode truly in parallel, on
//! two threads. pyhost gives each one a thread of its own for its whole life
//! (an interpreter's thread state belongs to the thread that created it):
//!
//! * a [`SubInterpreter`] is one interpreter on one worker thread; work reaches
//!   it as jobs, exactly like a [`WorkerPool`] (the same
//!   handles, timeouts, cancellation and shutdown);
//! * a pool built with [`PoolBuilder::subinterpreters`](crate::worker::PoolBuilder::subinterpreters)
//!   has one interpreter per worker, with [`PoolBuilder::setup`](crate::worker::PoolBuilder::setup)
//!   run in each as it starts.
//!
//! ```no_run
//! use pyhost::{Interpreter, SubInterpreter};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! Interpreter::builder().init()?;
//! let a = SubInterpreter::new()?;
//! let b = SubInterpreter::new()?;
//! // Two interpreters: a global set in one is not seen in the other.
//! a.run(|py| py.run("import builtins; builtins.shared = 1", None, None))?;
//! let seen: bool = b.run(|py| py.eval("hasattr(__import__('builtins'), 'shared')", None, None)?.extract())?;
//! assert!(!seen);
//! # Ok(()) }
//! ```
//!
//! # Objects never cross interpreters
//!
//! Each interpreter has its own objects, allocator and GIL; touching another's
//! object is a data race. A job receives its own [`Python`]
//! token, and every [`Bound`](crate::Bound) is tied to a token's lifetime and
//! is not `Send`, so an object of one interpreter cannot be written into a job
//! for another:
//!
//! ```compile_fail,E0277
//! # fn f(sub: &pyhost::SubInterpreter) {
//! pyhost::with_gil(|py| {
//!     let obj = py.None(); // the main interpreter's
//!     let _ = sub.run(move |_py| {
//!         drop(obj);
//!         Ok(())
//!     });
//! });
//! # }
//! ```
//!
//! nor can a job hand one of its objects back:
//!
//! ```compile_fail
//! # fn f(sub: &pyhost::SubInterpreter) {
//! let _ = sub.run(|py| Ok(py.None()));
//! # }
//! ```
//!
//! A [`Py`](crate::Py) is `Send` (it outlives GIL scopes), so the types cannot
//! stop one from moving; it records its interpreter instead, and using it in
//! another is a checked error ([`Error::CrossInterpreter`]), never undefined
//! behaviour. Dropping it anywhere is fine. Values cross by conversion: Rust
//! values, `bytes`, JSON text.
//!
//! # What an interpreter may do
//!
//! [`SubInterpreterConfig`] mirrors `PyInterpreterConfig`: by default an
//! interpreter has its own GIL, may start threads but not daemon threads, may
//! not `fork` or `exec`, and refuses single-phase extension modules (those
//! that do not declare multi-interpreter support raise `ImportError` there;
//! `pydantic_core` is one). pyhost's own modules (host modules, the demo
//! module, the agent's Datadog modules) declare support and keep their state
//! per module object. The main interpreter's `sys.path` additions
//! ([`Builder::add_path`](crate::Builder::add_path)) are applied to each new
//! interpreter.

use std::fmt;
use std::time::Duration;

use crate::err::{Error, Result};
use crate::ffi;
use crate::gil::Python;
use crate::interp::InterpreterId;
use crate::worker::{JobError, JobHandle, JobOptions, WorkerPool};

/// How a sub-interpreter is configured (`PyInterpreterConfig`). The default is
/// CPython's own default for an isolated interpreter: its own GIL, threads
/// allowed, no daemon threads, no `fork`/`exec`, single-phase extensions refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubInterpreterConfig {
    /// Its own GIL (`PyInterpreterConfig_OWN_GIL`): runs in parallel with the
    /// other interpreters. `false` shares the main interpreter's GIL.
    pub own_gil: bool,
    /// `os.fork()` allowed.
    pub allow_fork: bool,
    /// `os.execv()` and friends allowed.
    pub allow_exec: bool,
    /// `threading` threads allowed.
    pub allow_threads: bool,
    /// Daemon threads allowed (they must be gone before the interpreter ends).
    pub allow_daemon_threads: bool,
    /// Refuse single-phase extension modules (required with `own_gil`).
    pub check_multi_interp_extensions: bool,
}

impl Default for SubInterpreterConfig {
    fn default() -> Self {
        SubInterpreterConfig {
            own_gil: true,
            allow_fork: false,
            allow_exec: false,
            allow_threads: true,
            allow_daemon_threads: false,
            check_multi_interp_extensions: true,
        }
    }
}

impl SubInterpreterConfig {
    /// CPython's rules, checked before anything starts: an own GIL needs an
    /// own allocator, which needs `check_multi_interp_extensions`; and daemon
    /// threads would outlive the interpreter's end (pyhost ends interpreters
    /// it created, and `Py_EndInterpreter` refuses leftover threads).
    pub(crate) fn validate(&self) -> Result<()> {
        if self.own_gil && !self.check_multi_interp_extensions {
            return Err(Error::Lifecycle(
                "a sub-interpreter with its own GIL must refuse single-phase extension modules \
                 (check_multi_interp_extensions = true)"
                    .into(),
            ));
        }
        if self.allow_daemon_threads {
            return Err(Error::Lifecycle(
                "pyhost ends the sub-interpreters it creates, which daemon threads would outlive: \
                 allow_daemon_threads must be false"
                    .into(),
            ));
        }
        Ok(())
    }

    pub(crate) fn options(&self) -> ffi::pyhost_interp_options {
        ffi::pyhost_interp_options {
            own_gil: self.own_gil as i32,
            allow_fork: self.allow_fork as i32,
            allow_exec: self.allow_exec as i32,
            allow_threads: self.allow_threads as i32,
            allow_daemon_threads: self.allow_daemon_threads as i32,
            check_multi_interp_extensions: self.check_multi_interp_extensions as i32,
        }
    }
}

/// Whether this build can create own-GIL sub-interpreters (CPython 3.12+).
pub const fn supported() -> bool {
    cfg!(Py_3_12)
}

/// One sub-interpreter and the thread that owns it: created with
/// `Py_NewInterpreterFromConfig` on that thread, ended there with
/// `Py_EndInterpreter` when dropped (or [`close`](Self::close)d).
pub struct SubInterpreter {
    pool: WorkerPool,
    id: InterpreterId,
}

impl fmt::Debug for SubInterpreter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubInterpreter").field("id", &self.id).finish()
    }
}

impl SubInterpreter {
    /// A new interpreter with the default configuration (own GIL).
    pub fn new() -> Result<SubInterpreter> {
        SubInterpreter::with_config(SubInterpreterConfig::default())
    }

    /// A new interpreter. On CPython before 3.12 this is an error naming the
    /// version needed.
    pub fn with_config(config: SubInterpreterConfig) -> Result<SubInterpreter> {
        SubInterpreter::builder(config).build()
    }

    /// A configurable start: a setup job, a thread name.
    pub fn builder(config: SubInterpreterConfig) -> SubInterpreterBuilder {
        SubInterpreterBuilder {
            pool: WorkerPool::builder()
                .workers(1)
                .name("pyhost-subinterpreter")
                .subinterpreters(config),
        }
    }

    /// The interpreter's id (`PyInterpreterState_GetID`).
    pub fn id(&self) -> InterpreterId {
        self.id
    }

    /// Run `f` in this interpreter and wait for its result.
    pub fn run<R, F>(&self, f: F) -> std::result::Result<R, JobError>
    where
        F: for<'py> FnOnce(Python<'py>) -> Result<R> + Send + 'static,
        R: Send + 'static,
    {
        self.pool.submit(f)?.wait()
    }

    /// Queue `f` for this interpreter; the handle waits, times out, cancels
    /// or is awaited as with a [`WorkerPool`].
    pub fn submit<R, F>(&self, f: F) -> std::result::Result<JobHandle<R>, JobError>
    where
        F: for<'py> FnOnce(Python<'py>) -> Result<R> + Send + 'static,
        R: Send + 'static,
    {
        self.pool.submit(f)
    }

    /// [`submit`](Self::submit) with options (a timeout).
    pub fn submit_with<R, F>(&self, options: JobOptions, f: F) -> std::result::Result<JobHandle<R>, JobError>
    where
        F: for<'py> FnOnce(Python<'py>) -> Result<R> + Send + 'static,
        R: Send + 'static,
    {
        self.pool.submit_with(options, f)
    }

    /// Run `f` now in this interpreter on the calling thread, without
    /// waiting for its worker (a short-lived thread state; see
    /// [`WorkerPool::enter`]). `None` once the interpreter has ended.
    pub fn enter<R, F>(&self, f: F) -> Option<R>
    where
        F: for<'py> FnOnce(Python<'py>) -> R + Send,
        R: Send,
    {
        self.pool.enter(0, f)
    }

    /// The pool behind this interpreter (one worker).
    pub fn pool(&self) -> &WorkerPool {
        &self.pool
    }

    /// Run what is queued, then end the interpreter (`Py_EndInterpreter`, on
    /// its thread) and join the thread. Returns false if the thread was still
    /// stuck in a job after `timeout` (the interpreter then ends when the job
    /// returns).
    pub fn close(self, timeout: Duration) -> bool {
        self.pool.shutdown_timeout(crate::worker::ShutdownMode::Drain, timeout)
    }
}

/// A [`SubInterpreter`] to be started; see [`SubInterpreter::builder`].
#[derive(Debug)]
pub struct SubInterpreterBuilder {
    pool: crate::worker::PoolBuilder,
}

impl SubInterpreterBuilder {
    /// The owning thread's name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.pool = self.pool.name(name);
        self
    }

    /// How long a job past its timeout may keep running before its worker is
    /// replaced (see [`PoolBuilder::stuck_grace`](crate::worker::PoolBuilder::stuck_grace)):
    /// the replacement joins the same interpreter, so its state survives,
    /// and the stuck thread leaves it when its job returns.
    pub fn stuck_grace(mut self, grace: Duration) -> Self {
        self.pool = self.pool.stuck_grace(grace);
        self
    }

    /// Run `setup` in the interpreter before any job (import modules, set
    /// `sys.path`); a failure fails [`build`](Self::build).
    pub fn setup<F>(mut self, setup: F) -> Self
    where
        F: for<'py> Fn(Python<'py>) -> Result<()> + Send + Sync + 'static,
    {
        self.pool = self.pool.setup(setup);
        self
    }

    /// Create the interpreter on its thread.
    pub fn build(self) -> Result<SubInterpreter> {
        let pool = self.pool.build()?;
        let id = pool
            .submit(|py| Ok(crate::interp::current(py)))
            .map_err(|e| Error::Lifecycle(e.to_string()))?
            .wait()
            .map_err(|e| Error::Lifecycle(e.to_string()))?;
        Ok(SubInterpreter { pool, id })
    }
}
