//! The talk's demos 02 and 03, in Rust.
//!
//! * Demo 02: 50 concurrent callers of one Python function. Each caller is an
//!   OS thread that submits its calls to a pool of thread-affine workers (one
//!   Python thread state per worker, for life), next to the talk's pattern,
//!   where every caller takes the GIL itself and CPython creates and deletes
//!   a thread state for every call.
//! * Demo 03: the crash. In Go a goroutine took the GIL, the scheduler moved
//!   it to another OS thread, and it released the GIL there: CPython aborts
//!   (the thread state belongs to the thread that created it). That program
//!   cannot be written with pyhost (see `demo_03` below); what it wanted,
//!   Python state that stays on one thread while the caller hops between
//!   threads, is a job targeted at one worker.
//!
//! Run with `cargo run --release --example threads`.

use std::sync::Arc;
use std::thread;
use std::time::Instant;

use pyhost::worker::{JobOptions, WorkerPool};
use pyhost::{with_gil, Interpreter, Result};

const CALLERS: usize = 50;
const CALLS_PER_CALLER: usize = 200;
const TEXT: &str = "the cat saw the other cat and the dog saw the cat";

fn main() -> Result<()> {
    let plugins = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/python");
    Interpreter::builder().add_path(plugins).init()?;
    let pool = Arc::new(WorkerPool::builder().name("demo").workers(4).build()?);

    demo_02(&pool)?;
    demo_03(&pool)?;

    // Shut the pool down before the process exits (dropping it does the same).
    pool.shutdown();
    Ok(())
}

/// 50 threads call `demo.word_count(TEXT)` concurrently, twice: through the
/// pool, and with the GIL taken by each caller.
fn demo_02(pool: &Arc<WorkerPool>) -> Result<()> {
    println!("demo 02: {CALLERS} concurrent callers x {CALLS_PER_CALLER} calls of demo.word_count");

    let t0 = Instant::now();
    let callers: Vec<_> = (0..CALLERS)
        .map(|_| {
            let pool = Arc::clone(pool);
            thread::spawn(move || {
                for _ in 0..CALLS_PER_CALLER {
                    let cats: i64 = pool
                        .run(|py| {
                            py.import("demo")?
                                .getattr("word_count")?
                                .call1((TEXT,))?
                                .get_item("cat")?
                                .extract()
                        })
                        .expect("word_count on a worker");
                    assert_eq!(cats, 3);
                }
            })
        })
        .collect();
    for c in callers {
        c.join().expect("caller thread");
    }
    let pooled = t0.elapsed();

    // The talk's pattern: every call from every caller thread takes the GIL
    // itself (PyGILState_Ensure/Release creating and deleting a thread state).
    let t0 = Instant::now();
    let callers: Vec<_> = (0..CALLERS)
        .map(|_| {
            thread::spawn(move || {
                for _ in 0..CALLS_PER_CALLER {
                    let cats: i64 = with_gil(|py| -> Result<i64> {
                        py.import("demo")?
                            .getattr("word_count")?
                            .call1((TEXT,))?
                            .get_item("cat")?
                            .extract()
                    })
                    .expect("word_count with the GIL");
                    assert_eq!(cats, 3);
                }
            })
        })
        .collect();
    for c in callers {
        c.join().expect("caller thread");
    }
    let direct = t0.elapsed();

    let calls = (CALLERS * CALLS_PER_CALLER) as f64;
    println!(
        "  through 4 workers:        {:>8.2} us per call (all results correct)",
        pooled.as_secs_f64() * 1e6 / calls
    );
    println!(
        "  each caller takes the GIL: {:>7.2} us per call (all results correct)",
        direct.as_secs_f64() * 1e6 / calls
    );
    println!("  workers' stats: {:?}", pool.stats());
    Ok(())
}

/// Demo 03: what the talk's crash wanted, written the way that cannot crash.
///
/// The Go program did, in effect:
///
/// ```text
/// go func() {
///     state := C.PyGILState_Ensure()   // on OS thread A
///     runtime.Gosched()                // the goroutine resumes on OS thread B
///     C.PyGILState_Release(state)      // on thread B: Fatal Python error
/// }()
/// ```
///
/// The Rust transcription does not compile: the GIL guard is `!Send`, so a
/// task holding it across an `.await` is not `Send` and a multi-threaded
/// runtime refuses to spawn it (`tokio::spawn` requires `Send`):
///
/// ```text
/// let rt = tokio::runtime::Runtime::new().unwrap();
/// rt.spawn(async {
///     let gil = pyhost::GilGuard::acquire();    // on worker thread A
///     tokio::task::yield_now().await;           // may resume on thread B
///     drop(gil);                                // would release on B
/// });
/// ```
///
/// (`error[E0277]: *mut () cannot be sent between threads safely`; the
/// checked versions of this are `compile_fail` doctests in `pyhost::gil` and
/// `pyhost::worker`). The async task below hops between the runtime's threads
/// as it likes; the Python work it awaits always runs on worker 0, whose
/// thread-local Python state (a `threading.local`) survives between jobs.
fn demo_03(pool: &Arc<WorkerPool>) -> Result<()> {
    println!("demo 03: an async task keeps Python state on one worker thread");
    with_gil(|py| {
        py.module_from_code(
            "import threading\n_local = threading.local()\n\ndef visit():\n    \
             _local.n = getattr(_local, 'n', 0) + 1\n    return (_local.n, threading.get_ident())\n",
            "affine_demo.py",
            "affine_demo",
        )
        .map(drop)
    })?;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_time()
        .build()
        .expect("tokio runtime");
    let pool2 = Arc::clone(pool);
    let visits = rt
        .block_on(rt.spawn(async move {
            let mut visits = Vec::new();
            for _ in 0..5 {
                let runtime_thread = format!("{:?}", thread::current().id());
                let (n, ident): (i64, u64) = pool2
                    .submit_async_with(JobOptions::new().on_worker(0), |py| {
                        py.import("affine_demo")?.getattr("visit")?.call0()?.extract()
                    })
                    .await
                    .expect("submitted")
                    .await
                    .expect("visit on worker 0");
                visits.push((runtime_thread, n, ident));
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
            visits
        }))
        .expect("task");
    for (runtime_thread, n, ident) in &visits {
        println!("  task polled on runtime thread {runtime_thread:<12} -> visit #{n} on Python thread {ident}");
    }
    assert!(
        visits.windows(2).all(|w| w[0].2 == w[1].2),
        "one Python thread for all visits"
    );
    assert_eq!(visits.last().map(|v| v.1), Some(5));
    Ok(())
}
