//! The pool's shared state, the workers' main loop and the supervisor.
//!
//! # Locks, and the order they are taken in
//!
//! * the **GIL**;
//! * `PoolShared::state`: the queues, the idle list, the worker table;
//! * `Worker::interrupt`: "which job is running on this thread" (rusqlite's
//!   `InterruptHandle` shape);
//! * `PoolShared::sup`: the supervisor's wake-up bookkeeping.
//!
//! A thread may take a later lock while holding an earlier one (a worker
//! holding the GIL pops its next job; a canceller holding the GIL reads an
//! interrupt slot), never the reverse: nothing waits for the GIL while
//! holding a pool lock, and no pool lock is held while Python code runs.
//! User closures are dropped outside the pool locks.
//!
//! # User code on pool threads
//!
//! Besides the job itself (whose panics the job body catches), a worker runs
//! user code in destructors (a cancelled job's closure, a result nobody
//! waits for) and in wakers. Each of those runs under [`contain`]: a panic
//! there is reported by the panic hook and otherwise ignored, so it can
//! neither kill a worker that holds the GIL (which would stop every Python
//! thread) nor skip the worker's exit bookkeeping.

use std::cell::Cell;
use std::collections::VecDeque;
use std::os::raw::c_ulong;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, MutexGuard};

use super::home::{self, HomeKind, OwnInterpreter, Setup};
use super::idle::SpinPolicy;
use super::job::{JobCore, JobError, Outcome, QueuedJob, Ticket, CANCELLED, DONE, QUEUED, RUNNING, TIMED_OUT};
use super::signal::{spin_until, Wake};
use super::{without_gil, AsyncExc, ExcTypes, PoolStats};
use crate::err::Error;
use crate::ffi;
use crate::gil::{GilCountGuard, Python};
use crate::interpreter;

/// How long the supervisor waits before retrying a worker thread that could
/// not be spawned.
const RESPAWN_RETRY: Duration = Duration::from_millis(100);

/// Run user code (a destructor, a waker) on a pool thread; a panic in it is
/// already reported by the panic hook and is not allowed to unwind further.
fn contain(f: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(f));
}

/// A pool's fixed settings (see `PoolBuilder`).
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) name: String,
    pub(crate) workers: usize,
    pub(crate) capacity: usize,
    pub(crate) spin: Duration,
    pub(crate) async_spin: Duration,
    pub(crate) max_spinning: usize,
    pub(crate) spin_policy: SpinPolicy,
    pub(crate) stuck_grace: Duration,
    pub(crate) max_batch: usize,
    /// Which interpreter the workers live in.
    pub(crate) home: HomeKind,
    /// Run by each worker before its first job.
    pub(crate) setup: Option<Setup>,
}

thread_local! {
    /// (pool id, worker slot) when this thread is a pool worker.
    static CURRENT: Cell<Option<(u64, usize)>> = const { Cell::new(None) };
}

/// The (pool id, slot) of the worker this thread is, if it is one.
pub(crate) fn current() -> Option<(u64, usize)> {
    CURRENT.with(|c| c.get())
}

/// A job waiting for room in the queue, with the submitter to tell.
struct Pending {
    job: QueuedJob,
    target: Option<usize>,
    ticket: Arc<Ticket>,
}

/// Everything behind the pool lock.
struct State {
    /// Jobs any worker may run.
    shared: VecDeque<QueuedJob>,
    /// Jobs for one worker slot each.
    private: Vec<VecDeque<QueuedJob>>,
    /// `shared.len()` + every `private[i].len()`: counted against the capacity.
    queued: usize,
    /// Submitters waiting for room, first come first served.
    overflow: VecDeque<Pending>,
    /// The live worker of each slot (None only while a spawn is being retried).
    workers: Vec<Option<Arc<Worker>>>,
    /// Slots whose worker is parked on its condvar.
    idle: Vec<usize>,
    /// Workers currently spinning for work.
    spinning: usize,
    closed: bool,
    /// A shutdown has finished waiting (Drop then does not wait again).
    shut_down: bool,
    /// Worker threads alive: live ones and abandoned ones.
    alive: usize,
    abandoned_alive: usize,
    /// Workers that have attached their thread state.
    started: usize,
    /// Workers that exited before attaching one (the interpreter was being
    /// finalised, a sub-interpreter could not be created, setup failed).
    start_failed: usize,
    /// Why the first of them failed.
    start_error: Option<String>,
    /// Spawned worker threads not joined yet.
    threads: Vec<JoinHandle<()>>,
    supervisor: Option<JoinHandle<()>>,
    /// Slots whose replacement worker could not be spawned yet.
    respawn: Vec<usize>,
    /// Spawn count per slot, for thread names.
    generation: Vec<u32>,
    /// Per slot, the interpreter its workers live in, for a pool of
    /// sub-interpreters: a replacement worker joins it.
    homes: Vec<Option<Arc<OwnInterpreter>>>,
}

impl State {
    fn notify(&self, slot: usize) {
        if let Some(w) = &self.workers[slot] {
            w.cv.notify_one();
        }
    }

    fn wake_one_idle(&mut self) {
        if let Some(slot) = self.idle.pop() {
            self.notify(slot);
        }
    }

    /// Queue a job and wake a worker for it if none is spinning.
    fn push(&mut self, pool: &PoolShared, job: QueuedJob, target: Option<usize>) {
        self.queued += 1;
        match target {
            Some(slot) => {
                let q = &mut self.private[slot];
                q.push_back(job);
                pool.private_len[slot].store(q.len(), Ordering::Release);
                if let Some(pos) = self.idle.iter().position(|&i| i == slot) {
                    self.idle.swap_remove(pos);
                    self.notify(slot);
                }
            }
            None => {
                self.shared.push_back(job);
                pool.shared_len.store(self.shared.len(), Ordering::Release);
                if self.spinning == 0 {
                    self.wake_one_idle();
                }
            }
        }
    }

    /// The next job for `slot` (its own queue first). The freed room goes to
    /// the first waiting submitter, whose ticket is returned to be signalled
    /// once the lock is released; if shared work remains and nobody spins,
    /// another worker is woken for it.
    fn take(&mut self, pool: &PoolShared, slot: usize) -> Option<(QueuedJob, Option<Arc<Ticket>>)> {
        let job = if let Some(job) = self.private[slot].pop_front() {
            pool.private_len[slot].store(self.private[slot].len(), Ordering::Release);
            job
        } else if let Some(job) = self.shared.pop_front() {
            pool.shared_len.store(self.shared.len(), Ordering::Release);
            job
        } else {
            return None;
        };
        self.queued -= 1;
        let ticket = self.admit_one(pool);
        if !self.shared.is_empty() && self.spinning == 0 {
            self.wake_one_idle();
        }
        Some((job, ticket))
    }

    fn admit_one(&mut self, pool: &PoolShared) -> Option<Arc<Ticket>> {
        if self.queued >= pool.config.capacity {
            return None;
        }
        let p = self.overflow.pop_front()?;
        self.push(pool, p.job, p.target);
        if self.closed && self.overflow.is_empty() {
            // Workers that stayed for the overflow may now exit.
            for &slot in &self.idle {
                self.notify(slot);
            }
        }
        Some(p.ticket)
    }

    fn drain_queues(&mut self, pool: &PoolShared) -> (Vec<QueuedJob>, Vec<Pending>) {
        let mut jobs: Vec<QueuedJob> = self.shared.drain(..).collect();
        for (slot, q) in self.private.iter_mut().enumerate() {
            jobs.extend(q.drain(..));
            pool.private_len[slot].store(0, Ordering::Release);
        }
        pool.shared_len.store(0, Ordering::Release);
        self.queued = 0;
        (jobs, self.overflow.drain(..).collect())
    }
}

/// Bookkeeping of the supervisor's sleep.
struct Sup {
    kicked: bool,
    stop: bool,
    /// When the supervisor will next wake by itself (None: only when kicked).
    next_wake: Option<Instant>,
}

#[derive(Default)]
struct Counters {
    succeeded: AtomicU64,
    failed: AtomicU64,
    panicked: AtomicU64,
    cancelled: AtomicU64,
    timed_out: AtomicU64,
    replaced: AtomicU64,
}

/// What a pool's threads and handles share.
pub(crate) struct PoolShared {
    pub(crate) id: u64,
    pub(crate) config: Config,
    state: Mutex<State>,
    /// Signalled when a worker thread attaches or exits.
    lifecycle: Condvar,
    /// Lock-free mirrors of the queue lengths, read by spinning workers.
    shared_len: AtomicUsize,
    private_len: Box<[AtomicUsize]>,
    closed: AtomicBool,
    /// `shutdown_now` has begun: a job a worker registers from now on is
    /// cancelled before it starts (it was taken from the queue before the
    /// queue was drained, and the scan for running jobs missed it).
    cancelling: AtomicBool,
    sup: Mutex<Sup>,
    sup_cv: Condvar,
    counters: Counters,
}

/// One worker thread's shared part.
pub(crate) struct Worker {
    slot: usize,
    /// Parks the worker while it has nothing to do (with the pool lock).
    cv: Condvar,
    /// The interrupt slot: which job runs on this thread, and its thread id.
    interrupt: Mutex<Interrupt>,
    /// The interpreter this worker created for itself, if any (set once
    /// attached): where cancellations of its jobs must be raised from.
    own: std::sync::OnceLock<Arc<OwnInterpreter>>,
}

struct Interrupt {
    /// `PyThread_get_thread_ident()` of the worker, the id `PyThreadState_SetAsyncExc` takes.
    ident: c_ulong,
    job: Option<Running>,
    /// Replaced by another worker: exit after the current job.
    abandoned: bool,
}

struct Running {
    id: u64,
    core: Arc<dyn JobCore>,
    deadline: Option<Instant>,
    /// An async exception was set for this job (cleared again when it ends).
    fired: bool,
    /// When the supervisor gives up on a timed-out job that has not stopped.
    abandon_at: Option<Instant>,
}

impl Worker {
    fn new(slot: usize) -> Worker {
        Worker {
            slot,
            cv: Condvar::new(),
            interrupt: Mutex::new(Interrupt {
                ident: 0,
                job: None,
                abandoned: false,
            }),
            own: std::sync::OnceLock::new(),
        }
    }

    /// Whether job `id` is the one running on this worker now.
    fn runs(&self, id: u64) -> bool {
        self.interrupt.lock().job.as_ref().is_some_and(|r| r.id == id)
    }

    /// Raise `exc` in job `id` if (and only if) it is the job running on this
    /// worker right now. The worker clears the slot, under the same lock and
    /// also holding the GIL, when the job ends; so an exception can never be
    /// aimed at the next job.
    fn interrupt(&self, _py: Python<'_>, id: u64, exc: *mut ffi::PyObject) -> bool {
        let mut guard = self.interrupt.lock();
        let it = &mut *guard;
        match it.job.as_mut() {
            Some(run) if run.id == id => {
                // SAFETY: the GIL is held (token); `ident` was recorded by the
                // worker thread when it attached, before any job was
                // registered, and that thread is alive (it is running the
                // job); the caller is inside the worker's interpreter, and
                // `exc` is a live exception type of it, kept alive by its
                // cache. SetAsyncExc takes its own reference, and drops
                // the one of the exception it replaces, normally none or ours
                // (kept alive by the cache): only other code setting an
                // async exception on this thread during the job could make
                // that run a destructor under this lock.
                unsafe { ffi::PyThreadState_SetAsyncExc(it.ident, exc) };
                run.fired = true;
                true
            }
            _ => false,
        }
    }
}

impl PoolShared {
    pub(crate) fn new(id: u64, config: Config) -> PoolShared {
        let n = config.workers;
        PoolShared {
            id,
            state: Mutex::new(State {
                shared: VecDeque::with_capacity(config.capacity.min(4096)),
                private: (0..n).map(|_| VecDeque::new()).collect(),
                queued: 0,
                overflow: VecDeque::new(),
                workers: vec![None; n],
                idle: Vec::with_capacity(n),
                spinning: 0,
                closed: false,
                shut_down: false,
                alive: 0,
                abandoned_alive: 0,
                started: 0,
                start_failed: 0,
                start_error: None,
                threads: Vec::with_capacity(n),
                supervisor: None,
                respawn: Vec::new(),
                generation: vec![0; n],
                homes: vec![None; n],
            }),
            lifecycle: Condvar::new(),
            shared_len: AtomicUsize::new(0),
            private_len: (0..n).map(|_| AtomicUsize::new(0)).collect(),
            closed: AtomicBool::new(false),
            cancelling: AtomicBool::new(false),
            sup: Mutex::new(Sup {
                kicked: false,
                stop: false,
                next_wake: None,
            }),
            sup_cv: Condvar::new(),
            counters: Counters::default(),
            config,
        }
    }

    // ---- start-up ------------------------------------------------------

    /// Spawn the workers and the supervisor, and wait until every worker
    /// owns its thread state.
    pub(crate) fn start(self: &Arc<Self>) -> Result<(), Error> {
        for slot in 0..self.config.workers {
            self.spawn_worker(slot)?;
        }
        let pool = Arc::clone(self);
        let sup = thread::Builder::new()
            .name(format!("{}-supervisor", self.config.name))
            .spawn(move || supervisor_main(pool))
            .map_err(|e| Error::Lifecycle(format!("cannot spawn the worker pool supervisor: {e}")))?;
        self.state.lock().supervisor = Some(sup);
        let n = self.config.workers;
        let (failed, why) = without_gil(|| {
            let mut st = self.state.lock();
            while st.started + st.start_failed < n {
                self.lifecycle.wait(&mut st);
            }
            (st.start_failed, st.start_error.clone())
        });
        if failed > 0 {
            // A worker found the interpreter finalising (see `worker_main`).
            interpreter::ensure_running()?;
            return Err(Error::Lifecycle(match why {
                Some(why) => format!("{failed} worker thread(s) could not start: {why}"),
                None => format!("{failed} worker thread(s) could not attach a thread state"),
            }));
        }
        Ok(())
    }

    /// Start a worker thread for `slot` (at start-up, or to replace one that
    /// is stuck). It registers as a thread-state owner, so finalisation is
    /// refused while it lives.
    fn spawn_worker(self: &Arc<Self>, slot: usize) -> Result<(), Error> {
        interpreter::register_thread_state_owner()?;
        let worker = Arc::new(Worker::new(slot));
        let (generation, slot_home) = {
            let mut st = self.state.lock();
            st.workers[slot] = Some(Arc::clone(&worker));
            st.alive += 1;
            st.generation[slot] += 1;
            (st.generation[slot] - 1, st.homes[slot].clone())
        };
        let name = if generation == 0 {
            format!("{}-{}", self.config.name, slot)
        } else {
            format!("{}-{}.{}", self.config.name, slot, generation)
        };
        let pool = Arc::clone(self);
        // `Builder::spawn` panics (rather than failing) on some inputs, e.g.
        // a name with a NUL byte: the registration above must be undone then too.
        let spawned = catch_unwind(AssertUnwindSafe(|| {
            thread::Builder::new()
                .name(name)
                .spawn(move || worker_main(pool, worker, slot_home))
        }));
        let err = match spawned {
            Ok(Ok(handle)) => {
                self.state.lock().threads.push(handle);
                return Ok(());
            }
            Ok(Err(e)) => e.to_string(),
            Err(payload) => crate::panic::panic_message(&*payload),
        };
        interpreter::unregister_thread_state_owner();
        let mut st = self.state.lock();
        st.alive -= 1;
        st.workers[slot] = None;
        self.lifecycle.notify_all();
        Err(Error::Lifecycle(format!("cannot spawn a worker thread: {err}")))
    }

    // ---- submitting ------------------------------------------------------

    /// Queue a job. `Ok(None)`: queued. `Ok(Some(ticket))`: the queue is full
    /// (or others are already waiting) and `wait` was true: the job waits in
    /// FIFO order and the ticket is signalled when it enters the queue.
    pub(crate) fn offer(
        &self,
        job: QueuedJob,
        target: Option<usize>,
        wait: bool,
    ) -> Result<Option<Arc<Ticket>>, JobError> {
        let mut st = self.state.lock();
        let err = if st.closed {
            JobError::ShutDown
        } else if let Some(index) = target.filter(|&i| i >= self.config.workers) {
            JobError::NoSuchWorker {
                index,
                workers: self.config.workers,
            }
        } else if st.queued < self.config.capacity && st.overflow.is_empty() {
            st.push(self, job, target);
            return Ok(None);
        } else if wait {
            let ticket = Arc::new(Ticket::new());
            st.overflow.push_back(Pending {
                job,
                target,
                ticket: Arc::clone(&ticket),
            });
            return Ok(Some(ticket));
        } else {
            JobError::QueueFull
        };
        // Drop the refused job (and whatever its closure captured) after
        // releasing the lock.
        drop(st);
        drop(job);
        Err(err)
    }

    /// Take back a job still waiting for room (its submit future was dropped).
    pub(crate) fn withdraw(&self, ticket: &Arc<Ticket>) {
        let removed = {
            let mut st = self.state.lock();
            let pos = st.overflow.iter().position(|p| Arc::ptr_eq(&p.ticket, ticket));
            pos.and_then(|i| st.overflow.remove(i))
        };
        drop(removed);
    }

    // ---- cancellation and timeouts ------------------------------------------

    /// Raise `which` in job `id` if it is running on one of the live workers.
    /// Takes the GIL (from any thread).
    pub(crate) fn interrupt_running(&self, id: u64, which: AsyncExc) -> bool {
        let workers: Vec<Arc<Worker>> = self.state.lock().workers.iter().flatten().cloned().collect();
        let targets: Vec<(Arc<Worker>, u64)> = workers.into_iter().filter(|w| w.runs(id)).map(|w| (w, id)).collect();
        raise_in(targets, which)
    }

    /// Wake the supervisor, unless `deadline` is later than its next wake-up.
    pub(crate) fn kick_supervisor(&self, deadline: Option<Instant>) {
        let mut sup = self.sup.lock();
        if let (Some(d), Some(next)) = (deadline, sup.next_wake) {
            if next <= d {
                return;
            }
        }
        sup.kicked = true;
        self.sup_cv.notify_one();
    }

    /// One supervisor round: time out running jobs past their deadline, raise
    /// `pyhost.JobTimeout` in them, and replace the workers of those that
    /// have not stopped `stuck_grace` later. Returns when to look again.
    fn supervise(self: &Arc<Self>) -> Option<Instant> {
        let now = Instant::now();
        let mut next: Option<Instant> = None;
        let mut soonest = |t: Instant| next = Some(next.map_or(t, |n: Instant| n.min(t)));
        let (workers, respawn, closed) = {
            let mut st = self.state.lock();
            let respawn = std::mem::take(&mut st.respawn);
            (
                st.workers.iter().flatten().cloned().collect::<Vec<_>>(),
                respawn,
                st.closed,
            )
        };
        let mut fire: Vec<(Arc<Worker>, u64)> = Vec::new();
        let mut abandon: Vec<(Arc<Worker>, u64)> = Vec::new();
        for w in &workers {
            // Deliver "timed out" outside the interrupt lock (delivering may
            // run a waker, which must not find the lock held).
            let expired = {
                let it = w.interrupt.lock();
                match it.job.as_ref() {
                    Some(run) if !it.abandoned && run.core.ctrl().state() == RUNNING => match run.deadline {
                        Some(d) if d <= now => Some(Arc::clone(&run.core)),
                        Some(d) => {
                            soonest(d);
                            None
                        }
                        None => None,
                    },
                    _ => None,
                }
            };
            if let Some(core) = expired {
                contain(|| {
                    core.fail(RUNNING, TIMED_OUT, JobError::TimedOut);
                });
            }
            let mut guard = w.interrupt.lock();
            let it = &mut *guard;
            if it.abandoned {
                continue;
            }
            let Some(run) = it.job.as_mut() else { continue };
            if run.core.ctrl().state() == TIMED_OUT {
                match run.abandon_at {
                    None => {
                        let at = now + self.config.stuck_grace;
                        run.abandon_at = Some(at);
                        soonest(at);
                        fire.push((Arc::clone(w), run.id));
                    }
                    Some(at) if at <= now => abandon.push((Arc::clone(w), run.id)),
                    Some(at) => soonest(at),
                }
            }
        }
        for (w, id) in abandon {
            // Mark the worker abandoned and count it in one step under the
            // pool lock: the worker reads the mark when its job returns and
            // may exit (and uncount itself) at once.
            let confirmed = {
                let mut st = self.state.lock();
                let mut it = w.interrupt.lock();
                let still = !it.abandoned && it.job.as_ref().is_some_and(|r| r.id == id);
                if still {
                    it.abandoned = true;
                    st.abandoned_alive += 1;
                }
                still
            };
            if !confirmed {
                continue;
            }
            let slot = w.slot;
            self.counters.replaced.fetch_add(1, Ordering::Relaxed);
            if self.spawn_worker(slot).is_err() {
                self.state.lock().respawn.push(slot);
                soonest(now + RESPAWN_RETRY);
            }
        }
        if !closed {
            for slot in respawn {
                if self.spawn_worker(slot).is_err() {
                    self.state.lock().respawn.push(slot);
                    soonest(now + RESPAWN_RETRY);
                }
            }
        }
        if !fire.is_empty() {
            // Last, because it may wait for the GIL: the replacements above
            // must not depend on it.
            raise_in(fire, AsyncExc::Timeout);
        }
        next
    }

    // ---- shutdown ------------------------------------------------------

    /// Stop taking jobs; with `cancel`, cancel the queued ones (and interrupt
    /// the running ones); wait (without the GIL) until every worker thread,
    /// abandoned ones included, has deleted its thread state and exited, or
    /// until `timeout`. Returns true if they all did.
    pub(crate) fn shutdown(&self, cancel: bool, timeout: Option<Duration>) -> bool {
        let deadline = timeout.map(|t| Instant::now() + t);
        let (jobs, pending) = {
            let mut st = self.state.lock();
            st.closed = true;
            self.closed.store(true, Ordering::SeqCst);
            let drained = if cancel {
                // Before the scan below: a worker that took a job from the
                // queue and registers it after the scan looked at its slot
                // sees the flag (under its interrupt lock) instead.
                self.cancelling.store(true, Ordering::SeqCst);
                st.drain_queues(self)
            } else {
                (Vec::new(), Vec::new())
            };
            for &slot in &st.idle {
                st.notify(slot);
            }
            drained
        };
        self.cancel_all(jobs, pending);
        if cancel {
            // Called from one of our own jobs: that job is not interrupted
            // (it is the one asking).
            // SAFETY: no preconditions.
            let caller = unsafe { ffi::PyThread_get_thread_ident() };
            let workers: Vec<Arc<Worker>> = self.state.lock().workers.iter().flatten().cloned().collect();
            let mut targets = Vec::new();
            for w in workers {
                let running = {
                    let it = w.interrupt.lock();
                    it.job
                        .as_ref()
                        .filter(|_| it.ident != caller)
                        .map(|r| (r.id, Arc::clone(&r.core)))
                };
                if let Some((id, core)) = running {
                    core.ctrl().request_cancel();
                    targets.push((w, id));
                }
            }
            raise_in(targets, AsyncExc::Cancelled);
        }
        if current().map(|(id, _)| id) == Some(self.id) {
            // Called from one of our own jobs: waiting would wait for itself.
            return false;
        }
        without_gil(|| {
            let all = {
                let mut st = self.state.lock();
                loop {
                    if st.alive == 0 {
                        break true;
                    }
                    match deadline {
                        None => self.lifecycle.wait(&mut st),
                        Some(d) => {
                            if self.lifecycle.wait_until(&mut st, d).timed_out() {
                                break st.alive == 0;
                            }
                        }
                    }
                }
            };
            // The supervisor stops once every worker is gone: if some are
            // still running (a timeout), it keeps enforcing their jobs'
            // deadlines, and the last worker to exit stops it.
            if all {
                let mut sup = self.sup.lock();
                sup.stop = true;
                self.sup_cv.notify_all();
            }
            let (sup, threads, leftovers) = {
                let mut st = self.state.lock();
                st.shut_down = true;
                let (leftovers, sup) = if all {
                    (st.drain_queues(self), st.supervisor.take())
                } else {
                    ((Vec::new(), Vec::new()), None)
                };
                (sup, std::mem::take(&mut st.threads), leftovers)
            };
            if let Some(sup) = sup {
                let _ = sup.join();
            }
            let mut detached = Vec::new();
            for t in threads {
                if t.is_finished() || all {
                    let _ = t.join();
                } else {
                    detached.push(t);
                }
            }
            if !detached.is_empty() {
                // Still running (stuck in C): a later shutdown can join them.
                self.state.lock().threads.extend(detached);
            }
            // Jobs that no worker can run any more (e.g. for a slot whose
            // replacement could not be spawned) are reported, not lost.
            self.cancel_all(leftovers.0, leftovers.1);
            all
        })
    }

    /// Report queued jobs as cancelled, and refuse the jobs of waiting
    /// submitters (they get [`JobError::ShutDown`] and drop the job's
    /// handle: nobody sees those jobs, and they are not counted). Closures
    /// are dropped here, outside the pool lock; a panic in one of those
    /// destructors or in a waker does not stop the others.
    fn cancel_all(&self, jobs: Vec<QueuedJob>, pending: Vec<Pending>) {
        for job in jobs {
            contain(move || {
                job.core.fail(QUEUED, CANCELLED, JobError::Cancelled);
                drop(job);
            });
        }
        for p in pending {
            contain(|| p.ticket.reject());
            contain(move || drop(p));
        }
    }

    /// True once a shutdown has finished waiting.
    /// Run `f` in worker `slot`'s interpreter on the calling thread: with the
    /// GIL for a main-interpreter pool, through a visit for a pool of
    /// sub-interpreters. `None` if that interpreter is not running.
    pub(crate) fn enter<R: Send>(&self, slot: usize, f: impl for<'py> FnOnce(Python<'py>) -> R + Send) -> Option<R> {
        match self.config.home {
            HomeKind::Main => crate::gil::try_with_gil(f).ok(),
            HomeKind::Own(_) => {
                let home = self.state.lock().homes.get(slot).cloned().flatten()?;
                home.visit(f)
            }
        }
    }

    pub(crate) fn is_shut_down(&self) -> bool {
        self.state.lock().shut_down
    }

    // ---- counters ------------------------------------------------------

    /// Count a job delivered as failed by someone other than its worker.
    pub(crate) fn count_state(&self, state: u8) {
        match state {
            CANCELLED => self.count(Outcome::Cancelled),
            TIMED_OUT => {
                self.counters.timed_out.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }

    fn count(&self, outcome: Outcome) {
        let c = match outcome {
            Outcome::Succeeded => &self.counters.succeeded,
            Outcome::Failed => &self.counters.failed,
            Outcome::Panicked => &self.counters.panicked,
            Outcome::Cancelled => &self.counters.cancelled,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn stats(&self) -> PoolStats {
        let st = self.state.lock();
        let running = st
            .workers
            .iter()
            .flatten()
            .filter(|w| w.interrupt.lock().job.is_some())
            .count();
        PoolStats {
            workers: self.config.workers,
            queued: st.queued,
            waiting_submitters: st.overflow.len(),
            running,
            succeeded: self.counters.succeeded.load(Ordering::Relaxed),
            failed: self.counters.failed.load(Ordering::Relaxed),
            panicked: self.counters.panicked.load(Ordering::Relaxed),
            cancelled: self.counters.cancelled.load(Ordering::Relaxed),
            timed_out: self.counters.timed_out.load(Ordering::Relaxed),
            workers_replaced: self.counters.replaced.load(Ordering::Relaxed),
            abandoned_threads: st.abandoned_alive,
        }
    }
}

// ---- the worker thread ------------------------------------------------------

/// Raise `which` in each `(worker, job)` still running, from inside the
/// worker's interpreter: the main interpreter's workers under one GIL
/// acquisition, each worker with an interpreter of its own through a visit
/// (a short-lived thread state there). Returns whether any was raised.
fn raise_in(targets: Vec<(Arc<Worker>, u64)>, which: AsyncExc) -> bool {
    let (own, main): (Vec<_>, Vec<_>) = targets.into_iter().partition(|(w, _)| w.own.get().is_some());
    let mut raised = false;
    if !main.is_empty() {
        raised |= crate::gil::try_with_gil(|py| {
            let Ok(types) = ExcTypes::get(py) else {
                return false;
            };
            let exc = types.ptr(which);
            main.iter().fold(false, |any, (w, id)| w.interrupt(py, *id, exc) || any)
        })
        .unwrap_or(false);
    }
    for (w, id) in own {
        let Some(home) = w.own.get().cloned() else { continue };
        raised |= home
            .visit(move |py| match ExcTypes::get(py) {
                Ok(types) => w.interrupt(py, id, types.ptr(which)),
                Err(_) => false,
            })
            .unwrap_or(false);
    }
    raised
}

/// Find the next job for this worker: pop; else spin (if fewer than
/// `max_spinning` workers already do) watching the lock-free queue lengths;
/// else park on the worker's condvar. None: the pool is closed and drained.
fn find_job(pool: &PoolShared, me: &Worker) -> Option<QueuedJob> {
    let slot = me.slot;
    let mut spun = false;
    let mut st = pool.state.lock();
    loop {
        if let Some((job, ticket)) = st.take(pool, slot) {
            drop(st);
            if let Some(t) = ticket {
                contain(|| t.admit());
            }
            return Some(job);
        }
        if st.closed && st.overflow.is_empty() {
            return None;
        }
        let budget = if !spun && !st.closed && st.spinning < pool.config.max_spinning {
            pool.config.spin_policy.budget(pool.config.spin)
        } else {
            Duration::ZERO
        };
        if !budget.is_zero() {
            st.spinning += 1;
            MutexGuard::unlocked(&mut st, || {
                spin_until(budget, || {
                    pool.shared_len.load(Ordering::Relaxed) > 0
                        || pool.private_len[slot].load(Ordering::Relaxed) > 0
                        || pool.closed.load(Ordering::Relaxed)
                });
            });
            st.spinning -= 1;
            spun = true;
            continue;
        }
        st.idle.push(slot);
        me.cv.wait(&mut st);
        if let Some(pos) = st.idle.iter().position(|&i| i == slot) {
            st.idle.swap_remove(pos);
        }
        spun = false;
    }
}

/// The next job if one is ready now (no spinning, no parking): for running
/// several jobs per GIL acquisition.
fn try_take(pool: &PoolShared, slot: usize) -> Option<QueuedJob> {
    if pool.shared_len.load(Ordering::Relaxed) == 0 && pool.private_len[slot].load(Ordering::Relaxed) == 0 {
        return None;
    }
    let mut st = pool.state.lock();
    let (job, ticket) = st.take(pool, slot)?;
    drop(st);
    if let Some(t) = ticket {
        contain(|| t.admit());
    }
    Some(job)
}

/// A worker thread's exit bookkeeping, done however the thread ends (before
/// attaching, normally, or after a panic escaped the worker loop): drop its
/// thread-state-owner registration, uncount it, and wake whoever waits for
/// that (start-up, shutdown, the supervisor).
struct WorkerExit<'a> {
    pool: &'a PoolShared,
    me: &'a Worker,
    /// The thread attached its thread state (and was counted in `started`).
    attached: bool,
    /// A panic escaped the worker loop: the slot needs a new worker.
    died: bool,
}

impl Drop for WorkerExit<'_> {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(None));
        interpreter::unregister_thread_state_owner();
        let slot = self.me.slot;
        let was_abandoned = self.me.interrupt.lock().abandoned;
        let (last, respawn) = {
            let mut st = self.pool.state.lock();
            st.alive -= 1;
            if was_abandoned {
                st.abandoned_alive -= 1;
            }
            if !self.attached {
                st.start_failed += 1;
            }
            let respawn = self.died
                && !was_abandoned
                && !st.closed
                && st.workers[slot].as_ref().is_some_and(|w| std::ptr::eq(&**w, self.me));
            if respawn {
                st.workers[slot] = None;
                st.respawn.push(slot);
            }
            self.pool.lifecycle.notify_all();
            (st.closed && st.alive == 0, respawn)
        };
        if last || respawn {
            // Closed and every worker gone: nothing is left for the
            // supervisor (this matters when nobody waits in `shutdown`, e.g.
            // a pool dropped inside one of its own jobs). Or: a slot to refill.
            let mut sup = self.pool.sup.lock();
            if last {
                sup.stop = true;
            } else {
                sup.kicked = true;
            }
            self.pool.sup_cv.notify_all();
        }
    }
}

/// A worker thread: attach a thread state for life, run jobs, detach.
fn worker_main(pool: Arc<PoolShared>, me: Arc<Worker>, slot_home: Option<Arc<OwnInterpreter>>) {
    let mut exit = WorkerExit {
        pool: &pool,
        me: &me,
        attached: false,
        died: false,
    };
    CURRENT.with(|c| c.set(Some((pool.id, me.slot))));
    super::fork::worker_started();
    crate::crash::register_thread();
    // The spawner counted this thread as a thread-state owner after checking
    // that the interpreter runs; `finalize` checks that count before it marks
    // the interpreter finalising. Entering (a second check, made after we are
    // counted) closes the gap between the two: either `finalize` sees us
    // counted and refuses, or we see it finalising and exit without touching
    // Python.
    if interpreter::enter().is_err() {
        return;
    }
    // SAFETY: the interpreter is running and cannot start finalising while
    // this thread is counted as a thread-state owner (see above), which it is
    // until `exit` drops, after the detach below; this new thread has no
    // thread state.
    let attached = unsafe { home::attach(pool.config.home, pool.config.setup.as_ref(), slot_home) };
    interpreter::leave();
    let attached = match attached {
        Ok(a) => a,
        Err(e) => {
            let mut st = pool.state.lock();
            st.start_error.get_or_insert_with(|| e.to_string());
            return;
        }
    };
    if let Some(own) = attached.own() {
        let _ = me.own.set(Arc::clone(own));
        pool.state.lock().homes[me.slot] = Some(Arc::clone(own));
    }
    // SAFETY: no preconditions; it is the id CPython records as this thread
    // state's `thread_id`, which PyThreadState_SetAsyncExc looks for.
    let ident = unsafe { ffi::PyThread_get_thread_ident() };
    me.interrupt.lock().ident = ident;
    // SAFETY: this thread holds the GIL of its interpreter (attach); the
    // thread state stays ours, detached, until we restore it.
    let tstate = unsafe { ffi::PyEval_SaveThread() };
    {
        let mut st = pool.state.lock();
        st.started += 1;
        pool.lifecycle.notify_all();
    }
    exit.attached = true;

    let holding_gil = Cell::new(false);
    let mut wakes: Vec<Wake> = Vec::new();
    let died = catch_unwind(AssertUnwindSafe(|| {
        work(&pool, &me, tstate, ident, &holding_gil, &mut wakes)
    }))
    .is_err();

    if !holding_gil.get() {
        // SAFETY: `tstate` is this thread's state, detached by
        // PyEval_SaveThread on this thread and not restored since.
        unsafe { ffi::PyEval_RestoreThread(tstate) };
    }
    // SAFETY: this is the attaching thread, holding its interpreter's GIL,
    // with no GIL scope open: delete the thread state (or end the worker's
    // own interpreter) and release the GIL.
    unsafe { home::detach(attached) };
    if died {
        // A panic escaped the loop (user code is contained, so this is a
        // pyhost bug): report the job it was running instead of leaving its
        // waiter parked forever, and let `exit` ask for a new worker.
        exit.died = true;
        let running = me.interrupt.lock().job.take();
        if let Some(run) = running {
            let err = JobError::Panicked("the pyhost worker thread running the job panicked".into());
            if let Ok(Some(w)) = run.core.fail_deferred(RUNNING, DONE, err) {
                wakes.push(w);
            }
            contain(move || drop(run));
        }
    }
    wake_all(&mut wakes);
}

/// The worker loop, between attach and detach: find jobs and run them in
/// batches, each batch in one GIL acquisition. `holding_gil` says whether the
/// thread holds the GIL (true when this returns because the worker was
/// abandoned, and wherever a panic might escape).
fn work(
    pool: &PoolShared,
    me: &Worker,
    tstate: *mut ffi::PyThreadState,
    ident: c_ulong,
    holding_gil: &Cell<bool>,
    wakes: &mut Vec<Wake>,
) {
    while let Some(first) = find_job(pool, me) {
        // SAFETY: `tstate` is this thread's state, detached by
        // PyEval_SaveThread on this thread and not restored since.
        unsafe { ffi::PyEval_RestoreThread(tstate) };
        holding_gil.set(true);
        // Withdraw an async exception that other code (Python's own
        // `PyThreadState_SetAsyncExc`, from any thread) aimed at this thread
        // while it was idle: no job is running to receive it. pyhost's own
        // are only set for a registered job, and withdrawn when it ends;
        // between the jobs of a batch this thread keeps the GIL, so nobody
        // can set one there. Once per batch rather than per job: it costs a
        // lock and a walk of the thread list (about 50 ns).
        // SAFETY: the GIL is held; `ident` is this thread's id, and its
        // thread state the only one with that id (a live thread's id is
        // unique, and pyhost deletes a thread state before its thread
        // exits); NULL clears the pending exception, if any. Dropping that
        // exception may run Python code: no pool lock is held here.
        unsafe { ffi::PyThreadState_SetAsyncExc(ident, std::ptr::null_mut()) };
        let abandoned = {
            // SAFETY: the GIL is held from here until PyEval_SaveThread below
            // (or, if abandoned, until the thread state is released).
            let count = unsafe { GilCountGuard::new() };
            let py = count.python();
            crate::interp::drain_current(py);
            run_batch(pool, me, py, first, wakes)
        };
        if abandoned {
            // Exit keeping the GIL (for the detach); wakes after that.
            return;
        }
        // SAFETY: the GIL is held (restored above) and the GIL scope opened
        // there is closed; the state saved is `tstate` again.
        unsafe { ffi::PyEval_SaveThread() };
        holding_gil.set(false);
        wake_all(wakes);
    }
}

/// Wake parked waiters (after the GIL has been released).
fn wake_all(wakes: &mut Vec<Wake>) {
    for w in wakes.drain(..) {
        contain(|| w.wake());
    }
}

/// Run `first` and then whatever else is ready, up to `max_batch` jobs, in
/// one GIL acquisition. The batch ends early once a job leaves a parked
/// waiter to wake: the next job could block on what that waiter does next
/// (and its wake-up is due after the GIL is released). Returns true if this
/// worker was abandoned (it must exit, keeping the GIL for the detach).
fn run_batch(pool: &PoolShared, me: &Worker, py: Python<'_>, first: QueuedJob, wakes: &mut Vec<Wake>) -> bool {
    let mut job = first;
    let mut n = 1;
    loop {
        if run_one(pool, me, py, job, wakes) {
            return true;
        }
        if n >= pool.config.max_batch || !wakes.is_empty() {
            return false;
        }
        match try_take(pool, me.slot) {
            Some(next) => job = next,
            None => return false,
        }
        n += 1;
    }
}

/// Run one job with the GIL held. Returns true if the worker was abandoned
/// while the job ran.
fn run_one(pool: &PoolShared, me: &Worker, py: Python<'_>, job: QueuedJob, wakes: &mut Vec<Wake>) -> bool {
    let QueuedJob { core, body } = job;
    let ctrl = core.ctrl();
    if !ctrl.try_start() {
        // Cancelled or timed out while queued: already reported. Its closure
        // (user code, and maybe the last reference to the job) goes here.
        contain(move || {
            drop(body);
            drop(core);
        });
        return false;
    }
    let deadline = ctrl.timeout.map(|t| Instant::now() + t);
    let cancelled_early = {
        let mut it = me.interrupt.lock();
        it.job = Some(Running {
            id: ctrl.id,
            core: Arc::clone(&core),
            deadline,
            fired: false,
            abandon_at: None,
        });
        // Checked under the interrupt lock: a canceller (or shutdown_now)
        // either finds the job registered here, or has set its flag before
        // we look.
        ctrl.cancel_requested() || pool.cancelling.load(Ordering::SeqCst)
    };
    if deadline.is_some() {
        pool.kick_supervisor(deadline);
    }
    if cancelled_early {
        contain(move || drop(body));
        if let Ok(Some(wake)) = core.fail_deferred(RUNNING, CANCELLED, JobError::Cancelled) {
            wakes.push(wake);
        }
    } else {
        // The body catches the job's own panics; this guards against a
        // panic while dropping a discarded (late) result.
        let count = |outcome: Outcome| pool.count(outcome);
        if let Ok(Some(wake)) = catch_unwind(AssertUnwindSafe(|| body(py, &count))) {
            wakes.push(wake);
        }
    }
    // A label the job set (what it runs, for crash reports) ends with it.
    crate::crash::clear_label();
    // SAFETY: the GIL is held. A job that returned while leaving an error
    // indicator set would otherwise poison the next job.
    unsafe {
        if !ffi::PyErr_Occurred().is_null() {
            ffi::PyErr_Clear();
        }
    }
    let (finished, abandoned) = {
        let mut guard = me.interrupt.lock();
        let it = &mut *guard;
        let finished = it.job.take();
        if finished.as_ref().is_some_and(|r| r.fired) {
            // An async exception aimed at this job may still be pending (the
            // job returned before its next bytecode): withdraw it, under the
            // lock that cancel takes, so it cannot hit the next job (nor
            // Python code run by a destructor between jobs).
            // SAFETY: GIL held; `it.ident` is this thread's id (see `work`);
            // NULL clears its pending async exception: pyhost's (a class
            // kept alive by `ExcTypes`, so dropping it runs no code under the
            // lock) unless other code replaced it during the job.
            unsafe { ffi::PyThreadState_SetAsyncExc(it.ident, std::ptr::null_mut()) };
        }
        (finished, it.abandoned)
    };
    // The job's last references may go here: its result, if nobody waits
    // for it (user code).
    contain(move || {
        drop(finished);
        drop(core);
    });
    abandoned
}

/// The supervisor thread: sleeps until the earliest deadline (or until
/// kicked), then runs [`PoolShared::supervise`]. With no timed job running it
/// sleeps without a timeout: an idle pool does not wake up.
fn supervisor_main(pool: Arc<PoolShared>) {
    let mut next: Option<Instant> = None;
    loop {
        {
            let mut sup = pool.sup.lock();
            sup.next_wake = next;
            loop {
                if sup.stop {
                    return;
                }
                if sup.kicked {
                    break;
                }
                match sup.next_wake {
                    None => pool.sup_cv.wait(&mut sup),
                    Some(t) => {
                        if Instant::now() >= t {
                            break;
                        }
                        pool.sup_cv.wait_until(&mut sup, t);
                    }
                }
            }
            sup.kicked = false;
            // While scanning, every kick counts (the scan may already have
            // passed the worker that kicks).
            sup.next_wake = None;
        }
        next = pool.supervise();
    }
}
