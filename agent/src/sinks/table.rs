//! The readable table: per flush, a header line and the flushed series,
//! histogram buckets, service checks and events of every instance
//! (`docs/agent.md`).

use std::io::{self, Write};

use super::{FlushReport, Report, RunStatus, Sink};
use crate::aggregator::Flush;

/// A readable table per flush on standard output (or any writer).
#[derive(Debug)]
pub struct TableSink<W: Write + Send> {
    out: W,
    /// Runs (and failed runs) reported since the last flush.
    runs: usize,
    failed: usize,
}

impl<W: Write + Send> TableSink<W> {
    /// A table sink writing to `out`.
    pub fn new(out: W) -> TableSink<W> {
        TableSink {
            out,
            runs: 0,
            failed: 0,
        }
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

/// The table's rows for one flush: `[metric, type, value, tags]`.
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

/// `HH:MM:SS` (UTC) of a Unix time.
fn clock(timestamp: f64) -> String {
    let secs = timestamp.max(0.0) as u64 % 86_400;
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// The lines of an aligned table, header first: each cell padded to its
/// column's widest, two spaces apart, indented by two; the next-to-last
/// column (the value) aligned right, the last (the tags) not padded.
pub fn aligned_lines<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> Vec<String> {
    let header = header.map(str::to_string);
    let mut width = [0usize; N];
    for row in std::iter::once(&header).chain(rows) {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    std::iter::once(&header)
        .chain(rows)
        .map(|row| {
            let mut line = String::new();
            for (k, cell) in row.iter().enumerate() {
                let w = width[k];
                line.push_str("  ");
                match N - 1 - k {
                    0 => line.push_str(cell),
                    1 => line.push_str(&format!("{cell:>w$}")),
                    _ => line.push_str(&format!("{cell:<w$}")),
                }
            }
            line
        })
        .collect()
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl<W: Write + Send> TableSink<W> {
    fn flush_block(&mut self, f: &FlushReport) -> io::Result<()> {
        let mut rows = Vec::new();
        let (mut series, mut service_checks, mut events) = (0, 0, 0);
        for e in &f.entries {
            let who = if e.instance == 0 {
                e.check.clone()
            } else {
                format!("{}[{}]", e.check, e.instance)
            };
            series += e.flush.series.len();
            service_checks += e.flush.service_checks.len();
            events += e.flush.events.len();
            for row in table_rows(&e.flush) {
                let [m, t, v, tags] = row;
                rows.push([who.clone(), m, t, v, tags]);
            }
        }
        let out = &mut self.out;
        write!(
            out,
            "flush at {} UTC: {}, {}, {} from {}",
            clock(f.timestamp),
            plural(series, "series", "series"),
            plural(service_checks, "service check", "service checks"),
            plural(events, "event", "events"),
            plural(f.entries.len(), "instance", "instances"),
        )?;
        writeln!(
            out,
            "; {} since the last flush{}",
            plural(self.runs, "run", "runs"),
            match self.failed {
                0 => String::new(),
                n => format!(" ({n} failed)"),
            }
        )?;
        (self.runs, self.failed) = (0, 0);
        for line in aligned_lines(["CHECK", "METRIC", "TYPE", "VALUE", "TAGS"], &rows) {
            writeln!(out, "{line}")?;
        }
        out.flush()
    }
}

impl<W: Write + Send> Sink for TableSink<W> {
    fn report(&mut self, report: &Report<'_>) -> io::Result<()> {
        match report {
            Report::Run(r) => {
                self.runs += 1;
                if r.status != RunStatus::Ok {
                    self.failed += 1;
                }
                Ok(())
            }
            Report::Flush(f) => self.flush_block(f),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregator::{Serie, SerieKind};
    use crate::sinks::FlushEntry;

    #[test]
    fn a_flush_is_one_block() {
        let mut sink = TableSink::new(Vec::new());
        let serie = |name: &str, value| Serie {
            name: name.into(),
            kind: SerieKind::Gauge,
            value,
            tags: vec!["a:b".into()],
            hostname: String::new(),
            timestamp: 0.0,
        };
        let entry = |instance, series| FlushEntry {
            check: "c".into(),
            instance,
            check_id: "c:1".into(),
            run: 2,
            flush: Flush {
                series,
                ..Flush::default()
            },
        };
        let f = FlushReport {
            timestamp: 3_723.0,
            entries: vec![entry(0, vec![serie("m.one", 1.0)]), entry(1, vec![serie("m.two", 2.5)])],
        };
        sink.report(&Report::Flush(&f)).unwrap();
        let text = String::from_utf8(sink.out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "flush at 01:02:03 UTC: 2 series, 0 service checks, 0 events from 2 instances; 0 runs since the last flush"
        );
        assert_eq!(lines[1], "  CHECK  METRIC  TYPE   VALUE  TAGS");
        assert_eq!(lines[2], "  c      m.one   gauge      1  a:b");
        assert_eq!(lines[3], "  c[1]   m.two   gauge    2.5  a:b");
    }
}
