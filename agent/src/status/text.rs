//! A [`Snapshot`] as text, laid out like the Datadog Agent's `agent status`
//! collector section: what `pyhost status` prints.

use std::fmt::Write;

use super::{CheckSnapshot, InstanceSnapshot, Snapshot};

/// `1.234 ms`, or `-`.
pub(crate) fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v:.3} ms"))
}

/// `2h 3m 4s`.
pub(crate) fn span(secs: f64) -> String {
    let s = secs.max(0.0) as u64;
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, sec) => format!("{m}m {sec}s"),
        (h, m, sec) => format!("{h}h {m}m {sec}s"),
    }
}

/// `12.3 MiB`.
pub(crate) fn mib(bytes: Option<u64>) -> String {
    bytes.map_or_else(|| "-".to_string(), |b| format!("{:.1} MiB", b as f64 / 1048576.0))
}

/// `3s ago` for a Unix time, relative to `now`.
pub(crate) fn ago(t: Option<f64>, now: f64) -> String {
    t.map_or_else(|| "never".to_string(), |t| format!("{} ago", span(now - t)))
}

/// Where a check runs, in words: `in the main interpreter`, `in its own
/// sub-interpreter`, `in a worker process`.
pub fn where_it_runs(interpreter: &str) -> String {
    match interpreter {
        "subinterpreter" => "in its own sub-interpreter".to_string(),
        "process" => "in a worker process".to_string(),
        other => format!("in the {other} interpreter"),
    }
}

/// The Agent's word for an instance's state.
pub(crate) fn instance_state(i: &InstanceSnapshot) -> &'static str {
    if i.load_error.is_some() {
        "ERROR"
    } else {
        match i.last_status.as_deref() {
            None => "PENDING",
            Some("ok") if !i.last_warnings.is_empty() => "WARNING",
            Some("ok") => "OK",
            Some(_) => "ERROR",
        }
    }
}

fn underline(out: &mut String, title: &str, c: char) {
    let _ = writeln!(out, "{title}\n{}", c.to_string().repeat(title.chars().count()));
}

fn indent(out: &mut String, text: &str, by: usize) {
    for line in text.trim_end().lines() {
        let _ = writeln!(out, "{:by$}{line}", "");
    }
}

/// The whole status as text.
pub fn render(s: &Snapshot) -> String {
    let mut out = String::new();
    underline(&mut out, &format!("pyhost {} status", s.version), '=');
    let _ = writeln!(
        out,
        "  Hostname: {}\n  Python: {}\n  Isolation: {}, workers: {}\n  PID: {}, uptime: {}, RSS: {}\n  \
         Flush interval: {}s, last flush: {}\n",
        s.hostname,
        s.python,
        s.isolation,
        s.workers,
        s.pid,
        span(s.uptime_s),
        mib(s.rss_bytes),
        s.flush_interval_s,
        ago(s.last_flush, s.now),
    );
    let (loaded, failed): (Vec<&CheckSnapshot>, Vec<&CheckSnapshot>) =
        s.checks.iter().partition(|c| c.state != "failed");
    underline(&mut out, "Running Checks", '=');
    if loaded.is_empty() {
        out.push_str("  (none)\n");
    }
    for c in loaded {
        out.push('\n');
        let mut title = format!("  {}", c.name);
        if let (Some(m), Some(i)) = (&c.module, &c.interpreter) {
            let _ = write!(title, " ({m}, {})", where_it_runs(i));
        }
        let _ = writeln!(out, "{title}\n  {}", "-".repeat(c.name.chars().count()));
        for i in &c.instances {
            instance(&mut out, i, s.now);
        }
    }
    if !failed.is_empty() {
        out.push('\n');
        underline(&mut out, "Loading Errors", '=');
        for c in failed {
            let _ = writeln!(out, "\n  {}\n  {}", c.name, "-".repeat(c.name.chars().count()));
            if let Some(e) = &c.error {
                indent(&mut out, &e.message, 4);
                if let Some(tb) = &e.traceback {
                    indent(&mut out, tb, 6);
                }
            }
        }
    }
    out
}

fn instance(out: &mut String, i: &InstanceSnapshot, now: f64) {
    let _ = writeln!(
        out,
        "    Instance {} [{}] {}\n      Total Runs: {}, Errors: {}, Warnings: {}, Skipped: {}\n      \
         Samples: Last Run: {}, Total: {}\n      Last Run: {}, Last Duration: {}, Average Duration: {}",
        i.instance,
        instance_state(i),
        i.check_id,
        i.runs,
        i.errors,
        i.warnings,
        i.skipped,
        i.samples_last_run,
        i.samples_total,
        ago(i.last_run, now),
        ms(i.last_duration_ms),
        ms(i.average_duration_ms),
    );
    for w in &i.last_warnings {
        let _ = writeln!(out, "      Warning: {w}");
    }
    if let Some(e) = i.load_error.as_ref().or(i.last_error.as_ref()) {
        let _ = writeln!(out, "      Last Error: {}", e.message);
        if let Some(tb) = &e.traceback {
            indent(out, tb, 8);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::ErrorInfo;
    use super::*;

    #[test]
    fn renders_checks_instances_and_errors() {
        let snap = Snapshot {
            version: "1.0".into(),
            hostname: "h".into(),
            python: "3.11.7".into(),
            isolation: "shared".into(),
            workers: 4,
            flush_interval_s: 15.0,
            pid: 7,
            uptime_s: 3725.0,
            now: 100.0,
            last_flush: Some(95.0),
            rss_bytes: Some(3 * 1048576),
            checks: vec![
                CheckSnapshot {
                    name: "cpu".into(),
                    state: "loaded".into(),
                    module: Some("checks.system.cpu".into()),
                    interpreter: Some("main".into()),
                    error: None,
                    instances: vec![InstanceSnapshot {
                        check_id: "cpu:1".into(),
                        runs: 2,
                        last_status: Some("ok".into()),
                        last_duration_ms: Some(1.5),
                        average_duration_ms: Some(1.25),
                        last_run: Some(98.0),
                        samples_last_run: 3,
                        samples_total: 6,
                        ..InstanceSnapshot::default()
                    }],
                },
                CheckSnapshot {
                    name: "broken".into(),
                    state: "failed".into(),
                    module: None,
                    interpreter: None,
                    error: Some(ErrorInfo {
                        message: "unable to import module 'broken'".into(),
                        traceback: Some("Traceback (most recent call last):\n  boom".into()),
                    }),
                    instances: vec![],
                },
            ],
        };
        let text = render(&snap);
        for want in [
            "pyhost 1.0 status",
            "Python: 3.11.7",
            "uptime: 1h 2m 5s, RSS: 3.0 MiB",
            "last flush: 5s ago",
            "  cpu (checks.system.cpu, in the main interpreter)",
            "    Instance 0 [OK] cpu:1",
            "Total Runs: 2, Errors: 0",
            "Samples: Last Run: 3, Total: 6",
            "Last Run: 2s ago, Last Duration: 1.500 ms, Average Duration: 1.250 ms",
            "Loading Errors",
            "    unable to import module 'broken'",
            "        boom",
        ] {
            assert!(text.contains(want), "{want:?} not in:\n{text}");
        }
    }
}
