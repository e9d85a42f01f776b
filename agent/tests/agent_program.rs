//! The `pyhost` program, run as a subprocess: one-shot JSON output on the
//! bundled example checks, DogStatsD over UDP, hot reload, timeouts, and the
//! command line itself. (The flush cycle, the system checks and the idle
//! loop: `agent_cycle.rs`; `check` and `--config`: `agent_commands.rs`; the
//! status: `agent_status.rs`.)

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

mod common;

use common::program::{json_lines, of_kind, pyhost_in, s, wait_bounded, write};
use pyhost_agent::value::Value;

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples").join("agent")
}

fn pyhost(conf: &Path, checks: &Path, data: &Path) -> Command {
    let mut cmd = pyhost_in(conf, checks, data);
    // These tests are about the checks they configure (the system checks
    // have tests of their own: agent_cycle, agent_commands).
    cmd.arg("--no-system-checks");
    cmd
}

#[test]
fn once_json_on_the_example_checks() {
    let data = tempfile::tempdir().unwrap();
    let ex = examples();
    let child = pyhost(&ex.join("conf.d"), &ex.join("checks.d"), data.path())
        .args(["--once", "--output", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_bounded(child, Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}\n{stderr}", out.status);
    let lines = json_lines(&out.stdout);
    // What the checks submit without a hostname is the agent's host's
    // (`--hostname test-host`).
    for kind in ["series", "service_check"] {
        for v in of_kind(&lines, kind) {
            assert_eq!(s(v, "hostname"), "test-host", "{v}");
        }
    }

    // Instances per check, as configured in examples/agent/conf.d.
    for (check, instances) in [
        ("demo_all_types", 2),
        ("disk_usage", 2),
        ("process_count", 1),
        ("system_load", 1),
    ] {
        assert!(
            of_kind(&lines, "loaded").any(|v| s(v, "check") == check),
            "{check} not loaded\n{stderr}"
        );
        let runs: Vec<&Value> = of_kind(&lines, "run_result")
            .filter(|v| s(v, "check") == check)
            .collect();
        assert_eq!(runs.len(), instances, "{check}: one run result per instance");
        for r in &runs {
            assert_eq!(s(r, "status"), "ok", "{check}: {}", r);
            assert_eq!(r.get("run").and_then(Value::as_i64), Some(1));
        }
        assert!(
            of_kind(&lines, "series").any(|v| s(v, "check") == check),
            "{check}: no series"
        );
    }
    // The aggregated view: the histogram's aggregates, a count, a gauge.
    let series: Vec<(&str, &str, f64)> = of_kind(&lines, "series")
        .filter(|v| {
            v.get("tags")
                .and_then(Value::as_array)
                .is_some_and(|t| t.iter().any(|t| t.as_str() == Some("team:demo")))
        })
        .map(|v| {
            (
                s(v, "name"),
                s(v, "type"),
                v.get("value").and_then(Value::as_f64).unwrap(),
            )
        })
        .collect();
    for want in [
        ("demo.temperature", "gauge", 21.5),
        ("demo.requests", "count", 3.0),
        ("demo.latency.max", "gauge", 5.0),
        ("demo.latency.avg", "gauge", 3.0),
    ] {
        assert!(series.contains(&want), "{want:?} not in {series:?}");
    }
    assert!(of_kind(&lines, "service_check").any(|v| s(v, "name") == "demo.can_connect"));
    assert!(of_kind(&lines, "event").any(|v| s(v, "title") == "demo run"));
    // Check logs go to stderr with their level.
    assert!(
        stderr.contains("WARN") && stderr.contains("no process named no-such-process-name"),
        "{stderr}"
    );
}

#[test]
fn dogstatsd_over_udp() {
    let data = tempfile::tempdir().unwrap();
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    server.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let addr = server.local_addr().unwrap().to_string();
    let ex = examples();
    let child = pyhost(&ex.join("conf.d"), &ex.join("checks.d"), data.path())
        .args(["--once", "--output", "none", "--dogstatsd", &addr])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_bounded(child, Duration::from_secs(20));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty(), "--output none prints nothing");

    let mut lines = Vec::new();
    let mut datagrams = 0;
    let mut buf = [0u8; 65536];
    // Everything was sent before the process exited; read until quiet.
    while let Ok(n) = server.recv(&mut buf) {
        assert!(n <= 1432, "datagram of {n} bytes");
        datagrams += 1;
        lines.extend(std::str::from_utf8(&buf[..n]).unwrap().split('\n').map(str::to_owned));
    }
    assert!(datagrams >= 2, "several datagrams expected, got {datagrams}");
    for want in [
        "demo.temperature:21.5|g|#demo:all,team:demo",
        "demo.requests:3|c|#code:200,demo:all,team:demo",
        "demo.latency.max:5|g|#demo:all,team:demo",
        "demo.latency.count:5|g|#demo:all,team:demo",
        "_sc|demo.can_connect|0|#demo:all,team:demo",
        "_sc|demo.degraded|1|#demo:all,team:demo|m:run 1",
        "_e{8,12}:demo run|run number 1|d:1700000001|k:demo-run|s:demo|t:info|#demo:all,team:demo",
    ] {
        assert!(
            lines.iter().any(|l| l == want),
            "{want:?} not received; got:\n{}",
            lines.join("\n")
        );
    }
    assert!(lines
        .iter()
        .any(|l| l.starts_with("system.load.1:") && l.ends_with("|g|#team:infra")));
    assert!(lines.iter().all(|l| !l.is_empty()));
}

const RELOAD_V1: &str = r#"
from checks import AgentCheck

class ReloadMe(AgentCheck):
    def check(self, instance):
        self.gauge('reload.before', 1)
"#;

const RELOAD_BROKEN: &str = "from checks import AgentCheck\n\nclass ReloadMe(AgentCheck:\n    pass\n";

const RELOAD_V2: &str = r#"
from checks import AgentCheck

class ReloadMe(AgentCheck):
    def check(self, instance):
        self.gauge('reload.after', 2, tags=['version:2'])
"#;

#[test]
fn hot_reload_of_a_changed_check() {
    let dir = tempfile::tempdir().unwrap();
    let (conf, checks) = (dir.path().join("conf.d"), dir.path().join("checks.d"));
    write(
        &conf.join("reloadme.d/conf.yaml"),
        "init_config:\ninstances:\n  - min_collection_interval: 1\n",
    );
    write(&checks.join("reloadme.py"), RELOAD_V1);
    let mut child = pyhost(&conf, &checks, &dir.path().join("data"))
        .args(["--output", "json", "--duration", "6"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read stdout as it comes, to rewrite the check once it has run.
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            let _ = tx.send(line.clone());
        }
    });
    let mut seen = Vec::new();
    let mut wait_for = |pred: &dyn Fn(&Value) -> bool, what: &str| {
        let limit = Instant::now() + Duration::from_secs(5);
        loop {
            let left = limit.saturating_duration_since(Instant::now());
            let line = rx
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no {what} within 5 s; saw:\n{}", seen.join("\n")));
            let v = serde_json::from_str::<Value>(&line).unwrap();
            seen.push(line);
            if pred(&v) {
                return;
            }
        }
    };
    wait_for(
        &|v| s(v, "kind") == "series" && s(v, "name") == "reload.before",
        "reload.before series",
    );
    // A broken version: the reload fails and is reported; the host keeps going.
    write(&checks.join("reloadme.py"), RELOAD_BROKEN);
    wait_for(
        &|v| s(v, "kind") == "reload" && v.get("ok") == Some(&Value::Bool(false)),
        "failed reload",
    );
    // Fixed: the next change reloads it, with the new metric name.
    write(&checks.join("reloadme.py"), RELOAD_V2);
    wait_for(
        &|v| s(v, "kind") == "reload" && v.get("ok") == Some(&Value::Bool(true)),
        "successful reload",
    );
    wait_for(
        &|v| s(v, "kind") == "series" && s(v, "name") == "reload.after",
        "reload.after series",
    );
    let out = wait_bounded(child, Duration::from_secs(15));
    reader.join().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("reload of check reloadme failed") && stderr.contains("SyntaxError"),
        "{stderr}"
    );
    assert!(stderr.contains("reloaded check reloadme"), "{stderr}");
}

const SLEEPY: &str = r#"
import time
from checks import AgentCheck

class Sleepy(AgentCheck):
    def check(self, instance):
        time.sleep(8)

    def cancel(self):
        with open(self.instance['marker'], 'w') as f:
            f.write('cancelled')
"#;

const QUICK: &str = r#"
from checks import AgentCheck

class Quick(AgentCheck):
    def check(self, instance):
        self.gauge('quick.alive', 1)
"#;

#[test]
fn a_hung_check_times_out_and_the_others_keep_running() {
    let dir = tempfile::tempdir().unwrap();
    let (conf, checks) = (dir.path().join("conf.d"), dir.path().join("checks.d"));
    let marker = dir.path().join("cancelled");
    write(
        &conf.join("sleepy.d/conf.yaml"),
        &format!(
            "init_config:\ninstances:\n  - min_collection_interval: 1\n    marker: {}\n",
            marker.display()
        ),
    );
    write(
        &conf.join("quick.d/conf.yaml"),
        "init_config:\n  min_collection_interval: 1\ninstances:\n  - {}\n",
    );
    write(&checks.join("sleepy.py"), SLEEPY);
    write(&checks.join("quick.py"), QUICK);
    let start = Instant::now();
    let child = pyhost(&conf, &checks, &dir.path().join("data"))
        .args([
            "--output",
            "json",
            "--duration",
            "4",
            "--check-timeout",
            "1",
            "--workers",
            "2",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_bounded(child, Duration::from_secs(15));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // The sleeping run (8 s) is not waited for at exit.
    assert!(
        start.elapsed() < Duration::from_secs(12),
        "exit took {:?}",
        start.elapsed()
    );
    let lines = json_lines(&out.stdout);
    let sleepy: Vec<&Value> = of_kind(&lines, "run_result")
        .filter(|v| s(v, "check") == "sleepy")
        .collect();
    assert!(
        sleepy.iter().any(|v| s(v, "status") == "timeout"),
        "no timeout reported: {lines:?}"
    );
    assert!(sleepy.iter().all(|v| s(v, "status") != "ok"));
    // While its run is still going, its ticks are skipped, not run twice.
    assert!(
        of_kind(&lines, "skipped").any(|v| s(v, "check") == "sleepy"),
        "no skipped tick reported"
    );
    let quick_ok = of_kind(&lines, "run_result")
        .filter(|v| s(v, "check") == "quick" && s(v, "status") == "ok")
        .count();
    assert!(quick_ok >= 2, "quick ran {quick_ok} times while sleepy hung");
    assert!(of_kind(&lines, "series").any(|v| s(v, "name") == "quick.alive"));
    assert_eq!(
        std::fs::read_to_string(&marker).ok().as_deref(),
        Some("cancelled"),
        "cancel() was not called"
    );
    assert!(stderr.contains("sleepy[0]") && stderr.contains("timeout"), "{stderr}");
}

#[test]
fn the_persistent_cache_survives_a_restart() {
    // Each process reads the counter its predecessor left in the data
    // directory, increments it and reports it (datadog_agent's
    // read/write_persistent_cache, stored on disk under `run_path/cache`).
    let dir = tempfile::tempdir().unwrap();
    let (conf, checks, data) = (
        dir.path().join("conf.d"),
        dir.path().join("checks.d"),
        dir.path().join("data"),
    );
    write(
        &checks.join("counter.py"),
        "from checks import AgentCheck\n\n\nclass Counter(AgentCheck):\n    def check(self, instance):\n        n = int(self.read_persistent_cache('starts') or '0') + 1\n        self.write_persistent_cache('starts', str(n))\n        self.gauge('counter.starts', n)\n",
    );
    write(
        &conf.join("counter.d").join("conf.yaml"),
        "init_config:\ninstances:\n  - {}\n",
    );
    let mut seen = Vec::new();
    for _ in 0..3 {
        let child = pyhost(&conf, &checks, &data)
            .args(["--once", "--output", "json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = wait_bounded(child, Duration::from_secs(20));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let lines = json_lines(&out.stdout);
        let v = of_kind(&lines, "series")
            .find(|v| s(v, "name") == "counter.starts")
            .and_then(|v| v.get("value").and_then(Value::as_f64))
            .unwrap_or_else(|| panic!("no counter.starts series: {}", String::from_utf8_lossy(&out.stdout)));
        seen.push(v);
    }
    assert_eq!(seen, vec![1.0, 2.0, 3.0]);
    assert!(data.join("cache").is_dir());
}

#[test]
fn help_lists_every_option_and_exits_0() {
    let out = Command::new(env!("CARGO_BIN_EXE_pyhost"))
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--conf-dir",
        "--checks-dir",
        "--venv",
        "--data-dir",
        "--hostname",
        "--workers",
        "--output",
        "--dogstatsd",
        "--duration",
        "--once",
        "--check-timeout",
        "--isolation",
        "--config",
        "--flush-interval",
        "--status-addr",
        "--no-system-checks",
        "--help",
        "--version",
        "check",
        "status",
    ] {
        assert!(help.contains(flag), "--help does not list {flag}:\n{help}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_pyhost"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        format!("pyhost {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn unknown_option_exits_2_naming_it() {
    let out = Command::new(env!("CARGO_BIN_EXE_pyhost"))
        .arg("--no-such-option")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("'--no-such-option'"), "{err}");
    assert!(out.stdout.is_empty());
}

/// Compile the single-phase fixture extension into `dir/legacy_ext.so`.
#[cfg(Py_3_12)]
fn build_legacy_ext(dir: &Path) {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/isolation/legacy_ext.c");
    let out = Command::new(&cc)
        .args(["-shared", "-fPIC", "-O1", "-Wall", "-Werror"])
        .arg(format!("-I{}", pyhost::interpreter::build_python_include()))
        .arg(&src)
        .arg("-o")
        .arg(dir.join("legacy_ext.so"))
        .output()
        .expect("run the C compiler");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[cfg(Py_3_12)]
#[test]
fn each_check_runs_in_its_own_subinterpreter_and_a_refusing_one_falls_back() {
    let dir = tempfile::tempdir().unwrap();
    let (conf, checks) = (dir.path().join("conf.d"), dir.path().join("checks.d"));
    write(&conf.join("plain.d/conf.yaml"), "instances:\n  - {}\n");
    write(&conf.join("legacy.d/conf.yaml"), "instances:\n  - {}\n");
    write(
        &checks.join("plain.py"),
        "from checks import AgentCheck\n\nclass Plain(AgentCheck):\n    def check(self, instance):\n        \
         import sys\n        self.gauge('plain.main', int(sys.modules['__main__'] is None))\n",
    );
    write(
        &checks.join("legacy.py"),
        "import legacy_ext\nfrom checks import AgentCheck\n\nclass Legacy(AgentCheck):\n    \
         def check(self, instance):\n        self.gauge('legacy.answer', legacy_ext.ANSWER)\n",
    );
    build_legacy_ext(&checks);
    let run = |isolation: &str| {
        let child = pyhost(&conf, &checks, &dir.path().join("data"))
            .args(["--once", "--output", "json", "--isolation", isolation])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = wait_bounded(child, Duration::from_secs(60));
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        (json_lines(&out.stdout), stderr)
    };

    let (lines, stderr) = run("subinterpreter");
    let loaded = |check: &str| {
        of_kind(&lines, "loaded")
            .find(|v| s(v, "check") == check)
            .unwrap_or_else(|| panic!("{check} not loaded: {lines:?}\n{stderr}"))
            .clone()
    };
    assert_eq!(s(&loaded("plain"), "interpreter"), "subinterpreter");
    let legacy = loaded("legacy");
    assert_eq!(s(&legacy, "interpreter"), "main");
    assert!(
        s(&legacy, "fallback").contains("does not support loading in subinterpreters"),
        "{legacy:?}"
    );
    assert_eq!(
        stderr.matches("cannot run in a sub-interpreter").count(),
        1,
        "reported once: {stderr}"
    );
    for check in ["plain", "legacy"] {
        assert!(
            of_kind(&lines, "run_result").any(|v| s(v, "check") == check && s(v, "status") == "ok"),
            "{check} did not run: {lines:?}\n{stderr}"
        );
    }
    assert!(of_kind(&lines, "series").any(|v| s(v, "name") == "legacy.answer"));

    // Shared: everything in the main interpreter, nothing to fall back from.
    let (lines, _) = run("shared");
    assert!(of_kind(&lines, "loaded").all(|v| s(v, "interpreter") == "main" && v.get("fallback").is_none()));
    assert_eq!(
        of_kind(&lines, "run_result").filter(|v| s(v, "status") == "ok").count(),
        2
    );
}
