//! The `check` command's report, as the Datadog Agent's `check` prints it:
//! per instance, what the last run's flush held (series, histogram
//! buckets, service checks, events, with the Agent's aggregation across
//! the runs), then each run's outcome, warnings and errors.
//!
//! A [`CheckCollector`] is the scheduler's sink for the command; its
//! [`CheckResults`] render as a table ([`CheckResults::to_text`]) or one
//! JSON document ([`CheckResults::to_json`]).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::json;

use crate::aggregator::Flush;
use crate::check::LoadError;
use crate::sinks::{aligned_lines, table_rows, Report, RunStatus, Sink};
use crate::value::Value;

/// One run of an instance.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// The run number (from 1).
    pub run: u64,
    /// How it ended.
    pub status: RunStatus,
    /// How long `run()` took.
    pub duration: Duration,
    /// What it submitted.
    pub samples: usize,
    /// `[{message, traceback}]`.
    pub errors: Value,
    /// Its warnings.
    pub warnings: Vec<String>,
}

/// One instance's results.
#[derive(Debug, Clone, Default)]
pub struct InstanceResult {
    /// Its check id.
    pub check_id: String,
    /// Its runs, in order.
    pub runs: Vec<RunSummary>,
    /// What the flush after its last run held.
    pub flush: Option<Flush>,
    /// Why it could not be created.
    pub load_error: Option<LoadError>,
}

/// Everything the command reports about the check.
#[derive(Debug, Clone, Default)]
pub struct CheckResults {
    /// The check's name.
    pub name: String,
    /// The module its class came from.
    pub module: Option<String>,
    /// The module's `__version__`.
    pub version: Option<String>,
    /// `main` or `subinterpreter`.
    pub interpreter: Option<String>,
    /// Why the whole check could not be loaded.
    pub load_error: Option<LoadError>,
    /// Its instances, by index.
    pub instances: BTreeMap<usize, InstanceResult>,
}

/// Collects the reports of a `check` run; clone it before handing it to
/// the scheduler, read [`results`](Self::results) after.
#[derive(Debug, Clone)]
pub struct CheckCollector(Arc<Mutex<CheckResults>>);

impl CheckCollector {
    /// A collector for check `name`.
    pub fn new(name: &str) -> CheckCollector {
        CheckCollector(Arc::new(Mutex::new(CheckResults {
            name: name.to_string(),
            ..CheckResults::default()
        })))
    }

    /// What was collected.
    pub fn results(&self) -> CheckResults {
        self.0.lock().clone()
    }
}

impl Sink for CheckCollector {
    fn report(&mut self, report: &Report<'_>) -> io::Result<()> {
        let mut r = self.0.lock();
        match report {
            Report::Loaded(l) => {
                r.module = Some(l.module.to_string());
                r.version = l.version.map(str::to_string);
                r.interpreter = Some(l.interpreter.to_string());
            }
            Report::LoadError(f) => match f.instance {
                None => r.load_error = Some(f.error.clone()),
                Some(i) => r.instances.entry(i).or_default().load_error = Some(f.error.clone()),
            },
            Report::Run(run) => {
                let i = r.instances.entry(run.instance).or_default();
                i.check_id = run.check_id.clone();
                i.runs.push(RunSummary {
                    run: run.run,
                    status: run.status,
                    duration: run.duration,
                    samples: run.samples,
                    errors: run.errors.clone(),
                    warnings: run.warnings.clone(),
                });
            }
            // Each instance's flush after each run; the last one stays.
            Report::Flush(f) => {
                for e in &f.entries {
                    let i = r.instances.entry(e.instance).or_default();
                    i.check_id = e.check_id.clone();
                    i.flush = Some(e.flush.clone());
                }
            }
            Report::Unloaded { .. } | Report::Skipped(_) => {}
        }
        Ok(())
    }
}

fn ms(d: Duration) -> f64 {
    d.as_micros() as f64 / 1000.0
}

fn errors_of(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .unwrap_or(&[])
        .iter()
        .map(|e| {
            let field = |k| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            (field("message"), field("traceback"))
        })
        .collect()
}

impl CheckResults {
    /// True when the check loaded, every instance was created and every
    /// run succeeded (the command's exit status).
    pub fn succeeded(&self) -> bool {
        self.load_error.is_none()
            && !self.instances.is_empty()
            && self.instances.values().all(|i| {
                i.load_error.is_none() && !i.runs.is_empty() && i.runs.iter().all(|r| r.status == RunStatus::Ok)
            })
    }

    /// One JSON document: the check, then per instance its runs and the
    /// last flush (`aggregator`: series, buckets, service checks, events).
    pub fn to_json(&self) -> serde_json::Value {
        let instances: Vec<serde_json::Value> = self
            .instances
            .iter()
            .map(|(index, i)| {
                let f = i.flush.clone().unwrap_or_default();
                let runs: Vec<serde_json::Value> = i
                    .runs
                    .iter()
                    .map(|r| {
                        json!({
                            "run": r.run,
                            "status": r.status.as_str(),
                            "duration_ms": ms(r.duration),
                            "samples": r.samples,
                            "errors": serde_json::to_value(&r.errors).unwrap_or_default(),
                            "warnings": r.warnings,
                        })
                    })
                    .collect();
                let events: Vec<serde_json::Value> = f
                    .events
                    .iter()
                    .map(|e| serde_json::to_value(e.summary()).unwrap_or_default())
                    .collect();
                json!({
                    "instance": index,
                    "check_id": i.check_id,
                    "load_error": i.load_error,
                    "runs": runs,
                    "aggregator": {
                        "series": f.series,
                        "buckets": f.buckets,
                        "service_checks": f.service_checks,
                        "events": events,
                    },
                })
            })
            .collect();
        json!({
            "check": self.name,
            "ok": self.succeeded(),
            "module": self.module,
            "version": self.version,
            "interpreter": self.interpreter,
            "load_error": self.load_error,
            "instances": instances,
        })
    }

    /// The readable report.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        if let Some(e) = &self.load_error {
            let _ = writeln!(out, "Error: check {} could not be loaded: {e}", self.name);
            return out;
        }
        for (index, i) in &self.instances {
            let _ = writeln!(out, "=== {} instance {index} ({}) ===", self.name, i.check_id);
            if let (Some(m), Some(interp)) = (&self.module, &self.interpreter) {
                let m = crate::sinks::module_and_version(m, self.version.as_deref());
                let _ = writeln!(out, "from {m}, {}", crate::status::text::where_it_runs(interp));
            }
            if let Some(e) = &i.load_error {
                let _ = writeln!(out, "Error: the instance could not be created: {e}\n");
                continue;
            }
            let rows = i.flush.as_ref().map(table_rows).unwrap_or_default();
            if rows.is_empty() {
                out.push_str("\n  (nothing submitted in the last run)\n");
            } else {
                out.push('\n');
                for line in aligned_lines(["METRIC", "TYPE", "VALUE", "TAGS"], &rows) {
                    let _ = writeln!(out, "{line}");
                }
            }
            out.push('\n');
            for r in &i.runs {
                let _ = writeln!(
                    out,
                    "  run {}: {} in {:.3} ms, {} submission(s), {} warning(s)",
                    r.run,
                    r.status.as_str(),
                    ms(r.duration),
                    r.samples,
                    r.warnings.len()
                );
                for w in &r.warnings {
                    let _ = writeln!(out, "    warning: {w}");
                }
                for (message, traceback) in errors_of(&r.errors) {
                    let _ = writeln!(out, "    error: {message}");
                    for line in traceback.trim_end().lines() {
                        let _ = writeln!(out, "      {line}");
                    }
                }
            }
            if !i.runs.is_empty() {
                let total: f64 = i.runs.iter().map(|r| ms(r.duration)).sum();
                let _ = writeln!(
                    out,
                    "  {} run(s), average {:.3} ms\n",
                    i.runs.len(),
                    total / i.runs.len() as f64
                );
            }
        }
        if self.instances.is_empty() {
            let _ = writeln!(out, "Error: check {} has no instance", self.name);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregator::{Serie, SerieKind};
    use crate::sinks::{FlushEntry, FlushReport, LoadFailure, RunReport};

    fn run(instance: usize, run: u64, status: RunStatus) -> RunReport {
        RunReport {
            check: "c".into(),
            instance,
            check_id: format!("c:{instance}"),
            run,
            status,
            errors: if status == RunStatus::Ok {
                Value::Array(vec![])
            } else {
                crate::check::error_list("ZeroDivisionError: division by zero", Some("Traceback...\n  line 3"))
            },
            warnings: vec![],
            duration: Duration::from_micros(1500),
            samples: 2,
        }
    }

    fn flush(value: f64) -> FlushReport {
        FlushReport {
            timestamp: 1.0,
            entries: vec![FlushEntry {
                check: "c".into(),
                instance: 0,
                check_id: "c:0".into(),
                run: 1,
                flush: Flush {
                    series: vec![Serie {
                        name: "c.rate".into(),
                        kind: SerieKind::Rate,
                        value,
                        tags: vec!["t:1".into()],
                        hostname: String::new(),
                        timestamp: 1.0,
                    }],
                    ..Flush::default()
                },
            }],
        }
    }

    #[test]
    fn keeps_the_last_flush_and_every_run() {
        let mut c = CheckCollector::new("c");
        c.report(&Report::Run(&run(0, 1, RunStatus::Ok))).unwrap();
        c.report(&Report::Flush(&flush(1.0))).unwrap();
        c.report(&Report::Run(&run(0, 2, RunStatus::Ok))).unwrap();
        c.report(&Report::Flush(&flush(2.5))).unwrap();
        let r = c.results();
        assert!(r.succeeded());
        let text = r.to_text();
        assert!(text.contains("  c.rate  rate    2.5  t:1"), "{text}");
        assert!(!text.contains("   1  t:1"), "only the last flush: {text}");
        assert!(text.contains("run 2: ok in 1.500 ms, 2 submission(s)"), "{text}");
        let json = r.to_json();
        assert_eq!(json["ok"], true);
        assert_eq!(json["instances"][0]["aggregator"]["series"][0]["value"], 2.5);
        assert_eq!(json["instances"][0]["runs"][1]["duration_ms"], 1.5);

        c.report(&Report::Run(&run(1, 1, RunStatus::Error))).unwrap();
        let r = c.results();
        assert!(!r.succeeded(), "a failed run fails the command");
        assert!(r
            .to_text()
            .contains("    error: ZeroDivisionError: division by zero\n      Traceback...\n        line 3"));
    }

    #[test]
    fn a_load_error_fails() {
        let mut c = CheckCollector::new("c");
        let e = LoadError {
            message: "unable to import module 'c'".into(),
            traceback: None,
        };
        let failure = LoadFailure {
            check: "c",
            instance: None,
            error: &e,
            reload: false,
        };
        c.report(&Report::LoadError(failure)).unwrap();
        let r = c.results();
        assert!(!r.succeeded());
        assert!(r
            .to_text()
            .starts_with("Error: check c could not be loaded: unable to import module 'c'"));
        assert_eq!(r.to_json()["load_error"]["message"], "unable to import module 'c'");
        assert!(
            !CheckCollector::new("none").results().succeeded(),
            "no instance is a failure"
        );
    }
}
