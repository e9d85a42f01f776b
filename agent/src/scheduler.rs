//! The agent's scheduler: every configured check instance run on a
//! [`WorkerPool`] at its interval, with per-run timeouts, hot reload of
//! changed check code or configuration, and each run's aggregated flush
//! handed to the [`sinks`]. The engine of `agent/src/bin/pyhost/`
//! (usage and semantics in `docs/agent.md`).
//!
//! * **Loading** follows rtloader ([`check`](super::check)): find the
//!   class, instantiate one check object per instance. Loads run as pool
//!   jobs under the check timeout, so a module that hangs at import is
//!   reported and does not hang the host. A check that fails to load is
//!   reported (and again every interval) and the others run.
//! * **Scheduling**: an instance runs every `min_collection_interval`
//!   seconds (the instance's value, else `init_config`'s, else 15 s), first
//!   at start-up. Any worker may run it, but never two runs of one
//!   instance at once: while a run (or a timed-out run still executing on
//!   an abandoned worker) is in progress, its ticks are skipped and reported.
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
//! * **Flush**: after each run, [`Aggregator::flush`](super::aggregator::Aggregator::flush)
//!   for the instance's check id.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::aggregator::now_secs;
use super::check::{
    cancel_check, check_id, error_list, instantiate, load_check_class, run_check, LoadError, RunOutcome,
};
use super::config::{check_config_files, discover_check_names, load_check_configs, CheckConfig};
use super::containment::RunScope;
use super::host::AgentHost;
use super::isolation::{self, Isolation};
use super::sinks::{self, LoadFailure, Report, RunReport, RunStatus, Sink, Skipped};
use super::value::Value;
use pyhost::worker::ShutdownMode;
use pyhost::{JobError, JobHandle, JobOptions, Py, Python, WorkerPool};

/// The Agent's default `min_collection_interval`.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(15);

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
    /// Run every instance once, then stop.
    pub once: bool,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Where checks run (see [`crate::isolation`]).
    pub isolation: Isolation,
}

impl SchedulerOptions {
    /// The defaults: 30 s check timeout, 15 s interval, 1 s polling, run until stopped.
    pub fn new(conf_dir: impl Into<PathBuf>, checks_dir: impl Into<PathBuf>) -> SchedulerOptions {
        SchedulerOptions {
            conf_dir: conf_dir.into(),
            checks_dir: checks_dir.into(),
            check_timeout: Duration::from_secs(30),
            default_interval: DEFAULT_INTERVAL,
            poll_interval: Duration::from_secs(1),
            once: false,
            duration: None,
            isolation: Isolation::best_for_build(),
        }
    }
}

/// What the files of a check looked like: (path, modification time and size).
type Stamp = Vec<(PathBuf, Option<(SystemTime, u64)>)>;

fn stamp(conf_dir: &Path, checks_dir: &Path, name: &str) -> Stamp {
    let mut files = vec![checks_dir.join(format!("{name}.py"))];
    files.extend(check_config_files(conf_dir, name).unwrap_or_default());
    files
        .into_iter()
        .map(|p| {
            let meta = std::fs::metadata(&p)
                .ok()
                .and_then(|m| Some((m.modified().ok()?, m.len())));
            (p, meta)
        })
        .collect()
}

/// Clears an instance's busy flag when the run's closure ends: after it
/// returns, or when it is dropped without running.
struct BusyGuard(Arc<AtomicBool>);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

struct Running {
    handle: JobHandle<RunOutcome>,
    started: Instant,
    run: u64,
}

struct Instance {
    check: String,
    /// Where this instance's check lives (its own interpreter, or the shared pool).
    pool: Arc<WorkerPool>,
    index: usize,
    id: String,
    object: Arc<Py>,
    interval: Duration,
    next_due: Instant,
    runs: u64,
    /// True while Python may be executing a run (also after a timeout,
    /// until the abandoned run returns).
    busy: Arc<AtomicBool>,
    running: Option<Running>,
}

struct CheckEntry {
    stamp: Stamp,
    /// The check's own interpreter, if it has one (kept across reloads).
    own: Option<Arc<WorkerPool>>,
    instances: Vec<Instance>,
    /// The load error, while the check cannot run, and when to report it again.
    broken: Option<(LoadError, Instant, Duration)>,
}

/// One instance created by a load job: its check id, object and interval.
type NewInstance = (String, Py, Duration);

/// What a load job produces.
struct Loaded {
    module: Result<String, LoadError>,
    instances: Vec<(usize, Result<NewInstance, LoadError>)>,
}

fn interval_of(instance: &Value, init_config: &Value, default: Duration) -> Duration {
    let secs = |v: &Value| {
        v.get("min_collection_interval")
            .and_then(Value::as_f64)
            .filter(|s| s.is_finite() && *s > 0.0)
    };
    secs(instance)
        .or_else(|| secs(init_config))
        .map_or(default, Duration::from_secs_f64)
}

/// Remove a check's modules from `sys.modules` and invalidate the import
/// caches, so the next import reads the files again.
fn forget_modules(py: Python<'_>, name: &str) -> pyhost::Result<()> {
    // The name is passed as a variable, never pasted into the source.
    let globals = py.new_globals()?;
    globals.set_item("_n", name)?;
    py.run(
        "import sys, importlib\n\
         for _k in [k for k in list(sys.modules) if k in (_n, 'datadog_checks.' + _n) \
         or k.startswith(_n + '.') or k.startswith('datadog_checks.' + _n + '.')]:\n    \
         del sys.modules[_k]\n\
         importlib.invalidate_caches()\n",
        Some(&globals),
        None,
    )
}

fn load_in_python(py: Python<'_>, name: &str, configs: &[CheckConfig], fresh: bool, default: Duration) -> Loaded {
    if fresh {
        if let Err(e) = forget_modules(py, name) {
            let err = LoadError {
                message: format!("could not unload module '{name}': {e}"),
                traceback: None,
            };
            return Loaded {
                module: Err(err),
                instances: Vec::new(),
            };
        }
    }
    let class = match load_check_class(py, name) {
        Ok(c) => c,
        Err(e) => {
            return Loaded {
                module: Err(e),
                instances: Vec::new(),
            }
        }
    };
    let mut instances = Vec::new();
    let mut index = 0;
    for config in configs {
        for instance in &config.instances {
            let id = check_id(name, instance, &config.init_config);
            let r = instantiate(py, &class, &config.init_config, instance, &id)
                .map(|obj| (id, obj.unbind(), interval_of(instance, &config.init_config, default)));
            instances.push((index, r));
            index += 1;
        }
    }
    Loaded {
        module: Ok(class.module_name.clone()),
        instances,
    }
}

fn emit(sinks: &mut [Box<dyn Sink>], report: &Report<'_>) {
    for s in sinks.iter_mut() {
        if let Err(e) = s.report(report) {
            eprintln!("ERROR    pyhost: output failed: {e}");
        }
    }
}

/// One error without a traceback.
fn error_value(message: &str) -> Value {
    error_list(message, None)
}

/// End a check's own interpreter on another thread (its pool's shutdown
/// waits for the thread to end the interpreter).
fn shut_down_later(pool: Arc<WorkerPool>) {
    let _ = std::thread::Builder::new()
        .name("pyhost-interp-end".into())
        .spawn(move || drop(pool));
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
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("opts", &self.opts)
            .field("checks", &self.checks.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
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
        }
    }

    /// Load every configured check, then run until `stop` is set, the
    /// duration has passed, or (with `once`) every instance has run once.
    /// Running jobs are then drained (each is bounded by the check timeout)
    /// and the pool shut down. Fails only if the configuration directory
    /// cannot be read at start-up.
    pub fn run(&mut self, stop: &AtomicBool) -> io::Result<()> {
        let started = Instant::now();
        let names = discover_check_names(&self.opts.conf_dir)?;
        if names.is_empty() {
            eprintln!(
                "WARN     pyhost: no check configured under {}",
                self.opts.conf_dir.display()
            );
        }
        for name in names {
            self.load(&name, false);
        }
        if self.opts.once {
            let now = Instant::now();
            for inst in self.checks.values_mut().flat_map(|c| c.instances.iter_mut()) {
                inst.next_due = now;
            }
            self.launch_due();
        } else {
            let deadline = self.opts.duration.map(|d| started + d);
            let mut next_poll = Instant::now() + self.opts.poll_interval;
            loop {
                if stop.load(Ordering::Relaxed) || deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                self.collect();
                self.launch_due();
                self.report_broken();
                if Instant::now() >= next_poll {
                    self.poll_changes();
                    next_poll = Instant::now() + self.opts.poll_interval;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        self.drain();
        Ok(())
    }

    /// Wait for every running job (each ends by its timeout at the latest),
    /// reporting them, then shut the pool down. Workers stuck in C are left
    /// behind after a few seconds.
    fn drain(&mut self) {
        let limit = Instant::now() + self.opts.check_timeout + Duration::from_secs(2);
        while self.any_running() && Instant::now() < limit {
            self.collect();
            std::thread::sleep(Duration::from_millis(10));
        }
        self.collect();
        let own: Vec<Arc<WorkerPool>> = self.checks.values_mut().filter_map(|c| c.own.take()).collect();
        let mut all_joined = own
            .iter()
            .all(|p| p.shutdown_timeout(ShutdownMode::Drain, Duration::from_secs(2)));
        all_joined &= self.pool.shutdown_timeout(ShutdownMode::Drain, Duration::from_secs(2));
        if !all_joined {
            eprintln!("WARN     pyhost: some workers are still stuck in a check; exiting without them");
        }
    }

    fn any_running(&self) -> bool {
        self.checks
            .values()
            .flat_map(|c| c.instances.iter())
            .chain(self.retired.iter())
            .any(|i| i.running.is_some())
    }

    /// Load (or reload) check `name` from its configuration.
    fn load(&mut self, name: &str, reload: bool) {
        let stamp = stamp(&self.opts.conf_dir, &self.opts.checks_dir, name);
        let mut own = None;
        if let Some(mut old) = self.checks.remove(name) {
            own = old.own.take();
            self.retire(old.instances);
        }
        let mut entry = CheckEntry {
            stamp,
            own,
            instances: Vec::new(),
            broken: None,
        };
        let configs = match load_check_configs(&self.opts.conf_dir, name) {
            Ok(c) => c,
            Err(e) => {
                let err = LoadError {
                    message: format!("invalid configuration: {e}"),
                    traceback: None,
                };
                self.mark_broken(name, &mut entry, err, reload, self.opts.default_interval);
                self.checks.insert(name.to_string(), entry);
                return;
            }
        };
        let default = self.opts.default_interval;
        let first_interval = configs
            .iter()
            .flat_map(|c| c.instances.iter().map(move |i| interval_of(i, &c.init_config, default)))
            .next()
            .unwrap_or(default);
        let mut fallback = None;
        if self.opts.isolation == Isolation::Subinterpreter && entry.own.is_none() {
            match isolation::own_interpreter(name, self.opts.check_timeout) {
                Ok(pool) => entry.own = Some(Arc::new(pool)),
                Err(e) => fallback = Some(format!("no sub-interpreter could be created: {e}")),
            }
        }
        let mut result = self.load_job(entry.own.as_deref(), name, &configs, reload);
        if let (Ok(l), Some(_)) = (&result, &entry.own) {
            if let Err(e) = &l.module {
                if isolation::refuses_subinterpreters(e) {
                    // Something the check imports cannot live in a
                    // sub-interpreter: run it in the main one, for good.
                    fallback = Some(e.message.clone());
                    if let Some(pool) = entry.own.take() {
                        shut_down_later(pool);
                    }
                    result = self.load_job(None, name, &configs, reload);
                }
            }
        }
        let pool = entry.own.clone().unwrap_or_else(|| Arc::clone(&self.pool));
        let interpreter = if entry.own.is_some() { "subinterpreter" } else { "main" };
        let loaded = match result {
            Ok(l) => l,
            Err(e) => {
                let message = match e {
                    JobError::TimedOut => {
                        format!("loading timed out after {:?}", self.opts.check_timeout)
                    }
                    e => format!("loading failed: {e}"),
                };
                let err = LoadError {
                    message,
                    traceback: None,
                };
                self.mark_broken(name, &mut entry, err, reload, first_interval);
                self.checks.insert(name.to_string(), entry);
                return;
            }
        };
        match loaded.module {
            Err(err) => self.mark_broken(name, &mut entry, err, reload, first_interval),
            Ok(module) => {
                let now = Instant::now();
                let mut failed = Vec::new();
                for (index, r) in loaded.instances {
                    match r {
                        Ok((id, object, interval)) => entry.instances.push(Instance {
                            check: name.to_string(),
                            pool: Arc::clone(&pool),
                            index,
                            id,
                            object: Arc::new(object),
                            interval,
                            next_due: now,
                            runs: 0,
                            busy: Arc::new(AtomicBool::new(false)),
                            running: None,
                        }),
                        Err(e) => failed.push((index, e)),
                    }
                }
                let report = Report::Loaded(sinks::Loaded {
                    check: name,
                    module: &module,
                    instances: entry.instances.len(),
                    reload,
                    interpreter,
                    fallback: fallback.as_deref(),
                });
                emit(&mut self.sinks, &report);
                for (index, e) in &failed {
                    let report = Report::LoadError(LoadFailure {
                        check: name,
                        instance: Some(*index),
                        error: e,
                        reload,
                    });
                    emit(&mut self.sinks, &report);
                }
            }
        }
        self.checks.insert(name.to_string(), entry);
    }

    /// Run a check's load job in its own interpreter (`own`), or on the
    /// shared pool, bounded by the check timeout.
    fn load_job(
        &self,
        own: Option<&WorkerPool>,
        name: &str,
        configs: &[CheckConfig],
        reload: bool,
    ) -> Result<Loaded, JobError> {
        let (job_name, configs, default) = (name.to_string(), configs.to_vec(), self.opts.default_interval);
        own.unwrap_or(&self.pool)
            .submit_with(JobOptions::new().timeout(self.opts.check_timeout), move |py| {
                let _scope = RunScope::load(&job_name);
                Ok(load_in_python(py, &job_name, &configs, reload, default))
            })
            .and_then(JobHandle::wait)
    }

    fn mark_broken(&mut self, name: &str, entry: &mut CheckEntry, err: LoadError, reload: bool, every: Duration) {
        emit(
            &mut self.sinks,
            &Report::LoadError(LoadFailure {
                check: name,
                instance: None,
                error: &err,
                reload,
            }),
        );
        entry.broken = Some((err, Instant::now() + every, every));
    }

    /// Keep reporting checks that cannot load, once per interval.
    fn report_broken(&mut self) {
        let now = Instant::now();
        for (name, entry) in self.checks.iter_mut() {
            if let Some((err, next, every)) = &mut entry.broken {
                if now >= *next {
                    *next = now + *every;
                    emit(
                        &mut self.sinks,
                        &Report::LoadError(LoadFailure {
                            check: name,
                            instance: None,
                            error: err,
                            reload: false,
                        }),
                    );
                }
            }
        }
    }

    /// Call `cancel()` on replaced instances and keep those still running
    /// until their run is reported.
    fn retire(&mut self, instances: Vec<Instance>) {
        for inst in instances {
            self.cancel_object(&inst.pool, Arc::clone(&inst.object));
            if inst.running.is_some() {
                self.retired.push(inst);
            }
        }
    }

    /// Start every instance whose tick has come, skipping (and reporting)
    /// those whose previous run is still going.
    fn launch_due(&mut self) {
        let now = Instant::now();
        let timeout = self.opts.check_timeout;
        for entry in self.checks.values_mut() {
            for inst in entry.instances.iter_mut() {
                if now < inst.next_due {
                    continue;
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
                inst.busy.store(true, Ordering::Release);
                let guard = BusyGuard(Arc::clone(&inst.busy));
                let object = Arc::clone(&inst.object);
                let (check, index, id) = (inst.check.clone(), inst.index, inst.id.clone());
                let job = move |py: Python<'_>| {
                    let _guard = guard;
                    let _scope = RunScope::run(&check, index, &id);
                    Ok(run_check(object.bind(py)))
                };
                inst.runs += 1;
                let started = Instant::now();
                match inst.pool.try_submit_with(JobOptions::new().timeout(timeout), job) {
                    Ok(handle) => {
                        inst.running = Some(Running {
                            handle,
                            started,
                            run: inst.runs,
                        })
                    }
                    Err(e) => {
                        let flush = self.host.aggregator.flush(&inst.id, now_secs());
                        let report = RunReport {
                            check: inst.check.clone(),
                            instance: inst.index,
                            check_id: inst.id.clone(),
                            run: inst.runs,
                            status: RunStatus::Error,
                            errors: error_value(&format!("could not start the run: {e}")),
                            warnings: Vec::new(),
                            duration: Duration::ZERO,
                            flush,
                        };
                        emit(&mut self.sinks, &Report::Run(&report));
                    }
                }
            }
        }
    }

    /// Report every finished run with its flush.
    fn collect(&mut self) {
        let mut finished = Vec::new();
        for inst in self
            .checks
            .values_mut()
            .flat_map(|c| c.instances.iter_mut())
            .chain(self.retired.iter_mut())
        {
            if inst.running.as_ref().is_some_and(|r| r.handle.is_finished()) {
                let running = inst.running.take().expect("checked above");
                finished.push((
                    inst.check.clone(),
                    inst.index,
                    inst.id.clone(),
                    (Arc::clone(&inst.pool), Arc::clone(&inst.object)),
                    running,
                ));
            }
        }
        self.retired.retain(|i| i.running.is_some());
        for (check, index, id, object, running) in finished {
            let duration = running.started.elapsed();
            let (status, errors, warnings) = match running.handle.wait() {
                Ok(outcome) => {
                    let status = if outcome.is_ok() {
                        RunStatus::Ok
                    } else {
                        RunStatus::Error
                    };
                    (status, outcome.errors, outcome.warnings)
                }
                Err(JobError::TimedOut) => {
                    self.cancel_object(&object.0, object.1);
                    let msg = format!(
                        "the run passed the check timeout ({:?}) (pyhost.JobTimeout raised in it); cancel() was called",
                        self.opts.check_timeout
                    );
                    (RunStatus::TimedOut, error_value(&msg), Vec::new())
                }
                Err(JobError::Cancelled) => (RunStatus::Cancelled, error_value("the run was cancelled"), Vec::new()),
                Err(e) => (RunStatus::Error, error_value(&e.to_string()), Vec::new()),
            };
            let flush = self.host.aggregator.flush(&id, now_secs());
            let report = RunReport {
                check,
                instance: index,
                check_id: id,
                run: running.run,
                status,
                errors,
                warnings,
                duration,
                flush,
            };
            emit(&mut self.sinks, &Report::Run(&report));
        }
    }

    /// rtloader's `cancel_check`, as a job (it must not block; bounded by
    /// the timeout). Fire and forget: a failing `cancel()` has nothing left to affect.
    ///
    /// A check in its own interpreter has one worker, which may be the one
    /// stuck in the run being cancelled: `cancel()` then enters the
    /// interpreter from a thread of its own, as rtloader calls it from
    /// another goroutine while `run()` blocks.
    fn cancel_object(&self, pool: &Arc<WorkerPool>, object: Arc<Py>) {
        if !Arc::ptr_eq(pool, &self.pool) {
            let pool = Arc::clone(pool);
            let _ = std::thread::Builder::new()
                .name("pyhost-cancel".into())
                .spawn(move || pool.enter(0, move |py| cancel_check(object.bind(py))));
            return;
        }
        let opts = JobOptions::new().timeout(self.opts.check_timeout);
        if let Ok(h) = pool.try_submit_with(opts, move |py| cancel_check(object.bind(py))) {
            drop(h);
        }
    }

    /// Reload changed checks, load new ones, unschedule removed ones.
    fn poll_changes(&mut self) {
        let Ok(names) = discover_check_names(&self.opts.conf_dir) else {
            return;
        };
        let gone: Vec<String> = self.checks.keys().filter(|k| !names.contains(k)).cloned().collect();
        for name in gone {
            if let Some(mut entry) = self.checks.remove(&name) {
                // Its interpreter ends once the last run in it is reported.
                drop(entry.own.take());
                self.retire(entry.instances);
                emit(&mut self.sinks, &Report::Unloaded { check: &name });
            }
        }
        for name in names {
            match self.checks.get(&name) {
                None => self.load(&name, false),
                Some(entry) => {
                    if entry.stamp != stamp(&self.opts.conf_dir, &self.opts.checks_dir, &name) {
                        self.load(&name, true);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_precedence() {
        let mut inst = Value::object();
        let mut init = Value::object();
        let d = DEFAULT_INTERVAL;
        assert_eq!(interval_of(&inst, &Value::Null, d), d);
        init.insert("min_collection_interval", 30i64);
        assert_eq!(interval_of(&inst, &init, d), Duration::from_secs(30));
        inst.insert("min_collection_interval", 1.5);
        assert_eq!(interval_of(&inst, &init, d), Duration::from_millis(1500));
        inst.insert("min_collection_interval", 0i64);
        assert_eq!(
            interval_of(&inst, &init, d),
            Duration::from_secs(30),
            "0 is not an interval"
        );
    }

    #[test]
    fn stamp_sees_changes() {
        let dir = std::env::temp_dir().join(format!("pyhost-stamp-{}", std::process::id()));
        let conf = dir.join("conf.d");
        let checks = dir.join("checks.d");
        std::fs::create_dir_all(conf.join("x.d")).unwrap();
        std::fs::create_dir_all(&checks).unwrap();
        std::fs::write(conf.join("x.d/conf.yaml"), "instances: [{}]\n").unwrap();
        std::fs::write(checks.join("x.py"), "a = 1\n").unwrap();
        let s1 = stamp(&conf, &checks, "x");
        assert_eq!(s1.len(), 2);
        assert!(s1.iter().all(|(_, m)| m.is_some()));
        assert_eq!(s1, stamp(&conf, &checks, "x"));
        std::fs::write(checks.join("x.py"), "a = 22\n").unwrap();
        assert_ne!(s1, stamp(&conf, &checks, "x"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
