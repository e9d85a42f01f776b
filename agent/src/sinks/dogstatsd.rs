//! DogStatsD over UDP: each flush's series, service checks and events
//! as DogStatsD lines, batched into datagrams of at most [`MAX_DATAGRAM`]
//! bytes (`docs/agent.md`).
//!
//! Hostnames: the server gives what it receives its own hostname, so only a
//! hostname other than the agent's is sent (a `host:` tag on a metric, the
//! `h:` field of a service check or an event), as the check meant it.

use std::io;
use std::net::{ToSocketAddrs, UdpSocket};

use super::{Report, Sink};
use crate::aggregator::{Event, Flush, Serie, SerieKind, ServiceCheck};

/// The largest DogStatsD datagram sent: the Agent's and the official
/// clients' default for UDP (1500-byte MTU minus IP and UDP headers, with margin).
pub const MAX_DATAGRAM: usize = 1432;

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

fn push_tags(out: &mut String, tags: &[impl AsRef<str>]) {
    if tags.is_empty() {
        return;
    }
    out.push_str("|#");
    for (i, t) in tags.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&clean_tag(t.as_ref()));
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

/// `host` when it is a hostname other than `own`, the agent's.
fn foreign_host<'a>(host: &'a str, own: &str) -> Option<&'a str> {
    (!host.is_empty() && host != own).then_some(host)
}

/// A series as a DogStatsD metric line, `name:value|g|#tags`: gauges as
/// `g`, counts as `c`, rates as gauges of their per-second value (as the
/// Agent reports them); a hostname other than `own` as a `host:` tag.
/// `None` for a non-finite value, which the protocol cannot carry.
pub fn format_serie(s: &Serie, own: &str) -> Option<String> {
    if !s.value.is_finite() {
        return None;
    }
    let t = match s.kind {
        SerieKind::Gauge | SerieKind::Rate => "g",
        SerieKind::Count => "c",
    };
    let mut out = format!("{}:{}|{t}", clean_name(&s.name), format_value(s.value));
    match foreign_host(&s.hostname, own) {
        Some(h) => {
            let mut tags: Vec<&str> = s.tags.iter().map(String::as_str).collect();
            let host_tag = format!("host:{h}");
            tags.push(&host_tag);
            push_tags(&mut out, &tags);
        }
        None => push_tags(&mut out, &s.tags),
    }
    Some(out)
}

/// A field's text as DogStatsD can carry it in a `|x:value` part.
fn clean_field(s: &str) -> String {
    s.chars()
        .map(|c| if matches!(c, '|' | '\n' | '\r') { '_' } else { c })
        .collect()
}

/// Newlines escaped as DogStatsD expects in event text and service-check messages.
fn escape_newlines(s: &str) -> String {
    s.replace("\r\n", "\\n").replace('\n', "\\n")
}

/// A service check line: `_sc|name|status|h:host|#tags|m:message` (each
/// part only when present; the message always last).
pub fn format_service_check(sc: &ServiceCheck, own: &str) -> String {
    let mut out = format!("_sc|{}|{}", clean_name(&sc.name), sc.status);
    if let Some(h) = foreign_host(&sc.hostname, own) {
        out.push_str("|h:");
        out.push_str(&clean_field(h));
    }
    push_tags(&mut out, &sc.tags);
    if !sc.message.is_empty() {
        out.push_str("|m:");
        out.push_str(&escape_newlines(&sc.message));
    }
    out
}

/// An event line: `_e{len(title),len(text)}:title|text|d:timestamp|h:host|
/// k:aggregation_key|p:priority|s:source_type_name|t:alert_type|#tags`,
/// lengths in bytes of the (newline-escaped) UTF-8 strings, each optional
/// part only when the event has it.
pub fn format_event(event: &Event, own: &str) -> String {
    let e = event.summary();
    let (title, text) = (escape_newlines(e.title), escape_newlines(e.text));
    let mut out = format!("_e{{{},{}}}:{title}|{text}", title.len(), text.len());
    if e.timestamp > 0 {
        out.push_str(&format!("|d:{}", e.timestamp));
    }
    let host = event.host.as_deref().and_then(|h| foreign_host(h, own));
    let fields = [
        ("h", host),
        ("k", event.aggregation_key.as_deref()),
        ("p", event.priority.as_deref()),
        ("s", event.source_type_name.as_deref()),
        ("t", e.alert_type),
    ];
    for (key, value) in fields {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            out.push_str(&format!("|{key}:{}", clean_field(v)));
        }
    }
    push_tags(&mut out, &e.tags);
    out
}

/// Every DogStatsD line for one flush: series, then service checks, then
/// events; `own` is the agent's hostname. (Histogram buckets have no
/// DogStatsD form and are not sent.)
pub fn dogstatsd_lines(flush: &Flush, own: &str) -> Vec<String> {
    let mut lines: Vec<String> = flush.series.iter().filter_map(|s| format_serie(s, own)).collect();
    lines.extend(flush.service_checks.iter().map(|sc| format_service_check(sc, own)));
    lines.extend(flush.events.iter().map(|e| format_event(e, own)));
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

/// Sends each flush to a DogStatsD server over UDP.
#[derive(Debug)]
pub struct DogStatsdSink {
    socket: UdpSocket,
    /// The agent's hostname: not sent (the server uses its own).
    hostname: String,
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
        Ok(DogStatsdSink {
            socket,
            hostname: String::new(),
        })
    }

    /// The agent's hostname: what carries it is sent without a hostname,
    /// for the server to give its own; other hostnames are sent.
    pub fn with_hostname(mut self, hostname: impl Into<String>) -> DogStatsdSink {
        self.hostname = hostname.into();
        self
    }
}

impl Sink for DogStatsdSink {
    fn report(&mut self, report: &Report<'_>) -> io::Result<()> {
        let Report::Flush(f) = report else {
            return Ok(());
        };
        let lines: Vec<String> = f
            .entries
            .iter()
            .flat_map(|e| dogstatsd_lines(&e.flush, &self.hostname))
            .collect();
        let (datagrams, dropped) = batch_lines(&lines, MAX_DATAGRAM);
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
    use std::time::Duration;

    use super::*;
    use crate::sinks::{FlushEntry, FlushReport};
    use crate::value::Value;

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
            format_serie(&serie("a.b", 1.5, SerieKind::Gauge, &["x:1", "y"]), "h").unwrap(),
            "a.b:1.5|g|#x:1,y"
        );
        assert_eq!(
            format_serie(&serie("c", 3.0, SerieKind::Count, &[]), "h").unwrap(),
            "c:3|c"
        );
        assert_eq!(
            format_serie(&serie("r", 0.25, SerieKind::Rate, &["t"]), "h").unwrap(),
            "r:0.25|g|#t"
        );
        assert_eq!(
            format_serie(&serie("n", -2.0, SerieKind::Gauge, &[]), "h").unwrap(),
            "n:-2|g"
        );
        assert!(format_serie(&serie("nan", f64::NAN, SerieKind::Gauge, &[]), "h").is_none());
        assert!(format_serie(&serie("inf", f64::INFINITY, SerieKind::Gauge, &[]), "h").is_none());
    }

    #[test]
    fn separators_are_cleaned() {
        let s = serie("a:b|c d", 1.0, SerieKind::Gauge, &["k:v,w", "p|q"]);
        assert_eq!(format_serie(&s, "h").unwrap(), "a_b_c_d:1|g|#k:v_w,p_q");
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
        assert_eq!(
            format_service_check(&sc, "h"),
            "_sc|demo.can_connect|2|#a:1,b|m:down\\nhard"
        );
        sc.tags.clear();
        sc.message.clear();
        assert_eq!(format_service_check(&sc, "h"), "_sc|demo.can_connect|2");
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
        assert_eq!(format_event(&e, "h"), "_e{6,12}:héllo|line1\\nline2|#t:1");
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
        assert_eq!(format_event(&e, "h"), "_e{1,4}:T|body|#x");
    }

    #[test]
    fn hostnames_other_than_the_agents_are_sent() {
        let mut s = serie("m", 1.0, SerieKind::Gauge, &["a"]);
        assert_eq!(
            format_serie(&s, "h").unwrap(),
            "m:1|g|#a",
            "the agent's own: the server's"
        );
        s.hostname = "db-1".into();
        assert_eq!(format_serie(&s, "h").unwrap(), "m:1|g|#a,host:db-1");
        s.tags.clear();
        assert_eq!(format_serie(&s, "h").unwrap(), "m:1|g|#host:db-1");
        let sc = ServiceCheck {
            name: "up".into(),
            status: 0,
            tags: vec!["a".into()],
            hostname: "db|1".into(),
            message: "ok".into(),
        };
        assert_eq!(format_service_check(&sc, "h"), "_sc|up|0|h:db_1|#a|m:ok");
        let e = Event {
            title: Some("t".into()),
            text: Some("x".into()),
            timestamp: 1700000000,
            priority: Some("low".into()),
            host: Some("db-1".into()),
            tags: None,
            alert_type: Some("error".into()),
            aggregation_key: Some("k1".into()),
            source_type_name: Some("pyhost".into()),
            event_type: None,
            raw: None,
        };
        assert_eq!(
            format_event(&e, "h"),
            "_e{1,1}:t|x|d:1700000000|h:db-1|k:k1|p:low|s:pyhost|t:error"
        );
        assert_eq!(
            format_event(&e, "db-1"),
            "_e{1,1}:t|x|d:1700000000|k:k1|p:low|s:pyhost|t:error"
        );
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
        let mut sink = DogStatsdSink::connect(&server.local_addr().unwrap().to_string())
            .unwrap()
            .with_hostname("h");
        let flush = Flush {
            series: (0..80)
                .map(|i| serie(&format!("m{i}"), i as f64, SerieKind::Gauge, &["k:v"]))
                .collect(),
            ..Flush::default()
        };
        let report = FlushReport {
            timestamp: 1.0,
            entries: vec![FlushEntry {
                check: "c".into(),
                instance: 0,
                check_id: "c:0".into(),
                run: 1,
                flush,
            }],
        };
        sink.report(&Report::Flush(&report)).unwrap();
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
