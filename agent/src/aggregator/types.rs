//! The aggregator's public types: what a check submits ([`Submission`]),
//! what a flush produces ([`Flush`]) and the settings ([`AggregatorOptions`]).
//!
//! The records the JSON-lines outputs print ([`output`](crate::output))
//! are serialized with serde, in field order: a type marked "serialized"
//! below declares its fields in the order of the schema in
//! `docs/run_check.md` or `docs/agent.md`.

use serde::{Deserialize, Serialize, Serializer};

use crate::value::Value;

/// The seven metric types of rtloader's `metric_type_t`, with its values.
/// Serialized as [`as_str`](MetricType::as_str).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum MetricType {
    /// `GAUGE = 0`
    Gauge = 0,
    /// `RATE = 1`
    Rate = 1,
    /// `COUNT = 2`
    Count = 2,
    /// `MONOTONIC_COUNT = 3`
    MonotonicCount = 3,
    /// `COUNTER = 4`
    Counter = 4,
    /// `HISTOGRAM = 5`
    Histogram = 5,
    /// `HISTORATE = 6`
    Historate = 6,
}

impl MetricType {
    /// All types, in value order.
    pub const ALL: [MetricType; 7] = [
        MetricType::Gauge,
        MetricType::Rate,
        MetricType::Count,
        MetricType::MonotonicCount,
        MetricType::Counter,
        MetricType::Histogram,
        MetricType::Historate,
    ];

    /// The type for an rtloader value (0..=6).
    pub fn from_i32(v: i32) -> Option<MetricType> {
        usize::try_from(v).ok().and_then(|i| MetricType::ALL.get(i).copied())
    }

    /// The lower-case name the stub aggregator and JSON outputs use
    /// (`"gauge"`, ..., `"monotonic_count"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Gauge => "gauge",
            MetricType::Rate => "rate",
            MetricType::Count => "count",
            MetricType::MonotonicCount => "monotonic_count",
            MetricType::Counter => "counter",
            MetricType::Histogram => "histogram",
            MetricType::Historate => "historate",
        }
    }

    /// The `aggregator` module constant's name (`"GAUGE"`, ...).
    pub fn constant_name(self) -> &'static str {
        match self {
            MetricType::Gauge => "GAUGE",
            MetricType::Rate => "RATE",
            MetricType::Count => "COUNT",
            MetricType::MonotonicCount => "MONOTONIC_COUNT",
            MetricType::Counter => "COUNTER",
            MetricType::Histogram => "HISTOGRAM",
            MetricType::Historate => "HISTORATE",
        }
    }

    /// Rate, monotonic count and historate keep state across flushes.
    pub fn is_stateful(self) -> bool {
        matches!(
            self,
            MetricType::Rate | MetricType::MonotonicCount | MetricType::Historate
        )
    }
}

/// A metric sample as the check submitted it
/// (`submit_metric(check, check_id, mtype, name, value, tags, hostname, flush_first_value)`).
/// Serialized without its timestamp (run_check's `metric` line).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricSample {
    /// The metric name.
    pub name: String,
    /// The metric type.
    #[serde(rename = "type")]
    pub mtype: MetricType,
    /// The value.
    pub value: f64,
    /// The tags, in submission order.
    pub tags: Vec<String>,
    /// The hostname (`""` for the default host).
    pub hostname: String,
    /// `flush_first_value` (meaningful for monotonic counts).
    pub flush_first_value: bool,
    /// When it was submitted, in seconds since the Unix epoch.
    #[serde(skip)]
    pub timestamp: f64,
}

/// A service check (`submit_service_check(check, check_id, name, status, tags, hostname, message)`).
/// Serialized (the `service_check` lines of both outputs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceCheck {
    /// The service check name.
    pub name: String,
    /// 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (not validated, as in rtloader).
    pub status: i32,
    /// The tags.
    pub tags: Vec<String>,
    /// The hostname.
    pub hostname: String,
    /// The message.
    pub message: String,
}

/// An event: the fields of rtloader's `event_t`, each `None` where rtloader
/// would pass NULL (missing key or not a string). Serialized as the event
/// dict built from these fields (`raw` is left out).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Event {
    /// `msg_title`.
    #[serde(rename = "msg_title")]
    pub title: Option<String>,
    /// `msg_text`.
    #[serde(rename = "msg_text")]
    pub text: Option<String>,
    /// `timestamp` (0 when missing or not an int, as in rtloader).
    pub timestamp: i64,
    /// `priority`.
    pub priority: Option<String>,
    /// `host`.
    pub host: Option<String>,
    /// `tags` (`None` when the key is missing).
    pub tags: Option<Vec<String>>,
    /// `alert_type`.
    pub alert_type: Option<String>,
    /// `aggregation_key`.
    pub aggregation_key: Option<String>,
    /// `source_type_name`.
    pub source_type_name: Option<String>,
    /// `event_type`.
    pub event_type: Option<String>,
    /// The dict exactly as the check submitted it, when the caller captured
    /// it (for outputs that print events verbatim).
    #[serde(skip)]
    pub raw: Option<Value>,
}

/// What outputs show of an event: from its fields, or else from its raw
/// dict. Serialized (the agent's `event` line).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventSummary<'a> {
    /// `msg_title`, or `""`.
    pub title: &'a str,
    /// `msg_text`, or `""`.
    pub text: &'a str,
    /// `tags`, the non-string items of a raw list left out.
    pub tags: Vec<&'a str>,
    /// `alert_type`.
    pub alert_type: Option<&'a str>,
    /// `timestamp`.
    pub timestamp: i64,
}

impl Event {
    /// The title, text, tags and alert type, each from its field or else
    /// from the raw dict (`msg_title`, `msg_text`, `tags`, `alert_type`).
    pub fn summary(&self) -> EventSummary<'_> {
        let tags = match &self.tags {
            Some(t) => t.iter().map(String::as_str).collect(),
            None => self
                .raw_field("tags")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default(),
        };
        EventSummary {
            title: self.text_or_raw(&self.title, "msg_title").unwrap_or(""),
            text: self.text_or_raw(&self.text, "msg_text").unwrap_or(""),
            tags,
            alert_type: self.text_or_raw(&self.alert_type, "alert_type"),
            timestamp: self.timestamp,
        }
    }

    fn raw_field(&self, key: &str) -> Option<&Value> {
        self.raw.as_ref().and_then(|r| r.get(key))
    }

    fn text_or_raw<'a>(&'a self, field: &'a Option<String>, key: &str) -> Option<&'a str> {
        field.as_deref().or_else(|| self.raw_field(key).and_then(Value::as_str))
    }
}

/// A histogram bucket (`submit_histogram_bucket(check, check_id, name, value,
/// lower_bound, upper_bound, monotonic, hostname, tags, flush_first_value)`).
/// Serialized (run_check's `histogram_bucket` line).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistogramBucket {
    /// The metric name.
    pub name: String,
    /// The bucket's count (raw cumulative value when `monotonic`).
    pub value: i64,
    /// Lower bound.
    pub lower_bound: f64,
    /// Upper bound (may be `+inf`).
    pub upper_bound: f64,
    /// The count only grows; report deltas.
    pub monotonic: bool,
    /// The hostname.
    pub hostname: String,
    /// The tags.
    pub tags: Vec<String>,
    /// Report the first value as-is (see the module docs).
    pub flush_first_value: bool,
    /// Submitted with `submit_histogram_bucket_multi`: several buckets share
    /// one context, so deltas are tracked per context *and* bounds.
    pub multiple_buckets: bool,
}

/// An event-platform event (`submit_event_platform_event(check, check_id, raw_event, event_type)`).
/// Serialized with the payload as (lossy UTF-8) text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventPlatformEvent {
    /// The track: `"dbm-samples"`, `"dbm-metrics"`, `"dbm-activity"`, ...
    pub event_type: String,
    /// The raw payload (JSON text for `dbm-*` tracks, bytes for proto tracks).
    #[serde(serialize_with = "lossy_text")]
    pub raw_event: Vec<u8>,
}

fn lossy_text<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(bytes))
}

/// One submission, as the check made it.
#[derive(Debug, Clone, PartialEq)]
pub enum Submission {
    /// `aggregator.submit_metric`.
    Metric(MetricSample),
    /// `aggregator.submit_service_check`.
    ServiceCheck(ServiceCheck),
    /// `aggregator.submit_event`.
    Event(Event),
    /// `aggregator.submit_histogram_bucket[_multi]`.
    HistogramBucket(HistogramBucket),
    /// `aggregator.submit_event_platform_event`.
    EventPlatformEvent(EventPlatformEvent),
    /// `datadog_agent.set_check_metadata`.
    Metadata {
        /// e.g. `version.major`.
        name: String,
        /// The value.
        value: String,
    },
    /// `datadog_agent.send_log(log_line, check_id)`.
    Log {
        /// The JSON log line.
        line: String,
    },
}

/// The series type a flushed value is sent as (the Agent's `APIMetricType`).
/// Serialized as [`as_str`](SerieKind::as_str).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SerieKind {
    /// `gauge`.
    Gauge,
    /// `count`.
    Count,
    /// `rate`.
    Rate,
}

impl SerieKind {
    /// `"gauge"`, `"count"` or `"rate"`.
    pub fn as_str(self) -> &'static str {
        match self {
            SerieKind::Gauge => "gauge",
            SerieKind::Count => "count",
            SerieKind::Rate => "rate",
        }
    }
}

/// One aggregated value of a context at a flush. Serialized (the agent's
/// `series` line).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Serie {
    /// The context's name plus the aggregate's suffix (`.max`, `.95percentile`, ...).
    pub name: String,
    /// How it is sent.
    #[serde(rename = "type")]
    pub kind: SerieKind,
    /// The value.
    pub value: f64,
    /// The context's tags, sorted and de-duplicated.
    pub tags: Vec<String>,
    /// The context's hostname.
    pub hostname: String,
    /// Seconds since the Unix epoch: the flush time, or for rates the last sample's time.
    pub timestamp: f64,
}

/// A histogram bucket's count for one flush, after the delta rules.
/// Serialized (the agent's `bucket` line).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BucketCount {
    /// The metric name.
    pub name: String,
    /// Samples that fell in the bucket (always > 0).
    pub count: i64,
    /// Lower bound.
    pub lower_bound: f64,
    /// Upper bound.
    pub upper_bound: f64,
    /// Sorted, de-duplicated tags.
    pub tags: Vec<String>,
    /// The hostname.
    pub hostname: String,
}

/// What a check's flush produces.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Flush {
    /// Aggregated metrics, in context creation order.
    pub series: Vec<Serie>,
    /// Histogram bucket counts, in submission order.
    pub buckets: Vec<BucketCount>,
    /// Service checks since the last flush (not aggregated).
    pub service_checks: Vec<ServiceCheck>,
    /// Events since the last flush (not aggregated).
    pub events: Vec<Event>,
    /// Event-platform events since the last flush.
    pub event_platform_events: Vec<EventPlatformEvent>,
    /// Log lines (`send_log`) since the last flush.
    pub logs: Vec<String>,
    /// Samples the rules dropped, and why (the Agent logs these at debug level).
    pub errors: Vec<String>,
}

/// A histogram aggregate (`histogram_aggregates`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistogramAggregate {
    /// `max`
    Max,
    /// `min`
    Min,
    /// `median`
    Median,
    /// `avg`
    Avg,
    /// `sum`
    Sum,
    /// `count` (sent as a rate)
    Count,
}

impl HistogramAggregate {
    /// The suffix without its dot.
    pub fn as_str(self) -> &'static str {
        match self {
            HistogramAggregate::Max => "max",
            HistogramAggregate::Min => "min",
            HistogramAggregate::Median => "median",
            HistogramAggregate::Avg => "avg",
            HistogramAggregate::Sum => "sum",
            HistogramAggregate::Count => "count",
        }
    }

    /// Parse an Agent configuration name; unknown names are `None` (the Agent skips them).
    pub fn parse(name: &str) -> Option<HistogramAggregate> {
        Some(match name {
            "max" => HistogramAggregate::Max,
            "min" => HistogramAggregate::Min,
            "median" => HistogramAggregate::Median,
            "avg" => HistogramAggregate::Avg,
            "sum" => HistogramAggregate::Sum,
            "count" => HistogramAggregate::Count,
            _ => return None,
        })
    }
}

/// Aggregator settings. The defaults are the Agent's.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregatorOptions {
    /// Record submissions for [`Aggregator::take_submissions`](super::Aggregator::take_submissions).
    pub keep_raw: bool,
    /// Feed the samplers for [`Aggregator::flush`](super::Aggregator::flush).
    pub aggregate: bool,
    /// `histogram_aggregates` (default `max, median, avg, count`).
    pub histogram_aggregates: Vec<HistogramAggregate>,
    /// `histogram_percentiles` as whole percents 1..=100 (default `[95]`).
    pub histogram_percentiles: Vec<u8>,
    /// Flushes without samples after which a stateless context is dropped (default 2).
    pub stateless_expiry_flushes: u32,
    /// Seconds without samples after which a stateful context is dropped (default 25 h).
    pub stateful_expiry_secs: f64,
    /// The hostname the flush gives to metrics, buckets, service checks and
    /// events submitted without one, as the Agent's sender gives them its
    /// own (default `""`: they stay without). The raw view keeps `""`.
    pub default_hostname: String,
}

impl Default for AggregatorOptions {
    fn default() -> Self {
        AggregatorOptions {
            keep_raw: true,
            aggregate: true,
            histogram_aggregates: vec![
                HistogramAggregate::Max,
                HistogramAggregate::Median,
                HistogramAggregate::Avg,
                HistogramAggregate::Count,
            ],
            histogram_percentiles: vec![95],
            stateless_expiry_flushes: 2,
            stateful_expiry_secs: 25.0 * 3600.0,
            default_hostname: String::new(),
        }
    }
}

/// External host tags (`datadog_agent.set_external_tags`), which belong to
/// no check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalTags {
    /// The host the tags apply to.
    pub hostname: String,
    /// The source type (the first key of the dict).
    pub source_type: String,
    /// The tags.
    pub tags: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_type_values_match_rtloader() {
        for (i, t) in MetricType::ALL.iter().enumerate() {
            assert_eq!(*t as i32, i as i32);
            assert_eq!(MetricType::from_i32(i as i32), Some(*t));
        }
        assert_eq!(MetricType::from_i32(7), None);
        assert_eq!(MetricType::from_i32(-1), None);
        assert_eq!(MetricType::MonotonicCount.as_str(), "monotonic_count");
        assert_eq!(MetricType::Historate.constant_name(), "HISTORATE");
    }

    #[test]
    fn serialized_names_are_as_str() {
        for t in MetricType::ALL {
            assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{}\"", t.as_str()));
        }
        for k in [SerieKind::Gauge, SerieKind::Count, SerieKind::Rate] {
            assert_eq!(serde_json::to_string(&k).unwrap(), format!("\"{}\"", k.as_str()));
        }
    }
}
