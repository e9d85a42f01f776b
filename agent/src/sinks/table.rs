//! The readable table: per run, a header line and the flushed series,
//! histogram buckets, service checks and events (`docs/agent.md`).

use std::io::{self, Write};

use super::{Report, Sink};
use crate::aggregator::Flush;

/// A readable table per flush on standard output (or any writer).
#[derive(Debug)]
pub struct TableSink<W: Write + Send> {
    out: W,
}

impl<W: Write + Send> TableSink<W> {
    /// A table sink writing to `out`.
    pub fn new(out: W) -> TableSink<W> {
        TableSink { out }
    }
}

/// A value as the table shows it: integers without a fraction.
fn show_value(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.6}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

/// The table's rows for one run: `[metric, type, value, tags]`.
pub fn table_rows(flush: &Flush) -> Vec<[String; 4]> {
    let mut rows = Vec::new();
    for s in &flush.series {
        rows.push([
            s.name.clone(),
            s.kind.as_str().to_string(),
            show_value(s.value),
            s.tags.join(","),
        ]);
    }
    for b in &flush.buckets {
        let mut tags = b.tags.clone();
        tags.push(format!("lower_bound:{}", show_value(b.lower_bound)));
        tags.push(format!("upper_bound:{}", show_value(b.upper_bound)));
        rows.push([b.name.clone(), "bucket".into(), b.count.to_string(), tags.join(",")]);
    }
    for sc in &flush.service_checks {
        let status = match sc.status {
            0 => "OK",
            1 => "WARNING",
            2 => "CRITICAL",
            _ => "UNKNOWN",
        };
        rows.push([
            sc.name.clone(),
            "service_check".into(),
            status.into(),
            sc.tags.join(","),
        ]);
    }
    for e in &flush.events {
        let e = e.summary();
        rows.push([e.title.to_owned(), "event".into(), String::new(), e.tags.join(",")]);
    }
    rows
}

impl<W: Write + Send> Sink for TableSink<W> {
    fn report(&mut self, report: &Report<'_>) -> io::Result<()> {
        let Report::Run(r) = report else {
            return Ok(());
        };
        let out = &mut self.out;
        writeln!(
            out,
            "{}[{}] {} run {}: {} in {} ms, {} warning(s)",
            r.check,
            r.instance,
            r.check_id,
            r.run,
            r.status.as_str(),
            r.duration.as_millis(),
            r.warnings.len()
        )?;
        let rows = table_rows(&r.flush);
        if !rows.is_empty() {
            let header = ["CHECK", "METRIC", "TYPE", "VALUE", "TAGS"];
            let mut width = [header[0].len(), header[1].len(), header[2].len(), header[3].len()];
            width[0] = width[0].max(r.check.len());
            for row in &rows {
                for i in 0..3 {
                    width[i + 1] = width[i + 1].max(row[i].len());
                }
            }
            let line = |out: &mut W, c: [&str; 5]| {
                writeln!(
                    out,
                    "  {:<w0$}  {:<w1$}  {:<w2$}  {:>w3$}  {}",
                    c[0],
                    c[1],
                    c[2],
                    c[3],
                    c[4],
                    w0 = width[0],
                    w1 = width[1],
                    w2 = width[2],
                    w3 = width[3]
                )
            };
            line(out, header)?;
            for row in &rows {
                line(out, [r.check.as_str(), &row[0], &row[1], &row[2], &row[3]])?;
            }
        }
        out.flush()
    }
}
