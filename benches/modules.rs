//! Host-module call costs beside plain-C baselines, in one process and run.
//!
//! Python loops (`for _ in range(n): f(...)`) call:
//!
//! * `cb_fastcall`: a no-op host function;
//! * `gauge_fastcall`: `gauge("system.swap.total", 1234.0, ["env:prod",
//!   "role:db"], "host1")`, copying name, tags and host into host-owned
//!   strings (C: malloc'd copies, freed; Rust: `String`s, dropped);
//!
//! each in three forms, all `METH_FASTCALL | METH_KEYWORDS`:
//!
//! * C: `pyhost_bench_c` (csrc/bench_modules.c), plain C API code;
//! * Rust, static table: `pyhost_demo` (csrc/demo_module.c + src/module/demo.rs);
//! * Rust, closure: a [`HostModule`] function behind the shared trampoline.
//!
//! Controls: the empty loop, and `gauge` into a Python no-op function.
//! Rounds are interleaved (each round runs every variant, in a rotating
//! order) and the median is reported; "net" subtracts the empty loop.
//!
//! `cargo bench --bench modules`; `PYHOST_BENCH_ROUNDS` (default 15) and
//! `PYHOST_BENCH_ITERS` (default 200000) tune the run, and
//! `PYHOST_BENCH_ONLY=gauge_static,gauge_closure` runs just those keys, once,
//! for a profiler.

use std::time::Instant;

use pyhost::module::{demo, HostModule};
use pyhost::{ffi, Bound, Interpreter, Python};

const LOOPS: &str = r#"
def loop_empty(f, n):
    for _ in range(n):
        pass

def loop_noop(f, n):
    for _ in range(n):
        f()

def loop_gauge(f, n):
    for _ in range(n):
        f("system.swap.total", 1234.0, ["env:prod", "role:db"], "host1")

def gauge_py(name, value, tags, hostname):
    pass
"#;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The closure versions: the same bodies as src/module/demo.rs.
fn closure_module() -> HostModule {
    HostModule::new("pyhost_bench_rs")
        .function("noop", "", |py, args| {
            args.no_args()?;
            Ok(py.None())
        })
        .function("gauge", "", |py, args| {
            args.check(&["name", "value", "tags", "hostname"], 4)?;
            let name: String = args.get(0, "name")?;
            let value: f64 = args.get(1, "value")?;
            let tags: Vec<String> = args.get_or(2, "tags", Vec::new())?;
            let hostname: Option<String> = args.get_opt(3, "hostname")?;
            drop(std::hint::black_box((name, value, tags, hostname)));
            Ok(py.None())
        })
}

struct Variant<'py> {
    key: &'static str,
    looper: Bound<'py>,
    target: Bound<'py>,
    samples: Vec<f64>,
}

fn stats(v: &[f64]) -> (f64, f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (s[s.len() / 2], s[0], s[s.len() - 1])
}

fn run(py: Python<'_>, rounds: usize, iters: usize) -> pyhost::Result<()> {
    let g = py.new_globals()?;
    py.run(LOOPS, Some(&g), None)?;
    let get = |name: &str| -> pyhost::Result<Bound<'_>> { Ok(g.get_item(name)?.expect(name)) };
    let c = py.import("pyhost_bench_c")?;
    let rs = py.import("pyhost_demo")?;
    let cl = py.import("pyhost_bench_rs")?;
    let mut variants = vec![
        Variant { key: "empty", looper: get("loop_empty")?, target: py.None(), samples: vec![] },
        Variant { key: "noop_c", looper: get("loop_noop")?, target: c.getattr("noop")?, samples: vec![] },
        Variant { key: "noop_static", looper: get("loop_noop")?, target: rs.getattr("noop")?, samples: vec![] },
        Variant { key: "noop_closure", looper: get("loop_noop")?, target: cl.getattr("noop")?, samples: vec![] },
        Variant { key: "gauge_py", looper: get("loop_gauge")?, target: get("gauge_py")?, samples: vec![] },
        Variant { key: "gauge_c", looper: get("loop_gauge")?, target: c.getattr("gauge")?, samples: vec![] },
        Variant { key: "gauge_static", looper: get("loop_gauge")?, target: rs.getattr("gauge")?, samples: vec![] },
        Variant { key: "gauge_closure", looper: get("loop_gauge")?, target: cl.getattr("gauge")?, samples: vec![] },
    ];
    // For profiling one variant: PYHOST_BENCH_ONLY=gauge_closure (no table).
    if let Ok(only) = std::env::var("PYHOST_BENCH_ONLY") {
        variants.retain(|v| only.split(',').any(|k| k == v.key));
        for v in &variants {
            let t0 = Instant::now();
            v.looper.call1((&v.target, iters * rounds))?;
            println!("{}: {:.1} ns/call", v.key, t0.elapsed().as_nanos() as f64 / (iters * rounds) as f64);
        }
        return Ok(());
    }
    // Warm-up: every variant once (specialisation, allocator, caches).
    for v in &variants {
        v.looper.call1((&v.target, iters / 4))?;
    }
    let n = variants.len();
    for round in 0..rounds {
        for k in 0..n {
            let v = &mut variants[(round + k) % n];
            let t0 = Instant::now();
            v.looper.call1((&v.target, iters))?;
            v.samples.push(t0.elapsed().as_nanos() as f64 / iters as f64);
        }
    }

    let med = |key: &str| stats(&variants.iter().find(|v| v.key == key).unwrap().samples);
    let (empty, ..) = med("empty");
    let cell = |key: &str| {
        let (m, lo, hi) = med(key);
        format!("{m:.0} [{lo:.0}-{hi:.0}]")
    };
    let net = |key: &str| med(key).0 - empty;
    println!(
        "\npyhost host-module benchmarks: {rounds} interleaved rounds x {iters} calls, median ns per call [min-max];"
    );
    println!("net = minus the empty loop ({empty:.1} ns); ratios are Rust / C of the medians.\n");
    println!("| op | what | C | Rust static table | ratio | net ratio | Rust closure | ratio | net ratio |");
    println!("|---|---|---|---|---|---|---|---|---|");
    println!("| py_loop_empty | control: one empty loop iteration | {} | | | | | | |", cell("empty"));
    println!(
        "| gauge_py | control: the gauge call into a Python no-op (`def gauge(...): pass`) | {} | | | | | | |",
        cell("gauge_py")
    );
    for (op, what, prefix) in [
        ("cb_fastcall", "Python calls a no-op host function", "noop"),
        (
            "gauge_fastcall",
            "`gauge(\"system.swap.total\", 1234.0, [\"env:prod\",\"role:db\"], \"host1\")`, strings copied into host memory",
            "gauge",
        ),
    ] {
        let (kc, ks, kl) = (format!("{prefix}_c"), format!("{prefix}_static"), format!("{prefix}_closure"));
        let r = |k: &str| med(k).0 / med(&kc).0;
        let rn = |k: &str| net(k) / net(&kc);
        println!(
            "| {op} | {what} | {} | {} | {:.2} | {:.2} | {} | {:.2} | {:.2} |",
            cell(&kc),
            cell(&ks),
            r(&ks),
            rn(&ks),
            cell(&kl),
            r(&kl),
            rn(&kl)
        );
    }
    Ok(())
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` runs this too,
    // so keep that run short.
    let quick = !std::env::args().any(|a| a == "--bench");
    let rounds = if quick { 1 } else { env_usize("PYHOST_BENCH_ROUNDS", 15) };
    let iters = if quick { 1000 } else { env_usize("PYHOST_BENCH_ITERS", 200_000) };
    let interp = Interpreter::builder()
        .add_init_func("pyhost_demo", demo::INIT)
        .add_init_func("pyhost_bench_c", ffi::pyhost_module_bench_c_init)
        .add_module(closure_module())
        .init()
        .expect("Python starts");
    interp.with_gil(|py| run(py, rounds, iters)).unwrap_or_else(|e| panic!("benchmark failed: {e}"));
}
