//! The JSON-lines records of both outputs, one set of serde types:
//!
//! * [`CheckLine`]: run_check's line per submission (as the check made it),
//!   warning and run result (`docs/run_check.md`);
//! * [`ReportLine`]: the agent's `--output json` line per report and per
//!   item of a flush (`docs/agent.md`).
//!
//! Both embed the same serialized records, whose field order is the
//! schema's: the aggregator's ([`ServiceCheck`], [`MetricSample`], ...),
//! [`LoadError`], and the scheduler's reports ([`RunReport`], [`Loaded`],
//! [`LoadFailure`], [`Skipped`]). The text is standard
//! JSON: NaN and infinite floats are written as `null`
//! ([`value`](crate::value) explains why).

use std::io::{self, Write};

use serde::Serialize;

use super::aggregator::{
    BucketCount, Event, EventPlatformEvent, EventSummary, HistogramBucket, MetricSample, Serie, ServiceCheck,
    Submission,
};
use super::check::{LoadError, RunOutcome};
use super::sinks::{FlushEntry, FlushReport, LoadFailure, Loaded, Report, RunReport, Skipped};
use super::value::Value;

/// Write `line` as one line of compact JSON.
pub fn write_line(mut out: impl Write, line: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer(&mut out, line)?;
    out.write_all(b"\n")
}

// ---- run_check --------------------------------------------------------------------

/// Where a run_check line comes from: the check, the instance's index in
/// its configuration, and the run number (1-based).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Origin<'a> {
    /// The check's name.
    pub check: &'a str,
    /// The instance's index in `instances`.
    pub instance: usize,
    /// The run number, from 1.
    pub run: usize,
}

/// One run_check line: `check`, `instance`, `run`, `kind`, then the kind's fields.
#[derive(Debug, Serialize)]
pub struct CheckLine<'a> {
    #[serde(flatten)]
    origin: Origin<'a>,
    #[serde(flatten)]
    body: CheckBody<'a>,
}

#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum CheckBody<'a> {
    Metric(&'a MetricSample),
    ServiceCheck(&'a ServiceCheck),
    Event { event: EventDict<'a> },
    HistogramBucket(&'a HistogramBucket),
    EventPlatformEvent(&'a EventPlatformEvent),
    Metadata { name: &'a str, value: &'a str },
    Log { line: &'a str },
    Warning { message: &'a str },
    RunResult { result: RunResult<'a> },
    LoadError(&'a LoadError),
}

/// The event dict exactly as submitted, or else built from its fields.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum EventDict<'a> {
    Raw(&'a Value),
    Fields(&'a Event),
}

/// `""` for success, or the list of errors.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum RunResult<'a> {
    Success(&'static str),
    Errors(&'a Value),
}

fn check_line<'a>(origin: Origin<'a>, body: CheckBody<'a>) -> CheckLine<'a> {
    CheckLine { origin, body }
}

/// The line for one submission.
pub fn submission<'a>(origin: Origin<'a>, s: &'a Submission) -> CheckLine<'a> {
    check_line(
        origin,
        match s {
            Submission::Metric(m) => CheckBody::Metric(m),
            Submission::ServiceCheck(sc) => CheckBody::ServiceCheck(sc),
            Submission::Event(e) => CheckBody::Event {
                event: e.raw.as_ref().map_or(EventDict::Fields(e), EventDict::Raw),
            },
            Submission::HistogramBucket(b) => CheckBody::HistogramBucket(b),
            Submission::EventPlatformEvent(e) => CheckBody::EventPlatformEvent(e),
            Submission::Metadata { name, value } => CheckBody::Metadata { name, value },
            Submission::Log { line } => CheckBody::Log { line },
        },
    )
}

/// A `warning` line.
pub fn warning<'a>(origin: Origin<'a>, message: &'a str) -> CheckLine<'a> {
    check_line(origin, CheckBody::Warning { message })
}

/// The `run_result` line: `result` is `""` or the list of `{message, traceback}`.
pub fn run_result<'a>(origin: Origin<'a>, outcome: &'a RunOutcome) -> CheckLine<'a> {
    let result = if outcome.is_ok() {
        RunResult::Success("")
    } else {
        RunResult::Errors(&outcome.errors)
    };
    check_line(origin, CheckBody::RunResult { result })
}

/// The `load_error` line for an instance that could not be created.
pub fn load_error<'a>(origin: Origin<'a>, e: &'a LoadError) -> CheckLine<'a> {
    check_line(origin, CheckBody::LoadError(e))
}

// ---- the agent's --output json ------------------------------------------------

/// One `--output json` line: `kind` first, then the kind's fields.
#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReportLine<'a> {
    /// A check loaded.
    Loaded(Loaded<'a>),
    /// A check reloaded.
    #[serde(rename = "reload")]
    Reloaded(Loaded<'a>),
    /// A whole check failed to reload: the reload's outcome.
    #[serde(rename = "reload")]
    ReloadFailed {
        /// The check's name.
        check: &'a str,
        /// Always false.
        ok: bool,
        /// Always `None` (`null`): the whole check failed.
        instance: Option<usize>,
        /// What failed.
        #[serde(flatten)]
        error: &'a LoadError,
    },
    /// A check, or one of its instances, could not be loaded.
    LoadError(LoadFailure<'a>),
    /// A check's configuration is gone.
    Unloaded {
        /// The check's name.
        check: &'a str,
    },
    /// A tick was skipped.
    Skipped(Skipped<'a>),
    /// A run finished.
    RunResult(&'a RunReport),
    /// The aggregator was flushed: what follows is the flush's content.
    Flush(FlushSummary),
    /// A flushed serie.
    Series(OfRun<'a, &'a Serie>),
    /// A flushed histogram bucket count.
    Bucket(OfRun<'a, &'a BucketCount>),
    /// A flushed service check.
    ServiceCheck(OfRun<'a, &'a ServiceCheck>),
    /// A flushed event.
    Event(OfRun<'a, EventSummary<'a>>),
}

/// The `flush` line: when, and how much it holds.
#[derive(Debug, Serialize)]
pub struct FlushSummary {
    /// Seconds since the Unix epoch.
    pub timestamp: f64,
    /// Instances with something in the flush.
    pub instances: usize,
    /// Series.
    pub series: usize,
    /// Histogram bucket counts.
    pub buckets: usize,
    /// Service checks.
    pub service_checks: usize,
    /// Events.
    pub events: usize,
}

/// An item of a flush, after its instance's `check`, `instance`,
/// `check_id` and `run` (the instance's last run in the flush).
#[derive(Debug, Serialize)]
pub struct OfRun<'a, T> {
    /// The check's name.
    pub check: &'a str,
    /// The instance.
    pub instance: usize,
    /// The instance's check id.
    pub check_id: &'a str,
    /// The run number.
    pub run: u64,
    /// The item.
    #[serde(flatten)]
    pub item: T,
}

fn of_run<T>(e: &FlushEntry, item: T) -> OfRun<'_, T> {
    OfRun {
        check: &e.check,
        instance: e.instance,
        check_id: &e.check_id,
        run: e.run,
        item,
    }
}

fn flush_summary(f: &FlushReport) -> FlushSummary {
    let count = |n: fn(&FlushEntry) -> usize| f.entries.iter().map(n).sum();
    FlushSummary {
        timestamp: f.timestamp,
        instances: f.entries.len(),
        series: count(|e| e.flush.series.len()),
        buckets: count(|e| e.flush.buckets.len()),
        service_checks: count(|e| e.flush.service_checks.len()),
        events: count(|e| e.flush.events.len()),
    }
}

/// A report's own line: the one the JSON output prints first and the one
/// the stderr output words.
pub fn report_line<'a>(report: &Report<'a>) -> ReportLine<'a> {
    match *report {
        Report::Loaded(l) if l.reload => ReportLine::Reloaded(l),
        Report::Loaded(l) => ReportLine::Loaded(l),
        // A whole check failing to reload is the reload's outcome; one
        // instance failing to instantiate is a load error either way.
        Report::LoadError(f) if f.reload && f.instance.is_none() => ReportLine::ReloadFailed {
            check: f.check,
            ok: false,
            instance: None,
            error: f.error,
        },
        Report::LoadError(f) => ReportLine::LoadError(f),
        Report::Unloaded { check } => ReportLine::Unloaded { check },
        Report::Skipped(s) => ReportLine::Skipped(s),
        Report::Run(r) => ReportLine::RunResult(r),
        Report::Flush(f) => ReportLine::Flush(flush_summary(f)),
    }
}

/// Every line for a report, in output order: its own line, then for a
/// flush what it contained, instance by instance (series, buckets, service
/// checks, events).
pub fn report_lines<'a>(report: &Report<'a>) -> Vec<ReportLine<'a>> {
    let mut lines = vec![report_line(report)];
    if let Report::Flush(flush) = *report {
        for e in &flush.entries {
            let f = &e.flush;
            lines.extend(f.series.iter().map(|s| ReportLine::Series(of_run(e, s))));
            lines.extend(f.buckets.iter().map(|b| ReportLine::Bucket(of_run(e, b))));
            lines.extend(
                f.service_checks
                    .iter()
                    .map(|sc| ReportLine::ServiceCheck(of_run(e, sc))),
            );
            lines.extend(f.events.iter().map(|ev| ReportLine::Event(of_run(e, ev.summary()))));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::aggregator::{Flush, MetricType, SerieKind};
    use crate::sinks::RunStatus;

    fn text(line: &impl Serialize) -> String {
        serde_json::to_string(line).unwrap()
    }

    const ORIGIN: Origin<'static> = Origin {
        check: "c",
        instance: 0,
        run: 1,
    };

    #[test]
    fn check_lines_follow_the_schema() {
        let m = Submission::Metric(MetricSample {
            name: "m".into(),
            mtype: MetricType::MonotonicCount,
            value: 1.5,
            tags: vec!["a:b".into()],
            hostname: String::new(),
            flush_first_value: true,
            timestamp: 9.0,
        });
        assert_eq!(
            text(&submission(ORIGIN, &m)),
            r#"{"check":"c","instance":0,"run":1,"kind":"metric","name":"m","type":"monotonic_count","value":1.5,"tags":["a:b"],"hostname":"","flush_first_value":true}"#
        );
        let e = Submission::Event(Event {
            title: Some("t".into()),
            timestamp: 3,
            ..Event::default()
        });
        assert_eq!(
            text(&submission(ORIGIN, &e)),
            r#"{"check":"c","instance":0,"run":1,"kind":"event","event":{"msg_title":"t","msg_text":null,"timestamp":3,"priority":null,"host":null,"tags":null,"alert_type":null,"aggregation_key":null,"source_type_name":null,"event_type":null}}"#
        );
        let ok = RunOutcome {
            result: String::new(),
            errors: Value::Array(vec![]),
            warnings: vec![],
        };
        assert_eq!(
            text(&run_result(ORIGIN, &ok)),
            r#"{"check":"c","instance":0,"run":1,"kind":"run_result","result":""}"#
        );
        let e = LoadError {
            message: "m".into(),
            traceback: None,
        };
        assert_eq!(
            text(&load_error(ORIGIN, &e)),
            r#"{"check":"c","instance":0,"run":1,"kind":"load_error","message":"m","traceback":null}"#
        );
    }

    #[test]
    fn non_finite_floats_are_null() {
        let b = Submission::HistogramBucket(HistogramBucket {
            name: "b".into(),
            value: 2,
            lower_bound: 10.0,
            upper_bound: f64::INFINITY,
            monotonic: false,
            hostname: String::new(),
            tags: vec![],
            flush_first_value: false,
            multiple_buckets: false,
        });
        assert!(text(&submission(ORIGIN, &b)).contains(r#""lower_bound":10.0,"upper_bound":null,"#));
    }

    #[test]
    fn run_statuses_are_serialized_as_str() {
        for st in [
            RunStatus::Ok,
            RunStatus::Error,
            RunStatus::TimedOut,
            RunStatus::Cancelled,
        ] {
            assert_eq!(text(&st), format!("\"{}\"", st.as_str()));
        }
    }

    #[test]
    fn report_lines_follow_the_schema() {
        let e = LoadError {
            message: "bad".into(),
            traceback: Some("tb".into()),
        };
        let failed = Report::LoadError(LoadFailure {
            check: "c",
            instance: None,
            error: &e,
            reload: true,
        });
        assert_eq!(
            text(&report_line(&failed)),
            r#"{"kind":"reload","check":"c","ok":false,"instance":null,"message":"bad","traceback":"tb"}"#
        );
        let failed = Report::LoadError(LoadFailure {
            check: "c",
            instance: Some(1),
            error: &e,
            reload: true,
        });
        assert_eq!(
            text(&report_line(&failed)),
            r#"{"kind":"load_error","check":"c","instance":1,"message":"bad","traceback":"tb"}"#
        );
        let run = RunReport {
            check: "c".into(),
            instance: 0,
            check_id: "c:1".into(),
            run: 2,
            status: RunStatus::Ok,
            errors: Value::Array(vec![]),
            warnings: vec!["w".into()],
            duration: Duration::from_micros(5_125),
            samples: 3,
        };
        assert_eq!(
            text(&report_line(&Report::Run(&run))),
            r#"{"kind":"run_result","check":"c","instance":0,"check_id":"c:1","run":2,"status":"ok","errors":[],"warnings":["w"],"duration_ms":5.125,"samples":3}"#
        );
        let flush = FlushReport {
            timestamp: 7.0,
            entries: vec![FlushEntry {
                check: "c".into(),
                instance: 0,
                check_id: "c:1".into(),
                run: 2,
                flush: Flush {
                    series: vec![Serie {
                        name: "s".into(),
                        kind: SerieKind::Rate,
                        value: f64::NAN,
                        tags: vec![],
                        hostname: "h".into(),
                        timestamp: 1.0,
                    }],
                    ..Flush::default()
                },
            }],
        };
        let lines: Vec<String> = report_lines(&Report::Flush(&flush)).iter().map(text).collect();
        assert_eq!(
            lines,
            [
                r#"{"kind":"flush","timestamp":7.0,"instances":1,"series":1,"buckets":0,"service_checks":0,"events":0}"#,
                r#"{"kind":"series","check":"c","instance":0,"check_id":"c:1","run":2,"name":"s","type":"rate","value":null,"tags":[],"hostname":"h","timestamp":1.0}"#,
            ]
        );
    }
}
