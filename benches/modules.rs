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
//! * Rust, closure: a [`HostModule`] function behind the shared trampoline;
//! * Rust, macro table: the same bodies in a static table declared in this
//!   crate with `pyhost::method_table!` (no C), the form a dependent crate
//!   without a C toolchain uses.
//!
//! Controls: the empty loop, and `gauge` into a Python no-op function.
//! Rounds are interleaved (each round runs every variant, in a rotating
//! order) and the median is reported; "net" subtracts the empty loop.
//!
//! `cargo bench --bench modules`; `PYHOST_BENCH_ROUNDS` (default 15) and
//! `PYHOST_BENCH_ITERS` (default 200000) tune the run, and
//! `PYHOST_BENCH_ONLY=gauge_static,gauge_closure` runs just those keys, once,
//! for a profiler.

use pyhost_benches::loops as common;

use common::Variant;
use pyhost::module::{demo, HostModule};
use pyhost::{Bound, Interpreter, Python};

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

pyhost::method_table! {
    /// The demo bodies again, in a table declared here, outside pyhost.
    static MACRO_TABLE = [
        ("noop", "", |py, args| {
            args.no_args()?;
            Ok(py.None())
        }),
        ("gauge", "", |py, args| {
            args.check(&["name", "value", "tags", "hostname"], 4)?;
            let name: String = args.get(0, "name")?;
            let value: f64 = args.get(1, "value")?;
            let tags: Vec<String> = args.get_or(2, "tags", Vec::new())?;
            let hostname: Option<String> = args.get_opt(3, "hostname")?;
            drop(std::hint::black_box((name, value, tags, hostname)));
            Ok(py.None())
        }),
    ];
}

fn run(py: Python<'_>, rounds: usize, iters: usize) -> pyhost::Result<()> {
    let g = py.new_globals()?;
    py.run(LOOPS, Some(&g), None)?;
    let get = |name: &str| -> pyhost::Result<Bound<'_>> { Ok(g.get_item(name)?.expect(name)) };
    let c = py.import("pyhost_bench_c")?;
    let rs = py.import("pyhost_demo")?;
    let cl = py.import("pyhost_bench_rs")?;
    let mt = py.import("pyhost_bench_macro")?;
    let mut variants = vec![
        Variant::new("empty", get("loop_empty")?, py.None()),
        Variant::new("noop_c", get("loop_noop")?, c.getattr("noop")?),
        Variant::new("noop_static", get("loop_noop")?, rs.getattr("noop")?),
        Variant::new("noop_closure", get("loop_noop")?, cl.getattr("noop")?),
        Variant::new("noop_macro", get("loop_noop")?, mt.getattr("noop")?),
        Variant::new("gauge_py", get("loop_gauge")?, get("gauge_py")?),
        Variant::new("gauge_c", get("loop_gauge")?, c.getattr("gauge")?),
        Variant::new("gauge_static", get("loop_gauge")?, rs.getattr("gauge")?),
        Variant::new("gauge_closure", get("loop_gauge")?, cl.getattr("gauge")?),
        Variant::new("gauge_macro", get("loop_gauge")?, mt.getattr("gauge")?),
    ];
    // For profiling one variant: PYHOST_BENCH_ONLY=gauge_closure (no table).
    if common::run_only(&mut variants, rounds, iters, || ())? {
        return Ok(());
    }
    common::warm_up(&variants, iters, || ())?;
    common::interleave(&mut variants, rounds, iters, || ())?;

    let med = |key: &str| common::stats(&variants, key);
    let (empty, ..) = med("empty");
    let cell = |key: &str| common::cell(&variants, key);
    let net = |key: &str| med(key).0 - empty;
    println!(
        "\npyhost host-module benchmarks: {rounds} interleaved rounds x {iters} calls, median ns per call [min-max];"
    );
    println!("net = minus the empty loop ({empty:.1} ns); ratios are Rust / C of the medians.\n");
    println!(
        "| op | what | C | Rust static table | ratio | net ratio | Rust closure | ratio | net ratio | Rust macro table | ratio | macro / static table |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| py_loop_empty | control: one empty loop iteration | {} | | | | | | | | | |",
        cell("empty")
    );
    println!(
        "| gauge_py | control: the gauge call into a Python no-op (`def gauge(...): pass`) | {} | | | | | | | | | |",
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
        let km = format!("{prefix}_macro");
        let r = |k: &str| med(k).0 / med(&kc).0;
        let rn = |k: &str| net(k) / net(&kc);
        println!(
            "| {op} | {what} | {} | {} | {:.2} | {:.2} | {} | {:.2} | {:.2} | {} | {:.2} | {:.2} |",
            cell(&kc),
            cell(&ks),
            r(&ks),
            rn(&ks),
            cell(&kl),
            r(&kl),
            rn(&kl),
            cell(&km),
            r(&km),
            med(&km).0 / med(&ks).0
        );
    }
    Ok(())
}

fn main() {
    let (rounds, iters) = common::rounds_and_iters();
    let interp = Interpreter::builder()
        .add_init_func("pyhost_demo", demo::INIT)
        .add_init_func("pyhost_bench_c", pyhost_benches::c::pyhost_module_bench_c_init)
        .add_module(closure_module())
        .add_module(HostModule::new("pyhost_bench_macro").methods(&MACRO_TABLE))
        .init()
        .expect("Python starts");
    interp
        .with_gil(|py| run(py, rounds, iters))
        .unwrap_or_else(|e| panic!("benchmark failed: {e}"));
}
