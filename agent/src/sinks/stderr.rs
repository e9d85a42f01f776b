//! Standard error: the operator's view, always on whatever the output
//! format. Each lifecycle report and failed run is one `LEVEL pyhost: ...`
//! line, written from the same [`ReportLine`] the JSON output prints, so
//! both classify a report the same way.

use std::io::{self, Write};

use super::{Loaded, Report, RunStatus, Sink};
use crate::output::{self, ReportLine};
use crate::value::Value;

/// Lifecycle events and failures as `LEVEL pyhost: ...` lines on standard
/// error.
#[derive(Debug, Default)]
pub struct StderrSink;

impl Sink for StderrSink {
    fn report(&mut self, report: &Report<'_>) -> io::Result<()> {
        match log_line(&output::report_line(report)) {
            Some(line) => writeln!(io::stderr().lock(), "{line}"),
            None => Ok(()),
        }
    }
}

/// The log line for a report's line; `None` for a successful run (and for
/// the lines of a flush, which are never a report's first line).
fn log_line(line: &ReportLine<'_>) -> Option<String> {
    Some(match line {
        ReportLine::Loaded(l) => loaded("loaded", l),
        ReportLine::Reloaded(l) => loaded("reloaded", l),
        ReportLine::ReloadFailed { check, error, .. } => {
            format!("ERROR    pyhost: reload of check {check} failed: {error}")
        }
        ReportLine::LoadError(f) => {
            let what = if f.reload { "reload of" } else { "load of" };
            let inst = f.instance.map_or(String::new(), |i| format!(" instance {i}"));
            format!("ERROR    pyhost: {what} check {}{inst} failed: {}", f.check, f.error)
        }
        ReportLine::Unloaded { check } => format!("INFO     pyhost: check {check} unscheduled (no configuration)"),
        ReportLine::Skipped(s) => format!(
            "WARN     pyhost: {}[{}] ({}) skipped a run: {}",
            s.check, s.instance, s.check_id, s.reason
        ),
        ReportLine::RunResult(r) if r.status != RunStatus::Ok => {
            let mut msg = String::new();
            for e in r.errors.as_array().unwrap_or(&[]) {
                let m = e.get("message").and_then(Value::as_str).unwrap_or("");
                msg.push_str("; ");
                msg.push_str(m);
                if let Some(tb) = e.get("traceback").and_then(Value::as_str).filter(|t| !t.is_empty()) {
                    msg.push('\n');
                    msg.push_str(tb.trim_end());
                }
            }
            format!(
                "ERROR    pyhost: {}[{}] ({}) run {}: {} after {:.3} ms{msg}",
                r.check,
                r.instance,
                r.check_id,
                r.run,
                r.status.as_str(),
                r.duration.as_secs_f64() * 1000.0
            )
        }
        _ => return None,
    })
}

fn loaded(what: &str, l: &Loaded<'_>) -> String {
    let line = format!(
        "INFO     pyhost: {what} check {} from module {} ({} instance(s))",
        l.check,
        l.module_and_version(),
        l.instances
    );
    match l.fallback {
        Some(why) => format!(
            "{line} in the main interpreter\nWARN     pyhost: check {} cannot run in a sub-interpreter ({why}): \
             it runs in the main interpreter",
            l.check
        ),
        None if l.interpreter == "subinterpreter" => format!("{line} in its own sub-interpreter"),
        None if l.interpreter == "process" => format!("{line} in a worker process"),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::LoadError;
    use crate::sinks::LoadFailure;

    fn log(report: Report<'_>) -> Option<String> {
        log_line(&output::report_line(&report))
    }

    #[test]
    fn reloads_and_load_errors_are_worded_by_their_classification() {
        let l = Loaded {
            check: "c",
            module: "m",
            version: Some("1.0"),
            instances: 2,
            reload: true,
            interpreter: "main",
            fallback: None,
        };
        assert_eq!(
            log(Report::Loaded(l)).unwrap(),
            "INFO     pyhost: reloaded check c from module m 1.0 (2 instance(s))"
        );
        let error = LoadError {
            message: "boom".into(),
            traceback: None,
        };
        let failure = |instance, reload| {
            log(Report::LoadError(LoadFailure {
                check: "c",
                instance,
                error: &error,
                reload,
            }))
            .unwrap()
        };
        assert_eq!(failure(None, true), "ERROR    pyhost: reload of check c failed: boom");
        assert_eq!(
            failure(Some(1), true),
            "ERROR    pyhost: reload of check c instance 1 failed: boom"
        );
        assert_eq!(
            failure(Some(1), false),
            "ERROR    pyhost: load of check c instance 1 failed: boom"
        );
    }
}
