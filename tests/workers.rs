//! Thread-affine workers: correctness under load, async awaiting,
//! cancellation, timeouts with worker replacement, panics, backpressure,
//! shutdown, and thread-state accounting.
//!
//! One interpreter for the whole binary. Tests take a shared lock; the one
//! that counts the interpreter's thread states takes it exclusively, so no
//! other test's pool is alive while it counts.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Once};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::Duration;

use parking_lot::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use pyhost::worker::{
    current_worker, thread_state_count, CancelHandle, JobError, JobHandle, JobOptions, ShutdownMode, WorkerPool,
};
use pyhost::{with_gil, Interpreter, Python, Result};

const HELPERS: &str = r#"
import threading

def mul(a, b):
    return a * 1000 + b

def fail(x):
    raise ValueError(f"bad value {x}")

_local = threading.local()

def bump():
    _local.n = getattr(_local, "n", 0) + 1
    return _local.n
"#;

static LOCK: RwLock<()> = RwLock::new(());

fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        Interpreter::builder()
            .write_bytecode(false)
            .init()
            .expect("interpreter starts");
        with_gil(|py| {
            py.module_from_code(HELPERS, "workers_helpers.py", "workers_helpers")
                .map(drop)
        })
        .expect("helper module");
    });
}

/// Most tests: may run alongside each other.
fn shared() -> RwLockReadGuard<'static, ()> {
    init();
    LOCK.read()
}

/// Tests that count process-wide things: run alone.
fn exclusive() -> RwLockWriteGuard<'static, ()> {
    init();
    LOCK.write()
}

fn helper<'py>(py: Python<'py>, name: &str) -> Result<pyhost::Bound<'py>> {
    py.import("workers_helpers")?.getattr(name)
}

fn thread_name() -> String {
    thread::current().name().unwrap_or("?").to_string()
}

/// Poll `cond` until true (without asserting anything about time).
fn eventually(mut cond: impl FnMut() -> bool) {
    while !cond() {
        thread::sleep(Duration::from_millis(1));
    }
}

/// A job that blocks in Rust with the GIL released (like blocking I/O in C)
/// until the returned sender is used or dropped.
fn blocker(pool: &WorkerPool, opts: JobOptions) -> (pyhost::worker::JobHandle<()>, mpsc::Sender<()>) {
    let (tx, rx) = mpsc::channel::<()>();
    let h = pool
        .submit_with(opts, move |py| {
            py.allow_threads(move || {
                let _ = rx.recv();
            });
            Ok(())
        })
        .unwrap();
    eventually(|| h.is_running());
    (h, tx)
}

#[test]
fn ten_thousand_jobs_from_sixteen_threads() {
    let _g = shared();
    let pool = Arc::new(
        WorkerPool::builder()
            .name("t10k")
            .workers(4)
            .capacity(64)
            .build()
            .unwrap(),
    );
    let submitters: Vec<_> = (0..16i64)
        .map(|t| {
            let pool = Arc::clone(&pool);
            thread::spawn(move || {
                // Every fourth submitter targets one worker and checks where its jobs ran.
                let target = (t % 4 == 0).then_some((t / 4) as usize);
                let handles: Vec<_> = (0..625i64)
                    .map(|i| {
                        let opts = match target {
                            Some(w) => JobOptions::new().on_worker(w),
                            None => JobOptions::new(),
                        };
                        let h = pool
                            .submit_with(opts, move |py| {
                                let v: i64 = helper(py, "mul")?.call1((t, i))?.extract()?;
                                Ok((v, current_worker()))
                            })
                            .unwrap();
                        (i, h)
                    })
                    .collect();
                let mut n = 0;
                for (i, h) in handles {
                    let (v, ran_on) = h.wait().unwrap();
                    assert_eq!(v, t * 1000 + i);
                    assert!(ran_on.is_some());
                    if let Some(w) = target {
                        assert_eq!(ran_on, Some(w));
                    }
                    n += 1;
                }
                n
            })
        })
        .collect();
    let total: usize = submitters.into_iter().map(|s| s.join().unwrap()).sum();
    assert_eq!(total, 10_000);
    let stats = pool.stats();
    assert_eq!(stats.succeeded, 10_000);
    assert_eq!(stats.queued, 0);
    assert_eq!(stats.failed + stats.panicked + stats.cancelled + stats.timed_out, 0);
}

#[test]
fn tokio_multi_thread_runtime_awaits_1000_jobs() {
    let _g = shared();
    let pool = Arc::new(
        WorkerPool::builder()
            .name("tokio")
            .workers(2)
            .capacity(16)
            .build()
            .unwrap(),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .build()
        .unwrap();
    let results = rt.block_on(async {
        let tasks: Vec<_> = (0..1000i64)
            .map(|i| {
                let pool = Arc::clone(&pool);
                tokio::spawn(async move {
                    // The executor thread never holds the GIL: submitting
                    // (waiting for room when the queue is full) and awaiting
                    // the result are both waker-driven.
                    assert!(!pyhost::gil::gil_is_held());
                    let handle = pool
                        .submit_async(move |py| helper(py, "mul")?.call1((i, 7))?.extract::<i64>())
                        .await?;
                    let v = handle.await?;
                    Ok::<_, JobError>((i, v))
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap().unwrap());
        }
        out
    });
    assert_eq!(results.len(), 1000);
    for (i, v) in results {
        assert_eq!(v, i * 1000 + 7);
    }
    assert_eq!(pool.stats().succeeded, 1000);
}

/// What the cancelled Python code saw: (module, qualname, is an Exception).
type Seen = Option<(String, String, bool)>;

/// Run `source` as a job in a fresh namespace; the test sees the namespace,
/// so it can wait until the code is inside its loop.
fn submit_in_namespace(pool: &WorkerPool, source: &'static str) -> (pyhost::worker::JobHandle<Seen>, pyhost::Py) {
    let ns = with_gil(|py| py.new_globals().unwrap().into_any().unbind());
    let ns2 = with_gil(|py| ns.clone_ref(py));
    let h = pool
        .submit(move |py| {
            let g = ns2.bind(py);
            py.run(source, Some(g.downcast_dict()?), None)?;
            g.get_item("seen").ok().map(|s| s.extract()).transpose()
        })
        .unwrap();
    (h, ns)
}

fn wait_until_inside_loop(ns: &pyhost::Py) {
    eventually(|| with_gil(|py| ns.bind(py).contains("inside").unwrap()));
}

#[test]
fn cancel_interrupts_a_busy_loop() {
    let _g = shared();
    let pool = WorkerPool::builder().name("cancel").workers(1).build().unwrap();

    // `except Exception` does not swallow the cancellation.
    let (h, ns) = submit_in_namespace(
        &pool,
        "try:\n    inside = 1\n    while True: pass\nexcept Exception:\n    pass\n",
    );
    wait_until_inside_loop(&ns);
    assert!(h.cancel());
    assert!(matches!(h.wait(), Err(JobError::Cancelled)));

    // What Python sees: pyhost.JobCancelled, a BaseException.
    let (h, ns) = submit_in_namespace(
        &pool,
        "try:\n    inside = 1\n    while True: pass\nexcept BaseException as e:\n    seen = (type(e).__module__, type(e).__qualname__, isinstance(e, Exception))\n",
    );
    wait_until_inside_loop(&ns);
    assert!(h.cancel_handle().cancel());
    assert_eq!(
        h.wait().unwrap(),
        Some(("pyhost".to_string(), "JobCancelled".to_string(), false))
    );

    // The worker survived, and no exception is left pending for the next job.
    let n: i64 = pool
        .run(|py| py.eval("sum(range(100000))", None, None)?.extract())
        .unwrap();
    assert_eq!(n, 4999950000);
    assert_eq!(pool.stats().cancelled, 1);
}

#[test]
fn cancel_a_queued_job_and_a_finished_one() {
    let _g = shared();
    let pool = WorkerPool::builder().name("cancelq").workers(1).build().unwrap();
    let (busy, release) = blocker(&pool, JobOptions::new());
    let ran = Arc::new(AtomicBool::new(false));
    let ran2 = Arc::clone(&ran);
    let queued = pool
        .submit(move |_py| {
            ran2.store(true, Ordering::SeqCst);
            Ok(())
        })
        .unwrap();
    assert!(queued.cancel());
    assert!(matches!(queued.wait(), Err(JobError::Cancelled)));
    release.send(()).unwrap();
    busy.wait().unwrap();

    let done = pool.submit(|_py| Ok(5)).unwrap();
    let cancel = done.cancel_handle();
    assert_eq!(done.wait().unwrap(), 5);
    assert!(!cancel.cancel(), "cancelling a finished job is a no-op");
    assert_eq!(
        pool.run(|py| py.eval("1 + 1", None, None)?.extract::<i64>()).unwrap(),
        2
    );
    assert!(!ran.load(Ordering::SeqCst), "a cancelled queued job never runs");
}

#[test]
fn cancel_racing_completion_never_leaks_into_the_next_job() {
    let _g = shared();
    let pool = Arc::new(WorkerPool::builder().name("race").workers(1).build().unwrap());
    let (mut ok, mut cancelled) = (0, 0);
    for i in 0..200u32 {
        let h = pool
            .submit(|py| py.eval("sum(range(3000))", None, None)?.extract::<i64>())
            .unwrap();
        let c = h.cancel_handle();
        let canceller = thread::spawn(move || {
            for _ in 0..(i % 50) * 20 {
                std::hint::spin_loop();
            }
            c.cancel()
        });
        match h.wait() {
            Ok(v) => {
                assert_eq!(v, 4498500);
                ok += 1;
            }
            Err(JobError::Cancelled) => cancelled += 1,
            Err(e) => panic!("unexpected {e}"),
        }
        canceller.join().unwrap();
        // The next job on the same thread runs bytecode: a stray async
        // exception would surface here.
        let v: i64 = pool.run(|py| py.eval("sum(range(10))", None, None)?.extract()).unwrap();
        assert_eq!(v, 45);
    }
    assert_eq!(ok + cancelled, 200);
}

#[test]
fn sleeping_job_past_its_deadline_while_other_jobs_complete() {
    let _g = shared();
    let pool = WorkerPool::builder()
        .name("sleepy")
        .workers(1)
        .stuck_grace(Duration::from_millis(50))
        .build()
        .unwrap();
    let finished = Arc::new(AtomicBool::new(false));
    let f2 = Arc::clone(&finished);
    let sleeper = pool
        .submit_with(JobOptions::new().timeout(Duration::from_millis(200)), move |py| {
            let r = py.run("import time\ntime.sleep(1.5)\n", None, None);
            f2.store(true, Ordering::SeqCst);
            r.map(|()| thread_name())
        })
        .unwrap();
    // Queued behind the sleeper on the pool's only worker.
    let others: Vec<_> = (0..20i64)
        .map(|i| pool.submit(move |_py| Ok((i * 2, thread_name()))).unwrap())
        .collect();

    assert!(matches!(sleeper.wait(), Err(JobError::TimedOut)));
    for (i, h) in others.into_iter().enumerate() {
        let (v, name) = h.wait().unwrap();
        assert_eq!(v, i as i64 * 2);
        // They ran on the replacement thread: the original one is stuck.
        assert_eq!(name, "sleepy-0.1");
    }
    let stats = pool.stats();
    assert_eq!((stats.timed_out, stats.workers_replaced, stats.succeeded), (1, 1, 20));

    // Graceful shutdown also waits for the abandoned thread, which finishes
    // its sleep, has its late result discarded, and exits.
    pool.shutdown();
    assert!(finished.load(Ordering::SeqCst));
    assert_eq!(pool.stats().abandoned_threads, 0);
}

#[test]
fn wait_timeout_on_a_job_blocked_in_native_code() {
    let _g = shared();
    let pool = WorkerPool::builder()
        .name("blocked")
        .workers(1)
        .stuck_grace(Duration::ZERO)
        .build()
        .unwrap();
    let (stuck, release) = blocker(&pool, JobOptions::new());
    assert!(matches!(
        stuck.wait_timeout(Duration::from_millis(20)),
        Err(JobError::TimedOut)
    ));
    // The pool keeps its capacity: a new thread runs the next jobs.
    let name = pool.run(|_py| Ok(thread_name())).unwrap();
    assert_eq!(name, "blocked-0.1");
    assert_eq!(pool.stats().abandoned_threads, 1);
    release.send(()).unwrap();
    eventually(|| pool.stats().abandoned_threads == 0);
    // A quick job's wait_timeout returns its result.
    assert_eq!(
        pool.submit(|_py| Ok(3))
            .unwrap()
            .wait_timeout(Duration::from_secs(60))
            .unwrap(),
        3
    );
}

#[test]
fn panics_and_python_exceptions_come_back_as_errors() {
    let _g = shared();
    let pool = WorkerPool::builder().name("panic").workers(1).build().unwrap();
    let before = pool.run(|_py| Ok(thread_name())).unwrap();

    let r = pool
        .submit(|_py| -> Result<i32> { panic!("boom {}", 42) })
        .unwrap()
        .wait();
    match r {
        Err(JobError::Panicked(msg)) => assert_eq!(msg, "boom 42"),
        other => panic!("expected a panic, got {other:?}"),
    }

    let r = pool.run(|py| helper(py, "fail")?.call1((7,)).map(drop));
    match r {
        Err(JobError::Python(e)) => {
            assert!(e.is("ValueError"), "{e}");
            let tb = e.as_python().unwrap().traceback().unwrap();
            assert!(tb.contains("workers_helpers.py") && tb.contains("in fail"), "{tb}");
            assert!(tb.contains("bad value 7"), "{tb}");
        }
        other => panic!("expected a Python error, got {other:?}"),
    }

    // The same worker thread survived both.
    assert_eq!(pool.run(|_py| Ok(thread_name())).unwrap(), before);
    let stats = pool.stats();
    assert_eq!((stats.panicked, stats.failed, stats.workers_replaced), (1, 1, 0));
}

#[test]
fn targeted_jobs_keep_thread_local_state_and_broadcast_reaches_every_worker() {
    let _g = shared();
    let pool = WorkerPool::builder().name("affine").workers(3).build().unwrap();
    let counts: Vec<i64> = (0..10)
        .map(|_| {
            pool.submit_with(JobOptions::new().on_worker(1), |py| {
                helper(py, "bump")?.call0()?.extract()
            })
            .unwrap()
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.wait().unwrap())
        .collect();
    assert_eq!(counts, (1..=10).collect::<Vec<i64>>());

    let seen: Vec<(usize, Option<usize>, u64)> = pool
        .broadcast(|py, index| {
            Ok((
                index,
                current_worker(),
                py.eval("__import__('threading').get_ident()", None, None)?.extract()?,
            ))
        })
        .unwrap()
        .into_iter()
        .map(|h| h.wait().unwrap())
        .collect();
    let mut idents: Vec<u64> = seen.iter().map(|s| s.2).collect();
    idents.sort();
    idents.dedup();
    assert_eq!(idents.len(), 3);
    for (i, (index, worker, _)) in seen.into_iter().enumerate() {
        assert_eq!((index, worker), (i, Some(i)));
    }
    assert!(matches!(
        pool.submit_with(JobOptions::new().on_worker(3), |_py| Ok(())),
        Err(JobError::NoSuchWorker { index: 3, workers: 3 })
    ));
}

#[test]
fn full_queue_try_submit_fails_fast_and_waiting_submitters_are_served_in_order() {
    let _g = shared();
    let pool = Arc::new(
        WorkerPool::builder()
            .name("fifo")
            .workers(1)
            .capacity(2)
            .build()
            .unwrap(),
    );
    let order = Arc::new(Mutex::new(Vec::new()));
    let (busy, release) = blocker(&pool, JobOptions::new());
    let log = |tag: usize| {
        let order = Arc::clone(&order);
        move |_py: Python<'_>| {
            order.lock().push(tag);
            Ok::<(), pyhost::Error>(())
        }
    };
    let mut handles = vec![pool.try_submit(log(0)).unwrap(), pool.try_submit(log(1)).unwrap()];
    assert!(matches!(pool.try_submit(log(99)), Err(JobError::QueueFull)));

    // Three blocked submitters, arriving in a known order.
    let mut waiters = Vec::new();
    for tag in 2..5 {
        let pool2 = Arc::clone(&pool);
        let job = log(tag);
        waiters.push(thread::spawn(move || pool2.submit(job).unwrap()));
        eventually(|| pool.stats().waiting_submitters == tag - 1);
    }
    // try_submit does not overtake them.
    assert!(matches!(pool.try_submit(log(99)), Err(JobError::QueueFull)));

    release.send(()).unwrap();
    busy.wait().unwrap();
    handles.extend(waiters.into_iter().map(|w| w.join().unwrap()));
    for h in handles {
        h.wait().unwrap();
    }
    assert_eq!(*order.lock(), vec![0, 1, 2, 3, 4]);
}

#[test]
fn graceful_shutdown_drains_queued_jobs() {
    let _g = shared();
    let pool = Arc::new(WorkerPool::builder().name("drain").workers(1).build().unwrap());
    let (busy, release) = blocker(&pool, JobOptions::new());
    let queued: Vec<_> = (0..10i64).map(|i| pool.submit(move |_py| Ok(i)).unwrap()).collect();
    let p2 = Arc::clone(&pool);
    let shutter = thread::spawn(move || p2.shutdown());
    // New work is refused as soon as the shutdown has begun.
    eventually(|| matches!(pool.try_submit(|_py| Ok(0)), Err(JobError::ShutDown)));
    release.send(()).unwrap();
    shutter.join().unwrap();
    busy.wait().unwrap();
    for (i, h) in queued.into_iter().enumerate() {
        assert_eq!(h.wait().unwrap(), i as i64);
    }
    assert!(matches!(pool.submit(|_py| Ok(0)), Err(JobError::ShutDown)));
}

#[test]
fn immediate_shutdown_cancels_queued_jobs_and_interrupts_running_ones() {
    let _g = shared();
    let pool = Arc::new(WorkerPool::builder().name("now").workers(2).build().unwrap());
    let (busy, release) = blocker(&pool, JobOptions::new().on_worker(0));
    let spinning = pool
        .submit_with(JobOptions::new().on_worker(1), |py| {
            py.run("while True: pass", None, None)
        })
        .unwrap();
    eventually(|| spinning.is_running());
    let ran = Arc::new(AtomicUsize::new(0));
    let queued: Vec<_> = (0..10)
        .map(|i| {
            let ran = Arc::clone(&ran);
            pool.submit_with(JobOptions::new().on_worker(i % 2), move |_py| {
                ran.fetch_add(1, Ordering::SeqCst);
                Ok(())
            })
            .unwrap()
        })
        .collect();
    let p2 = Arc::clone(&pool);
    let shutter = thread::spawn(move || p2.shutdown_now());
    // Queued jobs are cancelled without running, while worker 0 is still blocked.
    for h in queued {
        assert!(matches!(h.wait(), Err(JobError::Cancelled)));
    }
    assert!(matches!(spinning.wait(), Err(JobError::Cancelled)));
    release.send(()).unwrap();
    shutter.join().unwrap();
    // The blocked job returned normally (it never ran bytecode again).
    busy.wait().unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}

#[test]
fn waiting_while_holding_the_gil_releases_it() {
    let _g = shared();
    let pool = WorkerPool::builder().name("nested").workers(1).build().unwrap();
    let v = with_gil(|py| {
        let here: i64 = py.eval("40", None, None).unwrap().extract().unwrap();
        here + pool.run(|py| py.eval("2", None, None)?.extract::<i64>()).unwrap()
    });
    assert_eq!(v, 42);
}

#[test]
fn thread_states_return_to_baseline_after_shutdown() {
    let _g = exclusive();
    assert_eq!(pyhost::interpreter::thread_state_owners(), 0);
    let baseline = with_gil(thread_state_count);
    {
        let pool = WorkerPool::builder()
            .name("count")
            .workers(3)
            .stuck_grace(Duration::ZERO)
            .build()
            .unwrap();
        // `build` returns once every worker owns its thread state.
        assert_eq!(with_gil(thread_state_count), baseline + 3);
        assert_eq!(pyhost::interpreter::thread_state_owners(), 3);
        for h in pool
            .broadcast(|py, _| py.eval("1", None, None)?.extract::<i64>())
            .unwrap()
        {
            assert_eq!(h.wait().unwrap(), 1);
        }
        // A timed-out worker: abandoned, replaced, and (once its job returns)
        // gone with its thread state.
        let (stuck, release) = blocker(&pool, JobOptions::new().timeout(Duration::from_millis(10)));
        assert!(matches!(stuck.wait(), Err(JobError::TimedOut)));
        // The stuck slot's broadcast job can only run on its replacement, so
        // once all are done the replacement has attached its thread state.
        for h in pool.broadcast(|_py, _| Ok(())).unwrap() {
            h.wait().unwrap();
        }
        assert_eq!(pool.stats().workers_replaced, 1);
        assert_eq!(with_gil(thread_state_count), baseline + 4);
        assert_eq!(pyhost::interpreter::thread_state_owners(), 4);
        release.send(()).unwrap();
        pool.shutdown();
        assert_eq!(with_gil(thread_state_count), baseline);
        assert_eq!(pyhost::interpreter::thread_state_owners(), 0);
    }
    assert_eq!(with_gil(thread_state_count), baseline);

    // Dropping a pool (no explicit shutdown) also deletes its thread states.
    drop(WorkerPool::new(2).unwrap());
    assert_eq!(with_gil(thread_state_count), baseline);

    // A shutdown that gives up on a stuck thread says so; the thread still
    // releases its state when its job returns.
    let pool = WorkerPool::builder().name("count2").workers(1).build().unwrap();
    let (stuck, release) = blocker(&pool, JobOptions::new());
    assert!(!pool.shutdown_timeout(ShutdownMode::Drain, Duration::from_millis(20)));
    assert_eq!(pyhost::interpreter::thread_state_owners(), 1);
    release.send(()).unwrap();
    stuck.wait().unwrap();
    assert!(pool.shutdown_timeout(ShutdownMode::Drain, Duration::from_secs(600)));
    assert_eq!(pyhost::interpreter::thread_state_owners(), 0);
    assert_eq!(with_gil(thread_state_count), baseline);
}

// ---- adversarial: races, lost wake-ups, panics on worker threads ------------

/// Run `f` on its own thread and fail (instead of hanging the whole binary)
/// if it has not returned after a generous grace. A hang detector, not a
/// timing assertion: every use finishes in milliseconds when correct.
fn finishes<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let t = thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(v) => {
            t.join().unwrap();
            v
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => match t.join() {
            Err(p) => std::panic::resume_unwind(p),
            Ok(()) => unreachable!(),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: still blocked after 60 s"),
    }
}

/// Panics when dropped: stands for user data with a fallible destructor.
struct PanicOnDrop(&'static str);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        if !thread::panicking() {
            panic!("{}", self.0);
        }
    }
}

#[test]
fn a_batch_wakes_parked_waiters_before_running_a_job_that_blocks() {
    // One worker runs up to `max_batch` ready jobs per GIL acquisition. It
    // used to defer every wake-up to the end of the batch; a waiter parked
    // on job 1 was then never woken while job 2 of the same batch blocked
    // on something that waiter does next.
    let _g = shared();
    let pool = WorkerPool::builder()
        .name("batchwake")
        .workers(1)
        .spin(Duration::ZERO) // waiters park at once
        .build()
        .unwrap();
    let (gate, open) = blocker(&pool, JobOptions::new());
    let first = pool.submit(|_py| Ok(1)).unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    let second = pool
        .submit(move |py| {
            py.allow_threads(move || rx.recv().is_ok());
            Ok(2)
        })
        .unwrap();
    // gate, first and second now run in one batch.
    open.send(()).unwrap();
    let (done_tx, done_rx) = mpsc::channel();
    let waiter = thread::spawn(move || done_tx.send(first.wait().unwrap()).unwrap());
    let got = done_rx.recv_timeout(Duration::from_secs(60));
    tx.send(()).unwrap(); // unblock `second` in any case, so a failure does not hang
    assert_eq!(got, Ok(1), "the waiter of a finished job was never woken");
    waiter.join().unwrap();
    assert_eq!(second.wait().unwrap(), 2);
    gate.wait().unwrap();
}

#[test]
fn panics_in_user_destructors_and_wakers_do_not_kill_a_worker() {
    let _g = shared();
    let pool = WorkerPool::builder()
        .name("bombs")
        .workers(1)
        .async_spin(Duration::ZERO)
        .build()
        .unwrap();
    let before = pool.run(|_py| Ok(thread_name())).unwrap();

    // A queued job cancelled before it starts: the worker drops its closure.
    let (gate, open) = blocker(&pool, JobOptions::new());
    let bomb = PanicOnDrop("closure destructor");
    let cancelled = pool
        .submit(move |_py| {
            let _keep = &bomb;
            Ok(())
        })
        .unwrap();
    assert!(cancelled.cancel());
    // A result nobody waits for: the worker drops it.
    drop(pool.submit(|_py| Ok(PanicOnDrop("result destructor"))).unwrap());
    // A future whose waker panics when the worker wakes it.
    struct PanickyWaker;
    impl std::task::Wake for PanickyWaker {
        fn wake(self: Arc<Self>) {
            panic!("waker");
        }
    }
    let mut awaited = pool.submit(|_py| Ok(3)).unwrap();
    let waker = std::task::Waker::from(Arc::new(PanickyWaker));
    let polled = std::future::Future::poll(
        std::pin::Pin::new(&mut awaited),
        &mut std::task::Context::from_waker(&waker),
    );
    assert!(polled.is_pending());
    open.send(()).unwrap();
    gate.wait().unwrap();
    assert!(matches!(cancelled.wait(), Err(JobError::Cancelled)));
    let pool = finishes("a job after the panics", move || {
        assert_eq!(pool.run(|_py| Ok(thread_name())).unwrap(), before);
        pool
    });
    eventually(|| awaited.is_finished());
    assert_eq!(awaited.wait().unwrap(), 3);
    assert_eq!(pool.stats().workers_replaced, 0);
    finishes("shutdown", move || pool.shutdown());
}

#[test]
fn shutdown_now_cancels_a_job_taken_from_the_queue_but_not_started() {
    // The worker has taken the job from the queue and waits for the GIL
    // (held here) when shutdown_now looks for running jobs: it is neither
    // queued nor registered as running. It used to run anyway: forever.
    let _g = shared();
    let pool = Arc::new(WorkerPool::builder().name("popped").workers(1).build().unwrap());
    let p2 = Arc::clone(&pool);
    let h = finishes("shutdown_now", move || {
        with_gil(|_py| {
            let h = p2.submit(|py| py.run("while True: pass", None, None)).unwrap();
            eventually(|| p2.stats().queued == 0);
            p2.shutdown_now();
            h
        })
    });
    assert!(matches!(h.wait(), Err(JobError::Cancelled)));
}

#[test]
fn deadlines_are_still_enforced_after_a_shutdown_that_timed_out() {
    let _g = shared();
    let pool = WorkerPool::builder().name("latedeadline").workers(1).build().unwrap();
    let (gate, open) = blocker(&pool, JobOptions::new());
    let looping = pool
        .submit_with(JobOptions::new().timeout(Duration::from_millis(20)), |py| {
            py.run("while True: pass", None, None)
        })
        .unwrap();
    // The worker is blocked in `gate`: the shutdown gives up on it.
    assert!(!pool.shutdown_timeout(ShutdownMode::Drain, Duration::from_millis(10)));
    open.send(()).unwrap();
    gate.wait().unwrap();
    // The drained job still has its deadline: it is timed out and stops.
    let looping = finishes("the looping job's deadline", move || looping.wait());
    assert!(matches!(looping, Err(JobError::TimedOut)));
    assert!(finishes("shutdown", move || pool
        .shutdown_timeout(ShutdownMode::Drain, Duration::from_secs(600))));
}

const ARM_ASYNC_EXC: &str = r#"
import ctypes, threading
ev = threading.Event()
def _shoot(ident=threading.get_ident()):
    ev.wait()
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(RuntimeError))
shooter = threading.Thread(target=_shoot)
shooter.start()
"#;

#[test]
fn an_async_exception_delivered_between_jobs_is_cleared() {
    // Python code (here a thread started by a job) aims an async exception
    // at a worker's thread id while the worker is idle: the next job on that
    // worker must not see it.
    let _g = shared();
    let pool = WorkerPool::builder().name("stray").workers(1).build().unwrap();
    let ns = pool
        .run(|py| {
            let g = py.new_globals()?;
            py.run(ARM_ASYNC_EXC, Some(&g), None)?;
            Ok(g.into_any().unbind())
        })
        .unwrap();
    with_gil(|py| -> Result<()> {
        let g = ns.bind(py);
        g.get_item("ev")?.call_method0("set")?;
        g.get_item("shooter")?.call_method0("join")?;
        Ok(())
    })
    .unwrap();
    let v: i64 = pool.run(|py| py.eval("sum(range(10))", None, None)?.extract()).unwrap();
    assert_eq!(v, 45);
}

#[test]
fn abandoned_workers_whose_job_returns_at_once_are_accounted_for() {
    // The supervisor abandons a worker while its job is returning: the old
    // thread exits at once, racing the supervisor's bookkeeping.
    let _g = shared();
    let pool = WorkerPool::builder()
        .name("abandonrace")
        .workers(1)
        .stuck_grace(Duration::ZERO)
        .build()
        .unwrap();
    for i in 0..40u32 {
        let (release, rx) = mpsc::channel::<()>();
        let h = pool
            .submit_with(JobOptions::new().timeout(Duration::from_millis(1)), move |py| {
                py.allow_threads(move || rx.recv().is_ok());
                Ok(())
            })
            .unwrap();
        eventually(|| h.is_finished());
        for _ in 0..(i % 8) * 500 {
            std::hint::spin_loop();
        }
        release.send(()).unwrap();
        assert!(matches!(h.wait(), Err(JobError::TimedOut)));
        assert_eq!(pool.run(|_py| Ok(7)).unwrap(), 7);
    }
    let pool = finishes("abandoned threads exit", move || {
        eventually(|| pool.stats().abandoned_threads == 0);
        pool
    });
    assert!(pool.stats().workers_replaced >= 1);
    finishes("shutdown", move || pool.shutdown());
}

#[test]
fn bad_pool_name_is_an_error_and_leaks_no_thread_state_owner() {
    let _g = exclusive();
    let r = std::panic::catch_unwind(|| WorkerPool::builder().name("bad\0name").workers(2).build());
    assert!(matches!(r, Ok(Err(pyhost::Error::Lifecycle(_)))), "{r:?}");
    assert_eq!(pyhost::interpreter::thread_state_owners(), 0);
}

#[test]
fn dropping_a_pool_inside_its_own_job_does_not_deadlock() {
    let _g = exclusive();
    let baseline = with_gil(thread_state_count);

    // Graceful (Drop): the job that drops the last handle does not wait for
    // itself; the jobs queued behind it still run; the threads then exit.
    let pool = Arc::new(WorkerPool::builder().name("selfdrop").workers(2).build().unwrap());
    let (gate, open) = blocker(&pool, JobOptions::new().on_worker(0));
    let inner = Arc::clone(&pool);
    let dropper = pool
        .submit_with(JobOptions::new().on_worker(0), move |py| {
            drop(inner);
            py.eval("1 + 1", None, None)?.extract::<i64>()
        })
        .unwrap();
    let after: Vec<_> = (0..6i64)
        .map(|i| {
            pool.submit_with(JobOptions::new().on_worker(i as usize % 2), move |_py| Ok(i))
                .unwrap()
        })
        .collect();
    drop(pool);
    open.send(()).unwrap();
    finishes("jobs of a pool dropped in its own job", move || {
        gate.wait().unwrap();
        assert_eq!(dropper.wait().unwrap(), 2);
        for (i, h) in after.into_iter().enumerate() {
            assert_eq!(h.wait().unwrap(), i as i64);
        }
        eventually(|| pyhost::interpreter::thread_state_owners() == 0);
    });
    assert_eq!(with_gil(thread_state_count), baseline);

    // Immediate, from inside a job: queued jobs are cancelled, the calling
    // job is not (it keeps running bytecode afterwards).
    let pool = Arc::new(WorkerPool::builder().name("selfnow").workers(1).build().unwrap());
    let (gate, open) = blocker(&pool, JobOptions::new());
    let inner = Arc::clone(&pool);
    let caller = pool
        .submit(move |py| {
            inner.shutdown_now();
            drop(inner);
            py.eval("sum(range(100000))", None, None)?.extract::<i64>()
        })
        .unwrap();
    let queued = pool.submit(|_py| Ok(1)).unwrap();
    open.send(()).unwrap();
    finishes("shutdown_now inside a job", move || {
        gate.wait().unwrap();
        assert_eq!(caller.wait().unwrap(), 4999950000);
        assert!(matches!(queued.wait(), Err(JobError::Cancelled)));
        pool.shutdown();
    });
    assert_eq!(pyhost::interpreter::thread_state_owners(), 0);
    assert_eq!(with_gil(thread_state_count), baseline);
}

/// A waker that records that it was woken (and unparks a thread).
struct Flag {
    woken: AtomicBool,
    thread: thread::Thread,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.thread.unpark();
    }
}

fn flag_waker() -> (Arc<Flag>, Waker) {
    let flag = Arc::new(Flag {
        woken: AtomicBool::new(false),
        thread: thread::current(),
    });
    (Arc::clone(&flag), Waker::from(flag))
}

/// A minimal executor: poll, park until woken.
fn block_on<F: Future>(f: F) -> F::Output {
    let (flag, waker) = flag_waker();
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        while !flag.woken.swap(false, Ordering::SeqCst) {
            thread::park();
        }
    }
}

#[test]
fn ten_thousand_cancels_racing_completion_never_hit_another_job() {
    // Tiny Python jobs, half of them cancelled from another thread after a
    // varying delay: each cancel lands before, during or after its job. A
    // job reported cancelled must be one that was cancelled (an async
    // exception that outlived its job would surface in a later one as a
    // JobCancelled nobody asked for), and every other job returns its value.
    let _g = shared();
    const N: usize = 10_000;
    let pool = WorkerPool::builder().name("race10k").workers(2).build().unwrap();
    let (tx, rx) = mpsc::channel::<(CancelHandle, Arc<AtomicBool>, u32)>();
    let canceller = thread::spawn(move || {
        for (c, asked, delay) in rx {
            for _ in 0..delay {
                std::hint::spin_loop();
            }
            asked.store(true, Ordering::SeqCst);
            c.cancel();
        }
    });
    let check = |(h, asked): (JobHandle<i64>, Arc<AtomicBool>)| match h.wait() {
        Ok(v) => {
            assert_eq!(v, 190);
            (1, 0)
        }
        Err(JobError::Cancelled) => {
            assert!(asked.load(Ordering::SeqCst), "a job nobody cancelled was cancelled");
            (0, 1)
        }
        Err(e) => panic!("unexpected {e}"),
    };
    let (mut ok, mut cancelled) = (0, 0);
    let mut in_flight = VecDeque::new();
    for i in 0..N {
        let h = pool
            .submit(|py| py.eval("sum(range(20))", None, None)?.extract::<i64>())
            .unwrap();
        let asked = Arc::new(AtomicBool::new(false));
        if i % 2 == 0 {
            let delay = (i as u32).wrapping_mul(2_654_435_761) % 3000;
            tx.send((h.cancel_handle(), Arc::clone(&asked), delay)).unwrap();
        }
        in_flight.push_back((h, asked));
        if in_flight.len() > 3 {
            let (o, c) = check(in_flight.pop_front().unwrap());
            ok += o;
            cancelled += c;
        }
    }
    for job in in_flight {
        let (o, c) = check(job);
        ok += o;
        cancelled += c;
    }
    drop(tx);
    canceller.join().unwrap();
    assert_eq!(ok + cancelled, N);
    assert!(ok >= N / 2, "only cancelled jobs may fail");
    let stats = pool.stats();
    assert_eq!((stats.succeeded, stats.cancelled), (ok as u64, cancelled as u64));
    assert_eq!(stats.failed + stats.panicked + stats.timed_out, 0);
}

#[test]
fn submitters_racing_shutdown_now_lose_and_duplicate_nothing() {
    // Blocking, try and async submitters against a small queue, and a
    // shutdown_now at a varying moment: every accepted job either ran once
    // and returned its value, or never ran and was reported cancelled.
    let _g = shared();
    for round in 0..20usize {
        let pool = Arc::new(
            WorkerPool::builder()
                .name("mixed")
                .workers(2)
                .capacity(4)
                .build()
                .unwrap(),
        );
        // Worker 1 is busy in Python until shutdown_now interrupts it.
        let looping = pool
            .submit_with(JobOptions::new().on_worker(1), |py| {
                py.run("while True: pass", None, None)
            })
            .unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        let submitters: Vec<_> = (0..6usize)
            .map(|t| {
                let pool = Arc::clone(&pool);
                let ran = Arc::clone(&ran);
                thread::spawn(move || {
                    let mut handles = Vec::new();
                    for i in 0usize.. {
                        let ran = Arc::clone(&ran);
                        let job = move |_py: Python<'_>| {
                            ran.fetch_add(1, Ordering::SeqCst);
                            Ok(i)
                        };
                        let r = match (t + i) % 3 {
                            0 => pool.submit(job),
                            1 => pool.try_submit(job),
                            _ => block_on(pool.submit_async(job)),
                        };
                        match r {
                            Ok(h) => handles.push((i, h)),
                            Err(JobError::QueueFull) => thread::yield_now(),
                            Err(JobError::ShutDown) => break,
                            Err(e) => panic!("unexpected {e}"),
                        }
                    }
                    let (mut ok, mut cancelled) = (0u64, 0u64);
                    for (n, (i, h)) in handles.into_iter().enumerate() {
                        let r = if n % 2 == 0 { h.wait() } else { block_on(h) };
                        match r {
                            Ok(v) => {
                                assert_eq!(v, i);
                                ok += 1;
                            }
                            Err(JobError::Cancelled) => cancelled += 1,
                            Err(e) => panic!("unexpected {e}"),
                        }
                    }
                    (ok, cancelled)
                })
            })
            .collect();
        let target = 20 * (round % 5 + 1);
        eventually(|| ran.load(Ordering::SeqCst) >= target);
        let p2 = Arc::clone(&pool);
        finishes("shutdown_now", move || p2.shutdown_now());
        let (ok, cancelled) = finishes("submitters", move || {
            submitters
                .into_iter()
                .map(|s| s.join().unwrap())
                .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
        });
        assert!(matches!(looping.wait(), Err(JobError::Cancelled)));
        assert_eq!(ran.load(Ordering::SeqCst) as u64, ok, "a job ran but was not reported");
        let stats = pool.stats();
        assert_eq!(stats.succeeded, ok);
        assert_eq!(stats.cancelled, cancelled + 1);
        assert_eq!((stats.queued, stats.waiting_submitters), (0, 0));
    }
}

#[test]
fn futures_woken_at_the_moment_they_register_are_never_lost() {
    let _g = shared();
    let pool = Arc::new(
        WorkerPool::builder()
            .name("wakerace")
            .workers(2)
            .capacity(2)
            .spin(Duration::ZERO)
            .async_spin(Duration::ZERO)
            .build()
            .unwrap(),
    );

    // By hand: poll at a varying moment around the job's completion; a
    // Pending poll must be followed by a wake-up, and a poll after the
    // wake-up must be Ready.
    let p2 = Arc::clone(&pool);
    finishes("hand-polled handles", move || {
        for i in 0..5_000u32 {
            let mut h = p2.submit(move |_py| Ok(i)).unwrap();
            for _ in 0..(i.wrapping_mul(2_654_435_761) % 2000) {
                std::hint::spin_loop();
            }
            let (flag, waker) = flag_waker();
            let mut cx = Context::from_waker(&waker);
            match Pin::new(&mut h).poll(&mut cx) {
                Poll::Ready(v) => assert_eq!(v.unwrap(), i),
                Poll::Pending => {
                    while !flag.woken.load(Ordering::SeqCst) {
                        thread::park();
                    }
                    match Pin::new(&mut h).poll(&mut cx) {
                        Poll::Ready(v) => assert_eq!(v.unwrap(), i),
                        Poll::Pending => panic!("woken before the result was there"),
                    }
                }
            }
        }
    });

    // Many tasks of a multi-thread runtime waiting for room (capacity 2) and
    // for results, with no spinning anywhere: every wait registers a waker.
    let p3 = Arc::clone(&pool);
    let sum = finishes("tokio tasks", move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(3)
            .build()
            .unwrap();
        rt.block_on(async move {
            let tasks: Vec<_> = (0..3_000u64)
                .map(|i| {
                    let pool = Arc::clone(&p3);
                    tokio::spawn(async move { pool.submit_async(move |_py| Ok(i)).await?.await })
                })
                .collect();
            let mut sum = 0;
            for t in tasks {
                sum += t.await.unwrap().unwrap();
            }
            sum
        })
    });
    assert_eq!(sum, (0..3_000u64).sum::<u64>());
}
