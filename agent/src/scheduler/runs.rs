//! Launching runs and collecting their results.
//!
//! A run is a pool job that times itself: it notes its start (for a run
//! that times out) and returns how long `run()` took, so the reported
//! duration is what the check took on its worker, not how long the
//! scheduler took to notice. Its [`JobHandle`] is polled as a future with
//! the scheduler's waker: the pool wakes the loop when the run finishes,
//! fails or times out.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::{emit, submit, IdOwner, Scheduler};
use crate::check::{cancel_check, error_list, run_check, RunOutcome};
use crate::containment::RunScope;
use crate::process::{RemoteError, RemoteResult, RemoteRun};
use crate::sinks::{Report, RunReport, RunStatus, Skipped};
use crate::value::Value;
use pyhost::{JobError, JobHandle, Py, Python, WorkerPool};

/// Clears an instance's busy flag when the run's closure ends: after it
/// returns, or when it is dropped without running.
struct BusyGuard(Arc<AtomicBool>);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// What a run job returns: the outcome and how long `run()` took.
type Timed = (RunOutcome, Duration);

/// A run in progress: a job in this process, or a run in a worker process.
enum Handle {
    Job(JobHandle<Timed>),
    Remote(RemoteRun),
}

/// How a run ended.
enum Finished {
    Job(Result<Timed, JobError>),
    Remote(RemoteResult),
}

pub(super) struct Running {
    handle: Handle,
    /// The result, when the first poll already had it.
    ready: Option<Finished>,
    /// Set by the job when a worker starts it (in this process).
    started: Arc<OnceLock<Instant>>,
    run: u64,
}

impl Running {
    /// Poll the run: the result if it is over, else `None` (and the pool,
    /// or the worker process's slot, will wake the scheduler).
    fn poll(&mut self, cx: &mut Context<'_>) -> Option<Finished> {
        if self.ready.is_some() {
            return self.ready.take();
        }
        match &mut self.handle {
            Handle::Job(h) => match Pin::new(h).poll(cx) {
                Poll::Ready(r) => Some(Finished::Job(r)),
                Poll::Pending => None,
            },
            Handle::Remote(r) => r.is_finished().then(|| Finished::Remote(r.clone().wait())),
        }
    }
}

/// Where an instance's check object lives.
pub(super) enum Home {
    /// In this process: the pool that runs it (the shared one, or the
    /// check's own interpreter's) and the object.
    Local { pool: Arc<WorkerPool>, object: Arc<Py> },
    /// In the check's worker process (the scheduler's `ProcessPool`).
    Process,
}

pub(super) struct Instance {
    pub(super) check: String,
    /// Where this instance's check object lives.
    pub(super) home: Home,
    pub(super) index: usize,
    pub(super) id: String,
    pub(super) interval: Duration,
    pub(super) next_due: Instant,
    pub(super) runs: u64,
    /// True while Python may be executing a run (also after a timeout,
    /// until the abandoned run returns).
    pub(super) busy: Arc<AtomicBool>,
    pub(super) running: Option<Running>,
    /// The aggregator's pending submissions for this check id after the
    /// last run (reset at each flush), to count what each run submitted.
    pub(super) samples_seen: usize,
}

impl Instance {
    pub(super) fn new(check: &str, home: Home, index: usize, id: String, interval: Duration) -> Instance {
        Instance {
            check: check.to_string(),
            home,
            index,
            id,
            interval,
            next_due: Instant::now(),
            runs: 0,
            busy: Arc::new(AtomicBool::new(false)),
            running: None,
            samples_seen: 0,
        }
    }
}

impl Scheduler {
    /// Call `cancel()` on replaced instances and keep those still running
    /// until their run is reported.
    pub(super) fn retire(&mut self, instances: Vec<Instance>) {
        for inst in instances {
            // In a worker process, the reload or unload does it there.
            if let Home::Local { pool, object } = &inst.home {
                self.cancel_object(pool, Arc::clone(object));
            }
            if inst.running.is_some() {
                self.retired.push(inst);
            }
        }
    }

    /// Start every instance whose tick has come, skipping (and reporting)
    /// those whose previous run is still going.
    pub(super) fn launch_due(&mut self) {
        let now = Instant::now();
        let timeout = self.opts.check_timeout;
        let limit = self.opts.limit;
        let waker = self.wake.run_waker();
        let mut cx = Context::from_waker(&waker);
        for entry in self.checks.values_mut() {
            for inst in entry.instances.iter_mut() {
                if now < inst.next_due {
                    continue;
                }
                if let Some(l) = limit {
                    if inst.running.is_some() || inst.runs >= l.times as u64 {
                        continue;
                    }
                }
                inst.next_due += inst.interval;
                if inst.next_due <= now {
                    inst.next_due = now + inst.interval;
                }
                if inst.running.is_some() || inst.busy.load(Ordering::Acquire) {
                    let reason = if inst.running.is_some() {
                        "the previous run is still going"
                    } else {
                        "the previous run timed out and is still executing"
                    };
                    let report = Report::Skipped(Skipped {
                        check: &inst.check,
                        instance: inst.index,
                        check_id: &inst.id,
                        reason,
                    });
                    emit(&mut self.sinks, &report);
                    continue;
                }
                inst.runs += 1;
                self.ids.insert(
                    inst.id.clone(),
                    IdOwner {
                        check: inst.check.clone(),
                        instance: inst.index,
                        run: inst.runs,
                    },
                );
                let started = Arc::new(OnceLock::new());
                let handle = match &inst.home {
                    Home::Local { pool, object } => {
                        inst.busy.store(true, Ordering::Release);
                        let guard = BusyGuard(Arc::clone(&inst.busy));
                        let object = Arc::clone(object);
                        let clock = Arc::clone(&started);
                        let (check, index, id) = (inst.check.clone(), inst.index, inst.id.clone());
                        let job = move |py: Python<'_>| {
                            let _guard = guard;
                            let _scope = RunScope::run(&check, index, &id);
                            let start = *clock.get_or_init(Instant::now);
                            let outcome = run_check(object.bind(py));
                            Ok((outcome, start.elapsed()))
                        };
                        submit(pool, timeout, job).map(Handle::Job).map_err(|e| e.to_string())
                    }
                    Home::Process => match &self.procs {
                        Some(procs) => {
                            let wake = self.wake.waker();
                            let notify: Box<dyn Fn() + Send + Sync> = Box::new(move || wake.wake());
                            Ok(Handle::Remote(procs.run(
                                &inst.check,
                                inst.index,
                                timeout,
                                Some(notify),
                            )))
                        }
                        None => Err("the agent has no worker processes".to_string()),
                    },
                };
                match handle {
                    Ok(handle) => {
                        let mut running = Running {
                            handle,
                            ready: None,
                            started,
                            run: inst.runs,
                        };
                        running.ready = running.poll(&mut cx);
                        if running.ready.is_some() {
                            // Over already: no wake-up will come for it.
                            waker.wake_by_ref();
                        }
                        inst.running = Some(running);
                    }
                    Err(e) => {
                        if let Some(l) = limit {
                            inst.next_due = now + l.delay;
                        }
                        let report = RunReport {
                            check: inst.check.clone(),
                            instance: inst.index,
                            check_id: inst.id.clone(),
                            run: inst.runs,
                            status: RunStatus::Error,
                            errors: error_list(&format!("could not start the run: {e}"), None),
                            warnings: Vec::new(),
                            duration: Duration::ZERO,
                            samples: 0,
                        };
                        emit(&mut self.sinks, &Report::Run(&report));
                    }
                }
            }
        }
    }

    /// Report every finished run.
    pub(super) fn collect(&mut self) {
        let waker = self.wake.run_waker();
        let mut cx = Context::from_waker(&waker);
        let delay = self.opts.limit.map(|l| l.delay);
        let mut finished = Vec::new();
        for inst in self
            .checks
            .values_mut()
            .flat_map(|c| c.instances.iter_mut())
            .chain(self.retired.iter_mut())
        {
            let Some(result) = inst.running.as_mut().and_then(|r| r.poll(&mut cx)) else {
                continue;
            };
            let running = inst.running.take().expect("polled above");
            let pending = self.host.aggregator.pending(&inst.id);
            let samples = pending.saturating_sub(inst.samples_seen);
            inst.samples_seen = pending;
            if let Some(delay) = delay {
                inst.next_due = Instant::now() + delay;
            }
            finished.push((
                inst.check.clone(),
                inst.index,
                inst.id.clone(),
                match &inst.home {
                    Home::Local { pool, object } => Some((Arc::clone(pool), Arc::clone(object))),
                    Home::Process => None,
                },
                running,
                result,
                samples,
            ));
        }
        self.retired.retain(|i| i.running.is_some());
        for (check, index, id, object, running, result, samples) in finished {
            let since_start = running.started.get().map_or(Duration::ZERO, |s| s.elapsed());
            let (status, errors, warnings, duration) = match result {
                Finished::Job(Ok((outcome, took))) => {
                    (status_of(outcome.is_ok()), outcome.errors, outcome.warnings, took)
                }
                Finished::Job(Err(JobError::TimedOut)) => {
                    if let Some((pool, object)) = object {
                        self.cancel_object(&pool, object);
                    }
                    let msg = format!(
                        "the run passed the check timeout ({:?}) (pyhost.JobTimeout raised in it); cancel() was called",
                        self.opts.check_timeout
                    );
                    (RunStatus::TimedOut, error_value(&msg), Vec::new(), since_start)
                }
                Finished::Job(Err(JobError::Cancelled)) => (
                    RunStatus::Cancelled,
                    error_value("the run was cancelled"),
                    Vec::new(),
                    since_start,
                ),
                Finished::Job(Err(e)) => (RunStatus::Error, error_value(&e.to_string()), Vec::new(), since_start),
                Finished::Remote(Ok(o)) => (status_of(o.result.is_empty()), o.errors, o.warnings, o.duration),
                // The worker process's slot already cancelled it (and ended
                // the worker if it did not stop): the message says which.
                Finished::Remote(Err(RemoteError::TimedOut(msg))) => (
                    RunStatus::TimedOut,
                    error_value(&msg),
                    Vec::new(),
                    self.opts.check_timeout,
                ),
                Finished::Remote(Err(RemoteError::Died(msg) | RemoteError::NotRun(msg))) => {
                    (RunStatus::Error, error_value(&msg), Vec::new(), Duration::ZERO)
                }
            };
            let report = RunReport {
                check,
                instance: index,
                check_id: id.clone(),
                run: running.run,
                status,
                errors,
                warnings,
                duration,
                samples,
            };
            emit(&mut self.sinks, &Report::Run(&report));
            if self.opts.limit.is_some_and(|l| l.flush_each_run) {
                self.flush_one(&id);
            }
        }
    }

    /// rtloader's `cancel_check`, as a job (it must not block; bounded by
    /// the timeout). Fire and forget: a failing `cancel()` has nothing left to affect.
    ///
    /// A check in its own interpreter has one worker, which may be the one
    /// stuck in the run being cancelled: `cancel()` then enters the
    /// interpreter from a thread of its own, as rtloader calls it from
    /// another goroutine while `run()` blocks.
    pub(super) fn cancel_object(&self, pool: &Arc<WorkerPool>, object: Arc<Py>) {
        if !Arc::ptr_eq(pool, &self.pool) {
            let pool = Arc::clone(pool);
            let _ = std::thread::Builder::new()
                .name("pyhost-cancel".into())
                .spawn(move || pool.enter(0, move |py| cancel_check(object.bind(py))));
            return;
        }
        if let Ok(h) = submit(pool, self.opts.check_timeout, move |py| cancel_check(object.bind(py))) {
            drop(h);
        }
    }
}

fn status_of(ok: bool) -> RunStatus {
    if ok {
        RunStatus::Ok
    } else {
        RunStatus::Error
    }
}

/// One error without a traceback.
fn error_value(message: &str) -> Value {
    error_list(message, None)
}
