//! What the agent and its worker processes say to each other: one JSON
//! object per line (serde_json), requests on the worker's stdin, replies on
//! the descriptor it was handed as its protocol channel.
//!
//! JSON keeps the protocol readable in a debugger's `strace` and needs no
//! new dependency; its one gap is floats: JSON has no NaN or infinity
//! (`serde_json` writes them as `null`), and a check may submit either
//! (a histogram bucket's upper bound is often `+inf`). Floats that carry
//! data therefore travel as their IEEE-754 bits ([`Bits`]), so a replayed
//! submission is bit-for-bit the one the check made.

use serde::{Deserialize, Serialize};

use crate::aggregator::{
    Event, EventPlatformEvent, HistogramBucket, MetricSample, MetricType, ServiceCheck, Submission,
};
use crate::check::LoadError;
use crate::config::CheckConfig;
use crate::value::Value;

/// An `f64` sent as its bits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Bits(u64);

impl From<f64> for Bits {
    fn from(v: f64) -> Bits {
        Bits(v.to_bits())
    }
}

impl From<Bits> for f64 {
    fn from(b: Bits) -> f64 {
        f64::from_bits(b.0)
    }
}

/// Agent -> worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// First, once: the agent's host configuration (`datadog_agent.get_config`).
    Init { host_config: Value },
    /// Import check `check` afresh (`reload`: forget its modules first) and
    /// create one object per instance of `configs`, replacing any it had
    /// (they get `cancel()`). `module`: where its class is (a system
    /// check's); `None` for rtloader's lookup.
    Load {
        check: String,
        module: Option<String>,
        configs: Vec<WireConfig>,
        reload: bool,
    },
    /// Run instance `index` of `check` once.
    Run { check: String, index: usize },
    /// Cancel the run in progress, if it is of `check` (the job gets
    /// `pyhost.JobCancelled`; the instance's `cancel()` is called).
    Cancel { check: String, index: usize },
    /// Forget `check` (its instances get `cancel()`).
    Unload { check: String },
}

/// A check's configuration file, as the worker needs it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireConfig {
    pub init_config: Value,
    pub instances: Vec<Value>,
}

impl From<&CheckConfig> for WireConfig {
    fn from(c: &CheckConfig) -> WireConfig {
        WireConfig {
            init_config: c.init_config.clone(),
            instances: c.instances.clone(),
        }
    }
}

/// Worker -> agent.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Reply {
    /// The worker is up (sent once, first).
    Ready { pid: u32, python: String },
    /// The answer to `Load`: the module, or why it failed; per instance,
    /// its check id or why it could not be created.
    Loaded {
        check: String,
        module: Result<String, WireLoadError>,
        /// The module's `__version__`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<String>,
        instances: Vec<Result<String, WireLoadError>>,
    },
    /// What a run submitted (sent before its `Ran`).
    Submissions {
        check_id: String,
        items: Vec<WireSubmission>,
    },
    /// A run ended: what `run()` returned and its warnings, and how long it
    /// took, measured around the call in the worker.
    Ran {
        check: String,
        index: usize,
        result: String,
        errors: Value,
        warnings: Vec<String>,
        duration_us: u64,
    },
}

/// A [`LoadError`] on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireLoadError {
    pub message: String,
    pub traceback: Option<String>,
}

impl From<LoadError> for WireLoadError {
    fn from(e: LoadError) -> Self {
        WireLoadError {
            message: e.message,
            traceback: e.traceback,
        }
    }
}

impl From<WireLoadError> for LoadError {
    fn from(e: WireLoadError) -> Self {
        LoadError {
            message: e.message,
            traceback: e.traceback,
        }
    }
}

/// A [`Submission`] on the wire, exact (floats as bits, the event's raw dict
/// and the event-platform payload's bytes included).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
pub enum WireSubmission {
    Metric {
        name: String,
        mtype: u8,
        value: Bits,
        tags: Vec<String>,
        hostname: String,
        flush_first_value: bool,
        timestamp: Bits,
    },
    /// As recorded: every field travels as is.
    ServiceCheck(ServiceCheck),
    Event {
        title: Option<String>,
        text: Option<String>,
        timestamp: i64,
        priority: Option<String>,
        host: Option<String>,
        tags: Option<Vec<String>>,
        alert_type: Option<String>,
        aggregation_key: Option<String>,
        source_type_name: Option<String>,
        event_type: Option<String>,
        raw: Option<Value>,
    },
    HistogramBucket {
        name: String,
        value: i64,
        lower_bound: Bits,
        upper_bound: Bits,
        monotonic: bool,
        hostname: String,
        tags: Vec<String>,
        flush_first_value: bool,
        multiple_buckets: bool,
    },
    EventPlatformEvent {
        event_type: String,
        raw_event: Vec<u8>,
    },
    Metadata {
        name: String,
        value: String,
    },
    Log {
        line: String,
    },
}

impl From<Submission> for WireSubmission {
    fn from(s: Submission) -> WireSubmission {
        match s {
            Submission::Metric(m) => WireSubmission::Metric {
                name: m.name,
                mtype: m.mtype as u8,
                value: m.value.into(),
                tags: m.tags,
                hostname: m.hostname,
                flush_first_value: m.flush_first_value,
                timestamp: m.timestamp.into(),
            },
            Submission::ServiceCheck(c) => WireSubmission::ServiceCheck(c),
            Submission::Event(e) => WireSubmission::Event {
                title: e.title,
                text: e.text,
                timestamp: e.timestamp,
                priority: e.priority,
                host: e.host,
                tags: e.tags,
                alert_type: e.alert_type,
                aggregation_key: e.aggregation_key,
                source_type_name: e.source_type_name,
                event_type: e.event_type,
                raw: e.raw,
            },
            Submission::HistogramBucket(b) => WireSubmission::HistogramBucket {
                name: b.name,
                value: b.value,
                lower_bound: b.lower_bound.into(),
                upper_bound: b.upper_bound.into(),
                monotonic: b.monotonic,
                hostname: b.hostname,
                tags: b.tags,
                flush_first_value: b.flush_first_value,
                multiple_buckets: b.multiple_buckets,
            },
            Submission::EventPlatformEvent(e) => WireSubmission::EventPlatformEvent {
                event_type: e.event_type,
                raw_event: e.raw_event,
            },
            Submission::Metadata { name, value } => WireSubmission::Metadata { name, value },
            Submission::Log { line } => WireSubmission::Log { line },
        }
    }
}

impl TryFrom<WireSubmission> for Submission {
    type Error = String;

    fn try_from(w: WireSubmission) -> Result<Submission, String> {
        Ok(match w {
            WireSubmission::Metric {
                name,
                mtype,
                value,
                tags,
                hostname,
                flush_first_value,
                timestamp,
            } => Submission::Metric(MetricSample {
                name,
                mtype: MetricType::from_i32(i32::from(mtype)).ok_or_else(|| format!("unknown metric type {mtype}"))?,
                value: value.into(),
                tags,
                hostname,
                flush_first_value,
                timestamp: timestamp.into(),
            }),
            WireSubmission::ServiceCheck(c) => Submission::ServiceCheck(c),
            WireSubmission::Event {
                title,
                text,
                timestamp,
                priority,
                host,
                tags,
                alert_type,
                aggregation_key,
                source_type_name,
                event_type,
                raw,
            } => Submission::Event(Event {
                title,
                text,
                timestamp,
                priority,
                host,
                tags,
                alert_type,
                aggregation_key,
                source_type_name,
                event_type,
                raw,
            }),
            WireSubmission::HistogramBucket {
                name,
                value,
                lower_bound,
                upper_bound,
                monotonic,
                hostname,
                tags,
                flush_first_value,
                multiple_buckets,
            } => Submission::HistogramBucket(HistogramBucket {
                name,
                value,
                lower_bound: lower_bound.into(),
                upper_bound: upper_bound.into(),
                monotonic,
                hostname,
                tags,
                flush_first_value,
                multiple_buckets,
            }),
            WireSubmission::EventPlatformEvent { event_type, raw_event } => {
                Submission::EventPlatformEvent(EventPlatformEvent { event_type, raw_event })
            }
            WireSubmission::Metadata { name, value } => Submission::Metadata { name, value },
            WireSubmission::Log { line } => Submission::Log { line },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(s: Submission) -> Submission {
        let text = serde_json::to_string(&WireSubmission::from(s)).unwrap();
        Submission::try_from(serde_json::from_str::<WireSubmission>(&text).unwrap()).unwrap()
    }

    #[test]
    fn submissions_survive_the_wire_bit_for_bit() {
        let nan_metric = Submission::Metric(MetricSample {
            name: "m".into(),
            mtype: MetricType::MonotonicCount,
            value: f64::NAN,
            tags: vec!["a:b".into(), "é:ü".into()],
            hostname: "h".into(),
            flush_first_value: true,
            timestamp: 1_700_000_000.123_456,
        });
        match round_trip(nan_metric) {
            Submission::Metric(m) => {
                assert!(m.value.is_nan());
                assert_eq!(m.timestamp, 1_700_000_000.123_456);
                assert_eq!(m.mtype, MetricType::MonotonicCount);
                assert_eq!(m.tags, ["a:b", "é:ü"]);
            }
            other => panic!("{other:?}"),
        }
        let mut raw = Value::object();
        raw.insert("msg_title", "t");
        let subs = vec![
            Submission::HistogramBucket(HistogramBucket {
                name: "b".into(),
                value: 3,
                lower_bound: f64::NEG_INFINITY,
                upper_bound: f64::INFINITY,
                monotonic: true,
                hostname: String::new(),
                tags: vec![],
                flush_first_value: false,
                multiple_buckets: true,
            }),
            Submission::EventPlatformEvent(EventPlatformEvent {
                event_type: "dbm-samples".into(),
                raw_event: vec![0, 159, 146, 150, 255],
            }),
            Submission::Event(Event {
                title: Some("t".into()),
                timestamp: 7,
                raw: Some(raw),
                ..Event::default()
            }),
            Submission::ServiceCheck(ServiceCheck {
                name: "sc".into(),
                status: 2,
                tags: vec!["x".into()],
                hostname: "h".into(),
                message: "m".into(),
            }),
            Submission::Metadata {
                name: "version.major".into(),
                value: "7".into(),
            },
            Submission::Log {
                line: "{\"a\":1}".into(),
            },
        ];
        for s in subs {
            assert_eq!(round_trip(s.clone()), s);
        }
    }

    #[test]
    fn an_unknown_metric_type_is_an_error() {
        let w: WireSubmission = serde_json::from_str(
            r#"{"k":"metric","name":"m","mtype":9,"value":0,"tags":[],"hostname":"","flush_first_value":false,"timestamp":0}"#,
        )
        .unwrap();
        assert_eq!(Submission::try_from(w).unwrap_err(), "unknown metric type 9");
    }
}
