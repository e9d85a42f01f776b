//! Scenario: pyhost's own base (no Python package installed), the fixture
//! bad checks run together with good ones. Each failure is a clear error
//! naming the check, with a traceback; the others keep running.

use std::path::PathBuf;

use pyhost::Interpreter;
use pyhost_agent::config::{load_check_configs, HostConfig};
use pyhost_agent::host::{self, AgentHost};
use pyhost_agent::value::Value;
use pyhost_agent::{modules, pybase, runner};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Lines(Vec<Value>);

impl Lines {
    fn of(&self, check: &str) -> Vec<&Value> {
        self.0
            .iter()
            .filter(|l| l.get("check").and_then(Value::as_str) == Some(check))
            .collect()
    }
    fn kind<'a>(&'a self, check: &str, kind: &str) -> Vec<&'a Value> {
        self.of(check)
            .into_iter()
            .filter(|l| l.get("kind").and_then(Value::as_str) == Some(kind))
            .collect()
    }
    fn instance<'a>(&'a self, check: &str, instance: i64, kind: &str) -> Vec<&'a Value> {
        self.kind(check, kind)
            .into_iter()
            .filter(|l| l.get("instance").and_then(Value::as_i64) == Some(instance))
            .collect()
    }
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{key} in {}", v))
}

/// The error list of a failed run_result: (message, traceback) of its first entry.
fn run_error(v: &Value) -> (String, String) {
    let list = v
        .get("result")
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("not an error: {}", v));
    (s(&list[0], "message").to_string(), s(&list[0], "traceback").to_string())
}

#[test]
fn bad_checks_are_reported_and_good_ones_keep_running() {
    let bad = root().join("tests").join("fixtures").join("bad_checks");
    let good = root().join("examples").join("agent");
    let data = std::env::temp_dir().join(format!("pyhost-bad-{}", std::process::id()));
    let host = host::install(AgentHost::new(HostConfig::with_defaults("testhost", &data)).unwrap()).unwrap();
    let interp = modules::add_builtin_modules(Interpreter::builder())
        .add_path(bad.join("checks.d"))
        .add_path(good.join("checks.d"))
        .write_bytecode(false)
        .init()
        .unwrap();

    let order = [
        ("demo_all_types", &good),
        ("syntax_error", &bad),
        ("import_error", &bad),
        ("no_check_class", &bad),
        ("init_exception", &bad),
        ("check_exception", &bad),
        ("sys_exit", &bad),
        ("wrong_types", &bad),
        ("many_tags", &bad),
        ("system_load", &good),
    ];
    let mut lines = Vec::new();
    interp.with_gil(|py| {
        pybase::install(py).unwrap();
        // No datadog_checks here: checks fall back to pyhost's base.
        assert!(py.import("datadog_checks").is_err());
        for (name, dir) in order {
            let configs = load_check_configs(&dir.join("conf.d"), name).unwrap();
            runner::run_configured(py, &host, name, &configs, 2, |l| {
                // The line as run_check writes it, read back.
                lines.push(serde_json::from_str(&serde_json::to_string(&l).unwrap()).unwrap());
                Ok::<(), ()>(())
            })
            .unwrap();
        }
    });
    let _ = std::fs::remove_dir_all(&data);
    let lines = Lines(lines);

    // Import-time failures: load_error naming the module, with a traceback.
    let e = &lines.kind("syntax_error", "load_error")[0];
    assert!(
        s(e, "message").starts_with("unable to import module 'syntax_error': SyntaxError"),
        "{}",
        e.to_string()
    );
    let tb = s(e, "traceback");
    assert!(tb.contains("syntax_error.py\", line 11"), "{tb}");

    let e = &lines.kind("import_error", "load_error")[0];
    assert!(
        s(e, "message").contains("unable to import module 'import_error': ModuleNotFoundError"),
        "{}",
        e.to_string()
    );
    assert!(s(e, "traceback").contains("import_error.py"));

    let e = &lines.kind("no_check_class", "load_error")[0];
    assert_eq!(
        s(e, "message"),
        "unable to find a subclass of the base check in module 'no_check_class': cannot find a subclass"
    );

    let e = &lines.kind("init_exception", "load_error")[0];
    assert!(
        s(e, "message").starts_with("could not instantiate check 'init_exception': ValueError"),
        "{}",
        e.to_string()
    );
    assert!(s(e, "traceback").contains("init_exception.py"), "{}", e.to_string());
    assert!(lines.kind("init_exception", "run_result").is_empty());

    // Run-time failures: the run_result carries the error and traceback.
    let results = lines.kind("check_exception", "run_result");
    assert_eq!(results.len(), 2);
    let (msg, tb) = run_error(results[0]);
    assert_eq!(msg, "check_exception: cannot connect to http://127.0.0.1:1");
    assert!(
        tb.contains("check_exception.py")
            && tb
                .trim_end()
                .ends_with("ConnectionError: check_exception: cannot connect to http://127.0.0.1:1"),
        "{tb}"
    );
    assert!(
        !lines.kind("check_exception", "metric").is_empty(),
        "the metric before the failure is kept"
    );

    let (msg, tb) = run_error(lines.kind("sys_exit", "run_result")[0]);
    assert_eq!(msg, "SystemExit: 3");
    assert!(tb.contains("sys_exit.py"), "{tb}");

    // Wrong-typed submissions, one mode per instance.
    let warn = lines.instance("wrong_types", 0, "warning");
    assert!(
        s(warn[0], "message").contains("has non float value: 'not-a-number'"),
        "{}",
        warn[0].to_string()
    );
    for (inst, expected) in [
        (
            1,
            "TypeError: float() argument must be a string or a real number, not 'list'",
        ),
        (2, "TypeError: 'int' object is not iterable"),
        // The host module's own argument check (rtloader's PyArg format).
        (4, "TypeError: argument 4 must be str, not None"),
        (5, "TypeError: 'str' object cannot be interpreted as an integer"),
    ] {
        let r = lines.instance("wrong_types", inst, "run_result");
        let (_, tb) = run_error(r[0]);
        assert!(tb.trim_end().ends_with(expected), "instance {inst}: {tb}");
        assert!(tb.contains("wrong_types.py"), "instance {inst}: {tb}");
    }
    // Non-str tag items are dropped by the host, as rtloader does.
    let m = lines.instance("wrong_types", 3, "metric");
    let tags: Vec<&str> = m[0]
        .get("tags")
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(tags, ["ok", "bytes:yes"]);

    // 10 000 tags go through whole.
    let m = lines.kind("many_tags", "metric");
    assert!(m
        .iter()
        .any(|l| l.get("tags").unwrap().as_array().unwrap().len() == 10_000));
    assert!(lines
        .kind("many_tags", "run_result")
        .iter()
        .all(|r| s(r, "result").is_empty()));

    // The good checks ran before and after the bad ones.
    for good in ["demo_all_types", "system_load"] {
        let results = lines.kind(good, "run_result");
        assert!(!results.is_empty());
        for r in results {
            assert_eq!(s(r, "result"), "", "{good}: {}", r);
        }
        assert!(!lines.kind(good, "metric").is_empty());
    }

    // Configuration errors name the file (and the line, for YAML).
    let e = load_check_configs(&bad.join("conf.d"), "bad_config")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("bad_config.d/conf.yaml:6:") && e.contains("invalid YAML"),
        "{e}"
    );
    let e = load_check_configs(&bad.join("conf.d"), "no_instances")
        .unwrap_err()
        .to_string();
    assert!(e.contains("no_instances") && e.contains("instances"), "{e}");
}
