//! Per-check storage: each check's raw log (its submissions in order, the
//! metric strings in one arena so that recording a metric does not
//! allocate), its sampler and its metadata.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::sampler::CheckSampler;
use super::types::{ExternalTags, MetricSample, MetricType, Submission};

/// A submission lent by [`Aggregator::drain_submissions`](super::Aggregator::drain_submissions).
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

/// A metric sample lent by [`Aggregator::drain_submissions`](super::Aggregator::drain_submissions).
#[derive(Clone, Copy)]
pub struct MetricRef<'a> {
    log: &'a RawLog,
    rec: &'a MetricRec,
}

impl<'a> MetricRef<'a> {
    /// The metric type.
    pub fn mtype(&self) -> MetricType {
        self.rec.sample.mtype
    }
    /// The name.
    pub fn name(&self) -> &'a str {
        self.log.str(self.rec.name)
    }
    /// The value.
    pub fn value(&self) -> f64 {
        self.rec.sample.value
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
        self.rec.sample.flush_first_value
    }
    /// When it was submitted (seconds since the epoch).
    pub fn timestamp(&self) -> f64 {
        self.rec.sample.timestamp
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

#[derive(Debug, Default)]
pub(super) struct Inner {
    /// Index in `checks` of the last check submitted to: submissions come in
    /// runs from one check, so most lookups are one string comparison.
    last: usize,
    index: HashMap<Box<str>, usize>,
    pub(super) checks: Vec<CheckState>,
    pub(super) external_tags: Vec<ExternalTags>,
    /// The hostname given to what a check submits without one (`""`: none).
    pub(super) default_host: Box<str>,
    /// Check ids whose instance set `empty_default_hostname`.
    pub(super) no_default_host: HashSet<Box<str>>,
}

impl Inner {
    pub(super) fn check_mut(&mut self, id: &str) -> &mut CheckState {
        if self.last < self.checks.len() && &*self.checks[self.last].id == id {
            return &mut self.checks[self.last];
        }
        let i = match self.index.get(id) {
            Some(&i) => i,
            None => {
                let i = self.checks.len();
                let host = if self.no_default_host.contains(id) {
                    ""
                } else {
                    &self.default_host
                };
                self.checks.push(CheckState::new(id, host));
                self.index.insert(id.into(), i);
                i
            }
        };
        self.last = i;
        &mut self.checks[i]
    }

    pub(super) fn check(&self, id: &str) -> Option<&CheckState> {
        self.index.get(id).map(|&i| &self.checks[i])
    }

    pub(super) fn check_opt_mut(&mut self, id: &str) -> Option<&mut CheckState> {
        let i = *self.index.get(id)?;
        Some(&mut self.checks[i])
    }

    pub(super) fn remove(&mut self, id: &str) -> bool {
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
pub(super) struct CheckState {
    pub(super) id: Box<str>,
    pub(super) log: RawLog,
    /// Entries of `log` already fed to `sampler`.
    pub(super) ingested: usize,
    pub(super) sampler: CheckSampler,
    pub(super) metadata: BTreeMap<String, String>,
    /// The hostname the flush view gives to submissions without one.
    pub(super) default_host: Box<str>,
}

impl CheckState {
    fn new(id: &str, default_host: &str) -> CheckState {
        CheckState {
            default_host: default_host.into(),
            id: id.into(),
            log: RawLog::default(),
            ingested: 0,
            sampler: CheckSampler::default(),
            metadata: BTreeMap::new(),
        }
    }

    /// Empty the raw log (its entries were taken or are not wanted).
    pub(super) fn clear_log(&mut self) {
        self.log.clear();
        self.ingested = 0;
    }

    /// Feed the sampler what it has not seen of the raw log.
    pub(super) fn ingest(&mut self, context_limit: usize) {
        let mut scratch = Vec::new();
        for sub in self.log.iter().skip(self.ingested) {
            match sub {
                SubmissionRef::Metric(m) => self
                    .sampler
                    .add_sample(m, &mut scratch, context_limit, &self.default_host),
                SubmissionRef::Other(sub) => self.sampler.add_other(sub, &self.default_host),
            }
        }
        self.ingested = self.log.len();
    }
}

/// A string in [`RawLog::arena`].
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    len: usize,
}

#[derive(Debug)]
/// A metric sample in a [`RawLog`]: fixed size, its strings in the arena.
struct MetricRec {
    name: Span,
    hostname: Span,
    /// (start, len) in `RawLog::tag_spans`.
    tags: (usize, usize),
    sample: Sample,
}

/// A metric sample's scalars: what the per-type rules read (the strings
/// are its context).
#[derive(Debug, Clone, Copy)]
pub(super) struct Sample {
    pub(super) mtype: MetricType,
    pub(super) value: f64,
    pub(super) timestamp: f64,
    pub(super) flush_first_value: bool,
}

#[derive(Debug)]
enum Entry {
    Metric(MetricRec),
    Other(Box<Submission>),
}

/// Submissions in order; metric strings live in one arena.
#[derive(Debug, Default)]
pub(super) struct RawLog {
    arena: String,
    tag_spans: Vec<Span>,
    entries: Vec<Entry>,
}

impl RawLog {
    /// Record a metric sample: its strings are copied into the arena, so
    /// once the buffers have grown this does not allocate (the hot path).
    #[inline]
    pub(super) fn push_metric<I, S>(&mut self, name: &str, tags: I, hostname: &str, sample: Sample)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let name = self.push_str(name);
        let hostname = self.push_str(hostname);
        let tags_start = self.tag_spans.len();
        for t in tags {
            let span = self.push_str(t.as_ref());
            self.tag_spans.push(span);
        }
        let tags = (tags_start, self.tag_spans.len() - tags_start);
        self.entries.push(Entry::Metric(MetricRec {
            name,
            hostname,
            tags,
            sample,
        }));
    }

    /// Record any other submission.
    pub(super) fn push_other(&mut self, sub: Submission) {
        self.entries.push(Entry::Other(Box::new(sub)));
    }

    /// How many submissions the log holds.
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The submissions, oldest first, lent.
    pub(super) fn iter(&self) -> impl Iterator<Item = SubmissionRef<'_>> {
        self.entries.iter().map(move |e| match e {
            Entry::Metric(rec) => SubmissionRef::Metric(MetricRef { log: self, rec }),
            Entry::Other(sub) => SubmissionRef::Other(sub),
        })
    }

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

    /// Empty the log, keeping the buffers' capacity for the next run.
    fn clear(&mut self) {
        self.arena.clear();
        self.tag_spans.clear();
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use crate::aggregator::test_util::*;
    use crate::aggregator::*;

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
}
