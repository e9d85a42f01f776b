//! Pool modes: batches (many jobs under one GIL acquisition) and the spin
//! policy (no spinning without a spare CPU).

use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once};
use std::thread;
use std::time::{Duration, Instant};

use pyhost::worker::{spare_cpu, JobError, JobOptions, SpinPolicy, WorkerPool};
use pyhost::{with_gil, Interpreter, Python, Result};

/// The tests change interpreter-wide settings (the switch interval): one
/// at a time.
static SERIAL: parking_lot::Mutex<()> = parking_lot::Mutex::new(());

fn init() -> parking_lot::MutexGuard<'static, ()> {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        Interpreter::builder()
            .write_bytecode(false)
            .init()
            .expect("interpreter starts");
    });
    SERIAL.lock()
}

type Job = Box<dyn FnOnce(Python<'_>) -> Result<i64> + Send>;

#[test]
fn a_batch_returns_every_result_in_order_and_failures_stay_per_job() {
    let _serial = init();
    let pool = WorkerPool::new(2).unwrap();
    let mut jobs: Vec<Job> = (0..50)
        .map(|i| Box::new(move |py: Python<'_>| py.eval(&format!("{i} * 2"), None, None)?.extract::<i64>()) as Job)
        .collect();
    jobs[10] = Box::new(|py| py.eval("1 / 0", None, None)?.extract());
    jobs[20] = Box::new(|_| panic!("job 20 panics"));
    let results = pool.submit_batch(JobOptions::new(), jobs).unwrap().wait().unwrap();
    assert_eq!(results.len(), 50);
    for (i, r) in results.iter().enumerate() {
        match (i, r) {
            (10, Err(JobError::Python(e))) => assert!(e.to_string().contains("ZeroDivisionError"), "{e}"),
            (20, Err(JobError::Panicked(msg))) => assert_eq!(msg, "job 20 panics"),
            (10 | 20, other) => panic!("job {i}: {other:?}"),
            (_, Ok(v)) => assert_eq!(*v, 2 * i as i64),
            (_, Err(e)) => panic!("job {i}: {e}"),
        }
    }
    // No error indicator leaks out of the panicking job into the next one.
    assert_eq!(pool.run(|py| py.eval("7", None, None)?.extract::<i64>()).unwrap(), 7);
}

#[test]
fn a_batch_keeps_the_gil_between_its_jobs() {
    let _serial = init();
    if pyhost::interpreter::compiled_free_threaded() {
        return; // no GIL to keep: jobs of both workers interleave freely
    }
    // With a long switch interval the GIL changes hands only when released:
    // another worker's jobs can then only run between the batch's jobs if
    // the batch released it.
    with_gil(|py| {
        py.run(
            "import sys, __main__; sys.setswitchinterval(5.0); __main__.order = []",
            None,
            None,
        )
    })
    .unwrap();
    let pool = WorkerPool::new(2).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let noise = {
        let pool = WorkerPool::builder().name("noise").workers(1).build().unwrap();
        let stop = Arc::clone(&stop);
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                pool.run(|py| py.run("import __main__; __main__.order.append('n')", None, None))
                    .unwrap();
            }
        })
    };
    thread::sleep(Duration::from_millis(20));
    let jobs = (0..200)
        .map(|i| move |py: Python<'_>| py.run(&format!("import __main__; __main__.order.append({i})"), None, None));
    let results = pool.submit_batch(JobOptions::new(), jobs).unwrap().wait().unwrap();
    assert!(results.iter().all(|r| r.is_ok()));
    stop.store(true, Ordering::Relaxed);
    noise.join().unwrap();
    let order: Vec<String> = with_gil(|py| {
        py.run("import sys; sys.setswitchinterval(0.005)", None, None)?;
        py.eval("[str(x) for x in __import__('__main__').order]", None, None)?
            .extract()
    })
    .unwrap();
    let first = order.iter().position(|x| x == "0").expect("the batch ran");
    let batch: Vec<&str> = order[first..first + 200].iter().map(|s| s.as_str()).collect();
    let expected: Vec<String> = (0..200).map(|i| i.to_string()).collect();
    assert_eq!(batch, expected, "another worker's job ran inside the batch");
    assert!(order.iter().any(|x| x == "n"), "the other worker ran meanwhile");
}

#[test]
fn cancelling_a_batch_stops_it_and_the_rest_never_runs() {
    let _serial = init();
    let pool = WorkerPool::new(1).unwrap();
    with_gil(|py| {
        py.run(
            "import __main__; __main__.ran_after = False; __main__.spinning = False",
            None,
            None,
        )
    })
    .unwrap();
    let jobs: Vec<Job> = vec![
        Box::new(|_| Ok(1)),
        Box::new(|py| {
            py.run(
                "import __main__\n__main__.spinning = True\nwhile True: pass",
                None,
                None,
            )?;
            Ok(2)
        }),
        Box::new(|py| {
            py.run("import __main__; __main__.ran_after = True", None, None)?;
            Ok(3)
        }),
    ];
    let h = pool.submit_batch(JobOptions::new(), jobs).unwrap();
    let t0 = Instant::now();
    while !with_gil(|py| {
        py.eval("__import__('__main__').spinning", None, None)?
            .extract::<bool>()
    })
    .unwrap()
    {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the batch never reached its loop"
        );
        thread::sleep(Duration::from_millis(1));
    }
    assert!(h.cancel());
    assert!(matches!(h.wait(), Err(JobError::Cancelled)));
    let ran_after: bool = with_gil(|py| py.eval("__import__('__main__').ran_after", None, None)?.extract()).unwrap();
    assert!(!ran_after);

    // A deadline covers the whole batch.
    let jobs: Vec<Job> = vec![
        Box::new(|_| Ok(1)),
        Box::new(|py| py.eval("[0 for _ in iter(int, 1)]", None, None).map(|_| 0)),
    ];
    let h = pool
        .submit_batch(JobOptions::new().timeout(Duration::from_millis(100)), jobs)
        .unwrap();
    assert!(matches!(h.wait(), Err(JobError::TimedOut)));
    assert_eq!(pool.run(|_| Ok(5)).unwrap(), 5);
}

fn busy_loops(n: usize) -> Vec<Child> {
    (0..n)
        .map(|_| {
            Command::new("sh")
                .args(["-c", "while :; do :; done"])
                .spawn()
                .expect("spawn a busy loop")
        })
        .collect()
}

#[test]
fn no_spare_cpu_while_other_processes_load_every_core() {
    let _serial = init();
    if !std::path::Path::new("/proc/stat").exists() {
        return; // the policy then always spins
    }
    let cpus = thread::available_parallelism().map_or(1, |n| n.get());
    let mut loops = busy_loops(cpus);
    // The answer is refreshed every 100 ms and measured over the interval
    // before: within a second of loading every core it must say no.
    let t0 = Instant::now();
    let mut seen_busy = false;
    while t0.elapsed() < Duration::from_secs(5) {
        if !spare_cpu() {
            seen_busy = true;
            break;
        }
        thread::sleep(Duration::from_millis(20));
    }
    for c in &mut loops {
        let _ = c.kill();
        let _ = c.wait();
    }
    assert!(seen_busy, "{cpus} busy loops, yet a spare CPU was reported");

    // Under that policy a pool still works (it parks instead of spinning),
    // and `Always` is accepted.
    let pool = WorkerPool::builder()
        .workers(1)
        .spin_policy(SpinPolicy::Always)
        .build()
        .unwrap();
    assert_eq!(pool.run(|_| Ok(1)).unwrap(), 1);
}
