//! A [`Snapshot`] as one self-contained HTML page: the process, then a
//! section per check (state, module, error and traceback, a table of
//! instances) with a chart of its run durations over the last hour, drawn
//! as inline SVG. No script, no external asset; the page reloads itself
//! every flush interval.

use std::fmt::Write;

use super::text::{ago, instance_state, mib, ms, span, where_it_runs};
use super::{CheckSnapshot, ErrorInfo, Snapshot, HISTORY_SECS};

/// `&`, `<`, `>`, `"` and `'` as entities.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}\
h1{font-size:1.4em}h2{font-size:1.15em;margin:0 0 .3em}\
section.check{border:1px solid #ccc;border-radius:6px;padding:.8em 1em;margin:1em 0}\
section.failed{border-color:#c33;background:#fff5f5}\
.badge{font-size:.75em;padding:.1em .5em;border-radius:3px;color:#fff;background:#393}\
.failed .badge,.badge.ERROR{background:#c33}.badge.WARNING{background:#c80}.badge.PENDING{background:#888}\
table{border-collapse:collapse;margin:.5em 0}td,th{padding:.15em .6em;text-align:left;border-bottom:1px solid #eee}\
td.n{text-align:right}pre{background:#f6f6f6;padding:.5em;overflow:auto;font-size:12px}\
.error{color:#a00}.meta{color:#555}svg.chart{background:#fafafa;border:1px solid #ddd}";

/// The status page.
pub fn render(s: &Snapshot) -> String {
    let mut out = String::new();
    let refresh = s.flush_interval_s.clamp(1.0, 300.0).round();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"{refresh}\"><title>pyhost status</title>\
         <style>{STYLE}</style></head><body>\n<h1>pyhost {} status</h1>\n",
        escape(&s.version)
    );
    let _ = writeln!(
        out,
        "<p class=\"meta\" id=\"process\">host <b>{}</b> &middot; Python {} &middot; {} isolation, {} workers \
         &middot; pid {} &middot; up {} &middot; RSS {} &middot; flush every {}s, last {}</p>",
        escape(&s.hostname),
        escape(&s.python),
        escape(&s.isolation),
        s.workers,
        s.pid,
        span(s.uptime_s),
        mib(s.rss_bytes),
        s.flush_interval_s,
        ago(s.last_flush, s.now),
    );
    if s.checks.is_empty() {
        out.push_str("<p>No check is configured.</p>\n");
    }
    for c in &s.checks {
        check(&mut out, c, s.now);
    }
    out.push_str("</body></html>\n");
    out
}

fn error_block(out: &mut String, e: &ErrorInfo) {
    let _ = write!(out, "<div class=\"error\"><p>{}</p>", escape(&e.message));
    if let Some(tb) = &e.traceback {
        let _ = write!(out, "<pre>{}</pre>", escape(tb));
    }
    out.push_str("</div>\n");
}

fn check(out: &mut String, c: &CheckSnapshot, now: f64) {
    let failed = c.state == "failed";
    let _ = writeln!(
        out,
        "<section class=\"check {}\" id=\"check-{}\" data-check=\"{}\">",
        if failed { "failed" } else { "loaded" },
        escape(&c.name),
        escape(&c.name)
    );
    let _ = write!(
        out,
        "<h2>{} <span class=\"badge\">{}</span></h2>",
        escape(&c.name),
        if failed { "FAILED" } else { "LOADED" }
    );
    if let (Some(m), Some(i)) = (&c.module, &c.interpreter) {
        let _ = write!(out, "<p class=\"meta\">{} {}</p>", escape(m), escape(&where_it_runs(i)));
    }
    out.push('\n');
    if let Some(e) = &c.error {
        error_block(out, e);
    }
    if !c.instances.is_empty() {
        out.push_str(
            "<table><tr><th>instance</th><th>state</th><th>check id</th><th>runs</th><th>errors</th>\
             <th>warnings</th><th>last</th><th>average</th><th>last run</th><th>samples (last/total)</th></tr>\n",
        );
        for i in &c.instances {
            let state = instance_state(i);
            let _ = writeln!(
                out,
                "<tr><td class=\"n\">{}</td><td><span class=\"badge {state}\">{state}</span></td><td>{}</td>\
                 <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
                 <td class=\"n\">{}</td><td>{}</td><td class=\"n\">{} / {}</td></tr>",
                i.instance,
                escape(&i.check_id),
                i.runs,
                i.errors,
                i.warnings,
                ms(i.last_duration_ms),
                ms(i.average_duration_ms),
                ago(i.last_run, now),
                i.samples_last_run,
                i.samples_total
            );
        }
        out.push_str("</table>\n");
        for i in &c.instances {
            if let Some(e) = i.load_error.as_ref().or(i.last_error.as_ref()) {
                let _ = write!(out, "<p class=\"meta\">instance {} last error:</p>", i.instance);
                error_block(out, e);
            }
        }
        chart(out, c, now);
    }
    out.push_str("</section>\n");
}

/// Colours of the instances' lines.
const COLOURS: [&str; 6] = ["#2a6fdb", "#d9822b", "#2b9d4a", "#8e44ad", "#c0392b", "#16a085"];

/// Run durations over the last hour, one polyline (and dots) per instance.
fn chart(out: &mut String, c: &CheckSnapshot, now: f64) {
    const W: f64 = 600.0;
    const H: f64 = 120.0;
    const LEFT: f64 = 60.0;
    let max = c
        .instances
        .iter()
        .flat_map(|i| i.durations.iter().map(|d| d[1]))
        .fold(0.0f64, f64::max)
        .max(0.001);
    let x = |t: f64| LEFT + ((t - (now - HISTORY_SECS)) / HISTORY_SECS).clamp(0.0, 1.0) * (W - LEFT - 10.0);
    let y = |v: f64| 10.0 + (1.0 - v / max) * (H - 30.0);
    let _ = writeln!(
        out,
        "<svg class=\"chart\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" role=\"img\" \
         xmlns=\"http://www.w3.org/2000/svg\"><title>{} run durations, last hour (max {})</title>\
         <line x1=\"{LEFT}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#999\"/>\
         <text x=\"4\" y=\"16\" font-size=\"10\">{}</text><text x=\"4\" y=\"{}\" font-size=\"10\">0 ms</text>\
         <text x=\"{LEFT}\" y=\"{}\" font-size=\"10\">-60 min</text><text x=\"{}\" y=\"{}\" font-size=\"10\">now</text>",
        escape(&c.name),
        ms(Some(max)),
        H - 20.0,
        W - 10.0,
        H - 20.0,
        ms(Some(max)),
        H - 20.0,
        H - 6.0,
        W - 30.0,
        H - 6.0,
    );
    for (n, i) in c.instances.iter().enumerate() {
        let colour = COLOURS[n % COLOURS.len()];
        let points: Vec<String> = i
            .durations
            .iter()
            .map(|d| format!("{:.1},{:.1}", x(d[0]), y(d[1])))
            .collect();
        if points.len() > 1 {
            let _ = write!(
                out,
                "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\" points=\"{}\"/>",
                points.join(" ")
            );
        }
        for p in &points {
            let (px, py) = p.split_once(',').unwrap_or(("0", "0"));
            let _ = write!(out, "<circle cx=\"{px}\" cy=\"{py}\" r=\"2\" fill=\"{colour}\"/>");
        }
    }
    out.push_str("</svg>\n");
}

#[cfg(test)]
mod tests {
    use super::super::InstanceSnapshot;
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn a_section_and_a_chart_per_check() {
        let inst = InstanceSnapshot {
            check_id: "c:1".into(),
            runs: 2,
            last_status: Some("ok".into()),
            durations: vec![[940.0, 2.0], [970.0, 4.0]],
            ..InstanceSnapshot::default()
        };
        let snap = Snapshot {
            version: "1".into(),
            hostname: "h<1>".into(),
            python: "3.11.7".into(),
            isolation: "shared".into(),
            workers: 2,
            flush_interval_s: 15.0,
            pid: 1,
            uptime_s: 10.0,
            now: 1000.0,
            last_flush: None,
            rss_bytes: None,
            checks: vec![
                CheckSnapshot {
                    name: "good".into(),
                    state: "loaded".into(),
                    module: Some("good".into()),
                    interpreter: Some("main".into()),
                    error: None,
                    instances: vec![inst],
                },
                CheckSnapshot {
                    name: "bad".into(),
                    state: "failed".into(),
                    module: None,
                    interpreter: None,
                    error: Some(ErrorInfo {
                        message: "unable to import <bad>".into(),
                        traceback: Some("Traceback".into()),
                    }),
                    instances: vec![],
                },
            ],
        };
        let page = render(&snap);
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains("host <b>h&lt;1&gt;</b>"));
        assert!(page.contains("id=\"check-good\""));
        assert!(page.contains("<section class=\"check failed\" id=\"check-bad\""));
        assert!(page.contains("<p>unable to import &lt;bad&gt;</p><pre>Traceback</pre>"));
        assert_eq!(
            page.matches("<svg class=\"chart\"").count(),
            1,
            "no chart without instances"
        );
        // The two runs: 2 ms halfway up, 4 ms at the top, 30 s apart at the right end.
        assert!(page.contains("<polyline"), "{page}");
        assert!(page.contains("cy=\"10.0\""), "the longest run is at the top: {page}");
        // Self-contained: no script, nothing loaded from elsewhere.
        assert!(!page.contains("<script") && !page.contains("src=") && !page.contains("href="));
    }
}
