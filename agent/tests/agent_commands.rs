//! `pyhost check NAME` (the Agent's `check` command), run durations measured
//! on the worker, and `--config datadog.yaml`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use common::program::{f, json_lines, of_kind, pyhost_bare, pyhost_in, s, wait_bounded, write};
use pyhost_agent::value::Value;

/// A check whose rate and monotonic count move by known steps per run:
/// run n submits `counter.rate` = 10 n and `counter.mono` = n^2. It also
/// writes to descriptor 1 below Python's streams, which must not reach the
/// report on stdout.
const COUNTER: &str = r#"
import os
from checks import AgentCheck

class Counter(AgentCheck):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.n = 0

    def check(self, instance):
        self.n += 1
        os.write(1, b'counter wrote to descriptor 1\n')
        self.rate('counter.rate', 10 * self.n, tags=['k:v'])
        self.monotonic_count('counter.mono', self.n * self.n, tags=['k:v'])
        self.gauge('counter.run', self.n)
        self.service_check('counter.ok', AgentCheck.OK)
        if self.n == 2:
            self.warning('second run')
"#;

const FAILING: &str = r#"
from checks import AgentCheck

class Failing(AgentCheck):
    def check(self, instance):
        self.gauge('failing.before', 1)
        return 1 / 0
"#;

const SLEEPY: &str = r#"
import time
from checks import AgentCheck

class Sleepy(AgentCheck):
    def check(self, instance):
        time.sleep(0.030)
"#;

struct Dirs {
    _tmp: tempfile::TempDir,
    conf: PathBuf,
    checks: PathBuf,
    data: PathBuf,
}

fn dirs() -> Dirs {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_owned();
    let d = Dirs {
        conf: root.join("conf.d"),
        checks: root.join("checks.d"),
        data: root.join("data"),
        _tmp: tmp,
    };
    write(
        &d.conf.join("counter.d/conf.yaml"),
        "init_config:\ninstances:\n  - {}\n",
    );
    write(&d.checks.join("counter.py"), COUNTER);
    write(&d.conf.join("failing.d/conf.yaml"), "instances:\n  - {}\n");
    write(&d.checks.join("failing.py"), FAILING);
    write(&d.conf.join("sleepy.d/conf.yaml"), "instances:\n  - {}\n");
    write(&d.checks.join("sleepy.py"), SLEEPY);
    write(&d.conf.join("broken.d/conf.yaml"), "instances:\n  - {}\n");
    write(&d.checks.join("broken.py"), "import no_such_module_anywhere\n");
    d
}

fn check(d: &Dirs, args: &[&str]) -> Output {
    // The subcommand first: `pyhost check NAME [OPTIONS]`.
    let child = pyhost_bare()
        .arg("check")
        .args(args)
        .arg("--conf-dir")
        .arg(&d.conf)
        .arg("--checks-dir")
        .arg(&d.checks)
        .arg("--data-dir")
        .arg(&d.data)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_bounded(child, Duration::from_secs(60))
}

fn check_json(d: &Dirs, args: &[&str]) -> (Value, Output) {
    let out = check(d, args);
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "not one JSON document ({e}):\n{text}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (v, out)
}

fn series(instance: &Value) -> Vec<&Value> {
    instance
        .get("aggregator")
        .and_then(|a| a.get("series"))
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

fn serie<'a>(instance: &'a Value, name: &str) -> Option<&'a Value> {
    series(instance).into_iter().find(|v| s(v, "name") == name)
}

#[test]
fn check_times_3_computes_rates_and_monotonic_counts_from_consecutive_runs() {
    let d = dirs();
    let (v, out) = check_json(&d, &["counter", "--check-times", "3", "--delay", "200", "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stderr.matches("counter wrote to descriptor 1").count(), 3, "{stderr}");
    assert_eq!(v.get("ok"), Some(&Value::Bool(true)));
    let inst = &v.get("instances").unwrap().as_array().unwrap()[0];
    let runs = inst.get("runs").and_then(Value::as_array).unwrap();
    assert_eq!(runs.len(), 3);
    assert!(runs.iter().all(|r| s(r, "status") == "ok"));
    assert_eq!(
        runs[1].get("warnings").map(Value::to_string).as_deref(),
        Some(r#"["second run"]"#)
    );
    // The last run: the gauge is run 3's, the monotonic count 3^2 - 2^2
    // (runs 2 and 3, not 9 - 1), the rate (30 - 20) over the ~0.2 s between them.
    assert_eq!(f(serie(inst, "counter.run").unwrap(), "value"), 3.0);
    let mono = serie(inst, "counter.mono").unwrap();
    assert_eq!((s(mono, "type"), f(mono, "value")), ("count", 5.0));
    let rate = serie(inst, "counter.rate").unwrap();
    let per_sec = f(rate, "value");
    assert_eq!(
        s(rate, "type"),
        "gauge",
        "a rate is sent as a gauge of its per-second value"
    );
    assert!((10.0..=51.0).contains(&per_sec), "10 over 0.2 s and a bit: {per_sec}");
    let sc = inst.get("aggregator").unwrap().get("service_checks").unwrap();
    assert_eq!(sc.as_array().unwrap().len(), 1, "the last run's service check: {sc}");

    // One run: the rate and the monotonic count need a second one.
    let (v, _) = check_json(&d, &["counter", "--json"]);
    let inst = &v.get("instances").unwrap().as_array().unwrap()[0];
    assert!(serie(inst, "counter.run").is_some());
    assert!(serie(inst, "counter.rate").is_none() && serie(inst, "counter.mono").is_none());

    // The table says the same.
    let out = check(&d, &["counter", "-t", "2", "--delay", "10"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    for want in [
        "=== counter instance 0 (counter:",
        "counter.mono",
        "counter.ok",
        "run 2: ok in ",
        "warning: second run",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{text}");
    }
    assert!(
        text.lines()
            .any(|l| l.contains("counter.mono") && l.contains(" count ") && l.trim_end().ends_with("3  k:v")),
        "{text}"
    );
}

#[test]
fn a_failing_run_or_a_check_that_cannot_load_exits_non_zero() {
    let d = dirs();
    let out = check(&d, &["failing"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("run 1: error") && text.contains("ZeroDivisionError"),
        "{text}"
    );
    assert!(
        text.contains("failing.before"),
        "what was submitted before the error: {text}"
    );

    let (v, out) = check_json(&d, &["broken", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let err = v.get("load_error").unwrap();
    assert!(s(err, "message").contains("no_such_module_anywhere"), "{v}");

    let out = check(&d, &["nothing_configured"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("no configuration for check \"nothing_configured\""),
        "{text}"
    );
}

#[test]
fn a_system_check_runs_from_its_default_configuration() {
    let d = dirs();
    let (v, out) = check_json(&d, &["memory", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(s(&v, "module"), "checks.system.memory");
    let inst = &v.get("instances").unwrap().as_array().unwrap()[0];
    let total = f(serie(inst, "system.mem.total").unwrap(), "value");
    assert_eq!(total, meminfo_kb("MemTotal") / 1024.0);
}

/// An integration laid out as its wheel installs it: `datadog_checks/hello/`
/// with `__about__.py` and the class in `check.py`, on the real
/// `datadog_checks.base` (no `__init__.py` at `datadog_checks/`: the base
/// package's `extend_path` finds it).
const HELLO_FILES: &[(&str, &str)] = &[
    ("__about__.py", "__version__ = '1.2.3'\n"),
    ("__init__.py", "from .__about__ import __version__\nfrom .check import HelloCheck\n\n__all__ = ['__version__', 'HelloCheck']\n"),
    (
        "check.py",
        "from datadog_checks.base import AgentCheck\n\n\nclass HelloCheck(AgentCheck):\n    \
         def check(self, _):\n        self.gauge('hello.greetings', self.instance.get('n', 1), tags=['lang:py'])\n",
    ),
];

/// The path `python` gives for `purelib` (site-packages).
fn site_packages(python: &Path) -> PathBuf {
    let out = std::process::Command::new(python)
        .args(["-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
        .output()
        .unwrap();
    assert!(out.status.success());
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

#[test]
fn check_finds_an_integration_installed_in_the_venv() {
    // A venv of its own (the shared one stays untouched), which sees the
    // shared venv's datadog-checks-base through a .pth file.
    let shared = common::venv();
    let d = dirs();
    let venv = d.data.parent().unwrap().join("venv");
    let status = std::process::Command::new(shared.join("bin/python"))
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv)
        .status()
        .unwrap();
    assert!(status.success());
    let site = site_packages(&venv.join("bin/python"));
    write(
        &site.join("shared.pth"),
        &format!("{}\n", site_packages(&shared.join("bin/python")).display()),
    );
    for (name, text) in HELLO_FILES {
        write(&site.join("datadog_checks/hello").join(name), text);
    }
    write(&d.conf.join("hello.d/conf.yaml"), "instances:\n  - n: 7\n");

    let (v, out) = check_json(&d, &["hello", "--json", "--venv", venv.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(s(&v, "module"), "datadog_checks.hello");
    assert_eq!(s(&v, "version"), "1.2.3", "the package's __about__.__version__");
    let inst = &v.get("instances").unwrap().as_array().unwrap()[0];
    let greetings = serie(inst, "hello.greetings").unwrap_or_else(|| panic!("{v}"));
    assert_eq!(f(greetings, "value"), 7.0);

    // Without the venv there is no such check, and the command says so.
    let out = check(&d, &["hello"]);
    assert_eq!(out.status.code(), Some(1));
}

/// A `/proc/meminfo` value, in kB.
pub fn meminfo_kb(key: &str) -> f64 {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap();
    let line = text.lines().find(|l| l.starts_with(&format!("{key}:"))).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn durations_are_measured_on_the_worker() {
    // A check sleeping 30 ms is reported as taking 30 to 40 ms, in the
    // agent's run_result and in the check command.
    let d = dirs();
    let child = pyhost_in(&d.conf, &d.checks, &d.data)
        .args(["--once", "--output", "json", "--no-system-checks"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_bounded(child, Duration::from_secs(60));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines = json_lines(&out.stdout);
    let run = of_kind(&lines, "run_result")
        .find(|v| s(v, "check") == "sleepy")
        .unwrap();
    let ms = f(run, "duration_ms");
    assert!((30.0..40.0).contains(&ms), "sleepy took {ms} ms");
    assert_ne!(ms.fract(), 0.0, "to the microsecond, not whole milliseconds: {ms}");

    let (v, _) = check_json(&d, &["sleepy", "--json", "-t", "2", "--delay", "1"]);
    let runs = v.get("instances").unwrap().as_array().unwrap()[0]
        .get("runs")
        .unwrap()
        .clone();
    for r in runs.as_array().unwrap() {
        let ms = f(r, "duration_ms");
        assert!((30.0..40.0).contains(&ms), "sleepy took {ms} ms");
    }
}

/// A check that reports what `datadog_agent.get_config` says.
const CONFIG_PROBE: &str = r#"
import datadog_agent
from checks import AgentCheck

class Probe(AgentCheck):
    def check(self, instance):
        for key in ('check_runners', 'min_collection_interval', 'enable_metadata_collection'):
            self.gauge('probe.' + key, float(datadog_agent.get_config(key)))
        proxy = datadog_agent.get_config('proxy') or {}
        self.gauge('probe.proxy', 1, tags=['https:' + proxy.get('https', ''), 'no_proxy:' + ','.join(proxy.get('no_proxy', []))])
        self.gauge('probe.custom', datadog_agent.get_config('my_company.answer'))
        self.gauge('probe.tags', 1, tags=datadog_agent.get_config('tags'))
        self.gauge('probe.hostname', 1, tags=['host:' + datadog_agent.get_hostname()])
"#;

fn settings_dirs(yaml: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(&root.join("conf.d/probe.d/conf.yaml"), "instances:\n  - {}\n");
    write(&root.join("checks.d/probe.py"), CONFIG_PROBE);
    let file = root.join("datadog.yaml");
    write(&file, &yaml.replace("ROOT", &root.display().to_string()));
    (tmp, file)
}

fn probe(file: &Path, extra: &[&str]) -> Vec<Value> {
    let child = pyhost_bare()
        .arg("--config")
        .arg(file)
        .args(["--once", "--output", "json", "--no-system-checks"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_bounded(child, Duration::from_secs(60));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    json_lines(&out.stdout)
}

#[test]
fn datadog_yaml_settings_reach_the_checks_and_flags_override_them() {
    let (_tmp, file) = settings_dirs(
        "hostname: from-settings\ntags:\n  - env:prod\n  - team:core\ncheck_runners: 3\n\
         min_collection_interval: 30\nenable_metadata_collection: false\n\
         proxy:\n  https: http://proxy.example:3128\n  no_proxy: [localhost, 10.0.0.1]\n\
         confd_path: ROOT/conf.d\nadditional_checksd: ROOT/checks.d\nrun_path: ROOT/run\n\
         my_company:\n  answer: 42\n",
    );
    let value = |lines: &[Value], name: &str| {
        let v = of_kind(lines, "series").find(|v| s(v, "name") == name);
        v.unwrap_or_else(|| panic!("no {name} in {lines:?}")).clone()
    };
    let tags = |v: &Value| v.get("tags").map(Value::to_string).unwrap_or_default();
    let lines = probe(&file, &[]);
    assert_eq!(f(&value(&lines, "probe.check_runners"), "value"), 3.0);
    assert_eq!(f(&value(&lines, "probe.min_collection_interval"), "value"), 30.0);
    assert_eq!(f(&value(&lines, "probe.enable_metadata_collection"), "value"), 0.0);
    assert_eq!(
        f(&value(&lines, "probe.custom"), "value"),
        42.0,
        "unknown keys are kept and readable"
    );
    assert_eq!(
        tags(&value(&lines, "probe.proxy")),
        r#"["https:http://proxy.example:3128","no_proxy:localhost,10.0.0.1"]"#
    );
    assert_eq!(tags(&value(&lines, "probe.tags")), r#"["env:prod","team:core"]"#);
    assert_eq!(tags(&value(&lines, "probe.hostname")), r#"["host:from-settings"]"#);
    assert!(
        file.parent().unwrap().join("run").is_dir(),
        "run_path is the data directory"
    );

    // The command line wins.
    let lines = probe(&file, &["--workers", "2", "--hostname", "from-flag"]);
    assert_eq!(f(&value(&lines, "probe.check_runners"), "value"), 2.0);
    assert_eq!(tags(&value(&lines, "probe.hostname")), r#"["host:from-flag"]"#);
}

#[test]
fn a_bad_datadog_yaml_is_a_start_up_error_naming_the_file_and_line() {
    for (yaml, line, what) in [
        (
            "hostname: h\ntags: [env:prod,\n  team:core\nlog_level: info\n",
            None,
            "invalid YAML",
        ),
        (
            "hostname: h\n# workers\ncheck_runners: lots\n",
            Some(3),
            "`check_runners` must be a whole number",
        ),
        ("hostname: [a, b]\n", Some(1), "`hostname` must be a string"),
    ] {
        let (_tmp, file) = settings_dirs(yaml);
        let out = pyhost_bare().arg("--config").arg(&file).arg("--once").output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        let prefix = format!("pyhost: {}:", file.display());
        let first = err.lines().next().unwrap_or("");
        assert!(first.starts_with(&prefix) && first.contains(what), "{yaml:?}: {err}");
        let at: usize = first[prefix.len()..].split(':').next().unwrap().parse().unwrap();
        match line {
            Some(l) => assert_eq!(at, l, "{err}"),
            None => assert!(at >= 2, "the line of the error: {err}"),
        }
        assert!(out.stdout.is_empty(), "nothing ran");
    }
    let out = pyhost_bare()
        .args(["--config", "/nonexistent/datadog.yaml", "--once"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("pyhost: /nonexistent/datadog.yaml: "));
}
