//! Jobs, their result slots and the handles that wait for them.
//!
//! A job's life is a small state machine on one atomic byte:
//!
//! ```text
//! QUEUED --worker starts it--> RUNNING --worker delivers--> DONE
//!   |                            |  \
//!   |--cancel / shutdown_now--> CANCELLED (never ran, or cancelled before its first bytecode)
//!   |                            |
//!   '--wait_timeout-----------> TIMED_OUT <--deadline or wait_timeout (late result discarded)
//! ```
//!
//! Every transition is a compare-and-swap, and whoever wins it (and only
//! they) stores the result and sets the job's [`Signal`]: a result is
//! delivered exactly once, and a late result of a timed-out job is dropped.

use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::idle::SpinPolicy;
use super::pool::PoolShared;
use super::signal::{Signal, Wake};
use super::{without_gil, AsyncExc, ExcTypes};
use crate::err::Error;
use crate::ffi;
use crate::gil::Python;

pub(crate) const QUEUED: u8 = 0;
pub(crate) const RUNNING: u8 = 1;
pub(crate) const DONE: u8 = 2;
pub(crate) const CANCELLED: u8 = 3;
pub(crate) const TIMED_OUT: u8 = 4;

/// Why a job produced no value.
#[derive(Debug)]
#[non_exhaustive]
pub enum JobError {
    /// The job returned an error: a Python exception with its traceback
    /// (`pyhost::Error::Python`), or another pyhost error.
    Python(Error),
    /// The job panicked; the panic message. The worker survived.
    Panicked(String),
    /// The job was cancelled: before it started, or by a `pyhost.JobCancelled`
    /// exception raised inside it (`PyThreadState_SetAsyncExc`).
    Cancelled,
    /// The job passed its deadline ([`JobOptions::timeout`](super::JobOptions::timeout)
    /// or [`JobHandle::wait_timeout`]). If it was running, a
    /// `pyhost.JobTimeout` exception was raised in it, and if it did not stop
    /// soon its worker was replaced; whatever it returns later is discarded.
    TimedOut,
    /// [`WorkerPool::try_submit`](super::WorkerPool::try_submit): the queue is full.
    QueueFull,
    /// The pool is shutting down (or has shut down) and takes no new jobs.
    ShutDown,
    /// [`JobOptions::on_worker`](super::JobOptions::on_worker) named a worker
    /// the pool does not have.
    NoSuchWorker {
        /// The index asked for.
        index: usize,
        /// The number of workers in the pool.
        workers: usize,
    },
}

impl JobError {
    /// The Python exception (or other pyhost error) the job returned, if that
    /// is why it failed.
    pub fn as_python(&self) -> Option<&Error> {
        match self {
            JobError::Python(e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobError::Python(e) => write!(f, "job failed: {e}"),
            JobError::Panicked(msg) => write!(f, "job panicked: {msg}"),
            JobError::Cancelled => f.write_str("job cancelled"),
            JobError::TimedOut => f.write_str("job timed out"),
            JobError::QueueFull => f.write_str("worker pool queue is full"),
            JobError::ShutDown => f.write_str("worker pool is shut down"),
            JobError::NoSuchWorker { index, workers } => {
                write!(f, "no worker {index} in a pool of {workers}")
            }
        }
    }
}

impl std::error::Error for JobError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            JobError::Python(e) => Some(e),
            _ => None,
        }
    }
}

impl From<Error> for JobError {
    fn from(e: Error) -> Self {
        JobError::Python(e)
    }
}

/// What happened to a job, for the pool's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Succeeded,
    Failed,
    Panicked,
    Cancelled,
}

/// The untyped part of a job, shared by its handle, the queue and the worker.
pub(crate) struct JobCtrl {
    pub(crate) id: u64,
    state: AtomicU8,
    cancel_requested: AtomicBool,
    /// Run-time budget, counted from the moment a worker starts the job.
    pub(crate) timeout: Option<Duration>,
    pub(crate) signal: Signal,
    /// How long a blocking waiter spins before parking.
    pub(crate) spin: Duration,
    /// How long a polling future spins before registering its waker.
    pub(crate) async_spin: Duration,
    /// When those budgets apply.
    pub(crate) spin_policy: SpinPolicy,
    pub(crate) pool: Weak<PoolShared>,
}

impl JobCtrl {
    #[inline]
    pub(crate) fn state(&self) -> u8 {
        self.state.load(Ordering::Acquire)
    }

    /// QUEUED -> RUNNING. False if the job was cancelled or timed out while queued.
    #[inline]
    pub(crate) fn try_start(&self) -> bool {
        self.state
            .compare_exchange(QUEUED, RUNNING, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Ask for cancellation; seen by a worker that starts the job later.
    pub(crate) fn request_cancel(&self) {
        self.cancel_requested.store(true, Ordering::SeqCst);
    }

    #[inline]
    pub(crate) fn cancel_requested(&self) -> bool {
        self.cancel_requested.load(Ordering::SeqCst)
    }
}

/// Type-erased operations on a job (its result type is only known to its
/// handle and to the closure that runs it).
pub(crate) trait JobCore: Send + Sync {
    fn ctrl(&self) -> &JobCtrl;
    /// Move the job from state `from` to `to` and deliver `err`. False if the
    /// job was not in state `from` (someone else delivered).
    fn fail(&self, from: u8, to: u8, err: JobError) -> bool;
    /// [`fail`](Self::fail), returning the wake-up owed to a parked waiter
    /// instead of doing it (a worker wakes waiters once it has released the
    /// GIL). Err: someone else delivered.
    fn fail_deferred(&self, from: u8, to: u8, err: JobError) -> Result<Option<Wake>, ()>;
}

impl dyn JobCore {
    /// Cancel: a queued job never runs; a running one gets a
    /// `pyhost.JobCancelled` exception at its next bytecode.
    pub(crate) fn cancel(&self) -> bool {
        let ctrl = self.ctrl();
        // Set the flag first: a worker that starts the job after this point
        // sees it under its interrupt lock (see `Worker::run_one`).
        ctrl.request_cancel();
        if self.fail(QUEUED, CANCELLED, JobError::Cancelled) {
            return true;
        }
        if ctrl.state() != RUNNING {
            return false;
        }
        let raised = match ctrl.pool.upgrade() {
            Some(pool) => pool.interrupt_running(ctrl.id, AsyncExc::Cancelled),
            None => false,
        };
        // Not found on any worker but still RUNNING: the worker has started
        // it and not yet registered it, and will see the flag when it does
        // (a job is unregistered only after its result is delivered).
        raised || ctrl.state() == RUNNING
    }

    /// Report the job as timed out now. A running job is then interrupted
    /// (and its worker replaced if it does not stop) by the supervisor.
    pub(crate) fn expire(&self) {
        if self.fail(QUEUED, TIMED_OUT, JobError::TimedOut) {
            return;
        }
        if self.fail(RUNNING, TIMED_OUT, JobError::TimedOut) {
            if let Some(pool) = self.ctrl().pool.upgrade() {
                pool.kick_supervisor(None);
            }
        }
    }
}

/// A job's control block and typed result slot.
pub(crate) struct JobShared<R> {
    ctrl: JobCtrl,
    result: Mutex<Option<Result<R, JobError>>>,
}

impl<R: Send> JobShared<R> {
    /// Move from `from` to `to` and publish `result`; `before_wake` runs
    /// (counters) after the transition is won and before the waiter can see
    /// the result. Err: someone else delivered. Ok(wake): the wake-up owed to
    /// a parked waiter, if any.
    fn deliver(
        &self,
        from: u8,
        to: u8,
        result: Result<R, JobError>,
        before_wake: impl FnOnce(),
    ) -> Result<Option<Wake>, ()> {
        if self
            .ctrl
            .state
            .compare_exchange(from, to, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Err(());
        }
        *self.result.lock() = Some(result);
        before_wake();
        Ok(self.ctrl.signal.set_deferred())
    }

    fn take(&self) -> Result<R, JobError> {
        self.result
            .lock()
            .take()
            .expect("pyhost: a JobHandle's result was taken twice (polled after completion?)")
    }
}

impl<R: Send> JobCore for JobShared<R> {
    fn ctrl(&self) -> &JobCtrl {
        &self.ctrl
    }

    fn fail(&self, from: u8, to: u8, err: JobError) -> bool {
        match self.fail_deferred(from, to, err) {
            Ok(wake) => {
                if let Some(w) = wake {
                    w.wake();
                }
                true
            }
            Err(()) => false,
        }
    }

    fn fail_deferred(&self, from: u8, to: u8, err: JobError) -> Result<Option<Wake>, ()> {
        self.deliver(from, to, Err(err), || {
            if let Some(pool) = self.ctrl.pool.upgrade() {
                pool.count_state(to);
            }
        })
    }
}

/// The body of a queued job: runs the user's closure with the GIL held and
/// delivers its result, calling the counter callback first (so a waiter
/// that wakes up sees the pool's counters already updated). Returns the
/// wake-up owed to a parked waiter, which the worker does once it has
/// released the GIL.
pub(crate) type Body = Box<dyn FnOnce(Python<'_>, &dyn Fn(Outcome)) -> Option<Wake> + Send>;

/// A job in a queue.
pub(crate) struct QueuedJob {
    pub(crate) core: Arc<dyn JobCore>,
    pub(crate) body: Body,
}

/// Build a job and its handle.
pub(crate) fn new_job<F, R>(
    id: u64,
    timeout: Option<Duration>,
    spin: Duration,
    async_spin: Duration,
    spin_policy: SpinPolicy,
    pool: Weak<PoolShared>,
    f: F,
) -> (JobHandle<R>, QueuedJob)
where
    F: FnOnce(Python<'_>) -> crate::Result<R> + Send + 'static,
    R: Send + 'static,
{
    let shared = Arc::new(JobShared {
        ctrl: JobCtrl {
            id,
            state: AtomicU8::new(QUEUED),
            cancel_requested: AtomicBool::new(false),
            timeout,
            signal: Signal::new(),
            spin,
            async_spin,
            spin_policy,
            pool,
        },
        result: Mutex::new(None),
    });
    let slot = Arc::clone(&shared);
    let body: Body = Box::new(move |py: Python<'_>, count: &dyn Fn(Outcome)| {
        let returned = catch_unwind(AssertUnwindSafe(move || f(py)));
        // A process forked by the job ends here, before any pool state.
        super::fork::exit_if_forked_child();
        let (result, outcome) = match returned {
            Ok(Ok(v)) => (Ok(v), Outcome::Succeeded),
            Ok(Err(e)) => {
                let e = classify(py, e);
                let outcome = if matches!(e, JobError::Cancelled) {
                    Outcome::Cancelled
                } else {
                    Outcome::Failed
                };
                (Err(e), outcome)
            }
            Err(payload) => {
                // A panic may leave a Python error set half-way through a
                // C API sequence: do not let it leak into the next job.
                // SAFETY: this closure runs on a worker that holds the GIL.
                unsafe {
                    if !ffi::PyErr_Occurred().is_null() {
                        ffi::PyErr_Clear();
                    }
                }
                (
                    Err(JobError::Panicked(crate::panic::panic_message(&*payload))),
                    Outcome::Panicked,
                )
            }
        };
        // A late result (the job timed out meanwhile) is dropped here, with
        // the GIL held.
        slot.deliver(RUNNING, DONE, result, || count(outcome)).ok().flatten()
    });
    let core: Arc<dyn JobCore> = shared.clone();
    (JobHandle { shared }, QueuedJob { core, body })
}

/// A job that ended with our own cancellation exceptions is reported as
/// such, not as an ordinary Python error.
fn classify(py: Python<'_>, e: Error) -> JobError {
    stop_reason(py, &e).unwrap_or(JobError::Python(e))
}

/// `Cancelled` or `TimedOut` if `e` is pyhost's `JobCancelled` or
/// `JobTimeout` exception (raised into the job by a cancel or a deadline).
pub(crate) fn stop_reason(py: Python<'_>, e: &Error) -> Option<JobError> {
    if let (Error::Python(exc), Ok(types)) = (e, ExcTypes::get(py)) {
        if exc.is_instance_of(py, &types.timeout) {
            return Some(JobError::TimedOut);
        }
        if exc.is_instance_of(py, &types.cancelled) {
            return Some(JobError::Cancelled);
        }
    }
    None
}

/// The result of a submitted job, to be waited for (blocking) or awaited
/// (it is a [`Future`], woken by the worker: no runtime needed, and awaiting
/// it never touches the GIL).
///
/// Dropping the handle does not cancel the job; its result is then dropped.
#[must_use = "a dropped JobHandle does not cancel its job; its result is discarded"]
pub struct JobHandle<R> {
    shared: Arc<JobShared<R>>,
}

impl<R> fmt::Debug for JobHandle<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.shared.ctrl.state() {
            QUEUED => "queued",
            RUNNING => "running",
            DONE => "done",
            CANCELLED => "cancelled",
            _ => "timed out",
        };
        f.debug_struct("JobHandle")
            .field("id", &self.shared.ctrl.id)
            .field("state", &state)
            .finish()
    }
}

impl<R: Send + 'static> JobHandle<R> {
    /// The job's id, unique in the process.
    pub fn id(&self) -> u64 {
        self.shared.ctrl.id
    }

    /// True once the result is available (waiting will not block).
    pub fn is_finished(&self) -> bool {
        self.shared.ctrl.signal.is_set()
    }

    /// True while a worker is running the job.
    pub fn is_running(&self) -> bool {
        self.shared.ctrl.state() == RUNNING
    }

    /// Block until the job is done: spin for the pool's spin budget, then
    /// park. If this thread holds the GIL it is released while waiting (the
    /// worker needs it).
    pub fn wait(self) -> Result<R, JobError> {
        let ctrl = &self.shared.ctrl;
        if !ctrl.signal.is_set() {
            without_gil(|| ctrl.signal.wait(ctrl.spin_policy.budget(ctrl.spin), None));
        }
        self.shared.take()
    }

    /// Wait at most `timeout`. If the job is not done by then it is timed
    /// out, exactly as if its [`JobOptions::timeout`](super::JobOptions::timeout)
    /// had expired: a queued job never runs; a running one gets a
    /// `pyhost.JobTimeout` exception, and its worker is replaced if it does
    /// not stop (stuck in C); the result is [`JobError::TimedOut`] (or the
    /// real result, if it won the race).
    pub fn wait_timeout(self, timeout: Duration) -> Result<R, JobError> {
        let ctrl = &self.shared.ctrl;
        let deadline = Instant::now() + timeout;
        let done = ctrl.signal.is_set()
            || without_gil(|| ctrl.signal.wait(ctrl.spin_policy.budget(ctrl.spin), Some(deadline)));
        if !done {
            let core: &dyn JobCore = &*self.shared;
            core.expire();
            // Whoever won the race (us, the worker, a canceller) delivers.
            without_gil(|| ctrl.signal.wait(Duration::ZERO, None));
        }
        self.shared.take()
    }

    /// Cancel the job: if it is queued it never runs; if it is running, a
    /// `pyhost.JobCancelled` exception (a `BaseException`, so `except
    /// Exception` does not swallow it) is raised in it at its next bytecode
    /// (`PyThreadState_SetAsyncExc`; takes the GIL briefly). A job blocked in
    /// C sees it only when the call returns. Returns false if the job had
    /// already finished.
    pub fn cancel(&self) -> bool {
        let core: &dyn JobCore = &*self.shared;
        core.cancel()
    }

    /// A handle that can cancel this job from another thread while this one
    /// is being waited for.
    pub fn cancel_handle(&self) -> CancelHandle {
        CancelHandle {
            core: self.shared.clone(),
        }
    }
}

impl<R: Send + 'static> Future for JobHandle<R> {
    type Output = Result<R, JobError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let ctrl = &self.shared.ctrl;
        if ctrl.signal.is_set() {
            return Poll::Ready(self.shared.take());
        }
        match ctrl.signal.poll(cx, ctrl.spin_policy.budget(ctrl.async_spin)) {
            Poll::Ready(()) => Poll::Ready(self.shared.take()),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Cancels one job from any thread (the shape of rusqlite's
/// `InterruptHandle`): `Send + Sync + Clone`, and harmless once the job is
/// done.
#[derive(Clone)]
pub struct CancelHandle {
    core: Arc<dyn JobCore>,
}

impl fmt::Debug for CancelHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelHandle")
            .field("job", &self.core.ctrl().id)
            .finish()
    }
}

impl CancelHandle {
    /// See [`JobHandle::cancel`].
    pub fn cancel(&self) -> bool {
        self.core.cancel()
    }

    /// The id of the job this handle cancels.
    pub fn job_id(&self) -> u64 {
        self.core.ctrl().id
    }
}

/// A submitter waiting for a queue slot (FIFO).
pub(crate) struct Ticket {
    pub(crate) signal: Signal,
    admitted: AtomicBool,
}

impl Ticket {
    pub(crate) fn new() -> Ticket {
        Ticket {
            signal: Signal::new(),
            admitted: AtomicBool::new(false),
        }
    }

    /// The job entered the queue.
    pub(crate) fn admit(&self) {
        self.admitted.store(true, Ordering::SeqCst);
        self.signal.set();
    }

    /// The pool shut down before the job entered the queue.
    pub(crate) fn reject(&self) {
        self.signal.set();
    }

    pub(crate) fn admitted(&self) -> bool {
        self.admitted.load(Ordering::SeqCst)
    }
}

/// [`WorkerPool::submit_async`](super::WorkerPool::submit_async): resolves
/// to the job's handle once the job is in the queue (at once if there is
/// room; otherwise in FIFO order with the other waiting submitters).
/// Dropping it before then withdraws the job.
#[must_use = "futures do nothing unless polled; dropping this withdraws a job still waiting for room"]
pub struct SubmitFuture<R> {
    pub(crate) pool: Arc<PoolShared>,
    pub(crate) state: SubmitState<R>,
}

pub(crate) enum SubmitState<R> {
    Ready(Result<JobHandle<R>, JobError>),
    Waiting(JobHandle<R>, Arc<Ticket>),
    Taken,
}

impl<R> fmt::Debug for SubmitFuture<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            SubmitState::Ready(_) => "ready",
            SubmitState::Waiting(..) => "waiting for room",
            SubmitState::Taken => "taken",
        };
        f.debug_struct("SubmitFuture").field("state", &state).finish()
    }
}

impl<R: Send + 'static> Future for SubmitFuture<R> {
    type Output = Result<JobHandle<R>, JobError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let SubmitState::Waiting(_, ticket) = &self.state {
            if ticket.signal.poll(cx, Duration::ZERO).is_pending() {
                return Poll::Pending;
            }
        }
        match std::mem::replace(&mut self.state, SubmitState::Taken) {
            SubmitState::Ready(r) => Poll::Ready(r),
            SubmitState::Waiting(handle, ticket) => {
                if ticket.admitted() {
                    Poll::Ready(Ok(handle))
                } else {
                    Poll::Ready(Err(JobError::ShutDown))
                }
            }
            SubmitState::Taken => panic!("pyhost: SubmitFuture polled after completion"),
        }
    }
}

impl<R> Drop for SubmitFuture<R> {
    fn drop(&mut self) {
        if let SubmitState::Waiting(_, ticket) = &self.state {
            if !ticket.signal.is_set() {
                self.pool.withdraw(ticket);
            }
        }
    }
}
