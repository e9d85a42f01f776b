//! Worker-pool dispatch: round trips (blocking and async) and throughput,
//! each beside thread hand-offs without Python measured in the same process
//! and run: a plain-C pthread mutex+condvar round trip and a busy-polling one
//! (csrc/bench_workers.c), and a Rust std `mpsc` round trip. Then the CPU an
//! idle pool of 4 uses over 10 s.
//!
//! `cargo bench --bench workers` prints a markdown table: ns per round trip
//! (or per job), median over interleaved rounds [min-max], and the ratio to
//! the C condvar round trip. `--quick` runs fewer iterations and a 1 s idle
//! measurement.

use std::hint::black_box;
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use pyhost::worker::{JobHandle, WorkerPool};
use pyhost::{with_gil, Interpreter, Py};
use pyhost_benches::load::process_cpu_time;

const ROUNDS: usize = 15;
const THROUGHPUT_JOBS: u64 = 100_000;

struct Row {
    name: &'static str,
    what: &'static str,
    samples: Vec<f64>,
}

impl Row {
    fn new(name: &'static str, what: &'static str) -> Row {
        Row {
            name,
            what,
            samples: Vec::new(),
        }
    }

    fn stats(&self) -> (f64, f64, f64) {
        let mut v = self.samples.clone();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        (v[v.len() / 2], v[0], v[v.len() - 1])
    }
}

fn per_op(elapsed: Duration, iters: u64) -> f64 {
    elapsed.as_nanos() as f64 / iters as f64
}

/// A job calling the Python no-op `f()`: the smallest job that runs bytecode.
fn call_f(f: &Arc<Py>) -> impl FnOnce(pyhost::Python<'_>) -> pyhost::Result<()> + Send + 'static {
    let f = Arc::clone(f);
    move |py| f.bind(py).call0().map(drop)
}

fn pool_round_trip(pool: &WorkerPool, f: &Arc<Py>, iters: u64) -> f64 {
    let t0 = Instant::now();
    for _ in 0..iters {
        pool.submit(call_f(f)).unwrap().wait().unwrap();
    }
    per_op(t0.elapsed(), iters)
}

fn pool_round_trip_async(rt: &tokio::runtime::Runtime, pool: &Arc<WorkerPool>, f: &Arc<Py>, iters: u64) -> f64 {
    let (pool, f) = (Arc::clone(pool), Arc::clone(f));
    // Spawned, so the awaiting task runs on a runtime worker thread.
    rt.block_on(rt.spawn(async move {
        let t0 = Instant::now();
        for _ in 0..iters {
            pool.submit(call_f(&f)).unwrap().await.unwrap();
        }
        per_op(t0.elapsed(), iters)
    }))
    .unwrap()
}

fn pool_throughput(pool: &WorkerPool, f: &Arc<Py>, jobs: u64) -> f64 {
    let t0 = Instant::now();
    let handles: Vec<JobHandle<()>> = (0..jobs).map(|_| pool.submit(call_f(f)).unwrap()).collect();
    for h in handles {
        h.wait().unwrap();
    }
    per_op(t0.elapsed(), jobs)
}

/// A thread that answers every request on one std channel through another.
struct MpscEcho {
    tx: mpsc::Sender<u64>,
    rx: mpsc::Receiver<u64>,
    thread: Option<thread::JoinHandle<()>>,
}

impl MpscEcho {
    fn new() -> MpscEcho {
        let (req_tx, req_rx) = mpsc::channel::<u64>();
        let (resp_tx, resp_rx) = mpsc::channel::<u64>();
        let thread = thread::spawn(move || {
            for x in req_rx {
                resp_tx.send(x).unwrap();
            }
        });
        MpscEcho {
            tx: req_tx,
            rx: resp_rx,
            thread: Some(thread),
        }
    }

    fn round_trip(&self, iters: u64) -> f64 {
        let t0 = Instant::now();
        for i in 0..iters {
            self.tx.send(i).unwrap();
            black_box(self.rx.recv().unwrap());
        }
        per_op(t0.elapsed(), iters)
    }

    fn stop(mut self) {
        let (dead_tx, _) = mpsc::channel();
        drop(std::mem::replace(&mut self.tx, dead_tx));
        self.thread.take().unwrap().join().unwrap();
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let scale = if quick { 10 } else { 1 };
    let idle_secs = if quick { 1 } else { 10 };
    let _interp = Interpreter::builder().init().expect("interpreter");
    let f: Arc<Py> = Arc::new(with_gil(|py| {
        let m = py
            .module_from_code("def f():\n    pass\n", "bench_workers_funcs.py", "bench_workers_funcs")
            .unwrap();
        m.getattr("f").unwrap().unbind()
    }));

    let spin = Duration::from_micros(50);
    let parking = WorkerPool::builder()
        .name("b-park")
        .workers(2)
        .spin(Duration::ZERO)
        .build()
        .unwrap();
    let spinning = WorkerPool::builder()
        .name("b-spin")
        .workers(2)
        .spin(spin)
        .build()
        .unwrap();
    let async_pool = Arc::new(
        WorkerPool::builder()
            .name("b-async")
            .workers(2)
            .spin(spin)
            .async_spin(Duration::ZERO)
            .build()
            .unwrap(),
    );
    let async_spin_pool = Arc::new(
        WorkerPool::builder()
            .name("b-async-s")
            .workers(2)
            .spin(spin)
            .async_spin(Duration::from_micros(20))
            .build()
            .unwrap(),
    );
    let one = WorkerPool::builder()
        .name("b-one")
        .workers(1)
        .spin(spin)
        .build()
        .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let echo = MpscEcho::new();

    let mut rows = vec![
        Row::new(
            "c_condvar_rt",
            "plain C: pthread mutex + condvar round trip to a thread, no Python",
        ),
        Row::new(
            "c_spin_rt",
            "plain C: the same, both threads busy-polling (floor; burns two cores)",
        ),
        Row::new("rust_mpsc_rt", "Rust std `mpsc` round trip to a thread, no Python"),
        Row::new(
            "pool_rt_park",
            "pool, 2 workers, spin 0: submit a job calling `f()`, wait (parks at once)",
        ),
        Row::new(
            "pool_rt_blocking",
            "pool, 2 workers, spin 50 us: submit a job calling `f()`, `wait()`",
        ),
        Row::new(
            "pool_rt_async",
            "the same, awaited by a tokio multi-thread task (async_spin 0)",
        ),
        Row::new("pool_rt_async_spin", "the same, async_spin 20 us (the default)"),
        Row::new(
            "direct_call_c",
            "control: `f()` called directly with the GIL held (C), no dispatch",
        ),
        Row::new(
            "throughput_2w",
            "100 000 `f()` jobs submitted from one thread, 2 workers: ns per job",
        ),
        Row::new("throughput_1w", "the same on 1 worker"),
    ];

    let slow = 2_000 / scale; // iterations for hand-offs that park (20-100 us each)
    let fast = 20_000 / scale;
    let tp_jobs = THROUGHPUT_JOBS / scale;
    // Warm-up.
    pool_round_trip(&spinning, &f, fast / 10);
    pool_throughput(&spinning, &f, tp_jobs / 10);

    for round in 0..ROUNDS {
        // SAFETY: no preconditions; runs its own thread, no Python.
        let c = unsafe { pyhost_benches::c::pyhost_bench_c_condvar_roundtrip(slow) };
        rows[0].samples.push(c as f64 / slow as f64);
        // SAFETY: as above.
        let c = unsafe { pyhost_benches::c::pyhost_bench_c_spin_roundtrip(fast) };
        rows[1].samples.push(c as f64 / fast as f64);
        rows[2].samples.push(echo.round_trip(slow));
        rows[3].samples.push(pool_round_trip(&parking, &f, slow));
        rows[4].samples.push(pool_round_trip(&spinning, &f, fast));
        rows[5].samples.push(pool_round_trip_async(&rt, &async_pool, &f, slow));
        rows[6]
            .samples
            .push(pool_round_trip_async(&rt, &async_spin_pool, &f, fast));
        let direct = with_gil(|py| {
            let fb = f.bind(py);
            // SAFETY: GIL held; fb is a live callable.
            unsafe { pyhost_benches::c::pyhost_bench_c_call_noargs(fb.as_ptr(), fast * 10) }
        });
        rows[7].samples.push(direct as f64 / (fast * 10) as f64);
        // Throughput is slower to measure: every third round.
        if round % 3 == 0 {
            rows[8].samples.push(pool_throughput(&spinning, &f, tp_jobs));
            rows[9].samples.push(pool_throughput(&one, &f, tp_jobs));
        }
    }

    // Idle: only a fresh pool of 4 remains (the others are shut down and
    // joined, the runtime and the echo thread stopped).
    drop(rt);
    echo.stop();
    for p in [parking, spinning, one] {
        p.shutdown();
    }
    async_pool.shutdown();
    async_spin_pool.shutdown();
    let idle = WorkerPool::builder()
        .name("b-idle")
        .workers(4)
        .spin(spin)
        .build()
        .unwrap();
    let burst: Vec<_> = (0..1000).map(|_| idle.submit(call_f(&f)).unwrap()).collect();
    for h in burst {
        h.wait().unwrap();
    }
    // From the end of the burst: includes the workers' spin before parking.
    let cpu0 = process_cpu_time();
    let wall0 = Instant::now();
    thread::sleep(Duration::from_secs(idle_secs));
    let cpu = process_cpu_time() - cpu0;
    let wall = wall0.elapsed();
    drop(idle);

    let base = rows[0].stats().0;
    println!("| op | what | ns/op median [min-max] | / C condvar |");
    println!("|---|---|---|---|");
    for row in &rows {
        let (m, lo, hi) = row.stats();
        println!(
            "| {} | {} | {:.0} [{:.0}-{:.0}] | {:.3} |",
            row.name,
            row.what,
            m,
            lo,
            hi,
            m / base
        );
    }
    println!(
        "| idle_cpu_4w | pool of 4 idle for {:.0} s after a burst: process CPU time (getrusage) | {:.2} ms total = {:.4} % of one core | |",
        wall.as_secs_f64(),
        cpu.as_secs_f64() * 1e3,
        100.0 * cpu.as_secs_f64() / wall.as_secs_f64()
    );
    println!(
        "\n{ROUNDS} interleaved rounds (throughput: every third); round trips = submit + wait for a job calling a \
         Python no-op; spin budget 50 us on each side (worker waiting for jobs, waiter waiting for the result; 20 us for \
         an awaiting future), at most 1 spinning worker per pool and 1 spinning waiter per 2 CPUs."
    );
}
