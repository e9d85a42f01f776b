//! The agent's scheduler: every configured check instance run on a
//! [`WorkerPool`] at its interval, with per-run timeouts, hot reload of
//! changed check code or configuration, and the aggregator flushed to the
//! [`sinks`] on the Agent's flush cycle. The engine of `agent/src/bin/pyhost/`
//! (usage and semantics in `docs/agent.md`).
//!
//! * **Event-driven**: the loop sleeps on a channel until the next thing it
//!   has to do (an instance due, the reload tick, a flush, `--duration`'s
//!   end) or until something wakes it: a run finishing (each run's
//!   [`JobHandle`] is polled as a future with a waker that sends on the
//!   channel, so the pool's own completion signal wakes the loop, timeouts
//!   included) or a [`SchedulerWaker`] (signals). No fixed-period polling:
//!   an idle agent wakes for its reload tick (once a second) and its
//!   flushes.
//! * **Loading** follows rtloader ([`check`](super::check)): find the
//!   class, instantiate one check object per instance. Loads run as pool
//!   jobs under the check timeout, so a module that hangs at import is
//!   reported and does not hang the host. A check that fails to load is
//!   reported (and again every interval) and the others run. The system
//!   checks shipped with the agent ([`crate::system`]) are configured by
//!   their default configuration unless the configuration directory has one.
//! * **Scheduling**: an instance runs every `min_collection_interval`
//!   seconds (the instance's value, else `init_config`'s, else the
//!   default), first at start-up. Any worker may run it, but never two runs
//!   of one instance at once: while a run (or a timed-out run still
//!   executing on an abandoned worker) is in progress, its ticks are skipped
//!   and reported. A run's duration is measured on the worker, around `run()`.
//! * **Timeouts**: each run is a job with [`JobOptions::timeout`]; one that
//!   passes it is reported as `timeout`, the pool raises `pyhost.JobTimeout`
//!   in it (and replaces the worker if it is stuck in C), and the check's
//!   `cancel()` is called.
//! * **Hot reload**: every `poll_interval` the check's file
//!   (`<checks-dir>/<name>.py`) and configuration files are compared by
//!   modification time and size; on a change the check's modules are removed
//!   from `sys.modules`, imported afresh, and its instances re-created
//!   (the old ones get `cancel()`). Checks whose configuration appears or
//!   disappears are loaded or unscheduled.
//! * **Flush**: once as soon as every instance has run at start-up (so the
//!   first figures come at once), then every `flush_interval` from there,
//!   the aggregator is flushed for every check id: counts are summed over the
//!   runs of the interval, gauges keep the last value, rates use the last
//!   two samples. With [`RunLimit`] the flush happens after the last run
//!   (or after each run: `check`). Stopping flushes what is pending.
//!
//! The parts: `load` (configuration, loading and reloading), `runs`
//! (launching and collecting runs), `wake` (the channel and its wakers).

mod load;
mod runs;
mod wake;

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::aggregator::now_secs;
use super::host::AgentHost;
use super::isolation::Isolation;
use super::process::ProcessPool;
use super::sinks::{FlushEntry, FlushReport, Report, Sink};
use pyhost::worker::ShutdownMode;
use pyhost::{JobHandle, JobOptions, WorkerPool};

use load::CheckEntry;
use runs::Instance;
pub use wake::SchedulerWaker;

/// The Agent's default `min_collection_interval`.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(15);

/// The Agent's flush interval.
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_secs(15);

/// A fixed number of runs per instance instead of running until stopped:
/// `--once` and the `check` command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunLimit {
    /// Runs per instance (at least 1).
    pub times: u32,
    /// The pause between two runs of an instance.
    pub delay: Duration,
    /// Flush each instance after each of its runs (the Agent's check
    /// sampler commits after every run), instead of once at the end.
    pub flush_each_run: bool,
}

impl RunLimit {
    /// One run each, flushed at the end: `--once`.
    pub fn once() -> RunLimit {
        RunLimit {
            times: 1,
            delay: Duration::ZERO,
            flush_each_run: false,
        }
    }
}

/// What the scheduler runs and how.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// `conf.d`: `<name>.d/*.yaml` (or `<name>.yaml`) per check.
    pub conf_dir: PathBuf,
    /// `checks.d`: `<name>.py` per custom check (already on `sys.path`).
    pub checks_dir: PathBuf,
    /// A run (or a load) longer than this is timed out.
    pub check_timeout: Duration,
    /// The interval of instances that set none.
    pub default_interval: Duration,
    /// How often the files are checked for changes.
    pub poll_interval: Duration,
    /// How often the aggregator is flushed to the outputs.
    pub flush_interval: Duration,
    /// Run every instance this many times, then stop (`None`: until stopped).
    pub limit: Option<RunLimit>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Where checks run (see [`crate::isolation`]).
    pub isolation: Isolation,
    /// Load only this check (the `check` command).
    pub only: Option<String>,
    /// Run the system checks shipped with the agent ([`crate::system`])
    /// with their default configuration when the configuration directory
    /// has none for them.
    pub system_checks: bool,
}

impl SchedulerOptions {
    /// The defaults: 30 s check timeout, 15 s interval, 1 s polling, 15 s
    /// flushes, the system checks on, run until stopped.
    pub fn new(conf_dir: impl Into<PathBuf>, checks_dir: impl Into<PathBuf>) -> SchedulerOptions {
        SchedulerOptions {
            conf_dir: conf_dir.into(),
            checks_dir: checks_dir.into(),
            check_timeout: Duration::from_secs(30),
            default_interval: DEFAULT_INTERVAL,
            poll_interval: Duration::from_secs(1),
            flush_interval: DEFAULT_FLUSH_INTERVAL,
            limit: None,
            duration: None,
            isolation: Isolation::best_for_build(),
            only: None,
            system_checks: true,
        }
    }
}

/// Which check and instance a check id belongs to, for the flushes.
#[derive(Debug, Clone)]
struct IdOwner {
    check: String,
    instance: usize,
    run: u64,
}

/// Runs check instances on a worker pool; see the module docs.
pub struct Scheduler {
    opts: SchedulerOptions,
    host: Arc<AgentHost>,
    /// The shared pool (the main interpreter).
    pool: Arc<WorkerPool>,
    sinks: Vec<Box<dyn Sink>>,
    checks: BTreeMap<String, CheckEntry>,
    /// Instances replaced by a reload or unscheduled, whose last run is
    /// still to be reported.
    retired: Vec<Instance>,
    /// Every check id that may have something to flush.
    ids: HashMap<String, IdOwner>,
    wake: wake::Channel,
    /// The worker processes, with `--isolation process`.
    procs: Option<ProcessPool>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("opts", &self.opts)
            .field("checks", &self.checks.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn emit(sinks: &mut [Box<dyn Sink>], report: &Report<'_>) {
    for s in sinks.iter_mut() {
        if let Err(e) = s.report(report) {
            eprintln!("ERROR    pyhost: output failed: {e}");
        }
    }
}

/// The earlier of two optional instants.
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl Scheduler {
    /// A scheduler over `pool`, reporting to `sinks`. The interpreter must be
    /// running with the built-in modules and `checks` package installed,
    /// and `host` installed as the process's host.
    pub fn new(opts: SchedulerOptions, host: Arc<AgentHost>, pool: WorkerPool, sinks: Vec<Box<dyn Sink>>) -> Scheduler {
        Scheduler {
            opts,
            host,
            pool: Arc::new(pool),
            sinks,
            checks: BTreeMap::new(),
            retired: Vec::new(),
            ids: HashMap::new(),
            wake: wake::Channel::new(),
            procs: None,
        }
    }

    /// Run the checks in these worker processes instead of in this process
    /// (`--isolation process`; see [`crate::process`]). The shared pool then
    /// only serves the scheduler's own Python needs.
    pub fn with_processes(mut self, procs: ProcessPool) -> Scheduler {
        self.procs = Some(procs);
        self
    }

    /// A handle that wakes [`run`](Self::run) from another thread (or a
    /// signal-handling thread), so it sees its stop flag at once.
    pub fn waker(&self) -> SchedulerWaker {
        self.wake.waker()
    }

    /// Load every configured check, then run until `stop` is set (wake the
    /// loop with [`waker`](Self::waker) after setting it), the duration has
    /// passed, or (with a [`RunLimit`]) every instance has run its runs.
    /// Running jobs are then drained (each is bounded by the check
    /// timeout), what is pending flushed, and the pools shut down. Fails
    /// only if the configuration directory cannot be read at start-up.
    pub fn run(&mut self, stop: &AtomicBool) -> io::Result<()> {
        let started = Instant::now();
        let names = self.check_names()?;
        if names.is_empty() {
            eprintln!(
                "WARN     pyhost: no check configured under {}",
                self.opts.conf_dir.display()
            );
        }
        for name in names {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            self.load(&name, false);
        }
        let deadline = self.opts.duration.map(|d| started + d);
        let continuous = self.opts.limit.is_none();
        let mut next_poll = continuous.then(|| Instant::now() + self.opts.poll_interval);
        let mut next_flush = continuous.then(|| started + self.opts.flush_interval);
        // The first flush comes as soon as every instance has run once.
        let mut startup_flush = continuous;
        loop {
            self.collect();
            if stop.load(Ordering::Relaxed) || deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            if !continuous && self.all_runs_done() {
                break;
            }
            self.launch_due();
            let now = Instant::now();
            if startup_flush && self.startup_runs_done() {
                startup_flush = false;
                self.flush();
                // The cycle starts here: instances that started together
                // are flushed just after each of their runs, not before.
                next_flush = Some(Instant::now() + self.opts.flush_interval);
            }
            if let Some(at) = next_flush.filter(|t| now >= *t) {
                startup_flush = false;
                self.flush();
                let every = self.opts.flush_interval;
                let mut next = at + every;
                while next <= now {
                    next += every; // missed flushes are not made up
                }
                next_flush = Some(next);
            }
            if continuous {
                self.report_broken();
            }
            if next_poll.is_some_and(|t| now >= t) {
                self.poll_changes();
                next_poll = Some(Instant::now() + self.opts.poll_interval);
            }
            let until = [
                self.next_due(),
                next_poll,
                next_flush,
                deadline,
                self.next_broken_report(),
            ]
            .into_iter()
            .fold(None, earliest);
            self.sleep_until(until);
        }
        self.drain();
        self.flush();
        self.shut_down_pools();
        Ok(())
    }

    /// Sleep until `until` (forever if `None`) or until woken; then take
    /// every other pending wake-up too (one pass handles them all).
    fn sleep_until(&self, until: Option<Instant>) {
        let got = match until {
            None => self.wake.rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(t) => {
                let left = t.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return;
                }
                self.wake.rx.recv_timeout(left)
            }
        };
        if got.is_ok() {
            while self.wake.rx.try_recv().is_ok() {}
        }
    }

    /// Wait for every running job (each ends by its timeout at the latest),
    /// reporting them. Workers stuck in C are left behind after a few seconds.
    fn drain(&mut self) {
        let limit = Instant::now() + self.opts.check_timeout + Duration::from_secs(2);
        loop {
            self.collect();
            if !self.any_running() || Instant::now() >= limit {
                break;
            }
            self.sleep_until(Some(limit));
        }
    }

    fn shut_down_pools(&mut self) {
        let own: Vec<Arc<WorkerPool>> = self.checks.values_mut().filter_map(|c| c.own.take()).collect();
        let mut all_joined = own
            .iter()
            .all(|p| p.shutdown_timeout(ShutdownMode::Drain, Duration::from_secs(2)));
        all_joined &= self.pool.shutdown_timeout(ShutdownMode::Drain, Duration::from_secs(2));
        // Closes the workers' input; each finishes and exits.
        drop(self.procs.take());
        if !all_joined {
            eprintln!("WARN     pyhost: some workers are still stuck in a check; exiting without them");
        }
    }

    fn instances(&self) -> impl Iterator<Item = &Instance> {
        self.checks.values().flat_map(|c| c.instances.iter())
    }

    fn any_running(&self) -> bool {
        self.instances().chain(self.retired.iter()).any(|i| i.running.is_some())
    }

    /// Every instance has run at least once and nothing is running.
    fn startup_runs_done(&self) -> bool {
        !self.any_running() && self.instances().all(|i| i.runs > 0)
    }

    /// With a [`RunLimit`]: every instance has done its runs and nothing runs.
    fn all_runs_done(&self) -> bool {
        let times = self.opts.limit.map_or(u64::MAX, |l| l.times as u64);
        !self.any_running() && self.instances().all(|i| i.runs >= times)
    }

    /// When the next instance is due (none while all are running or done).
    fn next_due(&self) -> Option<Instant> {
        let times = self.opts.limit.map_or(u64::MAX, |l| l.times as u64);
        self.instances()
            .filter(|i| i.runs < times && (self.opts.limit.is_none() || i.running.is_none()))
            .map(|i| i.next_due)
            .min()
    }

    /// Flush the aggregator for every check id and report what it held.
    fn flush(&mut self) {
        let timestamp = now_secs();
        let entries = self.host.aggregator.flush_all(timestamp);
        self.report_flush(timestamp, entries);
        // Check ids no instance owns any more had their last flush.
        let owned: Vec<&str> = self
            .instances()
            .chain(self.retired.iter())
            .map(|i| i.id.as_str())
            .collect();
        let stale: Vec<String> = self
            .ids
            .keys()
            .filter(|id| !owned.contains(&id.as_str()))
            .cloned()
            .collect();
        for id in stale {
            self.ids.remove(&id);
            self.host.aggregator.remove_check(&id);
        }
        for inst in self.instances_mut() {
            inst.samples_seen = 0;
        }
    }

    /// Flush one check id (after a run, with [`RunLimit::flush_each_run`]).
    fn flush_one(&mut self, id: &str) {
        let timestamp = now_secs();
        let flush = self.host.aggregator.flush(id, timestamp);
        self.report_flush(timestamp, vec![(id.to_string(), flush)]);
        for inst in self.instances_mut().filter(|i| i.id == id) {
            inst.samples_seen = 0;
        }
    }

    fn report_flush(&mut self, timestamp: f64, flushes: Vec<(String, crate::aggregator::Flush)>) {
        let mut report = FlushReport {
            timestamp,
            entries: Vec::new(),
        };
        for (check_id, flush) in flushes {
            if flush.series.is_empty()
                && flush.buckets.is_empty()
                && flush.service_checks.is_empty()
                && flush.events.is_empty()
            {
                continue;
            }
            let owner = self.ids.get(&check_id).cloned().unwrap_or_else(|| IdOwner {
                check: check_id.split(':').next().unwrap_or("").to_string(),
                instance: 0,
                run: 0,
            });
            report.entries.push(FlushEntry {
                check: owner.check,
                instance: owner.instance,
                check_id,
                run: owner.run,
                flush,
            });
        }
        if !report.entries.is_empty() {
            emit(&mut self.sinks, &Report::Flush(&report));
        }
    }

    fn instances_mut(&mut self) -> impl Iterator<Item = &mut Instance> {
        self.checks
            .values_mut()
            .flat_map(|c| c.instances.iter_mut())
            .chain(self.retired.iter_mut())
    }
}

/// Submit `job` to `pool` with the check timeout.
fn submit<R, F>(pool: &WorkerPool, timeout: Duration, job: F) -> Result<JobHandle<R>, pyhost::JobError>
where
    R: Send + 'static,
    F: for<'py> FnOnce(pyhost::Python<'py>) -> pyhost::Result<R> + Send + 'static,
{
    pool.try_submit_with(JobOptions::new().timeout(timeout), job)
}
