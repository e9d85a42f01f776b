//! Aggregation of what checks submit, with the Datadog Agent's semantics.
//!
//! Every submission is recorded per check id, in the order the check made
//! it, and offered through two views:
//!
//! 1. **The raw log** ([`Aggregator::take_submissions`]): each submission as
//!    the check made it (name, type, value, tags, hostname, flags), which is
//!    what `datadog-checks-base`'s stub aggregator records and what a
//!    `run_check`-style JSON output prints.
//! 2. **The flush** ([`Aggregator::flush`]): what the Agent's `CheckSampler`
//!    would send at a commit: metric samples folded per *context* (name,
//!    sorted and de-duplicated tags, hostname) by the per-type rules below,
//!    histogram buckets reduced to deltas, and the service checks, events,
//!    event-platform events and logs, which the Agent does not aggregate.
//!
//! # Metric rules (Agent `pkg/metrics`)
//!
//! Each rule cites the Agent file it follows (`DataDog/datadog-agent`,
//! `pkg/metrics/*.go` and `pkg/aggregator/check_sampler.go`).
//!
//! | type | value | rule |
//! |---|---|---|
//! | `GAUGE` | 0 | `gauge.go`: the last sample of the flush; series type gauge |
//! | `RATE` | 1 | `rate.go`: `(v2 - v1) / (t2 - t1)` over the last two samples, which may straddle flushes; nothing until two samples exist; two samples at the same timestamp, or a negative result ("the underlying counter may have been reset"), are dropped with an error; series type gauge, stamped with the last sample's time |
//! | `COUNT` | 2 | `count.go`: the sum of the flush's samples; series type count |
//! | `MONOTONIC_COUNT` | 3 | `monotonic_count.go`: the sum of the non-negative differences between consecutive samples, across flushes; the first sample ever only primes the counter unless `flush_first_value` is set, in which case it is reported as-is, and with `flush_first_value` a decrease is taken as a reset to zero (the new raw value is reported); series type count |
//! | `COUNTER` | 4 | `counter.go`: the sum of the flush's samples divided by the interval; series type rate. Checks flush with interval 1 (`CheckSampler.addSample` passes `1`), so it is the sum |
//! | `HISTOGRAM` | 5 | `histogram.go`: per flush, the configured aggregates (`histogram_aggregates`, default `max, median, avg, count`) and percentiles (`histogram_percentiles`, default `0.95`) as `name.max`, `name.median`, `name.avg`, `name.count`, `name.95percentile`; `count` is a rate (count / interval 1), the others gauges; median and percentiles pick the sample at rank `(count-1)/2` and `(p*count-1)/100` of the sorted samples |
//! | `HISTORATE` | 6 | `historate.go`: each sample after the first adds `(v - v_prev) / (t - t_prev)` to a histogram flushed as above; a flush forgets the previous sample, so each flush period starts over |
//!
//! Shared rules (`context_metrics.go`, `check_sampler.go`):
//!
//! * NaN and infinite samples are rejected (`sample with value 'NaN'`);
//! * a context takes the type of its first sample; later samples of other
//!   types in the same context feed that metric;
//! * contexts of stateless types expire after two flushes without samples
//!   (`check_sampler_bucket_commits_count_expiry`, default 2); stateful ones
//!   (rate, monotonic count, historate) after 25 hours without samples
//!   (`check_sampler_stateful_metric_expiration_time`).
//!
//! Histogram buckets (`check_sampler.go`, `addBucket`): negative counts and
//! negative ranges are discarded, zero counts ignored; a monotonic bucket
//! reports the delta from the previous raw value of its context (or of its
//! context and bounds for `multiple_buckets`), nothing for the first value
//! unless `flush_first_value`, and on a decrease (a reset; the Agent's
//! `check_sampler_allow_sketch_bucket_reset` default is true) the raw value
//! if `flush_first_value`, else nothing. The Agent then interpolates the
//! bucket into a sketch; this aggregator reports the bucket counts.
//!
//! # Cost
//!
//! Submitting is meant to stay cheap because it runs with the GIL held on
//! every `self.gauge(...)`: a metric submission copies its strings into a
//! per-check arena and pushes one fixed-size record, so it does not
//! allocate once the arena has grown. Contexts are resolved, and the rules
//! above applied, only when a view is read.
//!
//! Keep both views read, or switch the unused one off with
//! [`AggregatorOptions`]: what one view has not consumed is retained.

use std::collections::{BTreeMap, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

use super::value::Value;

/// The seven metric types of rtloader's `metric_type_t`, with its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSample {
    /// The metric type.
    pub mtype: MetricType,
    /// The metric name.
    pub name: String,
    /// The value.
    pub value: f64,
    /// The tags, in submission order.
    pub tags: Vec<String>,
    /// The hostname (`""` for the default host).
    pub hostname: String,
    /// `flush_first_value` (meaningful for monotonic counts).
    pub flush_first_value: bool,
    /// When it was submitted, in seconds since the Unix epoch.
    pub timestamp: f64,
}

/// A service check (`submit_service_check(check, check_id, name, status, tags, hostname, message)`).
#[derive(Debug, Clone, PartialEq, Eq)]
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
/// would pass NULL (missing key or not a string).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Event {
    /// `msg_title`.
    pub title: Option<String>,
    /// `msg_text`.
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
    pub raw: Option<Value>,
}

/// A histogram bucket (`submit_histogram_bucket(check, check_id, name, value,
/// lower_bound, upper_bound, monotonic, hostname, tags, flush_first_value)`).
#[derive(Debug, Clone, PartialEq)]
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventPlatformEvent {
    /// The raw payload (JSON text for `dbm-*` tracks, bytes for proto tracks).
    pub raw_event: Vec<u8>,
    /// The track: `"dbm-samples"`, `"dbm-metrics"`, `"dbm-activity"`, ...
    pub event_type: String,
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

/// A submission lent by [`Aggregator::drain_submissions`].
#[derive(Debug, Clone, Copy)]
pub enum SubmissionRef<'a> {
    /// A metric sample, read from the aggregator's arena.
    Metric(MetricRef<'a>),
    /// Any other submission.
    Other(&'a Submission),
}

impl SubmissionRef<'_> {
    /// An owned copy.
    pub fn to_owned(&self) -> Submission {
        match self {
            SubmissionRef::Metric(m) => Submission::Metric(m.to_owned()),
            SubmissionRef::Other(s) => (*s).clone(),
        }
    }
}

/// A metric sample lent by [`Aggregator::drain_submissions`].
#[derive(Clone, Copy)]
pub struct MetricRef<'a> {
    log: &'a RawLog,
    rec: &'a MetricRec,
}

impl<'a> MetricRef<'a> {
    /// The metric type.
    pub fn mtype(&self) -> MetricType {
        self.rec.mtype
    }
    /// The name.
    pub fn name(&self) -> &'a str {
        self.log.str(self.rec.name)
    }
    /// The value.
    pub fn value(&self) -> f64 {
        self.rec.value
    }
    /// The tags, in submission order.
    pub fn tags(&self) -> impl ExactSizeIterator<Item = &'a str> + 'a {
        let log = self.log;
        log.tag_spans[self.rec.tags.0..self.rec.tags.0 + self.rec.tags.1]
            .iter()
            .map(move |&s| log.str(s))
    }
    /// The hostname.
    pub fn hostname(&self) -> &'a str {
        self.log.str(self.rec.hostname)
    }
    /// `flush_first_value`.
    pub fn flush_first_value(&self) -> bool {
        self.rec.flush_first_value
    }
    /// When it was submitted (seconds since the epoch).
    pub fn timestamp(&self) -> f64 {
        self.rec.timestamp
    }
    /// An owned copy.
    pub fn to_owned(&self) -> MetricSample {
        MetricSample {
            mtype: self.mtype(),
            name: self.name().to_owned(),
            value: self.value(),
            tags: self.tags().map(str::to_owned).collect(),
            hostname: self.hostname().to_owned(),
            flush_first_value: self.flush_first_value(),
            timestamp: self.timestamp(),
        }
    }
}

impl std::fmt::Debug for MetricRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.to_owned(), f)
    }
}

/// The series type a flushed value is sent as (the Agent's `APIMetricType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// One aggregated value of a context at a flush.
#[derive(Debug, Clone, PartialEq)]
pub struct Serie {
    /// The context's name plus the aggregate's suffix (`.max`, `.95percentile`, ...).
    pub name: String,
    /// The value.
    pub value: f64,
    /// Seconds since the Unix epoch: the flush time, or for rates the last sample's time.
    pub timestamp: f64,
    /// How it is sent.
    pub kind: SerieKind,
    /// The context's tags, sorted and de-duplicated.
    pub tags: Vec<String>,
    /// The context's hostname.
    pub hostname: String,
}

/// A histogram bucket's count for one flush, after the delta rules.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketCount {
    /// The metric name.
    pub name: String,
    /// Sorted, de-duplicated tags.
    pub tags: Vec<String>,
    /// The hostname.
    pub hostname: String,
    /// Lower bound.
    pub lower_bound: f64,
    /// Upper bound.
    pub upper_bound: f64,
    /// Samples that fell in the bucket (always > 0).
    pub count: i64,
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
    /// Record submissions for [`Aggregator::take_submissions`].
    pub keep_raw: bool,
    /// Feed the samplers for [`Aggregator::flush`].
    pub aggregate: bool,
    /// `histogram_aggregates` (default `max, median, avg, count`).
    pub histogram_aggregates: Vec<HistogramAggregate>,
    /// `histogram_percentiles` as whole percents 1..=100 (default `[95]`).
    pub histogram_percentiles: Vec<u8>,
    /// Flushes without samples after which a stateless context is dropped (default 2).
    pub stateless_expiry_flushes: u32,
    /// Seconds without samples after which a stateful context is dropped (default 25 h).
    pub stateful_expiry_secs: f64,
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

/// Thread-safe recorder and aggregator of check submissions. See the module docs.
#[derive(Debug)]
pub struct Aggregator {
    inner: Mutex<Inner>,
    opts: AggregatorOptions,
}

impl Default for Aggregator {
    fn default() -> Self {
        Aggregator::new()
    }
}

/// Seconds since the Unix epoch, as the Agent timestamps samples.
pub fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The wall clock at the kernel tick's resolution (a few ms), several times
/// cheaper than [`now_secs`]: good enough to stamp samples whose rule does
/// not use their time.
#[cfg(target_os = "linux")]
fn coarse_now_secs() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid, writable timespec; CLOCK_REALTIME_COARSE exists
    // on every Linux this builds for (since 2.6.32).
    if unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut ts) } == 0 {
        ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
    } else {
        now_secs()
    }
}

#[cfg(not(target_os = "linux"))]
fn coarse_now_secs() -> f64 {
    now_secs()
}

impl Aggregator {
    /// An aggregator with the Agent's default settings and both views on.
    pub fn new() -> Aggregator {
        Aggregator::with_options(AggregatorOptions::default())
    }

    /// An aggregator with these settings. Percentiles are sorted and
    /// de-duplicated; out-of-range ones (0 or > 100) are dropped, as the Agent does.
    pub fn with_options(mut opts: AggregatorOptions) -> Aggregator {
        opts.histogram_percentiles.retain(|p| (1..=100).contains(p));
        opts.histogram_percentiles.sort_unstable();
        opts.histogram_percentiles.dedup();
        Aggregator {
            inner: Mutex::new(Inner::default()),
            opts,
        }
    }

    /// The settings.
    pub fn options(&self) -> &AggregatorOptions {
        &self.opts
    }

    /// Record a metric sample, timestamped now. The hot path: see the module docs.
    ///
    /// Rates and historates, whose rule divides by the time between
    /// samples, get the precise clock; the other types a coarse one (a few
    /// milliseconds), which is cheaper and only used for expiry.
    #[allow(clippy::too_many_arguments)]
    pub fn submit_metric<I, S>(
        &self,
        check_id: &str,
        mtype: MetricType,
        name: &str,
        value: f64,
        tags: I,
        hostname: &str,
        flush_first_value: bool,
    ) where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let ts = if matches!(mtype, MetricType::Rate | MetricType::Historate) {
            now_secs()
        } else {
            coarse_now_secs()
        };
        self.submit_metric_at(check_id, mtype, name, value, tags, hostname, flush_first_value, ts)
    }

    /// [`submit_metric`](Self::submit_metric) with an explicit timestamp
    /// (seconds since the epoch), for replays and tests.
    #[allow(clippy::too_many_arguments)]
    pub fn submit_metric_at<I, S>(
        &self,
        check_id: &str,
        mtype: MetricType,
        name: &str,
        value: f64,
        tags: I,
        hostname: &str,
        flush_first_value: bool,
        timestamp: f64,
    ) where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        if !self.opts.keep_raw && !self.opts.aggregate {
            return;
        }
        let mut inner = self.inner.lock();
        let check = inner.check_mut(check_id);
        let log = &mut check.log;
        let name = log.push_str(name);
        let hostname = log.push_str(hostname);
        let tags_start = log.tag_spans.len();
        for t in tags {
            let span = log.push_str(t.as_ref());
            log.tag_spans.push(span);
        }
        let tags = (tags_start, log.tag_spans.len() - tags_start);
        log.entries.push(Entry::Metric(MetricRec {
            name,
            hostname,
            tags,
            value,
            timestamp,
            mtype,
            flush_first_value,
        }));
    }

    /// Record a service check.
    pub fn submit_service_check<I, S>(
        &self,
        check_id: &str,
        name: &str,
        status: i32,
        tags: I,
        hostname: &str,
        message: &str,
    ) where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let sc = ServiceCheck {
            name: name.to_owned(),
            status,
            tags: tags.into_iter().map(|t| t.as_ref().to_owned()).collect(),
            hostname: hostname.to_owned(),
            message: message.to_owned(),
        };
        self.push(check_id, Submission::ServiceCheck(sc));
    }

    /// Record an event.
    pub fn submit_event(&self, check_id: &str, event: Event) {
        self.push(check_id, Submission::Event(event));
    }

    /// Record a histogram bucket.
    pub fn submit_histogram_bucket(&self, check_id: &str, bucket: HistogramBucket) {
        self.push(check_id, Submission::HistogramBucket(bucket));
    }

    /// Record an event-platform event.
    pub fn submit_event_platform_event(&self, check_id: &str, raw_event: &[u8], event_type: &str) {
        let ev = EventPlatformEvent {
            raw_event: raw_event.to_vec(),
            event_type: event_type.to_owned(),
        };
        self.push(check_id, Submission::EventPlatformEvent(ev));
    }

    /// Record check metadata (`datadog_agent.set_check_metadata`). The
    /// latest value per name is kept in [`check_metadata`](Self::check_metadata)
    /// whatever the views; the raw log records every call.
    pub fn set_check_metadata(&self, check_id: &str, name: &str, value: &str) {
        let mut inner = self.inner.lock();
        let keep_raw = self.opts.keep_raw;
        let check = inner.check_mut(check_id);
        check.metadata.insert(name.to_owned(), value.to_owned());
        if keep_raw {
            check.log.entries.push(Entry::Other(Box::new(Submission::Metadata {
                name: name.to_owned(),
                value: value.to_owned(),
            })));
        }
    }

    /// Record a log line (`datadog_agent.send_log(log_line, check_id)`).
    pub fn send_log(&self, check_id: &str, line: &str) {
        self.push(check_id, Submission::Log { line: line.to_owned() });
    }

    fn push(&self, check_id: &str, sub: Submission) {
        if !self.opts.keep_raw && !self.opts.aggregate {
            return;
        }
        let mut inner = self.inner.lock();
        inner.check_mut(check_id).log.entries.push(Entry::Other(Box::new(sub)));
    }

    /// The latest metadata value per name, sorted by name.
    pub fn check_metadata(&self, check_id: &str) -> Vec<(String, String)> {
        let inner = self.inner.lock();
        inner.check(check_id).map_or_else(Vec::new, |c| {
            c.metadata.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
        })
    }

    /// Submissions recorded for the check and not yet taken.
    pub fn pending(&self, check_id: &str) -> usize {
        self.inner.lock().check(check_id).map_or(0, |c| c.log.entries.len())
    }

    /// Remove and return the check's raw submissions, oldest first. Empty
    /// when `keep_raw` is off. They still count for the next [`flush`](Self::flush).
    pub fn take_submissions(&self, check_id: &str) -> Vec<Submission> {
        let mut inner = self.inner.lock();
        let Some(check) = inner.check_opt_mut(check_id) else {
            return Vec::new();
        };
        if self.opts.aggregate {
            check.ingest(&self.opts);
        }
        let out = if self.opts.keep_raw {
            check.log.to_submissions()
        } else {
            Vec::new()
        };
        check.log.clear();
        check.ingested = 0;
        out
    }

    /// Remove the check's raw submissions, handing each to `f` by reference,
    /// oldest first, without copying them out (for outputs that write them
    /// straight away); returns how many there were. Like
    /// [`take_submissions`](Self::take_submissions) otherwise.
    ///
    /// `f` runs with the aggregator locked: it must not submit to this
    /// aggregator (nor run Python code that could), or it deadlocks.
    pub fn drain_submissions<F>(&self, check_id: &str, mut f: F) -> usize
    where
        F: FnMut(SubmissionRef<'_>),
    {
        let mut inner = self.inner.lock();
        let Some(check) = inner.check_opt_mut(check_id) else {
            return 0;
        };
        if self.opts.aggregate {
            check.ingest(&self.opts);
        }
        let n = check.log.entries.len();
        if self.opts.keep_raw {
            for e in &check.log.entries {
                f(match e {
                    Entry::Metric(rec) => SubmissionRef::Metric(MetricRef { log: &check.log, rec }),
                    Entry::Other(sub) => SubmissionRef::Other(sub),
                });
            }
        }
        check.log.clear();
        check.ingested = 0;
        if self.opts.keep_raw {
            n
        } else {
            0
        }
    }

    /// Apply the rules to everything submitted since the last flush and
    /// return the check's flush at `timestamp` (seconds since the epoch).
    /// Empty when `aggregate` is off.
    pub fn flush(&self, check_id: &str, timestamp: f64) -> Flush {
        let mut inner = self.inner.lock();
        let Some(check) = inner.check_opt_mut(check_id) else {
            return Flush::default();
        };
        self.flush_check(check, timestamp)
    }

    /// [`flush`](Self::flush) every check, in first-submission order.
    pub fn flush_all(&self, timestamp: f64) -> Vec<(String, Flush)> {
        let mut inner = self.inner.lock();
        let mut out = Vec::with_capacity(inner.checks.len());
        for check in &mut inner.checks {
            let f = self.flush_check(check, timestamp);
            out.push((check.id.to_string(), f));
        }
        out
    }

    fn flush_check(&self, check: &mut CheckState, timestamp: f64) -> Flush {
        if !self.opts.aggregate {
            return Flush::default();
        }
        check.ingest(&self.opts);
        if !self.opts.keep_raw {
            check.log.clear();
            check.ingested = 0;
        }
        check.sampler.flush(timestamp, &self.opts)
    }

    /// The check ids that have submitted something, in first-submission order.
    pub fn check_ids(&self) -> Vec<String> {
        self.inner.lock().checks.iter().map(|c| c.id.to_string()).collect()
    }

    /// Forget a check (unscheduled): its submissions, contexts and metadata.
    pub fn remove_check(&self, check_id: &str) -> bool {
        self.inner.lock().remove(check_id)
    }

    /// Record external host tags (`datadog_agent.set_external_tags`); a
    /// later call for the same host and source type replaces the tags.
    pub fn set_external_tags<I, S>(&self, hostname: &str, source_type: &str, tags: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let tags: Vec<String> = tags.into_iter().map(|t| t.as_ref().to_owned()).collect();
        let mut inner = self.inner.lock();
        match inner
            .external_tags
            .iter_mut()
            .find(|e| e.hostname == hostname && e.source_type == source_type)
        {
            Some(e) => e.tags = tags,
            None => inner.external_tags.push(ExternalTags {
                hostname: hostname.to_owned(),
                source_type: source_type.to_owned(),
                tags,
            }),
        }
    }

    /// The external host tags recorded so far.
    pub fn external_tags(&self) -> Vec<ExternalTags> {
        self.inner.lock().external_tags.clone()
    }
}

// ---- storage ----------------------------------------------------------------

#[derive(Debug, Default)]
struct Inner {
    /// Index in `checks` of the last check submitted to: submissions come in
    /// runs from one check, so most lookups are one string comparison.
    last: usize,
    index: HashMap<Box<str>, usize>,
    checks: Vec<CheckState>,
    external_tags: Vec<ExternalTags>,
}

impl Inner {
    fn check_mut(&mut self, id: &str) -> &mut CheckState {
        if self.last < self.checks.len() && &*self.checks[self.last].id == id {
            return &mut self.checks[self.last];
        }
        let i = match self.index.get(id) {
            Some(&i) => i,
            None => {
                let i = self.checks.len();
                self.checks.push(CheckState::new(id));
                self.index.insert(id.into(), i);
                i
            }
        };
        self.last = i;
        &mut self.checks[i]
    }

    fn check(&self, id: &str) -> Option<&CheckState> {
        self.index.get(id).map(|&i| &self.checks[i])
    }

    fn check_opt_mut(&mut self, id: &str) -> Option<&mut CheckState> {
        let i = *self.index.get(id)?;
        Some(&mut self.checks[i])
    }

    fn remove(&mut self, id: &str) -> bool {
        let Some(i) = self.index.remove(id) else {
            return false;
        };
        self.checks.remove(i);
        for v in self.index.values_mut() {
            if *v > i {
                *v -= 1;
            }
        }
        self.last = usize::MAX;
        true
    }
}

#[derive(Debug)]
struct CheckState {
    id: Box<str>,
    log: RawLog,
    /// Entries of `log` already fed to `sampler`.
    ingested: usize,
    sampler: CheckSampler,
    metadata: BTreeMap<String, String>,
}

impl CheckState {
    fn new(id: &str) -> CheckState {
        CheckState {
            id: id.into(),
            log: RawLog::default(),
            ingested: 0,
            sampler: CheckSampler::default(),
            metadata: BTreeMap::new(),
        }
    }

    fn ingest(&mut self, opts: &AggregatorOptions) {
        let log = &self.log;
        let mut scratch: Vec<&str> = Vec::new();
        for entry in &log.entries[self.ingested..] {
            match entry {
                Entry::Metric(m) => {
                    scratch.clear();
                    scratch.extend(log.tags(m).map(|s| log.str(s)));
                    self.sampler
                        .add_sample(log.str(m.name), &mut scratch, log.str(m.hostname), m, opts);
                }
                Entry::Other(sub) => self.sampler.add_other(sub),
            }
        }
        self.ingested = log.entries.len();
    }
}

#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    len: usize,
}

#[derive(Debug)]
struct MetricRec {
    name: Span,
    hostname: Span,
    /// (start, len) in `RawLog::tag_spans`.
    tags: (usize, usize),
    value: f64,
    timestamp: f64,
    mtype: MetricType,
    flush_first_value: bool,
}

#[derive(Debug)]
enum Entry {
    Metric(MetricRec),
    Other(Box<Submission>),
}

/// Submissions in order; metric strings live in one arena.
#[derive(Debug, Default)]
struct RawLog {
    arena: String,
    tag_spans: Vec<Span>,
    entries: Vec<Entry>,
}

impl RawLog {
    #[inline]
    fn push_str(&mut self, s: &str) -> Span {
        let start = self.arena.len();
        self.arena.push_str(s);
        Span { start, len: s.len() }
    }

    #[inline]
    fn str(&self, s: Span) -> &str {
        &self.arena[s.start..s.start + s.len]
    }

    fn tags<'a>(&'a self, m: &MetricRec) -> impl Iterator<Item = Span> + 'a {
        self.tag_spans[m.tags.0..m.tags.0 + m.tags.1].iter().copied()
    }

    fn to_submissions(&self) -> Vec<Submission> {
        self.entries
            .iter()
            .map(|e| match e {
                Entry::Metric(rec) => Submission::Metric(MetricRef { log: self, rec }.to_owned()),
                Entry::Other(sub) => (**sub).clone(),
            })
            .collect()
    }

    /// Empty the log, keeping the buffers' capacity for the next run.
    fn clear(&mut self) {
        self.arena.clear();
        self.tag_spans.clear();
        self.entries.clear();
    }
}

// ---- the sampler --------------------------------------------------------------

/// A word-at-a-time multiplicative hash (FxHash's step) for context keys;
/// collisions are resolved by comparing the keys, so speed matters more
/// than quality.
#[derive(Clone, Copy)]
struct KeyHash(u64);

impl KeyHash {
    const K: u64 = 0x517c_c1b7_2722_0a95;

    fn word(self, w: u64) -> KeyHash {
        KeyHash((self.0.rotate_left(5) ^ w).wrapping_mul(Self::K))
    }

    fn bytes(mut self, b: &[u8]) -> KeyHash {
        let mut chunks = b.chunks_exact(8);
        for c in &mut chunks {
            self = self.word(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        // The length separates fields, so "ab","c" and "a","bc" differ.
        self.word(u64::from_le_bytes(last)).word(b.len() as u64)
    }
}

/// Sort and de-duplicate tags in place (the Agent's context key ignores
/// order and duplicates) and hash the context.
fn context_hash(name: &str, tags: &mut Vec<&str>, host: &str) -> u64 {
    tags.sort_unstable();
    tags.dedup();
    let mut h = KeyHash(0)
        .bytes(name.as_bytes())
        .bytes(host.as_bytes())
        .word(tags.len() as u64);
    for t in tags.iter() {
        h = h.bytes(t.as_bytes());
    }
    h.0
}

/// The context hashes are already hashes: spread the high bits down and use them.
#[derive(Default, Clone, Copy)]
struct PrehashedState;

impl std::hash::BuildHasher for PrehashedState {
    type Hasher = Prehashed;
    fn build_hasher(&self) -> Prehashed {
        Prehashed(0)
    }
}

struct Prehashed(u64);

impl std::hash::Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 29)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[derive(Debug)]
struct Context {
    name: Box<str>,
    tags: Box<[Box<str>]>,
    host: Box<str>,
    metric: MetricState,
    /// Flushes in a row without samples.
    idle_flushes: u32,
    last_sample: f64,
    sampled: bool,
}

impl Context {
    fn matches(&self, name: &str, tags: &[&str], host: &str) -> bool {
        &*self.name == name
            && &*self.host == host
            && self.tags.len() == tags.len()
            && self.tags.iter().zip(tags).all(|(a, b)| &**a == *b)
    }
}

#[derive(Debug, Default)]
struct CheckSampler {
    contexts: Vec<Context>,
    lookup: HashMap<u64, Vec<usize>, PrehashedState>,
    /// Last raw value of monotonic buckets, per context (and bounds).
    last_bucket: HashMap<(u64, Option<(u64, u64)>), i64>,
    pending: Flush,
}

impl CheckSampler {
    fn find_or_insert(&mut self, name: &str, tags: &[&str], host: &str, hash: u64, mtype: MetricType) -> usize {
        if let Some(cands) = self.lookup.get(&hash) {
            if let Some(&i) = cands.iter().find(|&&i| self.contexts[i].matches(name, tags, host)) {
                return i;
            }
        }
        let i = self.contexts.len();
        self.contexts.push(Context {
            name: name.into(),
            tags: tags.iter().map(|&t| t.into()).collect(),
            host: host.into(),
            metric: MetricState::new(mtype),
            idle_flushes: 0,
            last_sample: 0.0,
            sampled: false,
        });
        self.lookup.entry(hash).or_default().push(i);
        i
    }

    fn add_sample(&mut self, name: &str, tags: &mut Vec<&str>, host: &str, m: &MetricRec, _opts: &AggregatorOptions) {
        if !m.value.is_finite() {
            self.pending
                .errors
                .push(format!("{name}: sample with value '{}'", fmt_go_float(m.value)));
            return;
        }
        let hash = context_hash(name, tags, host);
        let i = self.find_or_insert(name, tags, host, hash, m.mtype);
        let ctx = &mut self.contexts[i];
        ctx.metric.add_sample(m.value, m.timestamp, m.flush_first_value);
        ctx.last_sample = m.timestamp;
        ctx.sampled = true;
    }

    fn add_other(&mut self, sub: &Submission) {
        match sub {
            Submission::Metric(_) | Submission::Metadata { .. } => {}
            Submission::ServiceCheck(sc) => self.pending.service_checks.push(sc.clone()),
            Submission::Event(ev) => self.pending.events.push(ev.clone()),
            Submission::EventPlatformEvent(ev) => self.pending.event_platform_events.push(ev.clone()),
            Submission::Log { line } => self.pending.logs.push(line.clone()),
            Submission::HistogramBucket(b) => self.add_bucket(b),
        }
    }

    /// `CheckSampler.addBucket` (see the module docs).
    fn add_bucket(&mut self, b: &HistogramBucket) {
        if b.value < 0 {
            self.pending.errors.push(format!(
                "Negative bucket value {} for metric {} discarding",
                b.value, b.name
            ));
            return;
        }
        if b.value == 0 {
            return;
        }
        if b.upper_bound - b.lower_bound < 0.0 {
            self.pending.errors.push(format!(
                "Negative bucket range [{}-{}] for metric {} discarding",
                b.lower_bound, b.upper_bound, b.name
            ));
            return;
        }
        let mut tags: Vec<&str> = b.tags.iter().map(String::as_str).collect();
        let hash = context_hash(&b.name, &mut tags, &b.hostname);
        let mut value = b.value;
        if b.monotonic {
            let bounds = b
                .multiple_buckets
                .then(|| (b.lower_bound.to_bits(), b.upper_bound.to_bits()));
            let last = self.last_bucket.insert((hash, bounds), b.value);
            let Some(last) = last else {
                if !b.flush_first_value {
                    return;
                }
                // First value reported as-is.
                return self.push_bucket(b, &tags, b.value);
            };
            if b.value < last {
                if !b.flush_first_value {
                    return;
                }
            } else {
                value = b.value - last;
            }
        }
        if value < 0 {
            self.pending.errors.push(format!(
                "Negative bucket delta {} for metric {} discarding",
                value, b.name
            ));
            return;
        }
        if value == 0 {
            return;
        }
        self.push_bucket(b, &tags, value);
    }

    fn push_bucket(&mut self, b: &HistogramBucket, sorted_tags: &[&str], count: i64) {
        self.pending.buckets.push(BucketCount {
            name: b.name.clone(),
            tags: sorted_tags.iter().map(|&t| t.to_owned()).collect(),
            hostname: b.hostname.clone(),
            lower_bound: b.lower_bound,
            upper_bound: b.upper_bound,
            count,
        });
    }

    fn flush(&mut self, timestamp: f64, opts: &AggregatorOptions) -> Flush {
        let mut out = std::mem::take(&mut self.pending);
        for ctx in &mut self.contexts {
            let before = out.series.len();
            if let Err(e) = ctx.metric.flush(timestamp, opts, &mut out.series) {
                out.errors.push(format!("{}: {e}", ctx.name));
            }
            for s in &mut out.series[before..] {
                s.name.insert_str(0, &ctx.name);
                s.tags = ctx.tags.iter().map(|t| t.to_string()).collect();
                s.hostname = ctx.host.to_string();
            }
            if ctx.sampled {
                ctx.idle_flushes = 0;
            } else {
                ctx.idle_flushes += 1;
            }
            ctx.sampled = false;
        }
        self.expire(timestamp, opts);
        out
    }

    fn expire(&mut self, now: f64, opts: &AggregatorOptions) {
        let before = self.contexts.len();
        self.contexts.retain(|c| {
            if c.metric.mtype().is_stateful() {
                now - c.last_sample < opts.stateful_expiry_secs
            } else {
                c.idle_flushes < opts.stateless_expiry_flushes
            }
        });
        if self.contexts.len() != before {
            self.lookup.clear();
            for (i, c) in self.contexts.iter().enumerate() {
                let mut tags: Vec<&str> = c.tags.iter().map(|t| &**t).collect();
                let h = context_hash(&c.name, &mut tags, &c.host);
                self.lookup.entry(h).or_default().push(i);
            }
        }
    }
}

/// Go's `%v` of a float for the messages the Agent logs.
fn fmt_go_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

// ---- per-type state ---------------------------------------------------------

#[derive(Debug, Default)]
struct Hist {
    samples: Vec<f64>,
    sum: f64,
    count: i64,
}

impl Hist {
    fn add(&mut self, v: f64) {
        self.samples.push(v);
        self.sum += v;
        self.count += 1;
    }

    /// `Histogram.flush`: aggregates in configured order, then percentiles.
    fn flush(&mut self, timestamp: f64, opts: &AggregatorOptions, out: &mut Vec<Serie>) {
        if self.samples.is_empty() {
            return;
        }
        self.samples.sort_unstable_by(f64::total_cmp);
        let s = &self.samples;
        for agg in &opts.histogram_aggregates {
            let (value, kind) = match agg {
                HistogramAggregate::Max => (s[s.len() - 1], SerieKind::Gauge),
                HistogramAggregate::Min => (s[0], SerieKind::Gauge),
                HistogramAggregate::Median => (s[((self.count - 1) / 2) as usize], SerieKind::Gauge),
                HistogramAggregate::Avg => (self.sum / self.count as f64, SerieKind::Gauge),
                HistogramAggregate::Sum => (self.sum, SerieKind::Gauge),
                // Divided by the check interval, which is 1.
                HistogramAggregate::Count => (self.count as f64, SerieKind::Rate),
            };
            out.push(serie(format!(".{}", agg.as_str()), value, timestamp, kind));
        }
        for &p in &opts.histogram_percentiles {
            // The first sample whose cumulative weight (1 each) exceeds the target.
            let target = (i64::from(p) * self.count - 1) / 100;
            let idx = usize::try_from(target).unwrap_or(0).min(s.len() - 1);
            out.push(serie(format!(".{p}percentile"), s[idx], timestamp, SerieKind::Gauge));
        }
        self.samples.clear();
        self.sum = 0.0;
        self.count = 0;
    }
}

/// A Serie whose name, tags and host the caller fills in.
fn serie(suffix: String, value: f64, timestamp: f64, kind: SerieKind) -> Serie {
    Serie {
        name: suffix,
        value,
        timestamp,
        kind,
        tags: Vec::new(),
        hostname: String::new(),
    }
}

/// The flush of a state that holds one value: a serie of `kind` if it was
/// sampled since the last flush, then back to unsampled and 0.
fn flush_sampled(value: &mut f64, sampled: &mut bool, timestamp: f64, kind: SerieKind, out: &mut Vec<Serie>) {
    if std::mem::take(sampled) {
        out.push(serie(String::new(), std::mem::take(value), timestamp, kind));
    }
}

#[derive(Debug)]
enum MetricState {
    Gauge {
        value: f64,
        sampled: bool,
    },
    Count {
        value: f64,
        sampled: bool,
    },
    Counter {
        value: f64,
        sampled: bool,
    },
    /// Timestamps of 0 mean "no sample", as in `rate.go`.
    Rate {
        prev_sample: f64,
        prev_ts: f64,
        sample: f64,
        ts: f64,
    },
    MonotonicCount {
        prev: f64,
        current: f64,
        sampled_since_flush: bool,
        has_prev: bool,
        value: f64,
        flush_first_value: bool,
    },
    Histogram(Hist),
    Historate {
        hist: Hist,
        prev_sample: f64,
        prev_ts: f64,
        sampled: bool,
    },
}

impl MetricState {
    fn new(t: MetricType) -> MetricState {
        match t {
            MetricType::Gauge => MetricState::Gauge {
                value: 0.0,
                sampled: false,
            },
            MetricType::Count => MetricState::Count {
                value: 0.0,
                sampled: false,
            },
            MetricType::Counter => MetricState::Counter {
                value: 0.0,
                sampled: false,
            },
            MetricType::Rate => MetricState::Rate {
                prev_sample: 0.0,
                prev_ts: 0.0,
                sample: 0.0,
                ts: 0.0,
            },
            MetricType::MonotonicCount => MetricState::MonotonicCount {
                prev: 0.0,
                current: 0.0,
                sampled_since_flush: false,
                has_prev: false,
                value: 0.0,
                flush_first_value: false,
            },
            MetricType::Histogram => MetricState::Histogram(Hist::default()),
            MetricType::Historate => MetricState::Historate {
                hist: Hist::default(),
                prev_sample: 0.0,
                prev_ts: 0.0,
                sampled: false,
            },
        }
    }

    fn mtype(&self) -> MetricType {
        match self {
            MetricState::Gauge { .. } => MetricType::Gauge,
            MetricState::Count { .. } => MetricType::Count,
            MetricState::Counter { .. } => MetricType::Counter,
            MetricState::Rate { .. } => MetricType::Rate,
            MetricState::MonotonicCount { .. } => MetricType::MonotonicCount,
            MetricState::Histogram(_) => MetricType::Histogram,
            MetricState::Historate { .. } => MetricType::Historate,
        }
    }

    fn add_sample(&mut self, v: f64, ts: f64, ffv: bool) {
        match self {
            MetricState::Gauge { value, sampled } => {
                *value = v;
                *sampled = true;
            }
            MetricState::Count { value, sampled } | MetricState::Counter { value, sampled } => {
                *value += v;
                *sampled = true;
            }
            MetricState::Rate {
                prev_sample,
                prev_ts,
                sample,
                ts: cur_ts,
            } => {
                if *cur_ts != 0.0 {
                    *prev_sample = *sample;
                    *prev_ts = *cur_ts;
                }
                *sample = v;
                *cur_ts = ts;
            }
            MetricState::MonotonicCount {
                prev,
                current,
                sampled_since_flush,
                has_prev,
                value,
                flush_first_value,
            } => {
                if !*sampled_since_flush {
                    *current = v;
                    *sampled_since_flush = true;
                } else {
                    *prev = *current;
                    *current = v;
                    *has_prev = true;
                }
                *flush_first_value = ffv;
                let diff = *current - *prev;
                if (*has_prev || *flush_first_value) && diff >= 0.0 {
                    *value += diff;
                } else if *flush_first_value {
                    *value = *current;
                }
            }
            MetricState::Histogram(h) => h.add(v),
            MetricState::Historate {
                hist,
                prev_sample,
                prev_ts,
                sampled,
            } => {
                if *prev_ts != 0.0 {
                    hist.add((v - *prev_sample) / (ts - *prev_ts));
                    *sampled = true;
                }
                *prev_sample = v;
                *prev_ts = ts;
            }
        }
    }

    /// Append this flush's series (names are suffixes; the caller prefixes
    /// the context's name). An `Err` is a sample the rules dropped.
    fn flush(&mut self, timestamp: f64, opts: &AggregatorOptions, out: &mut Vec<Serie>) -> Result<(), &'static str> {
        match self {
            MetricState::Gauge { value, sampled } => flush_sampled(value, sampled, timestamp, SerieKind::Gauge, out),
            MetricState::Count { value, sampled } => flush_sampled(value, sampled, timestamp, SerieKind::Count, out),
            // value / interval, and a check's interval is 1.
            MetricState::Counter { value, sampled } => flush_sampled(value, sampled, timestamp, SerieKind::Rate, out),
            MetricState::Rate {
                prev_sample,
                prev_ts,
                sample,
                ts,
            } => {
                if *prev_ts == 0.0 || *ts == 0.0 {
                    return Ok(());
                }
                if *ts == *prev_ts {
                    return Err("Rate was sampled twice at the same timestamp, can't compute a rate");
                }
                let value = (*sample - *prev_sample) / (*ts - *prev_ts);
                let at = *ts;
                *prev_sample = *sample;
                *prev_ts = *ts;
                *sample = 0.0;
                *ts = 0.0;
                if value < 0.0 {
                    return Err("Rate value is negative, discarding it (the underlying counter may have been reset)");
                }
                out.push(serie(String::new(), value, at, SerieKind::Gauge));
            }
            MetricState::MonotonicCount {
                prev,
                current,
                sampled_since_flush,
                has_prev,
                value,
                flush_first_value,
            } => {
                if !*sampled_since_flush || !(*has_prev || *flush_first_value) {
                    return Ok(());
                }
                out.push(serie(String::new(), *value, timestamp, SerieKind::Count));
                *prev = *current;
                *current = 0.0;
                *value = 0.0;
                *has_prev = true;
                *sampled_since_flush = false;
                *flush_first_value = false;
            }
            MetricState::Histogram(h) => h.flush(timestamp, opts, out),
            MetricState::Historate {
                hist,
                prev_sample,
                prev_ts,
                sampled,
            } => {
                if !*sampled {
                    return Ok(());
                }
                *prev_sample = 0.0;
                *prev_ts = 0.0;
                *sampled = false;
                hist.flush(timestamp, opts, out);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "check:abc";

    fn agg() -> Aggregator {
        Aggregator::new()
    }

    fn submit(a: &Aggregator, t: MetricType, name: &str, v: f64, tags: &[&str], ts: f64) {
        a.submit_metric_at(ID, t, name, v, tags.iter().copied(), "", false, ts);
    }

    /// (name, value, kind) of each serie.
    fn values(f: &Flush) -> Vec<(String, f64, SerieKind)> {
        f.series.iter().map(|s| (s.name.clone(), s.value, s.kind)).collect()
    }

    fn one(f: &Flush) -> f64 {
        assert_eq!(f.series.len(), 1, "{:?}", f.series);
        f.series[0].value
    }

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
    fn raw_log_keeps_submissions_as_made_in_order() {
        let a = agg();
        a.submit_metric_at(
            ID,
            MetricType::Gauge,
            "g",
            1.5,
            ["b:2", "a:1", "b:2"],
            "h1",
            false,
            10.0,
        );
        a.submit_service_check(ID, "sc", 2, ["x:y"], "", "down");
        a.submit_metric_at(
            ID,
            MetricType::MonotonicCount,
            "mc",
            3.0,
            Vec::<String>::new(),
            "",
            true,
            11.0,
        );
        a.set_check_metadata(ID, "version.raw", "1.2.3");
        a.submit_event_platform_event(ID, b"{\"a\":1}", "dbm-samples");
        a.send_log(ID, "{\"message\":\"m\"}");
        a.submit_metric_at("other:1", MetricType::Count, "c", 1.0, ["t"], "", false, 1.0);
        assert_eq!(a.pending(ID), 6);
        let subs = a.take_submissions(ID);
        assert_eq!(
            subs[0],
            Submission::Metric(MetricSample {
                mtype: MetricType::Gauge,
                name: "g".into(),
                value: 1.5,
                tags: vec!["b:2".into(), "a:1".into(), "b:2".into()],
                hostname: "h1".into(),
                flush_first_value: false,
                timestamp: 10.0,
            })
        );
        assert!(
            matches!(&subs[1], Submission::ServiceCheck(sc) if sc.status == 2 && sc.message == "down" && sc.tags == ["x:y"])
        );
        assert!(
            matches!(&subs[2], Submission::Metric(m) if m.flush_first_value && m.tags.is_empty() && m.mtype == MetricType::MonotonicCount)
        );
        assert_eq!(
            subs[3],
            Submission::Metadata {
                name: "version.raw".into(),
                value: "1.2.3".into()
            }
        );
        assert!(
            matches!(&subs[4], Submission::EventPlatformEvent(e) if e.event_type == "dbm-samples" && e.raw_event == b"{\"a\":1}")
        );
        assert_eq!(
            subs[5],
            Submission::Log {
                line: "{\"message\":\"m\"}".into()
            }
        );
        assert_eq!(subs.len(), 6);
        // Taken: gone; the other check is untouched.
        assert!(a.take_submissions(ID).is_empty());
        assert_eq!(a.take_submissions("other:1").len(), 1);
        assert_eq!(a.check_ids(), vec![ID.to_string(), "other:1".to_string()]);
        assert_eq!(
            a.check_metadata(ID),
            vec![("version.raw".to_string(), "1.2.3".to_string())]
        );
    }

    #[test]
    fn drain_lends_submissions_in_order() {
        let a = agg();
        a.submit_metric_at(ID, MetricType::Rate, "r", 2.0, ["b", "a"], "h", true, 7.0);
        a.submit_service_check(ID, "sc", 1, ["t"], "", "m");
        let mut seen = Vec::new();
        let n = a.drain_submissions(ID, |s| {
            if let SubmissionRef::Metric(m) = s {
                assert_eq!(m.tags().len(), 2);
                assert_eq!((m.name(), m.hostname(), m.value(), m.timestamp()), ("r", "h", 2.0, 7.0));
                assert!(m.flush_first_value() && m.mtype() == MetricType::Rate);
            }
            seen.push(s.to_owned());
        });
        assert_eq!(n, 2);
        assert!(matches!(&seen[0], Submission::Metric(m) if m.tags == ["b", "a"]));
        assert!(matches!(&seen[1], Submission::ServiceCheck(sc) if sc.message == "m"));
        assert_eq!(a.drain_submissions(ID, |_| panic!("drained already")), 0);
        assert_eq!(a.drain_submissions("unknown:1", |_| panic!("no such check")), 0);
        // Drained submissions still count for the flush.
        submit(&a, MetricType::Rate, "r", 12.0, &["a", "b"], 12.0);
        a.submit_metric_at(ID, MetricType::Rate, "r", 12.0, ["a", "b"], "h", false, 12.0);
        assert_eq!(one(&a.flush(ID, 13.0)), 2.0);
    }

    #[test]
    fn submit_metric_stamps_with_the_wall_clock() {
        let a = agg();
        let before = now_secs();
        a.submit_metric(ID, MetricType::Gauge, "g", 1.0, ["t"], "", false);
        a.submit_metric(ID, MetricType::Rate, "r", 1.0, ["t"], "", false);
        let after = now_secs();
        for s in a.take_submissions(ID) {
            let Submission::Metric(m) = s else { panic!() };
            // The coarse clock may lag by a tick.
            assert!(
                m.timestamp > before - 0.1 && m.timestamp <= after,
                "{} not in [{before}, {after}]",
                m.timestamp
            );
        }
    }

    #[test]
    fn taken_submissions_still_count_for_the_flush() {
        let a = agg();
        submit(&a, MetricType::Count, "c", 2.0, &[], 1.0);
        assert_eq!(a.take_submissions(ID).len(), 1);
        submit(&a, MetricType::Count, "c", 3.0, &[], 2.0);
        assert_eq!(one(&a.flush(ID, 5.0)), 5.0);
        // And flushing keeps the raw log for the raw view.
        assert_eq!(a.take_submissions(ID).len(), 1);
    }

    #[test]
    fn context_hash_separates_fields() {
        let h = |n: &str, t: &[&str], host: &str| context_hash(n, &mut t.to_vec(), host);
        assert_eq!(h("m", &["b", "a", "b"], "h"), h("m", &["a", "b"], "h"));
        let distinct = [
            h("m", &["a", "b"], "h"),
            h("m", &["ab"], "h"),
            h("m", &["a"], "bh"),
            h("ma", &[], "h"),
            h("m", &["a", "b"], ""),
            h("m", &[], "h"),
            h("", &["m"], "h"),
            h("a_long_metric_name.with.dots", &["k:v"], ""),
            h("a_long_metric_name.with.dotz", &["k:v"], ""),
        ];
        for i in 0..distinct.len() {
            for j in i + 1..distinct.len() {
                assert_ne!(distinct[i], distinct[j], "{i} vs {j}");
            }
        }
    }

    #[test]
    fn gauge_keeps_last_value() {
        let a = agg();
        for v in [1.0, 7.0, 3.0] {
            submit(&a, MetricType::Gauge, "g", v, &[], 1.0);
        }
        let f = a.flush(ID, 100.0);
        assert_eq!(values(&f), vec![("g".into(), 3.0, SerieKind::Gauge)]);
        assert_eq!(f.series[0].timestamp, 100.0);
        // Nothing sampled since: nothing sent.
        assert!(a.flush(ID, 115.0).series.is_empty());
    }

    #[test]
    fn count_sums_within_a_flush_only() {
        let a = agg();
        for v in [1.0, 2.0, 3.5] {
            submit(&a, MetricType::Count, "c", v, &[], 1.0);
        }
        assert_eq!(values(&a.flush(ID, 2.0)), vec![("c".into(), 6.5, SerieKind::Count)]);
        submit(&a, MetricType::Count, "c", 1.0, &[], 3.0);
        assert_eq!(one(&a.flush(ID, 4.0)), 1.0);
    }

    #[test]
    fn contexts_are_name_sorted_deduped_tags_and_host() {
        let a = agg();
        a.submit_metric_at(ID, MetricType::Count, "c", 1.0, ["b", "a"], "", false, 1.0);
        a.submit_metric_at(ID, MetricType::Count, "c", 2.0, ["a", "b", "a"], "", false, 1.0);
        a.submit_metric_at(ID, MetricType::Count, "c", 4.0, ["a", "b"], "other-host", false, 1.0);
        a.submit_metric_at(ID, MetricType::Count, "c", 8.0, ["a"], "", false, 1.0);
        a.submit_metric_at(ID, MetricType::Count, "d", 16.0, ["a", "b"], "", false, 1.0);
        let f = a.flush(ID, 2.0);
        let got: Vec<(String, Vec<String>, String, f64)> = f
            .series
            .iter()
            .map(|s| (s.name.clone(), s.tags.clone(), s.hostname.clone(), s.value))
            .collect();
        let ab = vec!["a".to_string(), "b".to_string()];
        assert_eq!(
            got,
            vec![
                ("c".into(), ab.clone(), "".into(), 3.0),
                ("c".into(), ab.clone(), "other-host".into(), 4.0),
                ("c".into(), vec!["a".to_string()], "".into(), 8.0),
                ("d".into(), ab, "".into(), 16.0),
            ]
        );
    }

    #[test]
    fn rate_needs_two_samples_and_spans_flushes() {
        let a = agg();
        submit(&a, MetricType::Rate, "r", 10.0, &[], 100.0);
        // First sample: nothing.
        assert!(a.flush(ID, 101.0).series.is_empty());
        submit(&a, MetricType::Rate, "r", 40.0, &[], 110.0);
        let f = a.flush(ID, 111.0);
        assert_eq!(values(&f), vec![("r".into(), 3.0, SerieKind::Gauge)]);
        // Stamped with the sample's time, not the flush's.
        assert_eq!(f.series[0].timestamp, 110.0);
        // Within one flush, the last two samples count.
        submit(&a, MetricType::Rate, "r", 50.0, &[], 115.0);
        submit(&a, MetricType::Rate, "r", 70.0, &[], 120.0);
        assert_eq!(one(&a.flush(ID, 121.0)), 4.0);
    }

    #[test]
    fn rate_drops_negative_and_same_timestamp() {
        let a = agg();
        submit(&a, MetricType::Rate, "r", 10.0, &[], 100.0);
        submit(&a, MetricType::Rate, "r", 5.0, &[], 110.0);
        let f = a.flush(ID, 111.0);
        assert!(f.series.is_empty());
        assert!(f.errors[0].contains("Rate value is negative"), "{:?}", f.errors);
        // The negative pair still moved the window: 5 -> 25 over 10 s.
        submit(&a, MetricType::Rate, "r", 25.0, &[], 120.0);
        assert_eq!(one(&a.flush(ID, 121.0)), 2.0);
        submit(&a, MetricType::Rate, "r", 30.0, &[], 120.0);
        let f = a.flush(ID, 122.0);
        assert!(f.series.is_empty());
        assert!(f.errors[0].contains("sampled twice at the same timestamp"));
    }

    #[test]
    fn monotonic_count_reports_nonnegative_deltas() {
        // The Agent's own example: 2, 3, 6, 7 -> 5; then 10, 11 -> 4.
        let a = agg();
        for v in [2.0, 3.0, 6.0, 7.0] {
            submit(&a, MetricType::MonotonicCount, "mc", v, &[], 1.0);
        }
        assert_eq!(values(&a.flush(ID, 2.0)), vec![("mc".into(), 5.0, SerieKind::Count)]);
        for v in [10.0, 11.0] {
            submit(&a, MetricType::MonotonicCount, "mc", v, &[], 3.0);
        }
        assert_eq!(one(&a.flush(ID, 4.0)), 4.0);
        // A decrease (counter reset) contributes nothing; growth after it counts.
        for v in [1.0, 3.0] {
            submit(&a, MetricType::MonotonicCount, "mc", v, &[], 5.0);
        }
        assert_eq!(one(&a.flush(ID, 6.0)), 2.0);
    }

    #[test]
    fn monotonic_count_first_value_only_primes() {
        let a = agg();
        submit(&a, MetricType::MonotonicCount, "mc", 5.0, &[], 1.0);
        assert!(a.flush(ID, 2.0).series.is_empty());
        submit(&a, MetricType::MonotonicCount, "mc", 8.0, &[], 3.0);
        assert_eq!(one(&a.flush(ID, 4.0)), 3.0);
        // No sample since the last flush: nothing.
        assert!(a.flush(ID, 5.0).series.is_empty());
    }

    #[test]
    fn monotonic_count_flush_first_value() {
        let a = agg();
        a.submit_metric_at(ID, MetricType::MonotonicCount, "mc", 5.0, [""; 0], "", true, 1.0);
        assert_eq!(one(&a.flush(ID, 2.0)), 5.0);
        a.submit_metric_at(ID, MetricType::MonotonicCount, "mc", 9.0, [""; 0], "", true, 3.0);
        assert_eq!(one(&a.flush(ID, 4.0)), 4.0);
        // With flush_first_value a decrease is a reset from zero: the raw value.
        a.submit_metric_at(ID, MetricType::MonotonicCount, "mc", 2.0, [""; 0], "", true, 5.0);
        assert_eq!(one(&a.flush(ID, 6.0)), 2.0);
    }

    #[test]
    fn counter_sums_and_is_sent_as_rate() {
        let a = agg();
        submit(&a, MetricType::Counter, "k", 2.0, &[], 1.0);
        submit(&a, MetricType::Counter, "k", 5.0, &[], 1.0);
        assert_eq!(values(&a.flush(ID, 2.0)), vec![("k".into(), 7.0, SerieKind::Rate)]);
        assert!(a.flush(ID, 3.0).series.is_empty());
    }

    #[test]
    fn histogram_default_aggregates() {
        let a = agg();
        for v in [5.0, 1.0, 4.0, 2.0, 3.0] {
            submit(&a, MetricType::Histogram, "h", v, &["t:1"], 1.0);
        }
        let f = a.flush(ID, 9.0);
        assert_eq!(
            values(&f),
            vec![
                ("h.max".into(), 5.0, SerieKind::Gauge),
                ("h.median".into(), 3.0, SerieKind::Gauge),
                ("h.avg".into(), 3.0, SerieKind::Gauge),
                ("h.count".into(), 5.0, SerieKind::Rate),
                ("h.95percentile".into(), 5.0, SerieKind::Gauge),
            ]
        );
        assert!(f.series.iter().all(|s| s.tags == ["t:1"] && s.timestamp == 9.0));
        assert!(a.flush(ID, 10.0).series.is_empty(), "a histogram resets at each flush");
    }

    #[test]
    fn histogram_ranks_follow_the_agent() {
        // 100 samples 1..=100: median rank (100-1)/2 = 49 -> 50;
        // 95th rank (95*100-1)/100 = 94 -> 95; even count median takes the lower middle.
        let a = Aggregator::with_options(AggregatorOptions {
            histogram_aggregates: vec![
                HistogramAggregate::Min,
                HistogramAggregate::Median,
                HistogramAggregate::Sum,
            ],
            histogram_percentiles: vec![99, 50, 95, 0, 50],
            ..Default::default()
        });
        for v in (1..=100).rev() {
            submit(&a, MetricType::Histogram, "h", f64::from(v), &[], 1.0);
        }
        let f = a.flush(ID, 2.0);
        assert_eq!(
            values(&f),
            vec![
                ("h.min".into(), 1.0, SerieKind::Gauge),
                ("h.median".into(), 50.0, SerieKind::Gauge),
                ("h.sum".into(), 5050.0, SerieKind::Gauge),
                ("h.50percentile".into(), 50.0, SerieKind::Gauge),
                ("h.95percentile".into(), 95.0, SerieKind::Gauge),
                ("h.99percentile".into(), 99.0, SerieKind::Gauge),
            ]
        );
        // One sample: every rank is that sample.
        submit(&a, MetricType::Histogram, "h", 7.0, &[], 3.0);
        assert!(a
            .flush(ID, 4.0)
            .series
            .iter()
            .all(|s| s.value == 7.0 || s.name == "h.sum"));
    }

    #[test]
    fn historate_histograms_the_rates_and_restarts_each_flush() {
        let a = agg();
        submit(&a, MetricType::Historate, "hr", 0.0, &[], 100.0);
        submit(&a, MetricType::Historate, "hr", 10.0, &[], 110.0); // 1/s
        submit(&a, MetricType::Historate, "hr", 40.0, &[], 120.0); // 3/s
        let f = a.flush(ID, 121.0);
        assert_eq!(
            values(&f),
            vec![
                ("hr.max".into(), 3.0, SerieKind::Gauge),
                ("hr.median".into(), 1.0, SerieKind::Gauge),
                ("hr.avg".into(), 2.0, SerieKind::Gauge),
                ("hr.count".into(), 2.0, SerieKind::Rate),
                ("hr.95percentile".into(), 3.0, SerieKind::Gauge),
            ]
        );
        // The flush forgot the previous sample: one new sample yields nothing.
        submit(&a, MetricType::Historate, "hr", 50.0, &[], 130.0);
        assert!(a.flush(ID, 131.0).series.is_empty());
    }

    #[test]
    fn non_finite_samples_are_rejected() {
        let a = agg();
        submit(&a, MetricType::Gauge, "g", f64::NAN, &[], 1.0);
        submit(&a, MetricType::Count, "c", f64::INFINITY, &[], 1.0);
        let f = a.flush(ID, 2.0);
        assert!(f.series.is_empty());
        assert_eq!(
            f.errors,
            vec![
                "g: sample with value 'NaN'".to_string(),
                "c: sample with value '+Inf'".to_string()
            ]
        );
        // The raw view still shows what the check submitted.
        assert_eq!(a.take_submissions(ID).len(), 2);
    }

    #[test]
    fn a_context_keeps_its_first_type() {
        let a = agg();
        submit(&a, MetricType::Count, "x", 1.0, &[], 1.0);
        submit(&a, MetricType::Gauge, "x", 5.0, &[], 1.0);
        assert_eq!(values(&a.flush(ID, 2.0)), vec![("x".into(), 6.0, SerieKind::Count)]);
    }

    #[test]
    fn contexts_expire() {
        let a = agg();
        submit(&a, MetricType::Gauge, "g", 1.0, &[], 1.0);
        submit(&a, MetricType::Rate, "r", 1.0, &[], 1.0);
        a.flush(ID, 2.0);
        a.flush(ID, 3.0);
        a.flush(ID, 4.0);
        {
            let inner = a.inner.lock();
            let names: Vec<&str> = inner.checks[0].sampler.contexts.iter().map(|c| &*c.name).collect();
            assert_eq!(
                names,
                ["r"],
                "the gauge expired after two idle flushes, the rate did not"
            );
        }
        // The rate kept its state: a second sample gives a value.
        submit(&a, MetricType::Rate, "r", 11.0, &[], 11.0);
        assert_eq!(one(&a.flush(ID, 12.0)), 1.0);
        // 25 h later the stateful context expires too; the gauge context is recreated on demand.
        a.flush(ID, 11.0 + 25.0 * 3600.0);
        assert!(a.inner.lock().checks[0].sampler.contexts.is_empty());
        submit(&a, MetricType::Gauge, "g", 2.0, &[], 100_000.0);
        assert_eq!(one(&a.flush(ID, 100_001.0)), 2.0);
    }

    fn bucket(value: i64, lower: f64, upper: f64, monotonic: bool, ffv: bool) -> HistogramBucket {
        HistogramBucket {
            name: "b".into(),
            value,
            lower_bound: lower,
            upper_bound: upper,
            monotonic,
            hostname: String::new(),
            tags: vec!["upper_bound:1".into()],
            flush_first_value: ffv,
            multiple_buckets: false,
        }
    }

    fn counts(f: &Flush) -> Vec<i64> {
        f.buckets.iter().map(|b| b.count).collect()
    }

    #[test]
    fn histogram_buckets_non_monotonic() {
        let a = agg();
        a.submit_histogram_bucket(ID, bucket(4, 0.0, 1.0, false, false));
        a.submit_histogram_bucket(ID, bucket(0, 0.0, 1.0, false, false)); // ignored
        a.submit_histogram_bucket(ID, bucket(-1, 0.0, 1.0, false, false)); // discarded
        a.submit_histogram_bucket(ID, bucket(3, 2.0, 1.0, false, false)); // negative range
        let f = a.flush(ID, 1.0);
        assert_eq!(counts(&f), vec![4]);
        assert_eq!(f.errors.len(), 2);
        assert_eq!((f.buckets[0].lower_bound, f.buckets[0].upper_bound), (0.0, 1.0));
    }

    #[test]
    fn histogram_buckets_monotonic_deltas() {
        let a = agg();
        a.submit_histogram_bucket(ID, bucket(10, 0.0, 1.0, true, false)); // primes
        a.submit_histogram_bucket(ID, bucket(15, 0.0, 1.0, true, false)); // +5
        a.submit_histogram_bucket(ID, bucket(15, 0.0, 1.0, true, false)); // +0: nothing
        a.submit_histogram_bucket(ID, bucket(3, 0.0, 1.0, true, false)); // reset: nothing
        a.submit_histogram_bucket(ID, bucket(7, 0.0, 1.0, true, false)); // +4
        assert_eq!(counts(&a.flush(ID, 1.0)), vec![5, 4]);
        // flush_first_value: the first value and a reset's raw value are reported.
        let a = agg();
        a.submit_histogram_bucket(ID, bucket(10, 0.0, 1.0, true, true));
        a.submit_histogram_bucket(ID, bucket(12, 0.0, 1.0, true, true));
        a.submit_histogram_bucket(ID, bucket(3, 0.0, 1.0, true, true));
        assert_eq!(counts(&a.flush(ID, 1.0)), vec![10, 2, 3]);
    }

    #[test]
    fn histogram_buckets_multi_track_bounds() {
        let a = agg();
        let mut b1 = bucket(10, 0.0, 1.0, true, false);
        b1.multiple_buckets = true;
        let mut b2 = bucket(20, 1.0, 2.0, true, false);
        b2.multiple_buckets = true;
        a.submit_histogram_bucket(ID, b1.clone());
        a.submit_histogram_bucket(ID, b2.clone());
        b1.value = 11;
        b2.value = 25;
        a.submit_histogram_bucket(ID, b1);
        a.submit_histogram_bucket(ID, b2);
        assert_eq!(counts(&a.flush(ID, 1.0)), vec![1, 5]);
    }

    #[test]
    fn unaggregated_kinds_pass_through_the_flush_once() {
        let a = agg();
        a.submit_service_check(ID, "sc", 0, ["a"], "", "");
        a.submit_event(
            ID,
            Event {
                title: Some("t".into()),
                timestamp: 5,
                ..Default::default()
            },
        );
        a.submit_event_platform_event(ID, b"x", "dbm-metrics");
        a.send_log(ID, "l");
        let f = a.flush(ID, 1.0);
        assert_eq!(f.service_checks.len(), 1);
        assert_eq!(f.events[0].title.as_deref(), Some("t"));
        assert_eq!(f.event_platform_events[0].event_type, "dbm-metrics");
        assert_eq!(f.logs, vec!["l".to_string()]);
        assert_eq!(a.flush(ID, 2.0), Flush::default());
    }

    #[test]
    fn views_can_be_switched_off() {
        let a = Aggregator::with_options(AggregatorOptions {
            keep_raw: false,
            ..Default::default()
        });
        submit(&a, MetricType::Count, "c", 1.0, &[], 1.0);
        assert_eq!(one(&a.flush(ID, 2.0)), 1.0);
        assert_eq!(a.pending(ID), 0, "without the raw view the flush frees the log");
        submit(&a, MetricType::Count, "c", 1.0, &[], 3.0);
        assert!(a.take_submissions(ID).is_empty());
        assert_eq!(one(&a.flush(ID, 4.0)), 1.0, "taking did not lose the sample");

        let a = Aggregator::with_options(AggregatorOptions {
            aggregate: false,
            ..Default::default()
        });
        submit(&a, MetricType::Count, "c", 1.0, &[], 1.0);
        assert_eq!(a.flush(ID, 2.0), Flush::default());
        assert_eq!(a.take_submissions(ID).len(), 1);
    }

    #[test]
    fn remove_check_forgets_everything() {
        let a = agg();
        submit(&a, MetricType::Rate, "r", 1.0, &[], 1.0);
        a.submit_metric_at("b:1", MetricType::Gauge, "g", 1.0, ["t"], "", false, 1.0);
        a.set_check_metadata(ID, "k", "v");
        assert!(a.remove_check(ID));
        assert!(!a.remove_check(ID));
        assert!(a.check_metadata(ID).is_empty());
        assert_eq!(a.check_ids(), vec!["b:1".to_string()]);
        // The remaining check is still reachable through the index.
        assert_eq!(a.take_submissions("b:1").len(), 1);
        submit(&a, MetricType::Rate, "r", 5.0, &[], 2.0);
        assert!(
            a.flush(ID, 3.0).series.is_empty(),
            "a re-added check starts from scratch"
        );
    }

    #[test]
    fn external_tags_replace_per_host_and_source() {
        let a = agg();
        a.set_external_tags("h", "vsphere", ["a"]);
        a.set_external_tags("h", "vsphere", ["b", "c"]);
        a.set_external_tags("h", "other", ["d"]);
        let t = a.external_tags();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].tags, ["b", "c"]);
    }

    #[test]
    fn concurrent_submitters_lose_nothing() {
        let a = std::sync::Arc::new(agg());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let a = a.clone();
                std::thread::spawn(move || {
                    for i in 0..1000 {
                        let id = if i % 2 == 0 { "even:1" } else { "odd:1" };
                        a.submit_metric_at(id, MetricType::Count, "c", 1.0, [format!("t:{t}")], "", false, 1.0);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let total: f64 = ["even:1", "odd:1"]
            .iter()
            .flat_map(|id| a.flush(id, 2.0).series)
            .map(|s| s.value)
            .sum();
        assert_eq!(total, 4000.0);
    }
}
