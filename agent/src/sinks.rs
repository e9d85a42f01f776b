//! Where the agent program's results go: what the
//! [`scheduler`](super::scheduler) reports (loads, reloads, run results and
//! each run's aggregated [`Flush`]) handed to one or more [`Sink`]s.
//!
//! * [`TableSink`]: a readable table per flush (check, metric, type, value, tags);
//! * [`JsonSink`]: one JSON object per line for every report, series,
//!   service check, event and bucket (schema in `docs/agent.md`);
//! * [`StderrSink`]: lifecycle and failures as log lines on standard error;
//! * [`DogStatsdSink`]: the flushed series, service checks and events as
//!   DogStatsD lines over UDP, batched into datagrams of at most
//!   [`MAX_DATAGRAM`] bytes.

use std::io::{self, Write};
use std::net::{ToSocketAddrs, UdpSocket};
use std::time::Duration;

use super::aggregator::{Event, Flush, Serie, SerieKind, ServiceCheck};
use super::check::LoadError;
use super::value::Value;

/// The largest DogStatsD datagram sent: the Agent's and the official
/// clients' default for UDP (1500-byte MTU minus IP and UDP headers, with margin).
pub const MAX_DATAGRAM: usize = 1432;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// `run()` returned `""`.
    Ok,
    /// `run()` returned errors, or the job failed (exception, panic).
    Error,
    /// The run passed `--check-timeout`; the check's `cancel()` was called.
    TimedOut,
    /// The job was cancelled (shutdown).
    Cancelled,
}

impl RunStatus {
    /// `"ok"`, `"error"`, `"timeout"` or `"cancelled"`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Ok => "ok",
            RunStatus::Error => "error",
            RunStatus::TimedOut => "timeout",
            RunStatus::Cancelled => "cancelled",
        }
    }
}

/// One finished run of one instance, with the aggregator's flush for its check id.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The check's name.
    pub check: String,
    /// The instance's index in the check's configuration.
    pub instance: usize,
    /// The instance's check id.
    pub check_id: String,
    /// The run number of this instance (from 1; restarts at a reload).
    pub run: u64,
    /// How it ended.
    pub status: RunStatus,
    /// The errors: `[{message, traceback}]` (empty when `status` is `Ok`).
    pub errors: Value,
    /// The warnings the run raised.
    pub warnings: Vec<String>,
    /// Wall time from start to report.
    pub duration: Duration,
    /// What the aggregator flushed for the check id after the run.
    pub flush: Flush,
}

/// Something the scheduler reports.
#[derive(Debug, Clone, Copy)]
pub enum Report<'a> {
    /// A check's class was found and its instances created.
    Loaded {
        /// The check's name.
        check: &'a str,
        /// The module the class came from.
        module: &'a str,
        /// Instances scheduled.
        instances: usize,
        /// True if this load replaced earlier code or configuration.
        reload: bool,
    },
    /// A check, or one of its instances, could not be loaded.
    LoadError {
        /// The check's name.
        check: &'a str,
        /// The instance, when only that instance failed.
        instance: Option<usize>,
        /// What failed.
        error: &'a LoadError,
        /// True if this happened while reloading.
        reload: bool,
    },
    /// A check's configuration is gone: its instances were stopped.
    Unloaded {
        /// The check's name.
        check: &'a str,
    },
    /// A tick was skipped because the previous run of the instance was still going.
    Skipped {
        /// The check's name.
        check: &'a str,
        /// The instance.
        instance: usize,
        /// Its check id.
        check_id: &'a str,
        /// Why.
        reason: &'a str,
    },
    /// A run finished (or timed out).
    Run(&'a RunReport),
}

/// A destination for reports.
pub trait Sink: Send {
    /// Handle one report. An error is reported on stderr by the caller and
    /// does not stop the agent.
    fn report(&mut self, report: &Report<'_>) -> io::Result<()>;
}

// ---- stderr ---------------------------------------------------------------------

/// Lifecycle events and failures as `LEVEL pyhost: ...` lines on standard
/// error (always on: the operator's view, whatever the output format).
#[derive(Debug, Default)]
pub struct StderrSink;

impl Sink for StderrSink {
    fn report(&mut self, report: &Report<'_>) -> io::Result<()> {
        let mut err = io::stderr().lock();
        match *report {
            Report::Loaded {
                check,
                module,
                instances,
                reload,
            } => {
                let what = if reload { "reloaded" } else { "loaded" };
                writeln!(
                    err,
                    "INFO     pyhost: {what} check {check} from module {module} ({instances} instance(s))"
                )
            }
            Report::LoadError {
                check,
                instance,
                error,
                reload,
            } => {
                let what = if reload { "reload of" } else { "load of" };
                let inst = instance.map_or(String::new(), |i| format!(" instance {i}"));
                writeln!(err, "ERROR    pyhost: {what} check {check}{inst} failed: {error}")
            }
            Report::Unloaded { check } => {
                writeln!(err, "INFO     pyhost: check {check} unscheduled (no configuration)")
            }
            Report::Skipped {
                check,
                instance,
                check_id,
                reason,
            } => {
                writeln!(
                    err,
                    "WARN     pyhost: {check}[{instance}] ({check_id}) skipped a run: {reason}"
                )
            }
            Report::Run(r) => match r.status {
                RunStatus::Ok => Ok(()),
                _ => {
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
                    writeln!(
                        err,
                        "ERROR    pyhost: {}[{}] ({}) run {}: {} after {} ms{msg}",
                        r.check,
                        r.instance,
                        r.check_id,
                        r.run,
                        r.status.as_str(),
                        r.duration.as_millis()
                    )
                }
            },
        }
    }
}

// ---- table ----------------------------------------------------------------------

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
        let (title, _, tags) = event_parts(e);
        rows.push([title, "event".into(), String::new(), tags.join(",")]);
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

// ---- JSON lines -----------------------------------------------------------------

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

fn strings(v: &[String]) -> Value {
    Value::from(v)
}

fn line(kind: &str, check: &str) -> Value {
    let mut v = Value::object();
    v.insert("kind", kind);
    v.insert("check", check);
    v
}

/// The JSON lines for one report, in output order.
pub fn json_lines(report: &Report<'_>) -> Vec<Value> {
    match *report {
        Report::Loaded {
            check,
            module,
            instances,
            reload,
        } => {
            let mut v = line(if reload { "reload" } else { "loaded" }, check);
            v.insert("ok", true);
            v.insert("module", module);
            v.insert("instances", instances as i64);
            vec![v]
        }
        Report::LoadError {
            check,
            instance,
            error,
            reload,
        } => {
            // A whole check failing to reload is the reload's outcome; one
            // instance failing to instantiate is a load error either way.
            let reload = reload && instance.is_none();
            let mut v = line(if reload { "reload" } else { "load_error" }, check);
            if reload {
                v.insert("ok", false);
            }
            v.insert("instance", instance.map(|i| i as i64));
            v.insert("message", error.message.as_str());
            v.insert("traceback", error.traceback.as_deref());
            vec![v]
        }
        Report::Unloaded { check } => vec![line("unloaded", check)],
        Report::Skipped {
            check,
            instance,
            check_id,
            reason,
        } => {
            let mut v = line("skipped", check);
            v.insert("instance", instance as i64);
            v.insert("check_id", check_id);
            v.insert("reason", reason);
            vec![v]
        }
        Report::Run(r) => {
            let base = |kind: &str| {
                let mut v = line(kind, &r.check);
                v.insert("instance", r.instance as i64);
                v.insert("check_id", r.check_id.as_str());
                v.insert("run", r.run as i64);
                v
            };
            let mut out = Vec::new();
            let mut v = base("run_result");
            v.insert("status", r.status.as_str());
            v.insert("errors", r.errors.clone());
            v.insert("warnings", strings(&r.warnings));
            v.insert("duration_ms", r.duration.as_secs_f64() * 1000.0);
            out.push(v);
            for s in &r.flush.series {
                let mut v = base("series");
                v.insert("name", s.name.as_str());
                v.insert("type", s.kind.as_str());
                v.insert("value", s.value);
                v.insert("tags", strings(&s.tags));
                v.insert("hostname", s.hostname.as_str());
                v.insert("timestamp", s.timestamp);
                out.push(v);
            }
            for b in &r.flush.buckets {
                let mut v = base("bucket");
                v.insert("name", b.name.as_str());
                v.insert("count", b.count);
                v.insert("lower_bound", b.lower_bound);
                v.insert("upper_bound", b.upper_bound);
                v.insert("tags", strings(&b.tags));
                v.insert("hostname", b.hostname.as_str());
                out.push(v);
            }
            for sc in &r.flush.service_checks {
                let mut v = base("service_check");
                v.insert("name", sc.name.as_str());
                v.insert("status", sc.status);
                v.insert("tags", strings(&sc.tags));
                v.insert("hostname", sc.hostname.as_str());
                v.insert("message", sc.message.as_str());
                out.push(v);
            }
            for e in &r.flush.events {
                let (title, text, tags) = event_parts(e);
                let mut v = base("event");
                v.insert("title", title);
                v.insert("text", text);
                v.insert("tags", strings(&tags));
                v.insert(
                    "alert_type",
                    e.alert_type.as_deref().or_else(|| raw_str(e, "alert_type")),
                );
                v.insert("timestamp", e.timestamp);
                out.push(v);
            }
            out
        }
    }
}

impl<W: Write + Send> Sink for JsonSink<W> {
    fn report(&mut self, report: &Report<'_>) -> io::Result<()> {
        for v in json_lines(report) {
            writeln!(self.out, "{v}")?;
        }
        self.out.flush()
    }
}

// ---- DogStatsD ------------------------------------------------------------------

fn raw_str<'a>(e: &'a Event, key: &str) -> Option<&'a str> {
    e.raw.as_ref().and_then(|r| r.get(key)).and_then(Value::as_str)
}

/// An event's title, text and tags, from its fields or its raw dict
/// (`msg_title`, `msg_text`, `tags`).
fn event_parts(e: &Event) -> (String, String, Vec<String>) {
    let title = e
        .title
        .as_deref()
        .or_else(|| raw_str(e, "msg_title"))
        .unwrap_or("")
        .to_string();
    let text = e
        .text
        .as_deref()
        .or_else(|| raw_str(e, "msg_text"))
        .unwrap_or("")
        .to_string();
    let tags = match &e.tags {
        Some(t) => t.clone(),
        None => e
            .raw
            .as_ref()
            .and_then(|r| r.get("tags"))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default(),
    };
    (title, text, tags)
}

/// A metric name as DogStatsD can carry it: `:`, `|`, `@`, `#` and
/// whitespace (the protocol's separators) become `_`.
fn clean_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if matches!(c, ':' | '|' | '@' | '#') || c.is_whitespace() {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// A tag as DogStatsD can carry it: `,` and `|` (separators) and newlines become `_`.
fn clean_tag(tag: &str) -> String {
    tag.chars()
        .map(|c| if matches!(c, ',' | '|' | '\n' | '\r') { '_' } else { c })
        .collect()
}

fn push_tags(out: &mut String, tags: &[String]) {
    if tags.is_empty() {
        return;
    }
    out.push_str("|#");
    for (i, t) in tags.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&clean_tag(t));
    }
}

/// A number as DogStatsD reads it: shortest round-trip decimal, no exponent
/// for ordinary magnitudes.
fn format_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// A series as a DogStatsD metric line, `name:value|g|#tags`: gauges as
/// `g`, counts as `c`, rates as gauges of their per-second value (as the
/// Agent reports them). `None` for a non-finite value, which the protocol
/// cannot carry.
pub fn format_serie(s: &Serie) -> Option<String> {
    if !s.value.is_finite() {
        return None;
    }
    let t = match s.kind {
        SerieKind::Gauge | SerieKind::Rate => "g",
        SerieKind::Count => "c",
    };
    let mut out = format!("{}:{}|{t}", clean_name(&s.name), format_value(s.value));
    push_tags(&mut out, &s.tags);
    Some(out)
}

/// Newlines escaped as DogStatsD expects in event text and service-check messages.
fn escape_newlines(s: &str) -> String {
    s.replace("\r\n", "\\n").replace('\n', "\\n")
}

/// A service check line: `_sc|name|status|#tags|m:message` (the tags and
/// message parts only when present; the message always last).
pub fn format_service_check(sc: &ServiceCheck) -> String {
    let mut out = format!("_sc|{}|{}", clean_name(&sc.name), sc.status);
    push_tags(&mut out, &sc.tags);
    if !sc.message.is_empty() {
        out.push_str("|m:");
        out.push_str(&escape_newlines(&sc.message));
    }
    out
}

/// An event line: `_e{len(title),len(text)}:title|text|#tags`, lengths in
/// bytes of the (newline-escaped) UTF-8 strings.
pub fn format_event(e: &Event) -> String {
    let (title, text, tags) = event_parts(e);
    let (title, text) = (escape_newlines(&title), escape_newlines(&text));
    let mut out = format!("_e{{{},{}}}:{title}|{text}", title.len(), text.len());
    push_tags(&mut out, &tags);
    out
}

/// Every DogStatsD line for one flush: series, then service checks, then
/// events. (Histogram buckets have no DogStatsD form and are not sent.)
pub fn dogstatsd_lines(flush: &Flush) -> Vec<String> {
    let mut lines: Vec<String> = flush.series.iter().filter_map(format_serie).collect();
    lines.extend(flush.service_checks.iter().map(format_service_check));
    lines.extend(flush.events.iter().map(format_event));
    lines
}

/// Pack lines into datagrams of at most `max` bytes, joined by `\n`, in
/// order. A line longer than `max` on its own cannot be sent and is
/// returned in the second list.
pub fn batch_lines(lines: &[String], max: usize) -> (Vec<String>, Vec<String>) {
    let mut datagrams = Vec::new();
    let mut dropped = Vec::new();
    let mut cur = String::new();
    for l in lines {
        if l.len() > max {
            dropped.push(l.clone());
            continue;
        }
        if !cur.is_empty() && cur.len() + 1 + l.len() > max {
            datagrams.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push('\n');
        }
        cur.push_str(l);
    }
    if !cur.is_empty() {
        datagrams.push(cur);
    }
    (datagrams, dropped)
}

/// Sends each run's flush to a DogStatsD server over UDP.
#[derive(Debug)]
pub struct DogStatsdSink {
    socket: UdpSocket,
}

impl DogStatsdSink {
    /// A sink sending to `addr` (`HOST:PORT`) from an ephemeral local port.
    pub fn connect(addr: &str) -> io::Result<DogStatsdSink> {
        let target = addr
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, format!("{addr}: no address")))?;
        let local = if target.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
        let socket = UdpSocket::bind(local)?;
        socket.connect(target)?;
        Ok(DogStatsdSink { socket })
    }
}

impl Sink for DogStatsdSink {
    fn report(&mut self, report: &Report<'_>) -> io::Result<()> {
        let Report::Run(r) = report else {
            return Ok(());
        };
        let (datagrams, dropped) = batch_lines(&dogstatsd_lines(&r.flush), MAX_DATAGRAM);
        for d in &datagrams {
            // A server that is down makes sends fail (ECONNREFUSED from an
            // earlier datagram): UDP is fire-and-forget, so the error is
            // reported and the rest still tried.
            self.socket.send(d.as_bytes())?;
        }
        if !dropped.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} DogStatsD line(s) longer than {MAX_DATAGRAM} bytes not sent",
                    dropped.len()
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serie(name: &str, value: f64, kind: SerieKind, tags: &[&str]) -> Serie {
        Serie {
            name: name.into(),
            value,
            timestamp: 0.0,
            kind,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            hostname: "h".into(),
        }
    }

    #[test]
    fn metric_lines_by_kind() {
        assert_eq!(
            format_serie(&serie("a.b", 1.5, SerieKind::Gauge, &["x:1", "y"])).unwrap(),
            "a.b:1.5|g|#x:1,y"
        );
        assert_eq!(format_serie(&serie("c", 3.0, SerieKind::Count, &[])).unwrap(), "c:3|c");
        assert_eq!(
            format_serie(&serie("r", 0.25, SerieKind::Rate, &["t"])).unwrap(),
            "r:0.25|g|#t"
        );
        assert_eq!(
            format_serie(&serie("n", -2.0, SerieKind::Gauge, &[])).unwrap(),
            "n:-2|g"
        );
        assert!(format_serie(&serie("nan", f64::NAN, SerieKind::Gauge, &[])).is_none());
        assert!(format_serie(&serie("inf", f64::INFINITY, SerieKind::Gauge, &[])).is_none());
    }

    #[test]
    fn separators_are_cleaned() {
        let s = serie("a:b|c d", 1.0, SerieKind::Gauge, &["k:v,w", "p|q"]);
        assert_eq!(format_serie(&s).unwrap(), "a_b_c_d:1|g|#k:v_w,p_q");
    }

    #[test]
    fn service_check_line() {
        let mut sc = ServiceCheck {
            name: "demo.can_connect".into(),
            status: 2,
            tags: vec!["a:1".into(), "b".into()],
            hostname: "h".into(),
            message: "down\nhard".into(),
        };
        assert_eq!(format_service_check(&sc), "_sc|demo.can_connect|2|#a:1,b|m:down\\nhard");
        sc.tags.clear();
        sc.message.clear();
        assert_eq!(format_service_check(&sc), "_sc|demo.can_connect|2");
    }

    #[test]
    fn event_line_counts_bytes() {
        let e = Event {
            title: Some("héllo".into()),
            text: Some("line1\nline2".into()),
            timestamp: 0,
            priority: None,
            host: None,
            tags: Some(vec!["t:1".into()]),
            alert_type: None,
            aggregation_key: None,
            source_type_name: None,
            event_type: None,
            raw: None,
        };
        // "héllo" is 6 bytes; "line1\\nline2" is 12.
        assert_eq!(format_event(&e), "_e{6,12}:héllo|line1\\nline2|#t:1");
        let mut raw = Value::object();
        raw.insert("msg_title", "T");
        raw.insert("msg_text", "body");
        raw.insert("tags", Value::Array(vec![Value::from("x")]));
        let e = Event {
            title: None,
            text: None,
            tags: None,
            raw: Some(raw),
            ..e
        };
        assert_eq!(format_event(&e), "_e{1,4}:T|body|#x");
    }

    #[test]
    fn batching_respects_the_limit_and_order() {
        let lines: Vec<String> = (0..100)
            .map(|i| format!("metric.{i:03}:{i}|g|#tag:{}", "x".repeat(i % 17)))
            .collect();
        let (datagrams, dropped) = batch_lines(&lines, MAX_DATAGRAM);
        assert!(dropped.is_empty());
        assert!(datagrams.len() > 1, "100 lines of ~30 bytes need several datagrams");
        for d in &datagrams {
            assert!(d.len() <= MAX_DATAGRAM, "datagram of {} bytes", d.len());
            assert!(!d.starts_with('\n') && !d.ends_with('\n'));
        }
        // Every datagram but the last is full enough that the next line would not fit.
        let mut next = 0;
        for (i, d) in datagrams.iter().enumerate() {
            let n = d.split('\n').count();
            next += n;
            if i + 1 < datagrams.len() {
                assert!(d.len() + 1 + lines[next].len() > MAX_DATAGRAM);
            }
        }
        let rejoined: Vec<&str> = datagrams.iter().flat_map(|d| d.split('\n')).collect();
        assert_eq!(rejoined, lines.iter().map(String::as_str).collect::<Vec<_>>());
    }

    #[test]
    fn batching_exact_fit_and_oversize() {
        let a = "a".repeat(10);
        let b = "b".repeat(9);
        // 10 + 1 + 9 = 20 fits exactly in 20; a third line does not.
        let (d, dropped) = batch_lines(&[a.clone(), b.clone(), "c".into()], 20);
        assert_eq!(d, vec![format!("{a}\n{b}"), "c".to_string()]);
        assert!(dropped.is_empty());
        let big = "z".repeat(21);
        let (d, dropped) = batch_lines(&[big.clone(), "c".into()], 20);
        assert_eq!(d, vec!["c".to_string()]);
        assert_eq!(dropped, vec![big]);
        assert!(batch_lines(&[], 20).0.is_empty());
    }

    #[test]
    fn udp_sink_sends_batches() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        server.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut sink = DogStatsdSink::connect(&server.local_addr().unwrap().to_string()).unwrap();
        let flush = Flush {
            series: (0..80)
                .map(|i| serie(&format!("m{i}"), i as f64, SerieKind::Gauge, &["k:v"]))
                .collect(),
            ..Flush::default()
        };
        let report = RunReport {
            check: "c".into(),
            instance: 0,
            check_id: "c:0".into(),
            run: 1,
            status: RunStatus::Ok,
            errors: Value::Array(vec![]),
            warnings: vec![],
            duration: Duration::ZERO,
            flush,
        };
        sink.report(&Report::Run(&report)).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 2048];
        while got.len() < 80 {
            let n = server.recv(&mut buf).unwrap();
            assert!(n <= MAX_DATAGRAM);
            got.extend(std::str::from_utf8(&buf[..n]).unwrap().split('\n').map(str::to_owned));
        }
        assert_eq!(got[0], "m0:0|g|#k:v");
        assert_eq!(got[79], "m79:79|g|#k:v");
    }
}
