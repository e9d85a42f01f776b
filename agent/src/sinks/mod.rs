//! Where the agent program's results go: what the
//! [`scheduler`](super::scheduler) reports (loads, reloads, run results and
//! the aggregator's [`Flush`]es, every flush interval) handed to one or more
//! [`Sink`]s, one file each:
//!
//! * [`TableSink`]: a readable table per flush (check, metric, type, value, tags);
//! * [`JsonSink`]: one JSON object per line for every report, series,
//!   service check, event and bucket (schema in `docs/agent.md`, records in
//!   [`output`](super::output));
//! * [`StderrSink`]: lifecycle and failures as log lines on standard error;
//! * [`DogStatsdSink`]: the flushed series, service checks and events as
//!   DogStatsD lines over UDP, batched into datagrams of at most
//!   [`MAX_DATAGRAM`] bytes.
//!
//! This file holds what they share: the [`Report`]s and the [`Sink`] trait.

mod dogstatsd;
mod json;
mod stderr;
mod table;

use std::io;
use std::time::Duration;

use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;

use super::aggregator::Flush;
use super::check::LoadError;
use super::value::Value;

pub use dogstatsd::{
    batch_lines, dogstatsd_lines, format_event, format_serie, format_service_check, DogStatsdSink, MAX_DATAGRAM,
};
pub use json::JsonSink;
pub use stderr::StderrSink;
pub use table::{aligned_lines, table_rows, TableSink};

/// How a run ended. Serialized as [`as_str`](RunStatus::as_str).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// `run()` returned `""`.
    Ok,
    /// `run()` returned errors, or the job failed (exception, panic).
    Error,
    /// The run passed `--check-timeout`; the check's `cancel()` was called.
    #[serde(rename = "timeout")]
    TimedOut,
    /// The job was cancelled (shutdown).
    Cancelled,
}

impl RunStatus {
    /// `"ok"`, `"error"`, `"timeout"` or `"cancelled"`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Ok => "ok",
            RunStatus::Error => "error",
            RunStatus::TimedOut => "timeout",
            RunStatus::Cancelled => "cancelled",
        }
    }
}

/// One finished run of one instance. Serialized in field order (the
/// agent's `run_result` line). What the run submitted is in the next
/// [`FlushReport`].
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// The check's name.
    pub check: String,
    /// The instance's index in the check's configuration.
    pub instance: usize,
    /// The instance's check id.
    pub check_id: String,
    /// The run number of this instance (from 1; restarts at a reload).
    pub run: u64,
    /// How it ended.
    pub status: RunStatus,
    /// The errors: `[{message, traceback}]` (empty when `status` is `Ok`).
    pub errors: Value,
    /// The warnings the run raised.
    pub warnings: Vec<String>,
    /// How long the run took, measured on the worker around `run()` (for a
    /// timed-out run: from its start to the timeout).
    #[serde(rename = "duration_ms", serialize_with = "millis")]
    pub duration: Duration,
    /// What the run submitted (metric samples, service checks, events, ...).
    pub samples: usize,
}

/// A duration in milliseconds, to the microsecond.
fn millis<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_micros() as f64 / 1000.0)
}

/// One flush of the aggregator: what every instance submitted since the
/// previous flush, aggregated with the Agent's rules.
#[derive(Debug, Clone, Default)]
pub struct FlushReport {
    /// When (seconds since the Unix epoch).
    pub timestamp: f64,
    /// One entry per instance that submitted something, in first-submission order.
    pub entries: Vec<FlushEntry>,
}

/// One instance's part of a [`FlushReport`].
#[derive(Debug, Clone)]
pub struct FlushEntry {
    /// The check's name.
    pub check: String,
    /// The instance's index in the check's configuration.
    pub instance: usize,
    /// The instance's check id.
    pub check_id: String,
    /// The instance's last run included.
    pub run: u64,
    /// What the aggregator flushed for the check id.
    pub flush: Flush,
}

/// Something the scheduler reports.
#[derive(Debug, Clone, Copy)]
pub enum Report<'a> {
    /// A check's class was found and its instances created.
    Loaded(Loaded<'a>),
    /// A check, or one of its instances, could not be loaded.
    LoadError(LoadFailure<'a>),
    /// A check's configuration is gone: its instances were stopped.
    Unloaded {
        /// The check's name.
        check: &'a str,
    },
    /// A tick was skipped because the previous run of the instance was still going.
    Skipped(Skipped<'a>),
    /// A run finished (or timed out).
    Run(&'a RunReport),
    /// The aggregator was flushed.
    Flush(&'a FlushReport),
}

/// A check loaded (or reloaded). Serialized as the agent's
/// `loaded`/`reload` line: `check`, `ok` (true), `module`, `instances`.
#[derive(Debug, Clone, Copy)]
pub struct Loaded<'a> {
    /// The check's name.
    pub check: &'a str,
    /// The module the class came from.
    pub module: &'a str,
    /// The module's `__version__`, when it has one.
    pub version: Option<&'a str>,
    /// Instances scheduled.
    pub instances: usize,
    /// True if this load replaced earlier code or configuration.
    pub reload: bool,
    /// Where the check runs: `"main"` or `"subinterpreter"`.
    pub interpreter: &'a str,
    /// Why a check meant for a sub-interpreter runs in the main interpreter.
    pub fallback: Option<&'a str>,
}

impl Loaded<'_> {
    /// `module`, or `module version` when the module has a `__version__`.
    pub fn module_and_version(&self) -> String {
        module_and_version(self.module, self.version)
    }
}

/// `module`, or `module version`: how reports name where a check came from.
pub fn module_and_version(module: &str, version: Option<&str>) -> String {
    match version {
        Some(v) => format!("{module} {v}"),
        None => module.to_string(),
    }
}

impl Serialize for Loaded<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut line = s.serialize_struct("Loaded", 7)?;
        line.serialize_field("check", self.check)?;
        line.serialize_field("ok", &true)?;
        line.serialize_field("module", self.module)?;
        line.serialize_field("version", &self.version)?;
        line.serialize_field("instances", &self.instances)?;
        line.serialize_field("interpreter", self.interpreter)?;
        if let Some(why) = self.fallback {
            line.serialize_field("fallback", why)?;
        }
        line.end()
    }
}

/// A check, or one of its instances, that could not be loaded. Serialized
/// (the agent's `load_error` line) without `reload`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct LoadFailure<'a> {
    /// The check's name.
    pub check: &'a str,
    /// The instance, when only that instance failed.
    pub instance: Option<usize>,
    /// What failed.
    #[serde(flatten)]
    pub error: &'a LoadError,
    /// True if this happened while reloading.
    #[serde(skip)]
    pub reload: bool,
}

/// A skipped tick. Serialized (the agent's `skipped` line).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Skipped<'a> {
    /// The check's name.
    pub check: &'a str,
    /// The instance.
    pub instance: usize,
    /// Its check id.
    pub check_id: &'a str,
    /// Why.
    pub reason: &'a str,
}

/// A destination for reports.
pub trait Sink: Send {
    /// Handle one report. An error is reported on stderr by the caller and
    /// does not stop the agent.
    fn report(&mut self, report: &Report<'_>) -> io::Result<()>;
}
