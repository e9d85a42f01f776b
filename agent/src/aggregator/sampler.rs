//! The Agent's `CheckSampler` for one check: metric samples folded per
//! context (name, sorted and de-duplicated tags, hostname), histogram
//! buckets reduced to deltas, and the kinds the Agent does not aggregate
//! passed through to the next flush; contexts expire (see the module docs
//! of [`aggregator`](super)).

use std::collections::HashMap;

use super::metric_state::MetricState;
use super::storage::MetricRef;
use super::types::{AggregatorOptions, BucketCount, Flush, HistogramBucket, MetricType, Submission};

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

/// The hostname a submission is reported under: its own, else the default.
fn or_default<'a>(host: &'a str, default_host: &'a str) -> &'a str {
    if host.is_empty() {
        default_host
    } else {
        host
    }
}

/// Sort and de-duplicate tags in place (the Agent's context key ignores
/// order and duplicates) and hash the context.
pub(super) fn context_hash(name: &str, tags: &mut Vec<&str>, host: &str) -> u64 {
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
pub(super) struct CheckSampler {
    contexts: Vec<Context>,
    lookup: HashMap<u64, Vec<usize>, PrehashedState>,
    /// Last raw value of monotonic buckets, per context (and bounds).
    last_bucket: HashMap<(u64, Option<(u64, u64)>), i64>,
    pending: Flush,
    /// Samples of new contexts dropped by the context limit since the last flush.
    dropped: u64,
}

impl CheckSampler {
    /// The context's index; a new one is made unless there are `limit`
    /// already (0: no limit).
    fn find_or_insert(
        &mut self,
        name: &str,
        tags: &[&str],
        host: &str,
        hash: u64,
        mtype: MetricType,
        limit: usize,
    ) -> Option<usize> {
        if let Some(cands) = self.lookup.get(&hash) {
            if let Some(&i) = cands.iter().find(|&&i| self.contexts[i].matches(name, tags, host)) {
                return Some(i);
            }
        }
        let i = self.contexts.len();
        if limit != 0 && i >= limit {
            return None;
        }
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
        Some(i)
    }

    /// Contexts held now.
    pub(super) fn contexts(&self) -> usize {
        self.contexts.len()
    }

    /// Samples dropped by the context limit since the last call.
    pub(super) fn take_dropped(&mut self) -> u64 {
        std::mem::take(&mut self.dropped)
    }

    /// Fold a metric sample into its context. `scratch` is a buffer for
    /// the context's sorted tags, reused from sample to sample. A sample
    /// of a new context is dropped (and counted) when the check holds
    /// `limit` contexts already. A sample without a hostname takes
    /// `default_host`, as the Agent's sender gives it its own hostname.
    pub(super) fn add_sample<'a>(
        &mut self,
        m: MetricRef<'a>,
        scratch: &mut Vec<&'a str>,
        limit: usize,
        default_host: &'a str,
    ) {
        let (name, host, value) = (m.name(), or_default(m.hostname(), default_host), m.value());
        if !value.is_finite() {
            self.pending
                .errors
                .push(format!("{name}: sample with value '{}'", fmt_go_float(value)));
            return;
        }
        scratch.clear();
        scratch.extend(m.tags());
        let hash = context_hash(name, scratch, host);
        let Some(i) = self.find_or_insert(name, scratch, host, hash, m.mtype(), limit) else {
            self.dropped += 1;
            return;
        };
        let ctx = &mut self.contexts[i];
        ctx.metric.add_sample(value, m.timestamp(), m.flush_first_value());
        ctx.last_sample = m.timestamp();
        ctx.sampled = true;
    }

    pub(super) fn add_other(&mut self, sub: &Submission, default_host: &str) {
        match sub {
            Submission::Metric(_) | Submission::Metadata { .. } => {}
            Submission::ServiceCheck(sc) => {
                let mut sc = sc.clone();
                if sc.hostname.is_empty() {
                    sc.hostname = default_host.to_string();
                }
                self.pending.service_checks.push(sc)
            }
            Submission::Event(ev) => {
                let mut ev = ev.clone();
                if ev.host.as_deref().map_or(true, str::is_empty) && !default_host.is_empty() {
                    ev.host = Some(default_host.to_string());
                }
                self.pending.events.push(ev)
            }
            Submission::EventPlatformEvent(ev) => self.pending.event_platform_events.push(ev.clone()),
            Submission::Log { line } => self.pending.logs.push(line.clone()),
            Submission::HistogramBucket(b) => self.add_bucket(b, default_host),
        }
    }

    /// `CheckSampler.addBucket` (see the module docs).
    fn add_bucket(&mut self, b: &HistogramBucket, default_host: &str) {
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
        let host = or_default(&b.hostname, default_host);
        let hash = context_hash(&b.name, &mut tags, host);
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
                return self.push_bucket(b, &tags, host, b.value);
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
        self.push_bucket(b, &tags, host, value);
    }

    fn push_bucket(&mut self, b: &HistogramBucket, sorted_tags: &[&str], host: &str, count: i64) {
        self.pending.buckets.push(BucketCount {
            name: b.name.clone(),
            tags: sorted_tags.iter().map(|&t| t.to_owned()).collect(),
            hostname: host.to_owned(),
            lower_bound: b.lower_bound,
            upper_bound: b.upper_bound,
            count,
        });
    }

    pub(super) fn flush(&mut self, timestamp: f64, opts: &AggregatorOptions) -> Flush {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregator::test_util::*;
    use crate::aggregator::{Event, SerieKind};

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
    fn a_context_keeps_its_first_type() {
        let a = agg();
        submit(&a, MetricType::Count, "x", 1.0, &[], 1.0);
        submit(&a, MetricType::Gauge, "x", 5.0, &[], 1.0);
        assert_eq!(values(&a.flush(ID, 2.0)), vec![("x".into(), 6.0, SerieKind::Count)]);
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
}
