//! Differential test: the same checks, built on the real
//! `datadog-checks-base`, run (a) in pyhost's host with its built-in modules
//! and (b) in plain python3 with the package's own stub aggregator
//! (tests/differential/stub_run.py). Every submission must be identical.
//!
//! Scenario: the interpreter uses a virtual environment of the build's Python
//! with `datadog-checks-base` (made on first use by `.ci/venv`, see
//! `common::venv`).

mod common;

use std::path::Path;
use std::process::Command;

use pyhost::Interpreter;
use pyhost_agent::config::{load_check_configs, HostConfig};
use pyhost_agent::host::{self, AgentHost};
use pyhost_agent::value::Value;
use pyhost_agent::{modules, pybase, runner};

const CHECKS: &[&str] = &["diff_metrics", "diff_events", "diff_config"];
const TIMES: usize = 3;

use common::{root, venv};

/// Sort object keys recursively, so key order does not matter.
fn normalise(v: Value) -> Value {
    match v {
        Value::Object(mut pairs) => {
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(pairs.into_iter().map(|(k, v)| (k, normalise(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(normalise).collect()),
        // The stub prints ints where the host prints floats for the same
        // Python float (e.g. 2.0); compare numbers as numbers.
        Value::Int(i) => Value::Float(i as f64),
        other => other,
    }
}

/// The lines as a sorted list of normalised JSON texts. Metadata is
/// compared as the stub keeps it: the last value per name in a run.
fn canonical(lines: Vec<Value>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut metadata: Vec<(String, Value)> = Vec::new();
    for line in lines {
        let line = normalise(line);
        if line.get("kind").and_then(Value::as_str) == Some("metadata") {
            let key = format!(
                "{}/{}/{}/{}",
                line.get("check").unwrap(),
                line.get("instance").unwrap(),
                line.get("run").unwrap(),
                line.get("name").unwrap()
            );
            metadata.retain(|(k, _)| *k != key);
            metadata.push((key, line));
            continue;
        }
        out.push(line.to_string());
    }
    out.extend(metadata.into_iter().map(|(_, v)| v.to_string()));
    out.sort();
    out
}

fn stub_lines(venv: &Path, conf: &Path, checks: &Path) -> Vec<Value> {
    let out = Command::new(venv.join("bin").join("python"))
        .arg(root().join("tests").join("differential").join("stub_run.py"))
        .arg(conf)
        .arg(checks)
        .arg(TIMES.to_string())
        .args(CHECKS)
        .output()
        .expect("run stub_run.py");
    assert!(
        out.status.success(),
        "stub_run.py failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("stub line {l:?}: {e}")))
        .collect()
}

#[test]
fn host_and_stub_aggregator_see_identical_submissions() {
    let venv = venv();
    let fixtures = root().join("tests").join("fixtures").join("differential");
    let conf = fixtures.join("conf.d");
    let checks = fixtures.join("checks.d");
    let data = std::env::temp_dir().join(format!("pyhost-diff-{}", std::process::id()));

    // The stub's datadog_agent reports this hostname; so does our host.
    let mut config = HostConfig::with_defaults("stubbed.hostname", &data);
    config.set("enable_metadata_collection", true);
    host::install(AgentHost::new(config).unwrap()).unwrap();
    let interp = modules::add_builtin_modules(Interpreter::builder())
        .venv(&venv)
        .add_path(&checks)
        .write_bytecode(false)
        .init()
        .unwrap();
    std::env::set_var("DDEV_SKIP_GENERIC_TAGS_CHECK", "1");

    let ours = interp.with_gil(|py| {
        pybase::install(py).unwrap();
        // The real package, in agent mode (our modules imported), is what the checks use.
        let running: bool = py
            .import("datadog_checks.base.agent")
            .unwrap()
            .getattr("AGENT_RUNNING")
            .unwrap()
            .extract()
            .unwrap();
        assert!(running, "datadog_checks.base did not see the host modules");
        run_all(py, &conf)
    });
    let theirs = stub_lines(&venv, &conf, &checks);
    compare(ours, theirs.clone());

    // The same checks with each in a sub-interpreter of its own (3.12+), as
    // `pyhost --isolation subinterpreter` runs them; a check whose imports
    // refuse sub-interpreters runs in the main interpreter instead.
    #[cfg(Py_3_12)]
    {
        let mut ours = Vec::new();
        for name in CHECKS {
            let sub = pyhost::SubInterpreter::builder(pyhost::SubInterpreterConfig::default())
                .setup(|py| pybase::install(py).map(drop))
                .build()
                .unwrap();
            let conf_dir = conf.clone();
            let lines = sub.run(move |py| Ok(run_one(py, &conf_dir, name))).unwrap();
            let refused = lines.iter().any(|l| {
                l.get("kind").and_then(Value::as_str) == Some("load_error")
                    && l.to_string().contains("does not support loading in subinterpreters")
            });
            if refused {
                eprintln!("{name}: refused in a sub-interpreter, run in the main one");
                ours.extend(interp.with_gil(|py| run_one(py, &conf, name)));
            } else {
                ours.extend(lines);
            }
            assert!(sub.close(std::time::Duration::from_secs(10)));
        }
        compare(ours, theirs);
    }
    let _ = std::fs::remove_dir_all(&data);
}

/// Every check of the fixture, `TIMES` runs each, as run_check's lines.
fn run_all(py: pyhost::Python<'_>, conf: &Path) -> Vec<Value> {
    CHECKS.iter().flat_map(|name| run_one(py, conf, name)).collect()
}

fn run_one(py: pyhost::Python<'_>, conf: &Path, name: &str) -> Vec<Value> {
    let host = host::host().expect("the host is installed");
    let configs = load_check_configs(conf, name).unwrap();
    let mut lines = Vec::new();
    runner::run_configured(py, host, name, &configs, TIMES, |line| {
        // The line as run_check writes it, read back.
        lines.push(serde_json::from_str(&serde_json::to_string(&line).unwrap()).unwrap());
        Ok::<(), ()>(())
    })
    .unwrap();
    lines
}

fn compare(ours: Vec<Value>, theirs: Vec<Value>) {
    let (ours, theirs) = (canonical(ours), canonical(theirs));

    // Every kind of submission is covered.
    for kind in [
        "metric",
        "service_check",
        "event",
        "histogram_bucket",
        "metadata",
        "warning",
        "run_result",
        "event_platform_event",
    ] {
        assert!(
            ours.iter().any(|l| l.contains(&format!("\"kind\":\"{kind}\""))),
            "no {kind} line"
        );
    }
    for ty in ["gauge", "count", "monotonic_count", "rate", "histogram", "historate"] {
        assert!(
            ours.iter().any(|l| l.contains(&format!("\"type\":\"{ty}\""))),
            "no {ty} metric"
        );
    }
    // A failing run is part of the comparison too.
    assert!(ours.iter().any(|l| l.contains("second run fails for cache.example")));

    let only_ours: Vec<_> = ours.iter().filter(|l| !theirs.contains(l)).collect();
    let only_theirs: Vec<_> = theirs.iter().filter(|l| !ours.contains(l)).collect();
    assert!(
        only_ours.is_empty() && only_theirs.is_empty() && ours.len() == theirs.len(),
        "submissions differ\nonly in pyhost:\n{}\nonly in the stub:\n{}",
        only_ours.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n"),
        only_theirs.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n"),
    );
}
