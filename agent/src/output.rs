//! The JSON-lines output of a check run: one object per submission, as the
//! check made it (what `datadog-checks-base`'s stub aggregator records).
//! The schema is documented in `docs/run_check.md`.

use super::aggregator::Submission;
use super::check::{LoadError, RunOutcome};
use super::value::Value;

/// Where a line comes from: the check, the instance's index in its
/// configuration, and the run number (1-based).
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// The check's name.
    pub check: &'a str,
    /// The instance's index in `instances`.
    pub instance: usize,
    /// The run number, from 1.
    pub run: usize,
}

fn base(origin: Origin<'_>, kind: &str) -> Value {
    let mut v = Value::object();
    v.insert("check", origin.check);
    v.insert("instance", origin.instance as i64);
    v.insert("run", origin.run as i64);
    v.insert("kind", kind);
    v
}

fn strings(v: &[String]) -> Value {
    Value::from(v)
}

fn opt(s: &Option<String>) -> Value {
    s.as_deref().map_or(Value::Null, Value::from)
}

/// The line for one submission.
pub fn submission(origin: Origin<'_>, s: &Submission) -> Value {
    match s {
        Submission::Metric(m) => {
            let mut v = base(origin, "metric");
            v.insert("name", m.name.as_str());
            v.insert("type", m.mtype.as_str());
            v.insert("value", m.value);
            v.insert("tags", strings(&m.tags));
            v.insert("hostname", m.hostname.as_str());
            v.insert("flush_first_value", m.flush_first_value);
            v
        }
        Submission::ServiceCheck(sc) => {
            let mut v = base(origin, "service_check");
            v.insert("name", sc.name.as_str());
            v.insert("status", sc.status);
            v.insert("tags", strings(&sc.tags));
            v.insert("hostname", sc.hostname.as_str());
            v.insert("message", sc.message.as_str());
            v
        }
        Submission::Event(e) => {
            let mut v = base(origin, "event");
            let event = match &e.raw {
                Some(raw) => raw.clone(),
                None => {
                    let mut ev = Value::object();
                    ev.insert("msg_title", opt(&e.title));
                    ev.insert("msg_text", opt(&e.text));
                    ev.insert("timestamp", e.timestamp);
                    ev.insert("priority", opt(&e.priority));
                    ev.insert("host", opt(&e.host));
                    ev.insert("tags", e.tags.as_deref().map_or(Value::Null, strings));
                    ev.insert("alert_type", opt(&e.alert_type));
                    ev.insert("aggregation_key", opt(&e.aggregation_key));
                    ev.insert("source_type_name", opt(&e.source_type_name));
                    ev.insert("event_type", opt(&e.event_type));
                    ev
                }
            };
            v.insert("event", event);
            v
        }
        Submission::HistogramBucket(b) => {
            let mut v = base(origin, "histogram_bucket");
            v.insert("name", b.name.as_str());
            v.insert("value", b.value);
            v.insert("lower_bound", b.lower_bound);
            v.insert("upper_bound", b.upper_bound);
            v.insert("monotonic", b.monotonic);
            v.insert("hostname", b.hostname.as_str());
            v.insert("tags", strings(&b.tags));
            v.insert("flush_first_value", b.flush_first_value);
            v.insert("multiple_buckets", b.multiple_buckets);
            v
        }
        Submission::EventPlatformEvent(e) => {
            let mut v = base(origin, "event_platform_event");
            v.insert("event_type", e.event_type.as_str());
            v.insert("raw_event", String::from_utf8_lossy(&e.raw_event).as_ref());
            v
        }
        Submission::Metadata { name, value } => {
            let mut v = base(origin, "metadata");
            v.insert("name", name.as_str());
            v.insert("value", value.as_str());
            v
        }
        Submission::Log { line } => {
            let mut v = base(origin, "log");
            v.insert("line", line.as_str());
            v
        }
    }
}

/// A `warning` line.
pub fn warning(origin: Origin<'_>, message: &str) -> Value {
    let mut v = base(origin, "warning");
    v.insert("message", message);
    v
}

/// The `run_result` line: `result` is `""` or the list of `{message, traceback}`.
pub fn run_result(origin: Origin<'_>, outcome: &RunOutcome) -> Value {
    let mut v = base(origin, "run_result");
    let result = if outcome.is_ok() {
        Value::from("")
    } else {
        outcome.errors.clone()
    };
    v.insert("result", result);
    v
}

/// The `load_error` line for an instance that could not be created.
pub fn load_error(origin: Origin<'_>, e: &LoadError) -> Value {
    let mut v = base(origin, "load_error");
    v.insert("message", e.message.as_str());
    v.insert("traceback", e.traceback.as_deref().map_or(Value::Null, Value::from));
    v
}
