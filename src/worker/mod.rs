//! Thread-affine workers: OS threads that each own one Python thread state
//! for their whole life, and run the jobs sent to them.
//!
//! A thread state belongs to one OS thread. Creating one per call is the slow
//! path (7-10 us per call on this kind of machine, against 0.07 us with a
//! persistent one), and moving GIL state between threads is the crash the
//! Datadog Agent hit when Go's scheduler moved goroutines. A [`WorkerPool`]
//! keeps N named threads; each attaches once (`PyGILState_Ensure`, which
//! creates its thread state *and* binds it to the thread, so C extensions
//! calling `PyGILState_Ensure` there find it), then detaches
//! (`PyEval_SaveThread`) and waits for jobs. A job runs between
//! `PyEval_RestoreThread` and `PyEval_SaveThread` on that thread.
//!
//! ```no_run
//! use pyhost::worker::{JobOptions, WorkerPool};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! pyhost::Interpreter::builder().init()?;
//! let pool = WorkerPool::new(4)?;
//!
//! // Submitting needs no GIL and works from any thread or async task.
//! let handle = pool.submit(|py| py.eval("6 * 7", None, None)?.extract::<i64>())?;
//! assert_eq!(handle.wait()?, 42);
//!
//! // A deadline; a job to one worker (its thread-local state stays there).
//! let slow = pool.submit_with(JobOptions::new().timeout(std::time::Duration::from_secs(2)).on_worker(1), |py| {
//!     py.run("import time; time.sleep(10)", None, None)
//! })?;
//! assert!(matches!(slow.wait(), Err(pyhost::worker::JobError::TimedOut)));
//!
//! pool.shutdown(); // or drop it
//! # Ok(()) }
//! ```
//!
//! # Jobs and handles
//!
//! A job is `FnOnce(Python<'_>) -> pyhost::Result<R> + Send + 'static`. Its
//! [`JobHandle`] can be waited for (blocking, with a timeout) or awaited: it
//! is a [`Future`](std::future::Future) woken by the worker, so any executor,
//! including a multi-threaded tokio runtime, can await it without touching
//! the GIL. A Python exception comes back as [`JobError::Python`] (with its
//! traceback), a panic as [`JobError::Panicked`]; the worker survives both.
//!
//! # Dispatch
//!
//! A blocking hand-off to a parked thread costs 20-100 us on a VM (two thread
//! wake-ups). Both sides therefore spin before they park: a worker that ran
//! out of jobs watches the queue for [`PoolBuilder::spin`] (default 50 us;
//! at most [`PoolBuilder::max_spinning_workers`] workers spin at once,
//! default 1), and a thread waiting for a result watches it for the same
//! budget (an awaiting future for [`PoolBuilder::async_spin`], default
//! 20 us); at most half the CPUs' worth of waiters spin at once, so many
//! waiters do not starve the workers. Under steady load a round trip is then
//! a few cache-line transfers (about 1 us here, against 20-100 us parked);
//! an idle pool is parked (no timers, no polling).
//!
//! Spinning only pays while a CPU is free to spin on. By default
//! ([`SpinPolicy::IdleCpu`]) nobody spins while other processes keep the
//! machine's CPUs busy (measured every 100 ms, see [`spare_cpu`]): on a
//! loaded host the spinner would take CPU from the application being
//! monitored, or from the very worker it waits for.
//! [`PoolBuilder::spin_policy`]`(SpinPolicy::Always)` spins regardless.
//!
//! # Bursts
//!
//! A worker that holds the GIL runs up to [`PoolBuilder::max_batch`] ready
//! jobs before releasing it (`usize::MAX`: while the queue is non-empty).
//! [`WorkerPool::submit_batch`] makes a burst certain to run under one GIL
//! acquisition on one worker, with one wake-up for its waiter (a quarter of
//! the cost per job of submitting the same jobs one by one, here).
//!
//! # Backpressure
//!
//! The queue holds [`PoolBuilder::capacity`] jobs. [`WorkerPool::try_submit`]
//! fails with [`JobError::QueueFull`]; [`WorkerPool::submit`] (and
//! [`WorkerPool::submit_async`]) waits; waiting submitters are served first
//! come, first served, and `try_submit` does not overtake them.
//!
//! # Cancellation and timeouts
//!
//! [`JobHandle::cancel`] (or a [`CancelHandle`] from another thread) raises
//! `pyhost.JobCancelled` (a `BaseException`) in the running job with
//! `PyThreadState_SetAsyncExc`, effective at its next bytecode. Like
//! rusqlite's `InterruptHandle`, each worker keeps "the job running on this
//! thread" under a mutex that the worker clears when the job ends, and the
//! exception is only set if that job is still the running one; if the job
//! ended before its next bytecode, the pending exception is withdrawn
//! (`PyThreadState_SetAsyncExc(id, NULL)`) under the same lock, so it never
//! reaches the next job. An async exception that other code (Python's
//! `ctypes.pythonapi.PyThreadState_SetAsyncExc`, say) aims at an idle worker
//! is withdrawn when the worker next takes the GIL, before any job runs.
//!
//! A job blocked in C (`time.sleep`, a socket read) does not run bytecode and
//! cannot be interrupted that way. A job past its deadline
//! ([`JobOptions::timeout`], counted from when it starts, or
//! [`JobHandle::wait_timeout`]) is reported as [`JobError::TimedOut`] at
//! once, gets `pyhost.JobTimeout` (a subclass of `JobCancelled` and
//! `TimeoutError`), and if it still runs [`PoolBuilder::stuck_grace`] later
//! its worker is abandoned and a new thread takes its slot (and its queued
//! jobs), so the pool keeps its capacity. The abandoned thread exits as soon
//! as the job returns, its late result discarded and its thread state deleted.
//!
//! # Lifecycle order
//!
//! 1. [`Interpreter::builder`](crate::Interpreter::builder)`().init()`;
//! 2. [`WorkerPool::new`] / [`PoolBuilder::build`]: every worker registers as
//!    a thread-state owner;
//! 3. jobs;
//! 4. [`WorkerPool::shutdown`] (drain), [`WorkerPool::shutdown_now`] (cancel
//!    what is queued), or drop the pool (drain): the workers are joined, and
//!    each deletes its thread state with the GIL held (`PyGILState_Release`).
//!    From inside one of the pool's own jobs (dropping the last handle there
//!    included) these do not wait, which would wait for the calling job
//!    itself: the workers finish (or cancel) the queue and exit on their own;
//! 5. [`Interpreter::finalize`](crate::Interpreter::finalize), which returns
//!    [`Error::Lifecycle`] instead of finalising while any worker thread
//!    (an abandoned one still stuck in C included) owns a thread state.
//!
//! # What does not compile
//!
//! A job runs on another thread, so it cannot capture the submitter's token:
//!
//! ```compile_fail
//! # fn f(pool: &pyhost::worker::WorkerPool) {
//! pyhost::with_gil(|py| {
//!     let _ = pool.submit(move |_worker_py| {
//!         let _ = py.None();
//!         Ok(())
//!     });
//! });
//! # }
//! ```
//!
//! nor an object bound to the submitter's GIL scope:
//!
//! ```compile_fail
//! # fn f(pool: &pyhost::worker::WorkerPool) {
//! pyhost::with_gil(|py| {
//!     let obj = py.None();
//!     let _ = pool.submit(move |_py| {
//!         drop(obj);
//!         Ok(())
//!     });
//! });
//! # }
//! ```
//!
//! and it cannot return one either (its result goes back to another thread):
//!
//! ```compile_fail
//! # fn f(pool: &pyhost::worker::WorkerPool) {
//! let _ = pool.submit(|py| Ok(py.None()));
//! # }
//! ```
//!
//! The talk's crash, a task that takes the GIL on one thread and may resume
//! (and release it) on another, cannot be spawned on a multi-threaded
//! executor either: holding a guard across an `.await` makes the future `!Send`.
//!
//! ```compile_fail
//! fn spawn_on_any_thread<F: std::future::Future + Send + 'static>(_: F) {}
//! spawn_on_any_thread(async {
//!     let gil = pyhost::GilGuard::acquire();
//!     std::future::ready(()).await;
//!     drop(gil);
//! });
//! ```
//!
//! Send a [`Py`](crate::Py) (or plain Rust data) instead:
//!
//! ```no_run
//! # fn f(pool: &pyhost::worker::WorkerPool) -> Result<(), pyhost::worker::JobError> {
//! let obj: pyhost::Py = pyhost::with_gil(|py| py.None().unbind());
//! let back: pyhost::Py = pool.submit(move |py| Ok(obj.clone_ref(py)))?.wait()?;
//! # let _ = back; Ok(()) }
//! ```

mod batch;
mod fork;
mod home;
mod idle;
mod job;
mod pool;
mod signal;

use std::ffi::CStr;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub use idle::{spare_cpu, SpinPolicy};
pub use job::{CancelHandle, JobError, JobHandle, SubmitFuture};

use home::HomeKind;
use job::{new_job, SubmitState};
use pool::{Config, PoolShared};

use crate::conv::ToPython;
use crate::err::{Error, Result};
use crate::ffi;
use crate::gil::Python;
use crate::object::Bound;
use crate::subinterpreter::SubInterpreterConfig;

static NEXT_JOB_ID: AtomicU64 = AtomicU64::new(1);
static NEXT_POOL_ID: AtomicU64 = AtomicU64::new(1);

/// Run `f` with the GIL released if this thread holds it through pyhost
/// (waiting for a worker while holding the GIL would deadlock: the worker
/// needs it).
pub(crate) fn without_gil<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    if crate::gil::gil_is_held() {
        // SAFETY: gil_is_held() says this thread is inside a pyhost GIL scope,
        // which outlives this call; the token does not escape it.
        let py = unsafe { Python::assume_gil_acquired() };
        py.allow_threads(f)
    } else {
        f()
    }
}

/// On a worker thread of a process that a job forked (`os.fork()` copies
/// only the calling thread): write one line to stderr and `_exit(0)` now;
/// anywhere else, nothing (an atomic load). Workers do this each time a job
/// returns, and [`crash::LabelGuard`](crate::crash::LabelGuard) when it
/// drops; call it in a job's own clean-up code before it takes locks that
/// another thread of the parent may have held at the fork.
pub fn exit_if_forked_child() {
    fork::exit_if_forked_child();
}

/// Which exception a worker gets.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AsyncExc {
    Cancelled,
    Timeout,
}

/// The exception classes raised in cancelled and timed-out jobs, created
/// once per interpreter (and kept in its cache).
pub(crate) struct ExcTypes<'py> {
    pub(crate) cancelled: Bound<'py>,
    pub(crate) timeout: Bound<'py>,
}

impl<'py> ExcTypes<'py> {
    /// The classes of the calling thread's interpreter, created
    /// (`PyErr_NewExceptionWithDoc`) on first use.
    pub(crate) fn get(py: Python<'py>) -> Result<ExcTypes<'py>> {
        let cancelled = crate::interp::cached(py, crate::interp::keys::JOB_CANCELLED, |py| {
            // SAFETY: reading the address of a libpython exception type.
            let base = unsafe { Bound::from_borrowed_ptr(py, ffi::PyExc_BaseException) };
            new_exception(
                py,
                c"pyhost.JobCancelled",
                c"Raised inside a pyhost worker job that was cancelled (a BaseException, so `except Exception` does not swallow it).",
                &base,
            )
        })?;
        let timeout = crate::interp::cached(py, crate::interp::keys::JOB_TIMEOUT, |py| {
            // SAFETY: as above.
            let timeout_error = unsafe { Bound::from_borrowed_ptr(py, ffi::PyExc_TimeoutError) };
            let bases = (cancelled.clone(), timeout_error).to_python(py)?;
            new_exception(
                py,
                c"pyhost.JobTimeout",
                c"Raised inside a pyhost worker job that passed its deadline (a JobCancelled and a TimeoutError).",
                &bases,
            )
        })?;
        Ok(ExcTypes { cancelled, timeout })
    }

    pub(crate) fn ptr(&self, which: AsyncExc) -> *mut ffi::PyObject {
        match which {
            AsyncExc::Cancelled => self.cancelled.as_ptr(),
            AsyncExc::Timeout => self.timeout.as_ptr(),
        }
    }
}

fn new_exception<'py>(py: Python<'py>, name: &CStr, doc: &CStr, base: &Bound<'py>) -> Result<Bound<'py>> {
    // SAFETY: GIL held (token); name and doc are NUL-terminated; base is a
    // live class or tuple of classes; returns a new reference or NULL with an
    // exception set.
    unsafe {
        let p = ffi::PyErr_NewExceptionWithDoc(name.as_ptr(), doc.as_ptr(), base.as_ptr(), std::ptr::null_mut());
        Bound::from_owned_ptr_or_err(py, p)
    }
}

/// `pyhost.JobCancelled`: the exception a cancelled job sees (a
/// `BaseException` subclass).
pub fn cancelled_exception(py: Python<'_>) -> Result<Bound<'_>> {
    Ok(ExcTypes::get(py)?.cancelled)
}

/// `pyhost.JobTimeout`: the exception a job past its deadline sees (a
/// subclass of `pyhost.JobCancelled` and of `TimeoutError`).
pub fn timeout_exception(py: Python<'_>) -> Result<Bound<'_>> {
    Ok(ExcTypes::get(py)?.timeout)
}

/// The number of thread states of the current interpreter, walking
/// `PyInterpreterState_ThreadHead` / `PyThreadState_Next` with the GIL held
/// (the calling thread's own state included). Diagnostic: a thread state
/// being created concurrently (without the GIL) may or may not be counted.
pub fn thread_state_count(_py: Python<'_>) -> usize {
    // SAFETY: the GIL is held (token); PyInterpreterState_Get returns the
    // current interpreter; the list is only read. Thread states are added
    // without the GIL, but only at the head (the `next` links we follow do
    // not change), and removed with it by CPython (`threading`'s threads,
    // PyGILState_Release, hence pyhost's workers), so no node we reach is
    // freed under us. Only foreign C code calling `PyThreadState_Delete`
    // without the GIL (which that API allows) could race with this walk.
    unsafe {
        let interp = ffi::PyInterpreterState_Get();
        let mut ts = ffi::PyInterpreterState_ThreadHead(interp);
        let mut n = 0;
        while !ts.is_null() {
            n += 1;
            ts = ffi::PyThreadState_Next(ts);
        }
        n
    }
}

/// The slot index of the worker this thread is, if it is a pool worker.
pub fn current_worker() -> Option<usize> {
    pool::current().map(|(_, slot)| slot)
}

/// Per-job options for [`WorkerPool::submit_with`] and friends.
#[derive(Debug, Clone, Copy, Default)]
pub struct JobOptions {
    timeout: Option<Duration>,
    worker: Option<usize>,
}

impl JobOptions {
    /// No deadline, any worker.
    pub fn new() -> JobOptions {
        JobOptions::default()
    }

    /// A run-time budget, counted from when a worker starts the job. Past it
    /// the job is reported as [`JobError::TimedOut`], gets `pyhost.JobTimeout`,
    /// and its worker is replaced if it does not stop.
    pub fn timeout(mut self, timeout: Duration) -> JobOptions {
        self.timeout = Some(timeout);
        self
    }

    /// Run on worker `index` (`0..pool.workers()`), for state that must stay
    /// on one thread (thread-locals, `threading.local`, objects of C
    /// libraries with thread affinity). If that worker is replaced after a
    /// timeout, its queued jobs go to its replacement (a new thread).
    pub fn on_worker(mut self, index: usize) -> JobOptions {
        self.worker = Some(index);
        self
    }
}

/// How [`WorkerPool::shutdown_timeout`] treats queued jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownMode {
    /// Run every queued job (and every waiting submitter's), then stop.
    Drain,
    /// Cancel queued jobs ([`JobError::Cancelled`]) and raise
    /// `pyhost.JobCancelled` in running ones.
    Cancel,
}

/// Counters of a pool, for diagnostics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Worker slots.
    pub workers: usize,
    /// Jobs in the queues.
    pub queued: usize,
    /// Submitters waiting for room.
    pub waiting_submitters: usize,
    /// Jobs running now.
    pub running: usize,
    /// Jobs that returned `Ok`.
    pub succeeded: u64,
    /// Jobs that returned an error.
    pub failed: u64,
    /// Jobs that panicked.
    pub panicked: u64,
    /// Jobs cancelled (queued or running).
    pub cancelled: u64,
    /// Jobs reported as timed out.
    pub timed_out: u64,
    /// Workers replaced because a timed-out job did not stop.
    pub workers_replaced: u64,
    /// Replaced worker threads still running their stuck job.
    pub abandoned_threads: usize,
}

/// Configuration of a [`WorkerPool`]; start with [`WorkerPool::builder`].
#[derive(Debug, Clone)]
pub struct PoolBuilder {
    config: Config,
}

impl Default for PoolBuilder {
    fn default() -> Self {
        PoolBuilder {
            config: Config {
                name: "pyhost-worker".to_string(),
                workers: 4,
                capacity: 1024,
                spin: Duration::from_micros(50),
                async_spin: Duration::from_micros(20),
                max_spinning: 1,
                spin_policy: SpinPolicy::IdleCpu,
                stuck_grace: Duration::from_millis(100),
                max_batch: 32,
                home: HomeKind::Main,
                setup: None,
            },
        }
    }
}

impl PoolBuilder {
    /// Number of worker threads (default 4).
    pub fn workers(mut self, n: usize) -> Self {
        self.config.workers = n;
        self
    }

    /// Jobs the queue holds before submitters wait (default 1024).
    pub fn capacity(mut self, n: usize) -> Self {
        self.config.capacity = n;
        self
    }

    /// Thread name prefix (default `"pyhost-worker"`): workers are named
    /// `{prefix}-{slot}`, replacements `{prefix}-{slot}.{n}`.
    pub fn name(mut self, prefix: impl Into<String>) -> Self {
        self.config.name = prefix.into();
        self
    }

    /// The spin budget: how long a worker out of jobs, and a thread blocked
    /// in [`JobHandle::wait`], poll before parking (default 50 us; zero parks
    /// at once). At most half the CPUs' worth of waiting threads spin at the
    /// same time, process-wide; the others park at once.
    pub fn spin(mut self, budget: Duration) -> Self {
        self.config.spin = budget;
        self
    }

    /// How long awaiting a [`JobHandle`] spins in `poll` before registering
    /// its waker (default 20 us, inside tokio's "10-100 us between awaits"
    /// guidance; waking a parked executor thread costs more than that). Zero
    /// never holds the executor thread. Like blocking waits, at most half
    /// the CPUs' worth of waiters spin at once; the others park at once.
    pub fn async_spin(mut self, budget: Duration) -> Self {
        self.config.async_spin = budget;
        self
    }

    /// When the spin budgets apply: [`SpinPolicy::IdleCpu`] (the default)
    /// spins only while the machine has a spare CPU to spin on, measured
    /// every 100 ms; [`SpinPolicy::Always`] spins whatever the load.
    pub fn spin_policy(mut self, policy: SpinPolicy) -> Self {
        self.config.spin_policy = policy;
        self
    }

    /// At most this many idle workers spin at the same time (default 1; the
    /// others park at once).
    pub fn max_spinning_workers(mut self, n: usize) -> Self {
        self.config.max_spinning = n;
        self
    }

    /// How long a timed-out job may keep running after its `JobTimeout`
    /// before its worker is replaced (default 100 ms).
    pub fn stuck_grace(mut self, grace: Duration) -> Self {
        self.config.stuck_grace = grace;
        self
    }

    /// Jobs a worker runs per GIL acquisition when several are ready (default 32).
    pub fn max_batch(mut self, n: usize) -> Self {
        self.config.max_batch = n;
        self
    }

    /// Give each worker an interpreter of its own (an own-GIL sub-interpreter,
    /// CPython 3.12+), created on its thread when it starts (a replacement
    /// worker gets a new one) and ended when it exits. Jobs then run in
    /// parallel, one interpreter per worker; see [`crate::subinterpreter`].
    pub fn subinterpreters(mut self, config: SubInterpreterConfig) -> Self {
        self.config.home = HomeKind::Own(config);
        self
    }

    /// Run `setup` on each worker as it starts (a replacement too), in its
    /// interpreter, before it takes any job: for pools of sub-interpreters,
    /// where each interpreter starts fresh (imports, `sys.path`, a base
    /// package). A failure at [`build`](Self::build) fails the build.
    pub fn setup<F>(mut self, setup: F) -> Self
    where
        F: for<'py> Fn(Python<'py>) -> Result<()> + Send + Sync + 'static,
    {
        self.config.setup = Some(home::Setup(std::sync::Arc::new(setup)));
        self
    }

    /// Start the pool: spawn the workers, each attaching its thread state, and
    /// return once all have. Fails if the interpreter is not running.
    pub fn build(self) -> Result<WorkerPool> {
        let config = self.config;
        if config.workers == 0 || config.capacity == 0 || config.max_batch == 0 {
            return Err(Error::Lifecycle(
                "a worker pool needs workers, capacity and max_batch >= 1".into(),
            ));
        }
        if config.name.contains('\0') {
            return Err(Error::Lifecycle(
                "a worker pool's name cannot contain a NUL byte (it names OS threads)".into(),
            ));
        }
        if let HomeKind::Own(sub) = config.home {
            if !crate::subinterpreter::supported() {
                return Err(Error::Lifecycle(format!(
                    "sub-interpreters with their own GIL need Python 3.12 or newer (PEP 684); pyhost was built \
                     against {}",
                    crate::interpreter::compiled_version()
                )));
            }
            sub.validate()?;
        }
        crate::gil::try_with_gil(|py| ExcTypes::get(py).map(drop))??;
        let shared = Arc::new(PoolShared::new(NEXT_POOL_ID.fetch_add(1, Ordering::Relaxed), config));
        if let Err(e) = shared.start() {
            shared.shutdown(true, None);
            return Err(e);
        }
        Ok(WorkerPool { shared })
    }
}

/// A pool of thread-affine Python workers. `Send + Sync`: share it by
/// reference or in an `Arc`. Dropping it shuts it down gracefully (without
/// waiting, if dropped inside one of its own jobs; see the module docs).
pub struct WorkerPool {
    shared: Arc<PoolShared>,
}

impl fmt::Debug for WorkerPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerPool")
            .field("name", &self.shared.config.name)
            .field("workers", &self.shared.config.workers)
            .field("capacity", &self.shared.config.capacity)
            .finish()
    }
}

impl WorkerPool {
    /// A pool of `workers` threads with default settings.
    pub fn new(workers: usize) -> Result<WorkerPool> {
        WorkerPool::builder().workers(workers).build()
    }

    /// A builder for a pool's settings.
    pub fn builder() -> PoolBuilder {
        PoolBuilder::default()
    }

    /// Number of worker slots.
    pub fn workers(&self) -> usize {
        self.shared.config.workers
    }

    /// Queue capacity.
    pub fn capacity(&self) -> usize {
        self.shared.config.capacity
    }

    /// Run `f` now, on the calling thread, in the interpreter of worker
    /// `worker`, without waiting for that worker: the GIL of the main
    /// interpreter for an ordinary pool (`with_gil`); for a pool of
    /// sub-interpreters, a short-lived thread state in that worker's
    /// interpreter (`PyThreadState_New`, then deleted), taking its GIL.
    ///
    /// This is how a host reaches an interpreter whose worker is busy: to
    /// call a check's `cancel()` while its `run()` is stuck in a blocking
    /// call, say. It costs a thread state per call (microseconds, against
    /// tens of nanoseconds for a worker's job), and it waits for that
    /// interpreter's GIL. `None` if the interpreter is not running.
    pub fn enter<R, F>(&self, worker: usize, f: F) -> Option<R>
    where
        F: for<'py> FnOnce(Python<'py>) -> R + Send,
        R: Send,
    {
        self.shared.enter(worker, f)
    }

    fn make_job<F, R>(&self, opts: JobOptions, f: F) -> (JobHandle<R>, job::QueuedJob)
    where
        F: FnOnce(Python<'_>) -> Result<R> + Send + 'static,
        R: Send + 'static,
    {
        let c = &self.shared.config;
        new_job(
            NEXT_JOB_ID.fetch_add(1, Ordering::Relaxed),
            opts.timeout,
            c.spin,
            c.async_spin,
            c.spin_policy,
            Arc::downgrade(&self.shared),
            f,
        )
    }

    /// Submit a job to any worker, waiting (FIFO) while the queue is full.
    /// If this thread holds the GIL it is released while waiting.
    pub fn submit<F, R>(&self, f: F) -> Result<JobHandle<R>, JobError>
    where
        F: FnOnce(Python<'_>) -> Result<R> + Send + 'static,
        R: Send + 'static,
    {
        self.submit_with(JobOptions::new(), f)
    }

    /// [`submit`](Self::submit) with options (deadline, target worker).
    pub fn submit_with<F, R>(&self, opts: JobOptions, f: F) -> Result<JobHandle<R>, JobError>
    where
        F: FnOnce(Python<'_>) -> Result<R> + Send + 'static,
        R: Send + 'static,
    {
        let (handle, job) = self.make_job(opts, f);
        match self.shared.offer(job, opts.worker, true)? {
            None => Ok(handle),
            Some(ticket) => {
                let c = &self.shared.config;
                let spin = c.spin_policy.budget(c.spin);
                without_gil(|| ticket.signal.wait(spin, None));
                if ticket.admitted() {
                    Ok(handle)
                } else {
                    Err(JobError::ShutDown)
                }
            }
        }
    }

    /// Submit without waiting: [`JobError::QueueFull`] if the queue is full
    /// or other submitters are waiting for room.
    pub fn try_submit<F, R>(&self, f: F) -> Result<JobHandle<R>, JobError>
    where
        F: FnOnce(Python<'_>) -> Result<R> + Send + 'static,
        R: Send + 'static,
    {
        self.try_submit_with(JobOptions::new(), f)
    }

    /// [`try_submit`](Self::try_submit) with options.
    pub fn try_submit_with<F, R>(&self, opts: JobOptions, f: F) -> Result<JobHandle<R>, JobError>
    where
        F: FnOnce(Python<'_>) -> Result<R> + Send + 'static,
        R: Send + 'static,
    {
        let (handle, job) = self.make_job(opts, f);
        // Without waiting, `offer` queues the job or refuses it.
        self.shared.offer(job, opts.worker, false).map(|_| handle)
    }

    /// Submit from async code: the job is queued now if there is room;
    /// otherwise the returned future waits for room (FIFO, woken by the
    /// worker that frees it) without blocking the executor. Dropping the
    /// future before then withdraws the job.
    pub fn submit_async<F, R>(&self, f: F) -> SubmitFuture<R>
    where
        F: FnOnce(Python<'_>) -> Result<R> + Send + 'static,
        R: Send + 'static,
    {
        self.submit_async_with(JobOptions::new(), f)
    }

    /// [`submit_async`](Self::submit_async) with options.
    pub fn submit_async_with<F, R>(&self, opts: JobOptions, f: F) -> SubmitFuture<R>
    where
        F: FnOnce(Python<'_>) -> Result<R> + Send + 'static,
        R: Send + 'static,
    {
        let (handle, job) = self.make_job(opts, f);
        let state = match self.shared.offer(job, opts.worker, true) {
            Ok(None) => SubmitState::Ready(Ok(handle)),
            Ok(Some(ticket)) => SubmitState::Waiting(handle, ticket),
            Err(e) => SubmitState::Ready(Err(e)),
        };
        SubmitFuture {
            pool: Arc::clone(&self.shared),
            state,
        }
    }

    /// Submit and wait for the result.
    pub fn run<F, R>(&self, f: F) -> Result<R, JobError>
    where
        F: FnOnce(Python<'_>) -> Result<R> + Send + 'static,
        R: Send + 'static,
    {
        self.submit(f)?.wait()
    }

    /// Run `f(py, index)` once on every worker; the handles are in worker order.
    pub fn broadcast<F, R>(&self, f: F) -> Result<Vec<JobHandle<R>>, JobError>
    where
        F: Fn(Python<'_>, usize) -> Result<R> + Send + Sync + 'static,
        R: Send + 'static,
    {
        let f = Arc::new(f);
        (0..self.workers())
            .map(|i| {
                let f = Arc::clone(&f);
                self.submit_with(JobOptions::new().on_worker(i), move |py| f(py, i))
            })
            .collect()
    }

    /// A snapshot of the pool's counters.
    pub fn stats(&self) -> PoolStats {
        self.shared.stats()
    }

    /// Graceful shutdown: refuse new jobs, run every queued one, then join
    /// the workers (each deletes its thread state with the GIL held),
    /// including abandoned ones still stuck in C. Releases the GIL while
    /// waiting if this thread holds it. Called from inside one of this
    /// pool's own jobs it does not wait. Idempotent.
    pub fn shutdown(&self) {
        self.shared.shutdown(false, None);
    }

    /// Immediate shutdown: cancel every queued job ([`JobError::Cancelled`]),
    /// raise `pyhost.JobCancelled` in running ones, join the workers.
    /// Submitters still waiting for room get [`JobError::ShutDown`]. Called
    /// from inside one of this pool's own jobs, it neither interrupts that
    /// job nor waits.
    pub fn shutdown_now(&self) {
        self.shared.shutdown(true, None);
    }

    /// Shut down, waiting at most `timeout` for the worker threads. Returns
    /// true if every thread exited; otherwise the stragglers (stuck in C, or
    /// still draining the queue, whose jobs' deadlines are still enforced)
    /// keep their thread states until they are done, and
    /// [`Interpreter::finalize`](crate::Interpreter::finalize) is refused
    /// until then. Calling a shutdown again waits for them.
    pub fn shutdown_timeout(&self, mode: ShutdownMode, timeout: Duration) -> bool {
        self.shared.shutdown(mode == ShutdownMode::Cancel, Some(timeout))
    }
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        if !self.shared.is_shut_down() {
            self.shared.shutdown(false, None);
        }
    }
}
