//! The agent as it runs: the flush cycle, `pyhost` with no arguments (the
//! bundled examples and this machine's system metrics), and how rarely an
//! idle agent wakes up.

mod common;

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::context_switches;
use common::program::{
    f, interrupt, json_lines, lines_of, pyhost_bare, pyhost_in, s, wait_bounded, wait_for_line, write,
};
use pyhost_agent::value::Value;

const TICK: &str = r#"
from checks import AgentCheck

class Tick(AgentCheck):
    def check(self, instance):
        self.count('tick.count', 1, tags=['k:v'])
        self.gauge('tick.gauge', 7)
"#;

#[test]
fn counts_of_several_runs_in_one_flush_interval_are_one_summed_series() {
    let dir = tempfile::tempdir().unwrap();
    let (conf, checks) = (dir.path().join("conf.d"), dir.path().join("checks.d"));
    write(
        &conf.join("tick.d/conf.yaml"),
        "instances:\n  - min_collection_interval: 0.4\n",
    );
    write(&checks.join("tick.py"), TICK);
    let child = pyhost_in(&conf, &checks, &dir.path().join("data"))
        .args([
            "--output",
            "json",
            "--flush-interval",
            "2",
            "--duration",
            "5.1",
            "--no-system-checks",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_bounded(child, Duration::from_secs(30));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines = json_lines(&out.stdout);
    // Each flush: its line, then its series (until the next flush line).
    let mut flushes: Vec<Vec<&Value>> = Vec::new();
    let mut runs = 0;
    for v in &lines {
        match s(v, "kind") {
            "flush" => flushes.push(Vec::new()),
            "series" if s(v, "name") == "tick.count" => {
                flushes.last_mut().expect("a series after a flush line").push(v)
            }
            "run_result" if s(v, "check") == "tick" => {
                assert_eq!(s(v, "status"), "ok");
                runs += 1;
            }
            _ => {}
        }
    }
    // At start-up, at 2 s and 4 s, and when stopping at 5.1 s.
    assert!(flushes.len() >= 3, "{} flushes: {lines:?}", flushes.len());
    let mut total = 0.0;
    for series in &flushes {
        assert!(series.len() <= 1, "one series per context and flush: {series:?}");
        total += series.iter().map(|v| f(v, "value")).sum::<f64>();
    }
    assert!(runs >= 10, "runs every 0.4 s for 5 s: {runs}");
    assert_eq!(total, runs as f64, "every submitted count is flushed, once");
    let biggest = flushes.iter().flatten().map(|v| f(v, "value")).fold(0.0, f64::max);
    assert!(
        biggest >= 4.0,
        "a 2 s interval holds several 0.4 s runs, summed: {biggest}"
    );
    let s1 = flushes.iter().flatten().next().unwrap();
    assert_eq!((s(s1, "type"), s(s1, "check")), ("count", "tick"));
}

/// A `/proc/meminfo` value in MB (as `system.mem.*` reports it).
fn meminfo_mb(key: &str) -> f64 {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap();
    let line = text.lines().find(|l| l.starts_with(&format!("{key}:"))).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<f64>().unwrap() / 1024.0
}

/// The sizes of `/proc/swaps`, summed, in MB.
fn swaps_mb() -> f64 {
    let text = std::fs::read_to_string("/proc/swaps").unwrap();
    text.lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(2)?.parse::<f64>().ok())
        .sum::<f64>()
        / 1024.0
}

#[test]
fn with_no_arguments_it_shows_this_machines_metrics() {
    // `cargo run --release` with no arguments: no ./conf.d here, so the
    // bundled examples, plus the system checks, printed as tables.
    let cwd = tempfile::tempdir().unwrap();
    let mut child = pyhost_bare()
        .current_dir(cwd.path())
        .env("TMPDIR", cwd.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = lines_of(child.stdout.take().unwrap());
    let stderr = lines_of(child.stderr.take().unwrap());
    let mut seen = Vec::new();
    let started = Instant::now();
    wait_for_line(&stdout, &mut seen, Duration::from_secs(30), "flush table", |l| {
        l.starts_with("flush at ")
    });
    // The first flush comes once every instance has run, within seconds.
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    let mut rows: BTreeMap<String, (String, f64)> = BTreeMap::new();
    let wanted = [
        "system.cpu.user",
        "system.mem.total",
        "system.swap.total",
        "system.load.1",
    ];
    while !wanted.iter().all(|w| rows.contains_key(*w)) {
        let line = wait_for_line(&stdout, &mut seen, Duration::from_secs(5), "table rows", |_| true);
        let cols: Vec<&str> = line.split_whitespace().collect();
        if line.starts_with("flush at ") {
            panic!("the first flush lacks some of {wanted:?}:\n{}", seen.join("\n"));
        }
        if cols.len() >= 4 && cols[1].starts_with("system.") && !rows.contains_key(cols[1]) {
            if let Ok(value) = cols[3].parse() {
                rows.insert(cols[1].to_string(), (cols[2].to_string(), value));
            }
        }
    }
    interrupt(&child);
    let status = wait_bounded(child, Duration::from_secs(20)).status;
    let log: Vec<String> = stderr.try_iter().collect();
    assert!(status.success(), "{status:?}\n{}", log.join("\n"));
    assert!(
        log.iter().any(|l| l.contains("running the bundled example checks")),
        "{log:?}"
    );
    assert!(
        log.iter()
            .any(|l| l.contains("loaded check cpu from module checks.system.cpu")),
        "{log:?}"
    );

    let (kind, user) = &rows["system.cpu.user"];
    assert_eq!(kind, "gauge");
    assert!((0.0..=100.0).contains(user), "system.cpu.user {user}");
    let mem = rows["system.mem.total"].1;
    assert!(
        (mem - meminfo_mb("MemTotal")).abs() < 1e-5,
        "{mem} MB, /proc/meminfo says {}",
        meminfo_mb("MemTotal")
    );
    let swap = rows["system.swap.total"].1;
    assert!(
        (swap - swaps_mb()).abs() < 1e-5,
        "{swap} MB, /proc/swaps says {}",
        swaps_mb()
    );
    assert!((swap - meminfo_mb("SwapTotal")).abs() < 1e-5);
    let load = rows["system.load.1"].1;
    assert!(load >= 0.0);
}

#[test]
fn an_idle_agent_sleeps() {
    // One check every 60 s: once it has run, the process should only wake
    // for the reload tick (once a second) and the flush (every 15 s). The
    // old loop polled every 10 ms: 100 wake-ups a second.
    let dir = tempfile::tempdir().unwrap();
    let (conf, checks) = (dir.path().join("conf.d"), dir.path().join("checks.d"));
    write(
        &conf.join("tick.d/conf.yaml"),
        "instances:\n  - min_collection_interval: 60\n",
    );
    write(&checks.join("tick.py"), TICK);
    let mut child = pyhost_in(&conf, &checks, &dir.path().join("data"))
        .args(["--output", "json", "--no-system-checks"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = lines_of(child.stdout.take().unwrap());
    let _stderr = lines_of(child.stderr.take().unwrap());
    let mut seen = Vec::new();
    wait_for_line(&stdout, &mut seen, Duration::from_secs(30), "the first flush", |l| {
        l.contains("\"kind\":\"flush\"")
    });
    std::thread::sleep(Duration::from_millis(500));
    let before = context_switches(child.id());
    let window = Duration::from_secs(6);
    std::thread::sleep(window);
    let after = context_switches(child.id());
    interrupt(&child);
    assert!(wait_bounded(child, Duration::from_secs(20)).status.success());
    let per_thread: BTreeMap<&String, u64> = after
        .iter()
        .map(|(name, (v, n))| {
            let (v0, n0) = before.get(name).copied().unwrap_or((0, 0));
            (name, (v + n).saturating_sub(v0 + n0))
        })
        .collect();
    let total: u64 = per_thread.values().sum();
    let per_second = total as f64 / window.as_secs_f64();
    eprintln!("idle wake-ups over {window:?}: {total} ({per_second:.1}/s) {per_thread:?}");
    assert!(
        per_second <= 4.0,
        "{per_second:.1} context switches a second while idle: {per_thread:?}"
    );
}
