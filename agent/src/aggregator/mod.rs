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
//!
//! # Context limit
//!
//! A check instance (a check id) holds at most [`Aggregator::context_limit`]
//! metric contexts ([`DEFAULT_CONTEXT_LIMIT`]; the programs'
//! `--max-contexts-per-check`): a sample of a new context past it is
//! dropped. At the flush, the count of dropped samples is an entry of
//! [`Flush::errors`] and a `WARN` record of the host's log naming the check
//! id (each context costs about 2 KiB with its name and tags: the issue's
//! 200 000 contexts per run held 430 MB).

// The parts: `types` (the public types, re-exported here), `storage` (each
// check's raw log and metadata), `sampler` (contexts, buckets, expiry) and
// `metric_state` (each metric type's rules).
mod metric_state;
mod sampler;
mod storage;
mod types;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

use storage::{CheckState, Inner, Sample};
pub use storage::{MetricRef, SubmissionRef};
pub use types::{
    AggregatorOptions, BucketCount, Event, EventPlatformEvent, EventSummary, ExternalTags, Flush, HistogramAggregate,
    HistogramBucket, MetricSample, MetricType, Serie, SerieKind, ServiceCheck, Submission,
};

/// The default per-check context limit (see the module docs).
pub const DEFAULT_CONTEXT_LIMIT: usize = 100_000;

/// Thread-safe recorder and aggregator of check submissions. See the module docs.
#[derive(Debug)]
pub struct Aggregator {
    inner: Mutex<Inner>,
    opts: AggregatorOptions,
    context_limit: AtomicUsize,
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
        let mut inner = Inner::default();
        inner.default_host = opts.default_hostname.as_str().into();
        Aggregator {
            inner: Mutex::new(inner),
            opts,
            context_limit: AtomicUsize::new(DEFAULT_CONTEXT_LIMIT),
        }
    }

    /// Metric contexts a check id may hold (0: no limit).
    pub fn context_limit(&self) -> usize {
        self.context_limit.load(Ordering::Relaxed)
    }

    /// Set [`context_limit`](Self::context_limit) (0: no limit); contexts
    /// already held are kept.
    pub fn set_context_limit(&self, limit: usize) {
        self.context_limit.store(limit, Ordering::Relaxed);
    }

    /// Metric contexts the check holds now (after its last flush or take).
    pub fn contexts(&self, check_id: &str) -> usize {
        self.inner.lock().check(check_id).map_or(0, |c| c.sampler.contexts())
    }

    /// Whether the check id's submissions without a hostname stay without
    /// one (the instance's `empty_default_hostname`), instead of taking
    /// [`AggregatorOptions::default_hostname`]. Applies to what is flushed
    /// from now on.
    pub fn set_empty_default_hostname(&self, check_id: &str, empty: bool) {
        let mut inner = self.inner.lock();
        let host: Box<str> = if empty { "".into() } else { inner.default_host.clone() };
        if empty {
            inner.no_default_host.insert(check_id.into());
        } else {
            inner.no_default_host.remove(check_id);
        }
        if let Some(check) = inner.check_opt_mut(check_id) {
            check.default_host = host;
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
        let sample = Sample {
            mtype,
            value,
            timestamp,
            flush_first_value,
        };
        inner.check_mut(check_id).log.push_metric(name, tags, hostname, sample);
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
            check.log.push_other(Submission::Metadata {
                name: name.to_owned(),
                value: value.to_owned(),
            });
        }
    }

    /// Record a log line (`datadog_agent.send_log(log_line, check_id)`).
    pub fn send_log(&self, check_id: &str, line: &str) {
        self.push(check_id, Submission::Log { line: line.to_owned() });
    }

    /// Record a submission made elsewhere (a worker process), exactly as if
    /// the check had made it here: a metric keeps its timestamp, metadata
    /// updates the latest values.
    pub fn replay(&self, check_id: &str, sub: Submission) {
        match sub {
            Submission::Metric(m) => self.submit_metric_at(
                check_id,
                m.mtype,
                &m.name,
                m.value,
                &m.tags,
                &m.hostname,
                m.flush_first_value,
                m.timestamp,
            ),
            Submission::Metadata { name, value } => self.set_check_metadata(check_id, &name, &value),
            other => self.push(check_id, other),
        }
    }

    fn push(&self, check_id: &str, sub: Submission) {
        if !self.opts.keep_raw && !self.opts.aggregate {
            return;
        }
        let mut inner = self.inner.lock();
        inner.check_mut(check_id).log.push_other(sub);
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
        self.inner.lock().check(check_id).map_or(0, |c| c.log.len())
    }

    /// Remove and return the check's raw submissions, oldest first. Empty
    /// when `keep_raw` is off. They still count for the next [`flush`](Self::flush).
    pub fn take_submissions(&self, check_id: &str) -> Vec<Submission> {
        let mut inner = self.inner.lock();
        let Some(check) = inner.check_opt_mut(check_id) else {
            return Vec::new();
        };
        if self.opts.aggregate {
            check.ingest(self.context_limit());
        }
        let out = if self.opts.keep_raw {
            check.log.iter().map(|s| s.to_owned()).collect()
        } else {
            Vec::new()
        };
        check.clear_log();
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
            check.ingest(self.context_limit());
        }
        let n = if self.opts.keep_raw {
            check.log.iter().for_each(&mut f);
            check.log.len()
        } else {
            0
        };
        check.clear_log();
        n
    }

    /// Apply the rules to everything submitted since the last flush and
    /// return the check's flush at `timestamp` (seconds since the epoch).
    /// Empty when `aggregate` is off.
    pub fn flush(&self, check_id: &str, timestamp: f64) -> Flush {
        let mut inner = self.inner.lock();
        let Some(check) = inner.check_opt_mut(check_id) else {
            return Flush::default();
        };
        let (flush, warning) = self.flush_check(check, timestamp);
        drop(inner);
        if let Some(w) = warning {
            log_warning(&w);
        }
        flush
    }

    /// [`flush`](Self::flush) every check, in first-submission order.
    pub fn flush_all(&self, timestamp: f64) -> Vec<(String, Flush)> {
        let mut inner = self.inner.lock();
        let mut out = Vec::with_capacity(inner.checks.len());
        let mut warnings = Vec::new();
        for check in &mut inner.checks {
            let (f, w) = self.flush_check(check, timestamp);
            warnings.extend(w);
            out.push((check.id.to_string(), f));
        }
        drop(inner);
        warnings.iter().for_each(|w| log_warning(w));
        out
    }

    /// The check's flush, and the context-limit warning to log (after the
    /// lock is released), if samples were dropped.
    fn flush_check(&self, check: &mut CheckState, timestamp: f64) -> (Flush, Option<String>) {
        if !self.opts.aggregate {
            return (Flush::default(), None);
        }
        let limit = self.context_limit();
        check.ingest(limit);
        if !self.opts.keep_raw {
            check.clear_log();
        }
        let dropped = check.sampler.take_dropped();
        let mut flush = check.sampler.flush(timestamp, &self.opts);
        if dropped == 0 {
            return (flush, None);
        }
        let message = format!(
            "{dropped} samples of new metric contexts dropped: the check holds {limit} contexts, its limit \
             (--max-contexts-per-check)"
        );
        let warning = format!("{} | (aggregator) | {message}", check.id);
        flush.errors.push(message);
        (flush, Some(warning))
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

/// A `WARN` record in the host's log (standard error without a host).
fn log_warning(message: &str) {
    let record = crate::host::LogRecord {
        level: 30,
        message: message.to_owned(),
    };
    match crate::host::host() {
        Some(h) => (h.log)(&record),
        None => crate::host::stderr_log(&record),
    }
}

/// What the tests of every part of the aggregator share.
#[cfg(test)]
mod test_util {
    use super::*;

    pub(super) const ID: &str = "check:abc";

    pub(super) fn agg() -> Aggregator {
        Aggregator::new()
    }

    pub(super) fn submit(a: &Aggregator, t: MetricType, name: &str, v: f64, tags: &[&str], ts: f64) {
        a.submit_metric_at(ID, t, name, v, tags.iter().copied(), "", false, ts);
    }

    /// (name, value, kind) of each serie.
    pub(super) fn values(f: &Flush) -> Vec<(String, f64, SerieKind)> {
        f.series.iter().map(|s| (s.name.clone(), s.value, s.kind)).collect()
    }

    pub(super) fn one(f: &Flush) -> f64 {
        assert_eq!(f.series.len(), 1, "{:?}", f.series);
        f.series[0].value
    }
}

#[cfg(test)]
mod tests {
    use super::test_util::*;
    use super::*;

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
    fn new_contexts_past_the_limit_are_dropped_and_counted() {
        let a = agg();
        assert_eq!(a.context_limit(), DEFAULT_CONTEXT_LIMIT);
        a.set_context_limit(3);
        for i in 0..5 {
            submit(&a, MetricType::Gauge, &format!("m{i}"), 1.0, &[], 1.0);
        }
        // A known context still takes samples; two new ones did not fit.
        submit(&a, MetricType::Gauge, "m0", 2.0, &[], 1.5);
        submit(&a, MetricType::Gauge, "m9", 2.0, &["t"], 1.5);
        let f = a.flush(ID, 2.0);
        let names: Vec<&str> = f.series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["m0", "m1", "m2"]);
        assert_eq!(f.series[0].value, 2.0);
        assert_eq!(f.errors.len(), 1, "{:?}", f.errors);
        assert!(
            f.errors[0].starts_with("3 samples of new metric contexts dropped: the check holds 3 contexts"),
            "{:?}",
            f.errors
        );
        assert_eq!(a.contexts(ID), 3);
        // The count is per flush; other checks have their own budget.
        submit(&a, MetricType::Gauge, "m0", 3.0, &[], 2.5);
        assert!(a.flush(ID, 3.0).errors.is_empty());
        a.submit_metric_at("other:1", MetricType::Gauge, "x", 1.0, ["a"], "", false, 1.0);
        assert_eq!(a.flush("other:1", 2.0).series.len(), 1);
        // 0: no limit.
        a.set_context_limit(0);
        for i in 0..10 {
            submit(&a, MetricType::Gauge, &format!("n{i}"), 1.0, &[], 3.5);
        }
        assert!(a.flush(ID, 4.0).errors.is_empty());
        // m0 and the ten new ones (m1 and m2 expired: two flushes without samples).
        assert_eq!(a.contexts(ID), 11);
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
    fn the_flush_gives_the_default_hostname_to_what_has_none() {
        let a = Aggregator::with_options(AggregatorOptions {
            default_hostname: "web-1".into(),
            ..Default::default()
        });
        let gauge = |id: &str, host: &str| a.submit_metric_at(id, MetricType::Gauge, "g", 1.0, ["t"], host, false, 1.0);
        gauge(ID, "");
        gauge(ID, "web-1");
        gauge(ID, "db-2");
        a.submit_service_check(ID, "sc", 0, ["t"], "", "");
        a.submit_event(ID, Event::default());
        a.submit_histogram_bucket(
            ID,
            HistogramBucket {
                name: "h".into(),
                value: 3,
                lower_bound: 0.0,
                upper_bound: 1.0,
                monotonic: false,
                hostname: String::new(),
                tags: vec![],
                flush_first_value: false,
                multiple_buckets: false,
            },
        );
        let raw = a.take_submissions(ID);
        assert!(
            matches!(&raw[0], Submission::Metric(m) if m.hostname.is_empty()),
            "the raw view is as submitted"
        );
        let f = a.flush(ID, 2.0);
        let hosts: Vec<&str> = f.series.iter().map(|s| s.hostname.as_str()).collect();
        assert_eq!(
            hosts,
            ["web-1", "db-2"],
            "no host and the default host are one context, as in the Agent"
        );
        assert_eq!(f.service_checks[0].hostname, "web-1");
        assert_eq!(f.events[0].host.as_deref(), Some("web-1"));
        assert_eq!(f.buckets[0].hostname, "web-1");

        // empty_default_hostname: the instance's submissions stay without one.
        a.set_empty_default_hostname("other:1", true);
        gauge("other:1", "");
        a.submit_service_check("other:1", "sc", 0, ["t"], "", "");
        let f = a.flush("other:1", 3.0);
        assert_eq!(f.series[0].hostname, "");
        assert_eq!(f.service_checks[0].hostname, "");
        a.set_empty_default_hostname("other:1", false);
        gauge("other:1", "");
        assert_eq!(a.flush("other:1", 4.0).series[0].hostname, "web-1");
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
