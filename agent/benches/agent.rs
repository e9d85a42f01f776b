//! Check-runtime throughput: submissions per second from Python into the
//! aggregator on one core, and full runs per second of a trivial check.
//!
//! Python loops (`for _ in range(n): f(...)`) call:
//!
//! * `submit_metric`: `aggregator.submit_metric(None, "bench:1", 0, "name",
//!   1.0, ["a:b", "c:d"], "host", False)`, the module function rtloader's
//!   checks call (`agent/csrc/dd_aggregator.c` + `agent/src/modules/aggregator.rs`),
//!   recording into the host's `Aggregator`;
//! * `gauge`: `check.gauge("name", 1.0, tags=["a:b", "c:d"])` through the
//!   shipped Python base `checks.AgentCheck` (namespace formatting, tag
//!   normalisation, the float check), which ends in the same call;
//! * `run`: `check.run()` of a check whose `check()` does nothing (the
//!   instance deep copy, the try/except, the limiter reset).
//!
//! Controls: the empty loop, and the `submit_metric` call into a Python
//! no-op with the same arguments. Rounds are interleaved (each round runs
//! every variant, in a rotating order) and the median is reported; the
//! aggregator is drained between samples, outside the timing.
//!
//! `cargo bench --bench agent`; `PYHOST_BENCH_ROUNDS` (default 15) and
//! `PYHOST_BENCH_ITERS` (default 200000) tune the run;
//! `PYHOST_BENCH_ONLY=submit_metric` runs one key, once, for a profiler.

use pyhost_benches::loops as common;

use common::Variant;
use pyhost::{Bound, Interpreter, Python};
use pyhost_agent::config::HostConfig;
use pyhost_agent::host::{self, AgentHost};
use pyhost_agent::{modules, pybase};

const SETUP: &str = r#"
import aggregator
from checks import AgentCheck, AGENT_RUNNING
assert AGENT_RUNNING, "the host modules must be importable"

class Trivial(AgentCheck):
    def check(self, instance):
        pass

check = Trivial('trivial', {}, [{}])
check.check_id = 'bench:check'
assert check.run() == ''

def submit_py(check, check_id, mtype, name, value, tags, hostname, flush_first_value):
    pass

def loop_empty(f, n):
    for _ in range(n):
        pass

def loop_submit(f, n):
    for _ in range(n):
        f(None, "bench:1", 0, "name", 1.0, ["a:b", "c:d"], "host", False)

def loop_gauge(f, n):
    for _ in range(n):
        f("name", 1.0, tags=["a:b", "c:d"])

def loop_run(f, n):
    for _ in range(n):
        f()
"#;

/// The check ids the variants submit to, drained after each sample.
const CHECK_IDS: [&str; 2] = ["bench:1", "bench:check"];

fn drain(host: &AgentHost) {
    for id in CHECK_IDS {
        host.aggregator.drain_submissions(id, |_| ());
        host.aggregator.flush(id, 0.0);
    }
}

fn run(py: Python<'_>, host: &AgentHost, rounds: usize, iters: usize) -> pyhost::Result<()> {
    let g = py.new_globals()?;
    py.run(SETUP, Some(&g), None)?;
    let get = |name: &str| -> pyhost::Result<Bound<'_>> { Ok(g.get_item(name)?.expect(name)) };
    let aggregator = py.import("aggregator")?;
    let check = get("check")?;
    let mut variants = vec![
        Variant::new("empty", get("loop_empty")?, py.None()),
        Variant::new("submit_py", get("loop_submit")?, get("submit_py")?),
        Variant::new(
            "submit_metric",
            get("loop_submit")?,
            aggregator.getattr("submit_metric")?,
        ),
        Variant::new("gauge", get("loop_gauge")?, check.getattr("gauge")?),
        Variant::new("run", get("loop_run")?, check.getattr("run")?),
    ];
    if common::run_only(&mut variants, rounds, iters, || drain(host))? {
        return Ok(());
    }
    // Warm-up (specialisation, allocator, arenas).
    common::warm_up(&variants, iters, || drain(host))?;
    // The submissions really arrive.
    check_recording(host, &variants)?;
    common::interleave(&mut variants, rounds, iters, || drain(host))?;

    let med = |key: &str| common::stats(&variants, key);
    let (empty, ..) = med("empty");
    let cell = |key: &str| common::cell(&variants, key);
    let per_s = |key: &str| {
        let ns = med(key).0;
        format!("{:.2} M/s", 1e3 / ns)
    };
    println!("\npyhost agent benchmarks: {rounds} interleaved rounds x {iters} calls, median ns per call [min-max];");
    println!("each loop iteration includes the Python loop itself ({empty:.1} ns) and building the 2-tag list.\n");
    println!("| op | what | ns per call | per second, one core |");
    println!("|---|---|---|---|");
    println!(
        "| py_loop_empty | control: one empty loop iteration | {} | |",
        cell("empty")
    );
    println!(
        "| submit_py | control: the `submit_metric(...)` call into a Python no-op | {} | {} |",
        cell("submit_py"),
        per_s("submit_py")
    );
    println!(
        "| submit_metric | `aggregator.submit_metric(None, \"bench:1\", 0, \"name\", 1.0, [\"a:b\",\"c:d\"], \"host\", False)` | {} | {} |",
        cell("submit_metric"),
        per_s("submit_metric")
    );
    println!(
        "| gauge | `check.gauge(\"name\", 1.0, tags=[\"a:b\",\"c:d\"])` through `checks.AgentCheck` | {} | {} |",
        cell("gauge"),
        per_s("gauge")
    );
    println!(
        "| run | `check.run()` of a check whose `check()` does nothing | {} | {} |",
        cell("run"),
        per_s("run")
    );
    let (sm, gauge) = (med("submit_metric").0, med("gauge").0);
    println!(
        "\nThe AgentCheck method layer adds {:.0} ns per submission ({:.1}x the module call).",
        gauge - sm,
        gauge / sm
    );
    Ok(())
}

/// Before timing: one call of each submitting variant lands in the aggregator.
fn check_recording(host: &AgentHost, variants: &[Variant<'_>]) -> pyhost::Result<()> {
    for (key, id) in [("submit_metric", "bench:1"), ("gauge", "bench:check")] {
        let v = variants.iter().find(|v| v.key == key).unwrap();
        v.looper.call1((&v.target, 1))?;
        let subs = host.aggregator.take_submissions(id);
        assert_eq!(subs.len(), 1, "{key} recorded {subs:?}");
        drain(host);
    }
    Ok(())
}

fn main() {
    let (rounds, iters) = common::rounds_and_iters();
    let data =
        std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("bench-agent-{}", std::process::id()));
    let host = host::install(AgentHost::new(HostConfig::with_defaults("benchhost", &data)).expect("host"))
        .unwrap_or_else(|_| panic!("a host was already installed"));
    let interp = modules::add_builtin_modules(Interpreter::builder())
        .init()
        .expect("Python starts");
    interp
        .with_gil(|py| {
            pybase::install(py)?;
            run(py, &host, rounds, iters)
        })
        .unwrap_or_else(|e| panic!("benchmark failed: {e}"));
    let _ = std::fs::remove_dir_all(&data);
}
