//! Process isolation at the library level: a `ProcessPool` of real worker
//! processes (this package's `pyhost` program in its worker role) runs the
//! fixtures in `tests/fixtures/process`. Deaths are reported with their
//! cause and the worker is replaced; a deterministic check's submissions
//! over 20 runs are the same as when it runs in this process.
//!
//! Scenario: this process installs a host and (for the comparison) starts
//! an interpreter of its own; the workers each start theirs.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use pyhost_agent::aggregator::Submission;
use pyhost_agent::check::{check_id, instantiate, load_check_class, run_check};
use pyhost_agent::config::HostConfig;
use pyhost_agent::host::{self, AgentHost};
use pyhost_agent::process::wire::WireConfig;
use pyhost_agent::process::{ProcessOptions, ProcessPool, RemoteError};
use pyhost_agent::value::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/process")
}

fn agent_host() -> Arc<AgentHost> {
    static HOST: OnceLock<Arc<AgentHost>> = OnceLock::new();
    HOST.get_or_init(|| {
        let data = std::env::temp_dir().join(format!("pyhost-proc-test-{}", std::process::id()));
        host::install(AgentHost::new(HostConfig::with_defaults("proc-test", &data)).unwrap()).unwrap()
    })
    .clone()
}

fn pool(workers: usize) -> ProcessPool {
    let h = agent_host();
    let opts = ProcessOptions {
        workers,
        program: PathBuf::from(env!("CARGO_BIN_EXE_pyhost")),
        args: vec![
            "__worker".into(),
            "--checks-dir".into(),
            fixtures().join("checks.d").into(),
        ],
        host_config: h.config.read().as_value().clone(),
        cancel_grace: Duration::from_millis(500),
    };
    ProcessPool::new(opts, h).unwrap()
}

fn config(instance: Value) -> Vec<WireConfig> {
    vec![WireConfig {
        init_config: Value::Null,
        instances: vec![instance],
    }]
}

fn instance(pairs: &[(&str, Value)]) -> Value {
    let mut v = Value::object();
    for (k, x) in pairs {
        v.insert(*k, x.clone());
    }
    v
}

const T: Duration = Duration::from_secs(20);

/// Submissions without their timestamps (which differ by construction), NaN
/// made comparable.
fn comparable(subs: Vec<Submission>) -> Vec<String> {
    subs.into_iter()
        .map(|s| match s {
            Submission::Metric(mut m) => {
                m.timestamp = 0.0;
                if m.value.is_nan() {
                    m.value = -12345.0;
                }
                format!("{m:?}")
            }
            other => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn a_deterministic_check_submits_the_same_in_a_worker_process_as_in_process() {
    let h = agent_host();
    let inst = instance(&[("shard", Value::Int(4))]);
    let id = check_id("steady", &inst, &Value::Null);

    let workers = pool(1);
    let loaded = workers.load("steady", None, config(inst.clone()), false, T).unwrap();
    assert_eq!(loaded.module, "steady");
    assert_eq!(loaded.version.as_deref(), Some("2.0.1"), "__version__ crosses the wire");
    assert_eq!(loaded.instances[0].as_ref().unwrap(), &id);
    for _ in 0..20 {
        let out = workers.run("steady", 0, T, None).wait().unwrap();
        assert!(out.result.is_empty(), "{}", out.result);
    }
    drop(workers);
    let remote = h.aggregator.take_submissions(&id);

    let interp = pyhost_agent::modules::add_builtin_modules(pyhost::Interpreter::builder())
        .add_path(fixtures().join("checks.d"))
        .write_bytecode(false)
        .init()
        .unwrap();
    interp.with_gil(|py| {
        pyhost_agent::pybase::install(py).unwrap();
        let class = load_check_class(py, "steady").unwrap();
        let check = instantiate(py, &class, &Value::Null, &inst, &id).unwrap();
        for _ in 0..20 {
            assert!(run_check(&check).is_ok());
        }
    });
    let local = h.aggregator.take_submissions(&id);
    // Nine calls per run, and set_metadata("version") records five parts.
    assert_eq!(remote.len(), 20 * 13);
    assert_eq!(comparable(remote), comparable(local));
}

#[test]
fn a_segfault_and_an_exit_are_reported_and_the_worker_replaced() {
    for (how, cause) in [
        ("segfault", "was killed by signal 11 (SIGSEGV)"),
        ("exit", "exited with status 3"),
    ] {
        let workers = pool(1);
        let check = "crasher";
        workers
            .load(check, None, config(instance(&[("how", Value::from(how))])), false, T)
            .unwrap();
        assert!(workers.run(check, 0, T, None).wait().is_ok(), "run 1 is fine");
        match workers.run(check, 0, T, None).wait() {
            Err(RemoteError::Died(msg)) => {
                assert!(msg.contains(cause), "{msg}");
                assert!(msg.contains("running check 'crasher' instance 0"), "{msg}");
                assert!(msg.contains("crasher: about to die"), "the stderr tail: {msg}");
            }
            other => panic!("{how}: {other:?}"),
        }
        // A new worker loads the check again; its first run is fine.
        let again = workers.run(check, 0, T, None).wait();
        assert!(again.is_ok(), "{how}: {again:?}");
    }
}

#[test]
fn a_worker_killed_mid_run_is_replaced_while_another_slot_keeps_running() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let workers = Arc::new(pool(2));
    let sleeper = instance(&[
        ("pid_file", Value::from(pid_file.to_str().unwrap())),
        ("seconds", Value::Float(30.0)),
    ]);
    workers.load("sleeper", None, config(sleeper), false, T).unwrap();
    workers
        .load("steady", None, config(instance(&[("shard", Value::Int(1))])), false, T)
        .unwrap();

    let run = workers.run("sleeper", 0, T, None);
    let t0 = Instant::now();
    let pid = loop {
        if let Some(p) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
        {
            break p;
        }
        assert!(t0.elapsed() < T, "the sleeper never started");
        std::thread::sleep(Duration::from_millis(5));
    };
    // The other slot runs while the sleeper sleeps, and after the kill.
    for _ in 0..5 {
        assert!(workers.run("steady", 0, T, None).wait().unwrap().result.is_empty());
    }
    // SAFETY: kill(2) on the worker's pid (our child, alive: it is asleep).
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    match run.wait() {
        Err(RemoteError::Died(msg)) => {
            assert!(msg.contains("was killed by signal 9 (SIGKILL)"), "{msg}");
            assert!(msg.contains("running check 'sleeper' instance 0"), "{msg}");
        }
        other => panic!("{other:?}"),
    }
    for _ in 0..5 {
        assert!(workers.run("steady", 0, T, None).wait().unwrap().result.is_empty());
    }
}

#[test]
fn a_run_that_ignores_its_cancel_ends_its_worker() {
    let dir = tempfile::tempdir().unwrap();
    let workers = pool(1);
    let sleeper = instance(&[
        ("pid_file", Value::from(dir.path().join("pid").to_str().unwrap())),
        ("seconds", Value::Float(60.0)),
    ]);
    workers.load("sleeper", None, config(sleeper), false, T).unwrap();
    let t0 = Instant::now();
    match workers.run("sleeper", 0, Duration::from_millis(300), None).wait() {
        Err(RemoteError::TimedOut(msg)) => {
            assert!(msg.contains("did not stop"), "{msg}");
            assert!(msg.contains("was killed by signal 9"), "{msg}");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "ended by the kill, not by the sleep"
    );
}
