//! Python in parallel inside one process, measured on this machine in one run:
//!
//! * `cpu_jobs`: 200 CPU-bound pure-Python jobs (about 10 ms of bytecode each)
//!   on 1 worker and on 2, for an ordinary pool (one interpreter: one GIL, or
//!   none on a free-threaded build) and for a pool of own-GIL
//!   sub-interpreters (3.12+); the speedup is 2-worker throughput over
//!   1-worker throughput, each pool against itself;
//! * `subinterp_lifecycle`: creating and ending one sub-interpreter (time and
//!   resident memory), and the memory of 32 live ones;
//! * `round_trip`: an empty job to an own-GIL worker and back, beside the same
//!   to an ordinary worker, idle and with two busy-looping processes loading
//!   both cores.
//!
//! `cargo bench --bench parallel`; `--quick` runs fewer jobs.

use std::time::{Duration, Instant};

use pyhost::worker::{JobOptions, WorkerPool};
use pyhost::{Interpreter, SubInterpreter, SubInterpreterConfig};
use pyhost_benches::load::{load_both_cores, stop};

const CPU_JOB: &str = "def work(n):\n    x = 0\n    for i in range(n):\n        x += i * i % 7\n    return x\n";

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Resident memory of this process (`VmRSS` in `/proc/self/status`), in MiB.
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// Define `cpu_work` in every worker's interpreter.
fn define_work(pool: &WorkerPool) {
    for w in 0..pool.workers() {
        pool.submit_with(JobOptions::new().on_worker(w), |py| {
            let m = py.module_from_code(CPU_JOB, "cpu_job.py", "cpu_job")?;
            py.import("builtins")?.setattr("cpu_work", m.getattr("work")?)
        })
        .unwrap()
        .wait()
        .unwrap();
    }
}

/// The `n` for which `cpu_work(n)` takes about 10 ms on `pool`.
fn calibrate(pool: &WorkerPool) -> u64 {
    let mut n = 10_000u64;
    loop {
        let t0 = Instant::now();
        pool.submit(move |py| py.eval(&format!("cpu_work({n})"), None, None).map(drop))
            .unwrap()
            .wait()
            .unwrap();
        let ms = t0.elapsed().as_secs_f64() * 1000.0;
        if ms >= 5.0 {
            return (n as f64 * 10.0 / ms) as u64;
        }
        n *= 2;
    }
}

/// Seconds to run `jobs` jobs of `n` iterations on `pool`'s first `workers`.
fn run_jobs(pool: &WorkerPool, workers: usize, jobs: usize, n: u64) -> f64 {
    let t0 = Instant::now();
    let handles: Vec<_> = (0..jobs)
        .map(|i| {
            pool.submit_with(JobOptions::new().on_worker(i % workers), move |py| {
                py.eval(&format!("cpu_work({n})"), None, None).map(drop)
            })
            .unwrap()
        })
        .collect();
    for h in handles {
        h.wait().unwrap();
    }
    t0.elapsed().as_secs_f64()
}

/// (1-worker seconds, 2-worker seconds, speedup), the fastest of `rounds`
/// interleaved runs each: this VM's second vCPU is sometimes busy with
/// someone else's work, which only the 2-worker runs notice.
fn speedup(pool: &WorkerPool, jobs: usize, rounds: usize, n: u64) -> (f64, f64, f64) {
    define_work(pool);
    let (mut one, mut two) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        one.push(run_jobs(pool, 1, jobs, n));
        two.push(run_jobs(pool, 2, jobs, n));
    }
    let min = |v: Vec<f64>| v.into_iter().fold(f64::MAX, f64::min);
    let (one, two) = (min(one), min(two));
    (one, two, one / two)
}

/// Median ns of an empty-job round trip.
fn round_trip(pool: &WorkerPool, iters: usize) -> f64 {
    let mut v = Vec::with_capacity(iters);
    for _ in 0..iters {
        let t0 = Instant::now();
        pool.submit(|_py| Ok(())).unwrap().wait().unwrap();
        v.push(t0.elapsed().as_nanos() as f64);
    }
    median(v)
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick") || !std::env::args().any(|a| a == "--bench");
    let (jobs, rounds) = if quick { (20, 1) } else { (200, 5) };
    Interpreter::builder().init().expect("interpreter");
    let ft = pyhost::interpreter::compiled_free_threaded();
    let sub_ok = pyhost::subinterpreter::supported();
    println!(
        "Python {}{}; {} jobs of about 10 ms per run, fastest of {rounds} interleaved run(s).\n",
        pyhost::interpreter::compiled_version(),
        if ft { " (free-threaded)" } else { "" },
        jobs
    );
    println!("| measure | what | value |");
    println!("|---|---|---|");

    let shared = WorkerPool::builder().workers(2).build().unwrap();
    define_work(&shared);
    // One job size for every pool: about 10 ms on the ordinary pool.
    let n = (0..3).map(|_| calibrate(&shared)).max().unwrap();
    let (one, two, s) = speedup(&shared, jobs, rounds, n);
    let model = if ft {
        "one interpreter, no GIL (3.13t)"
    } else {
        "one interpreter, one GIL"
    };
    println!("| cpu_jobs_shared | {model}: 1 worker {one:.2} s, 2 workers {two:.2} s | speedup {s:.2}x |");
    let own = sub_ok.then(|| {
        WorkerPool::builder()
            .workers(2)
            .subinterpreters(SubInterpreterConfig::default())
            .build()
            .unwrap()
    });
    if let Some(own) = &own {
        let (one, two, s) = speedup(own, jobs, rounds, n);
        println!(
            "| cpu_jobs_own_gil | a sub-interpreter per worker, own GIL: 1 worker {one:.2} s, 2 workers {two:.2} s | speedup {s:.2}x |"
        );
    } else {
        println!("| cpu_jobs_own_gil | own-GIL sub-interpreters | n/a before 3.12 |");
    }

    if sub_ok {
        let cycles = if quick { 20 } else { 200 };
        let rss0 = rss_mib();
        let mut times = Vec::with_capacity(cycles);
        for _ in 0..cycles {
            let t0 = Instant::now();
            let sub = SubInterpreter::new().unwrap();
            sub.close(Duration::from_secs(10));
            times.push(t0.elapsed().as_secs_f64() * 1000.0);
        }
        let rss1 = rss_mib();
        println!(
            "| subinterp_create_end | create + end one sub-interpreter (and its thread), median of {cycles} | {:.2} ms; RSS {:+.1} MiB after all {cycles} (CPython keeps an ended interpreter's arenas) |",
            median(times),
            rss1 - rss0
        );
        let before = rss_mib();
        let live: Vec<SubInterpreter> = (0..32).map(|_| SubInterpreter::new().unwrap()).collect();
        let after = rss_mib();
        println!(
            "| subinterp_rss_32 | 32 live sub-interpreters | {:.1} MiB, {:.2} MiB each |",
            after - before,
            (after - before) / 32.0
        );
        drop(live);
    }

    let iters = if quick { 200 } else { 5000 };
    let own1 = sub_ok.then(|| {
        WorkerPool::builder()
            .workers(1)
            .subinterpreters(SubInterpreterConfig::default())
            .build()
            .unwrap()
    });
    let plain1 = WorkerPool::builder().workers(1).build().unwrap();
    for (label, load) in [("idle", false), ("both cores loaded", true)] {
        let busy = if load { load_both_cores() } else { Vec::new() };
        std::thread::sleep(Duration::from_millis(200));
        let plain = round_trip(&plain1, iters);
        let own = own1.as_ref().map(|p| round_trip(p, iters));
        stop(busy);
        match own {
            Some(own) => println!(
                "| round_trip ({label}) | empty job to a worker and back, median of {iters}: own-GIL worker / ordinary worker | {:.2} us / {:.2} us |",
                own / 1000.0,
                plain / 1000.0
            ),
            None => println!(
                "| round_trip ({label}) | empty job to an ordinary worker and back, median of {iters} | {:.2} us |",
                plain / 1000.0
            ),
        }
    }
}
