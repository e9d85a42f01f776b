//! Pool modes: round trips idle and while two busy-loop processes load
//! both cores, per spin policy; and bursts, one job at a time against one
//! batch.
//!
//! Round trips are `submit` + `wait` of a job calling a Python no-op on a
//! 2-worker pool: spin 0 (park at once), spin 50 us with
//! `SpinPolicy::Always`, and the default (spin 50 us, `SpinPolicy::IdleCpu`:
//! spin only while a CPU is spare). Each is reported as mean and median ns
//! (a mean shows the wake-ups the median hides), and as CPU time the process
//! used per round trip (`getrusage`): under load, CPU a spinner burns is CPU
//! taken from the other processes. The baseline is a plain-C mutex+condvar
//! round trip in the same conditions. Modes run in a rotating order.
//!
//! Bursts: 1000 jobs calling `f()`, submitted one by one and then waited
//! for, against the same 1000 in one `submit_batch` (one GIL acquisition).
//!
//! `cargo bench --bench pool_modes` (`--quick`: fewer rounds).

use std::sync::Arc;
use std::time::{Duration, Instant};

use pyhost::worker::{JobOptions, SpinPolicy, WorkerPool};
use pyhost::{with_gil, Interpreter, Py, Python};
use pyhost_benches::load::{load_both_cores, process_cpu_time, stop};

fn call_f(f: &Arc<Py>) -> impl FnOnce(Python<'_>) -> pyhost::Result<()> + Send + 'static {
    let f = Arc::clone(f);
    move |py| f.call0(py).map(drop)
}

/// (mean ns, median ns, CPU ns) per round trip.
fn round_trips(pool: &WorkerPool, f: &Arc<Py>, n: usize) -> (f64, f64, f64) {
    let mut v = Vec::with_capacity(n);
    let cpu0 = process_cpu_time();
    let t0 = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        pool.submit(call_f(f)).unwrap().wait().unwrap();
        v.push(t.elapsed().as_nanos() as f64);
    }
    let mean = t0.elapsed().as_nanos() as f64 / n as f64;
    let cpu = (process_cpu_time() - cpu0).as_nanos() as f64 / n as f64;
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (mean, v[n / 2], cpu)
}

/// ns per job: `n` jobs submitted one by one, then waited for.
fn burst(pool: &WorkerPool, f: &Arc<Py>, n: usize) -> f64 {
    let t0 = Instant::now();
    let handles: Vec<_> = (0..n).map(|_| pool.submit(call_f(f)).unwrap()).collect();
    for h in handles {
        h.wait().unwrap();
    }
    t0.elapsed().as_nanos() as f64 / n as f64
}

/// ns per job: the same `n` jobs as one batch.
fn batch(pool: &WorkerPool, f: &Arc<Py>, n: usize) -> f64 {
    let t0 = Instant::now();
    let results = pool
        .submit_batch(JobOptions::new(), (0..n).map(|_| call_f(f)))
        .unwrap()
        .wait()
        .unwrap();
    assert!(results.iter().all(|r| r.is_ok()));
    t0.elapsed().as_nanos() as f64 / n as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick") || !std::env::args().any(|a| a == "--bench");
    let (rounds, n) = if quick { (3, 2000) } else { (9, 5000) };
    Interpreter::builder().init().expect("interpreter");
    let f: Arc<Py> = Arc::new(with_gil(|py| {
        let m = py
            .module_from_code("def f():\n    pass\n", "bench_modes.py", "bench_modes")
            .unwrap();
        m.getattr("f").unwrap().unbind()
    }));
    let spin = Duration::from_micros(50);
    let pool = |name: &str, spin: Duration, policy: SpinPolicy| {
        WorkerPool::builder()
            .name(name)
            .workers(2)
            .spin(spin)
            .spin_policy(policy)
            .build()
            .unwrap()
    };
    let modes = [
        ("park (spin 0)", pool("m-park", Duration::ZERO, SpinPolicy::Always)),
        ("spin 50 us, Always", pool("m-always", spin, SpinPolicy::Always)),
        (
            "spin 50 us, IdleCpu (default)",
            pool("m-default", spin, SpinPolicy::IdleCpu),
        ),
    ];

    println!("| round trip | load | mean ns | median ns | CPU ns / trip | mean / C condvar |");
    println!("|---|---|---|---|---|---|");
    for (label, load) in [("idle", false), ("2 busy loops", true)] {
        let busy = if load { load_both_cores() } else { Vec::new() };
        // Let the spin policy see the new load (it samples every 100 ms).
        std::thread::sleep(Duration::from_millis(300));
        let mut c = Vec::new();
        let mut rows: Vec<(Vec<f64>, Vec<f64>, Vec<f64>)> = vec![Default::default(); modes.len()];
        for round in 0..rounds {
            let iters = (n / 5) as u64;
            // SAFETY: no preconditions; runs its own thread, no Python.
            let ns = unsafe { pyhost_benches::c::pyhost_bench_c_condvar_roundtrip(iters) };
            c.push(ns as f64 / iters as f64);
            // A rotating order: a mode that spun leaves its threads behind in
            // the kernel's fair-share accounting for the next one.
            for k in 0..modes.len() {
                let i = (round + k) % modes.len();
                let (mean, med, cpu) = round_trips(&modes[i].1, &f, n);
                rows[i].0.push(mean);
                rows[i].1.push(med);
                rows[i].2.push(cpu);
            }
        }
        stop(busy);
        let c = median(c);
        println!("| plain C mutex + condvar | {label} | {c:.0} | | | 1.00 |");
        for ((name, _), (mean, med, cpu)) in modes.iter().zip(rows) {
            let mean = median(mean);
            println!(
                "| {name} | {label} | {mean:.0} | {:.0} | {:.0} | {:.2} |",
                median(med),
                median(cpu),
                mean / c
            );
        }
    }

    let one = WorkerPool::builder().name("m-burst").workers(1).build().unwrap();
    let jobs = 1000;
    let (mut b, mut t) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        b.push(burst(&one, &f, jobs));
        t.push(batch(&one, &f, jobs));
    }
    let (b, t) = (median(b), median(t));
    println!("\n| burst of {jobs} `f()` jobs, 1 worker | ns per job | / one by one |");
    println!("|---|---|---|");
    println!("| submitted one by one, then waited for | {b:.0} | 1.00 |");
    println!("| one `submit_batch` | {t:.0} | {:.2} |", t / b);
    println!("\n{rounds} rounds of {n} round trips per mode, medians of the rounds.");
}
