//! The agent's status, as the Datadog Agent's `agent status` shows it: per
//! check and instance, whether it loaded (or the error), runs, errors,
//! warnings, last and average duration, last run time, submissions, the
//! last error's traceback and the run durations of the last hour; and the
//! process's interpreter, workers, uptime and memory.
//!
//! * [`StatusBoard`]: the state, kept up to date by a [`StatusSink`] (every
//!   report the scheduler makes goes through it) and read as a [`Snapshot`];
//! * [`server`]: `--status-addr`: `/status.json` (the snapshot) and `/`
//!   (an HTML page with a chart per check, [`html`]);
//! * [`text`]: the snapshot as text (`pyhost status`);
//! * [`client`]: the HTTP request `pyhost status` (and the tests) make.

pub mod client;
pub mod html;
pub mod server;
pub mod text;

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::aggregator::now_secs;
use crate::check::LoadError;
use crate::sinks::{Report, RunReport, RunStatus, Sink};
use crate::value::Value;

/// How long the duration history of an instance goes back, in seconds.
pub const HISTORY_SECS: f64 = 3600.0;
/// At most this many durations are kept per instance.
const HISTORY_MAX: usize = 3600;

/// An error as the status shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorInfo {
    /// What failed.
    pub message: String,
    /// The Python traceback, if any.
    pub traceback: Option<String>,
}

impl From<&LoadError> for ErrorInfo {
    fn from(e: &LoadError) -> ErrorInfo {
        ErrorInfo {
            message: e.message.clone(),
            traceback: e.traceback.clone(),
        }
    }
}

/// One instance of a check.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct InstanceSnapshot {
    /// Its index in the check's configuration.
    pub instance: usize,
    /// Its check id (empty if it never ran).
    pub check_id: String,
    /// Runs so far.
    pub runs: u64,
    /// Runs that failed (error, timeout, cancelled).
    pub errors: u64,
    /// Warnings raised, all runs together.
    pub warnings: u64,
    /// Ticks skipped because the previous run was still going.
    pub skipped: u64,
    /// How the last run ended (`ok`, `error`, `timeout`, `cancelled`).
    pub last_status: Option<String>,
    /// The last run's duration.
    pub last_duration_ms: Option<f64>,
    /// The average duration of all runs.
    pub average_duration_ms: Option<f64>,
    /// When the last run ended (seconds since the Unix epoch).
    pub last_run: Option<f64>,
    /// What the last run submitted.
    pub samples_last_run: usize,
    /// What all runs submitted.
    pub samples_total: u64,
    /// The last run's warnings.
    pub last_warnings: Vec<String>,
    /// The last error (of a run, or of creating the instance), with its traceback.
    pub last_error: Option<ErrorInfo>,
    /// The instance could not be created: why.
    pub load_error: Option<ErrorInfo>,
    /// `[end time, duration in ms]` of the runs of the last hour, oldest first.
    pub durations: Vec<[f64; 2]>,
}

/// One check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckSnapshot {
    /// Its name.
    pub name: String,
    /// `loaded` or `failed`.
    pub state: String,
    /// The module its class came from, with its `__version__` if it has one.
    pub module: Option<String>,
    /// `main` or `subinterpreter`.
    pub interpreter: Option<String>,
    /// Why it cannot run (when `failed`).
    pub error: Option<ErrorInfo>,
    /// Its instances.
    pub instances: Vec<InstanceSnapshot>,
}

/// Everything the status shows; the body of `/status.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// pyhost's version.
    pub version: String,
    /// The host name checks see.
    pub hostname: String,
    /// The Python running the checks (`Py_GetVersion`).
    pub python: String,
    /// `shared` or `subinterpreter`.
    pub isolation: String,
    /// Worker threads of the shared pool.
    pub workers: usize,
    /// The flush interval, in seconds.
    pub flush_interval_s: f64,
    /// The process id.
    pub pid: u32,
    /// Seconds since the agent started.
    pub uptime_s: f64,
    /// When this snapshot was taken (seconds since the Unix epoch).
    pub now: f64,
    /// The last flush (seconds since the Unix epoch).
    pub last_flush: Option<f64>,
    /// The process's resident memory (`VmRSS`), in bytes.
    pub rss_bytes: Option<u64>,
    /// The checks, by name.
    pub checks: Vec<CheckSnapshot>,
}

/// What the process is: the fixed part of the status.
#[derive(Debug, Clone, Default)]
pub struct ProcessInfo {
    /// The host name checks see.
    pub hostname: String,
    /// `shared` or `subinterpreter`.
    pub isolation: String,
    /// Worker threads of the shared pool.
    pub workers: usize,
    /// The flush interval, in seconds.
    pub flush_interval_s: f64,
}

#[derive(Debug, Default)]
struct InstanceState {
    snap: InstanceSnapshot,
    total_ms: f64,
    history: VecDeque<[f64; 2]>,
}

#[derive(Debug)]
struct CheckState {
    snap: CheckSnapshot,
    instances: BTreeMap<usize, InstanceState>,
}

#[derive(Debug)]
struct Board {
    info: ProcessInfo,
    started: Instant,
    last_flush: Option<f64>,
    checks: BTreeMap<String, CheckState>,
}

/// The status, shared between the scheduler (through a [`StatusSink`]) and
/// the server. Cheap to clone.
#[derive(Debug, Clone)]
pub struct StatusBoard(Arc<Mutex<Board>>);

impl StatusBoard {
    /// An empty board for this process.
    pub fn new(info: ProcessInfo) -> StatusBoard {
        StatusBoard(Arc::new(Mutex::new(Board {
            info,
            started: Instant::now(),
            last_flush: None,
            checks: BTreeMap::new(),
        })))
    }

    /// A sink that keeps this board up to date.
    pub fn sink(&self) -> StatusSink {
        StatusSink(self.clone())
    }

    /// The status now.
    pub fn snapshot(&self) -> Snapshot {
        let now = now_secs();
        let board = self.0.lock();
        let checks = board
            .checks
            .values()
            .map(|c| {
                let mut snap = c.snap.clone();
                snap.instances = c
                    .instances
                    .values()
                    .map(|i| {
                        let mut s = i.snap.clone();
                        s.durations = i
                            .history
                            .iter()
                            .filter(|d| d[0] >= now - HISTORY_SECS)
                            .copied()
                            .collect();
                        s
                    })
                    .collect();
                snap
            })
            .collect();
        Snapshot {
            version: env!("CARGO_PKG_VERSION").to_string(),
            hostname: board.info.hostname.clone(),
            python: python_version(),
            isolation: board.info.isolation.clone(),
            workers: board.info.workers,
            flush_interval_s: board.info.flush_interval_s,
            pid: std::process::id(),
            uptime_s: board.started.elapsed().as_secs_f64(),
            now,
            last_flush: board.last_flush,
            rss_bytes: rss_bytes(),
            checks,
        }
    }

    fn update(&self, report: &Report<'_>) {
        let mut board = self.0.lock();
        match report {
            Report::Loaded(l) => {
                let c = board.check(l.check);
                c.snap.state = "loaded".into();
                c.snap.error = None;
                c.snap.module = Some(l.module_and_version());
                c.snap.interpreter = Some(l.interpreter.to_string());
                c.instances.retain(|i, _| *i < l.instances);
                for i in c.instances.values_mut() {
                    i.snap.load_error = None;
                }
            }
            Report::LoadError(f) => {
                let c = board.check(f.check);
                match f.instance {
                    None => {
                        c.snap.state = "failed".into();
                        c.snap.error = Some(f.error.into());
                        c.instances.clear();
                    }
                    Some(index) => {
                        let i = c.instance(index);
                        i.snap.load_error = Some(f.error.into());
                        i.snap.last_error = Some(f.error.into());
                    }
                }
            }
            Report::Unloaded { check } => {
                board.checks.remove(*check);
            }
            Report::Skipped(s) => board.check(s.check).instance(s.instance).snap.skipped += 1,
            Report::Run(r) => board.check(&r.check).instance(r.instance).record(r),
            Report::Flush(f) => board.last_flush = Some(f.timestamp),
        }
    }
}

impl Board {
    fn check(&mut self, name: &str) -> &mut CheckState {
        self.checks.entry(name.to_string()).or_insert_with(|| CheckState {
            snap: CheckSnapshot {
                name: name.to_string(),
                state: "loaded".into(),
                module: None,
                interpreter: None,
                error: None,
                instances: Vec::new(),
            },
            instances: BTreeMap::new(),
        })
    }
}

impl CheckState {
    fn instance(&mut self, index: usize) -> &mut InstanceState {
        self.instances.entry(index).or_insert_with(|| InstanceState {
            snap: InstanceSnapshot {
                instance: index,
                ..InstanceSnapshot::default()
            },
            ..InstanceState::default()
        })
    }
}

impl InstanceState {
    fn record(&mut self, r: &RunReport) {
        let end = now_secs();
        let ms = r.duration.as_micros() as f64 / 1000.0;
        let s = &mut self.snap;
        s.check_id = r.check_id.clone();
        s.runs += 1;
        if r.status != RunStatus::Ok {
            s.errors += 1;
            s.last_error = first_error(&r.errors);
        }
        s.warnings += r.warnings.len() as u64;
        s.last_warnings = r.warnings.clone();
        s.last_status = Some(r.status.as_str().to_string());
        s.last_duration_ms = Some(ms);
        self.total_ms += ms;
        s.average_duration_ms = Some(self.total_ms / s.runs as f64);
        s.last_run = Some(end);
        s.samples_last_run = r.samples;
        s.samples_total += r.samples as u64;
        self.history.push_back([end, ms]);
        while self.history.len() > HISTORY_MAX || self.history.front().is_some_and(|d| d[0] < end - HISTORY_SECS) {
            self.history.pop_front();
        }
    }
}

/// The first `{message, traceback}` of a run's errors.
fn first_error(errors: &Value) -> Option<ErrorInfo> {
    let e = errors.as_array()?.first()?;
    Some(ErrorInfo {
        message: e.get("message").and_then(Value::as_str).unwrap_or("").to_string(),
        traceback: e
            .get("traceback")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string),
    })
}

/// Keeps a [`StatusBoard`] up to date; add it to the scheduler's sinks.
#[derive(Debug, Clone)]
pub struct StatusSink(StatusBoard);

impl Sink for StatusSink {
    fn report(&mut self, report: &Report<'_>) -> io::Result<()> {
        self.0.update(report);
        Ok(())
    }
}

/// `3.11.7` of `Py_GetVersion()`'s `"3.11.7 (main, ...) [GCC ...]"`.
fn python_version() -> String {
    let v = pyhost::interpreter::runtime_version_string();
    v.split_whitespace().next().unwrap_or("").to_string()
}

/// `VmRSS` of `/proc/self/status`, in bytes.
pub fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Resolve `--status-addr`: every address it names must be a loopback one
/// unless `allow_remote` (the status shows configuration, errors and
/// tracebacks: not for the network by default).
pub fn resolve_addr(addr: &str, allow_remote: bool) -> Result<SocketAddr, String> {
    let addrs: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .map_err(|e| format!("{addr}: {e} (expected HOST:PORT, e.g. 127.0.0.1:5002)"))?
        .collect();
    let first = *addrs.first().ok_or_else(|| format!("{addr}: no address"))?;
    if !allow_remote {
        if let Some(a) = addrs.iter().find(|a| !a.ip().is_loopback()) {
            return Err(format!(
                "{addr} ({}) is not a loopback address: the status page shows configuration and tracebacks; \
                 add --status-allow-remote to serve it to other hosts",
                a.ip()
            ));
        }
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::sinks::{LoadFailure, Loaded};

    fn run(status: RunStatus, ms: u64, samples: usize) -> RunReport {
        let errors = if status == RunStatus::Ok {
            Value::Array(vec![])
        } else {
            crate::check::error_list("boom", Some("Traceback: x"))
        };
        RunReport {
            check: "c".into(),
            instance: 0,
            check_id: "c:1".into(),
            run: 1,
            status,
            errors,
            warnings: vec!["w".into()],
            duration: Duration::from_millis(ms),
            samples,
        }
    }

    #[test]
    fn the_board_follows_the_reports() {
        let board = StatusBoard::new(ProcessInfo {
            hostname: "h".into(),
            isolation: "shared".into(),
            workers: 4,
            flush_interval_s: 15.0,
        });
        let mut sink = board.sink();
        let loaded = Loaded {
            check: "c",
            module: "m",
            version: None,
            instances: 1,
            reload: false,
            interpreter: "main",
            fallback: None,
        };
        sink.report(&Report::Loaded(loaded)).unwrap();
        sink.report(&Report::Run(&run(RunStatus::Ok, 10, 3))).unwrap();
        sink.report(&Report::Run(&run(RunStatus::Error, 30, 1))).unwrap();
        let e = LoadError {
            message: "cannot import".into(),
            traceback: Some("Traceback...".into()),
        };
        let failure = LoadFailure {
            check: "broken",
            instance: None,
            error: &e,
            reload: false,
        };
        sink.report(&Report::LoadError(failure)).unwrap();
        let snap = board.snapshot();
        assert_eq!(snap.workers, 4);
        assert!(snap.rss_bytes.unwrap() > 0);
        assert!(snap.python.starts_with("3."), "{}", snap.python);
        let names: Vec<&str> = snap.checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["broken", "c"]);
        assert_eq!(snap.checks[0].state, "failed");
        assert_eq!(snap.checks[0].error.as_ref().unwrap().message, "cannot import");
        let i = &snap.checks[1].instances[0];
        assert_eq!((i.runs, i.errors, i.warnings), (2, 1, 2));
        assert_eq!(i.last_duration_ms, Some(30.0));
        assert_eq!(i.average_duration_ms, Some(20.0));
        assert_eq!((i.samples_last_run, i.samples_total), (1, 4));
        assert_eq!(i.last_status.as_deref(), Some("error"));
        let err = i.last_error.as_ref().unwrap();
        assert_eq!(
            (err.message.as_str(), err.traceback.as_deref()),
            ("boom", Some("Traceback: x"))
        );
        assert_eq!(i.durations.len(), 2);
        assert_eq!(i.durations[1][1], 30.0);
        // The JSON reads back (what `pyhost status` does), floats to their last digit or so.
        let json = serde_json::to_string(&snap).unwrap();
        let back: Snapshot = serde_json::from_str(&json).unwrap();
        assert_eq!((back.checks[0].clone(), back.workers), (snap.checks[0].clone(), 4));
        assert_eq!(back.checks[1].instances[0].last_error, i.last_error);
        sink.report(&Report::Unloaded { check: "broken" }).unwrap();
        assert_eq!(board.snapshot().checks.len(), 1);
    }

    #[test]
    fn status_addresses_are_loopback_unless_allowed() {
        assert_eq!(
            resolve_addr("127.0.0.1:5002", false).unwrap(),
            "127.0.0.1:5002".parse().unwrap()
        );
        assert!(resolve_addr("[::1]:0", false).is_ok());
        let e = resolve_addr("0.0.0.0:5002", false).unwrap_err();
        assert!(
            e.contains("not a loopback address") && e.contains("--status-allow-remote"),
            "{e}"
        );
        assert!(resolve_addr("0.0.0.0:5002", true).is_ok());
        assert!(resolve_addr("nonsense", false).unwrap_err().contains("HOST:PORT"));
    }
}
