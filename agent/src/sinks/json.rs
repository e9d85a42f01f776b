//! JSON lines: one object per line for every report and every item of a
//! flush (the records are [`output::ReportLine`]s; schema in
//! `docs/agent.md`).

use std::io::{self, Write};

use super::{Report, Sink};
use crate::output;

/// One JSON object per line (schema in `docs/agent.md`).
#[derive(Debug)]
pub struct JsonSink<W: Write + Send> {
    out: W,
}

impl<W: Write + Send> JsonSink<W> {
    /// A JSON-lines sink writing to `out`.
    pub fn new(out: W) -> JsonSink<W> {
        JsonSink { out }
    }
}

impl<W: Write + Send> Sink for JsonSink<W> {
    fn report(&mut self, report: &Report<'_>) -> io::Result<()> {
        for line in output::report_lines(report) {
            output::write_line(&mut self.out, &line)?;
        }
        self.out.flush()
    }
}
