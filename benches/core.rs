//! Core costs, each beside a plain-C baseline of the same operation measured
//! in the same process and run (csrc/bench_baseline.c).
//!
//! `cargo bench --bench core` prints a markdown table: ns/op (median over
//! interleaved rounds, [min-max]) and the ratio Rust / C.

use std::hint::black_box;
use std::time::Instant;

use pyhost::{with_gil, Bound, Interpreter};

const ROUNDS: usize = 15;

struct Op {
    name: &'static str,
    what: &'static str,
    iters: u64,
    rust: Vec<f64>,
    c: Vec<f64>,
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn per_op(ns: u64, iters: u64) -> f64 {
    ns as f64 / iters as f64
}

fn bench_rust<F: FnMut()>(iters: u64, mut f: F) -> f64 {
    let t0 = Instant::now();
    for _ in 0..iters {
        f();
    }
    per_op(t0.elapsed().as_nanos() as u64, iters)
}

/// One `g(1000)` with the result converted back; out of line so a profiler
/// (`valgrind --tool=callgrind`) can count it beside the C baseline.
#[inline(never)]
fn rust_call_1int(g: &Bound<'_>) {
    black_box(g.call1((black_box(1000i64),)).unwrap().extract::<i64>().unwrap());
}

/// The same through a stored `Py`.
#[inline(never)]
fn rust_call_1int_py(py: pyhost::Python<'_>, g: &pyhost::Py) {
    black_box(g.call1(py, (black_box(1000i64),)).unwrap().extract::<i64>().unwrap());
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let scale = if quick { 10 } else { 1 };
    let interp = Interpreter::builder().init().expect("interpreter");
    let (f, g) = interp.with_gil(|py| {
        let m = py
            .module_from_code(
                "def f():\n    pass\n\ndef g(x):\n    return x + 1\n",
                "bench_funcs.py",
                "bench_funcs",
            )
            .unwrap();
        (m.getattr("f").unwrap().unbind(), m.getattr("g").unwrap().unbind())
    });

    let mut ops = vec![
        Op {
            name: "call_noargs",
            what: "call `f()` with the GIL held",
            iters: 1_000_000 / scale,
            rust: vec![],
            c: vec![],
        },
        Op {
            name: "call_1int",
            what: "call `g(1000)`, convert the int result back",
            iters: 1_000_000 / scale,
            rust: vec![],
            c: vec![],
        },
        Op {
            name: "call_noargs_py",
            what: "call `f()` through a stored `Py` (`f.call0(py)`)",
            iters: 1_000_000 / scale,
            rust: vec![],
            c: vec![],
        },
        Op {
            name: "call_1int_py",
            what: "call `g(1000)` through a stored `Py`, convert the result back",
            iters: 1_000_000 / scale,
            rust: vec![],
            c: vec![],
        },
        Op {
            name: "gil_cycle_tstate",
            what: "release + re-acquire the GIL, thread keeps its thread state",
            iters: 1_000_000 / scale,
            rust: vec![],
            c: vec![],
        },
        Op {
            name: "gil_cycle_fresh",
            what: "acquire + release on a thread with no thread state",
            iters: 200_000 / scale,
            rust: vec![],
            c: vec![],
        },
    ];

    for _round in 0..ROUNDS {
        // call_noargs
        let n = ops[0].iters;
        let (r, c) = with_gil(|py| {
            let f: Bound = f.to_bound(py);
            let r = bench_rust(n, || drop(black_box(f.call0().unwrap())));
            // SAFETY: GIL held; f is a live callable.
            let c = per_op(
                unsafe { pyhost_benches::c::pyhost_bench_c_call_noargs(f.as_ptr(), n) },
                n,
            );
            (r, c)
        });
        ops[0].rust.push(r);
        ops[0].c.push(c);

        // call_1int
        let n = ops[1].iters;
        let (r, c) = with_gil(|py| {
            let g: Bound = g.to_bound(py);
            let r = bench_rust(n, || rust_call_1int(&g));
            // SAFETY: GIL held; g is a live callable.
            let c = per_op(unsafe { pyhost_benches::c::pyhost_bench_c_call_1int(g.as_ptr(), n) }, n);
            (r, c)
        });
        ops[1].rust.push(r);
        ops[1].c.push(c);

        // The same two through the stored handles (a host's usual shape).
        let n = ops[2].iters;
        let (r, c) = with_gil(|py| {
            let r = bench_rust(n, || drop(black_box(f.call0(py).unwrap())));
            // SAFETY: GIL held; f is a live callable.
            let c = per_op(
                unsafe { pyhost_benches::c::pyhost_bench_c_call_noargs(f.as_ptr(), n) },
                n,
            );
            (r, c)
        });
        ops[2].rust.push(r);
        ops[2].c.push(c);
        let n = ops[3].iters;
        let (r, c) = with_gil(|py| {
            let r = bench_rust(n, || rust_call_1int_py(py, &g));
            // SAFETY: GIL held; g is a live callable.
            let c = per_op(unsafe { pyhost_benches::c::pyhost_bench_c_call_1int(g.as_ptr(), n) }, n);
            (r, c)
        });
        ops[3].rust.push(r);
        ops[3].c.push(c);

        // gil_cycle_tstate: this thread keeps its thread state across cycles.
        let n = ops[4].iters;
        let (r, c) = with_gil(|py| {
            let r = bench_rust(n, || py.allow_threads(|| black_box(())));
            // SAFETY: GIL held by this thread, as the C loop requires.
            let c = per_op(unsafe { pyhost_benches::c::pyhost_bench_c_gil_cycle_tstate(n) }, n);
            (r, c)
        });
        ops[4].rust.push(r);
        ops[4].c.push(c);

        // gil_cycle_fresh: a new OS thread with no Python thread state.
        let n = ops[5].iters;
        let (r, c) = std::thread::spawn(move || {
            let r = bench_rust(n, || {
                with_gil(|py| {
                    black_box(py);
                })
            });
            // SAFETY: this thread does not hold the GIL.
            let c = per_op(unsafe { pyhost_benches::c::pyhost_bench_c_gil_cycle_fresh(n) }, n);
            (r, c)
        })
        .join()
        .unwrap();
        ops[5].rust.push(r);
        ops[5].c.push(c);
    }

    println!("| op | what | C ns/op | pyhost ns/op | ratio |");
    println!("|---|---|---|---|---|");
    for op in &mut ops {
        let (cmin, cmax) = (
            op.c.iter().cloned().fold(f64::MAX, f64::min),
            op.c.iter().cloned().fold(0.0, f64::max),
        );
        let (rmin, rmax) = (
            op.rust.iter().cloned().fold(f64::MAX, f64::min),
            op.rust.iter().cloned().fold(0.0, f64::max),
        );
        let cm = median(&mut op.c);
        let rm = median(&mut op.rust);
        println!(
            "| {} | {} | {:.1} [{:.1}-{:.1}] | {:.1} [{:.1}-{:.1}] | {:.2} |",
            op.name,
            op.what,
            cm,
            cmin,
            cmax,
            rm,
            rmin,
            rmax,
            rm / cm
        );
    }
    println!(
        "\n{} interleaved rounds; median [min-max]; ratio = pyhost median / C median.",
        ROUNDS
    );
}
