//! Per-type flush state: what one context keeps between samples and
//! flushes, by the rules of its metric type (the table in the module docs
//! of [`aggregator`](super)).

use super::types::{AggregatorOptions, HistogramAggregate, MetricType, Serie, SerieKind};

#[derive(Debug, Default)]
pub(super) struct Hist {
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
    pub(super) fn flush(&mut self, timestamp: f64, opts: &AggregatorOptions, out: &mut Vec<Serie>) {
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
pub(super) enum MetricState {
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
    pub(super) fn new(t: MetricType) -> MetricState {
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

    pub(super) fn mtype(&self) -> MetricType {
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

    pub(super) fn add_sample(&mut self, v: f64, ts: f64, ffv: bool) {
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
    pub(super) fn flush(
        &mut self,
        timestamp: f64,
        opts: &AggregatorOptions,
        out: &mut Vec<Serie>,
    ) -> Result<(), &'static str> {
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
    use crate::aggregator::test_util::*;
    use crate::aggregator::*;

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
    fn counter_sums_and_is_sent_as_rate() {
        let a = agg();
        submit(&a, MetricType::Counter, "k", 2.0, &[], 1.0);
        submit(&a, MetricType::Counter, "k", 5.0, &[], 1.0);
        assert_eq!(values(&a.flush(ID, 2.0)), vec![("k".into(), 7.0, SerieKind::Rate)]);
        assert!(a.flush(ID, 3.0).series.is_empty());
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
}
