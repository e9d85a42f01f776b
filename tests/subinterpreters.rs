//! Own-GIL sub-interpreters (3.12+): isolation, parallelism measured by
//! timestamps taken inside the jobs, failures contained per interpreter, and
//! create/destroy cycles that leave nothing behind. Scenario: the default
//! interpreter plus sub-interpreters; on 3.11 only the refusal is tested.

mod common;

#[test]
#[cfg(not(Py_3_12))]
fn before_3_12_creating_one_is_a_clear_error() {
    common::interp();
    let e = pyhost::SubInterpreter::new().unwrap_err().to_string();
    assert!(e.contains("3.12"), "{e}");
    assert!(e.contains(pyhost::interpreter::compiled_version()), "{e}");
}

#[cfg(Py_3_12)]
mod own_gil {
    use std::time::Duration;

    use pyhost::interp::count_interpreters;
    use pyhost::worker::{JobError, JobOptions, WorkerPool};
    use pyhost::{SubInterpreter, SubInterpreterConfig};

    use super::common;

    /// Tests here measure parallelism or count interpreters: one at a time.
    /// (A failed test poisons nothing: parking_lot's mutex has no poisoning.)
    static SERIAL: parking_lot::Mutex<()> = parking_lot::Mutex::new(());

    #[test]
    fn a_global_in_one_is_invisible_in_another() {
        let _serial = SERIAL.lock();
        common::interp();
        let a = SubInterpreter::new().unwrap();
        let b = SubInterpreter::new().unwrap();
        assert_ne!(a.id(), b.id());
        assert_ne!(a.id(), pyhost::interp::MAIN_INTERPRETER);
        a.run(|py| {
            py.run(
                "import builtins, sys; builtins.marker = 'a'; sys.modules['only_a'] = sys",
                None,
                None,
            )
        })
        .unwrap();
        let seen: (bool, bool) = b
            .run(|py| {
                py.eval(
                    "(hasattr(__import__('builtins'), 'marker'), 'only_a' in __import__('sys').modules)",
                    None,
                    None,
                )?
                .extract()
            })
            .unwrap();
        assert_eq!(seen, (false, false));
        let main_sees: bool = pyhost::with_gil(|py| {
            py.eval("hasattr(__import__('builtins'), 'marker')", None, None)?
                .extract()
        })
        .unwrap();
        assert!(!main_sees);
        let again: String = a
            .run(|py| py.eval("__import__('builtins').marker", None, None)?.extract())
            .unwrap();
        assert_eq!(again, "a");
    }

    /// A CPU-bound loop that notes `time.monotonic_ns()` every few hundred
    /// iterations (about every 20 us), for `ms` milliseconds.
    const TIMELINE: &str = "def timeline(ms):\n    import time\n    out = []\n    end = time.monotonic_ns() + ms * 1_000_000\n    x = 0\n    while True:\n        for i in range(200):\n            x += i * i\n        t = time.monotonic_ns()\n        out.append(t)\n        if t > end:\n            return out\n";

    fn timeline(py: pyhost::Python<'_>, ms: u64) -> pyhost::Result<Vec<u64>> {
        let m = py.module_from_code(TIMELINE, "timeline.py", "timeline")?;
        m.getattr("timeline")?.call1((ms,))?.extract()
    }

    /// The share of `a`'s samples (inside the span both cover) that have a
    /// sample of `b` within `window_ns`: near 1 when the two ran at the same
    /// time, low when they took turns (a GIL hands over every 5 ms).
    fn concurrency(a: &[u64], b: &[u64], window_ns: u64) -> f64 {
        let lo = a[0].max(b[0]);
        let hi = a[a.len() - 1].min(b[b.len() - 1]);
        let inside: Vec<u64> = a.iter().copied().filter(|t| (lo..=hi).contains(t)).collect();
        assert!(
            inside.len() > 100,
            "the two jobs barely overlapped in time: {} samples",
            inside.len()
        );
        let near = inside
            .iter()
            .filter(|&&t| {
                let i = b.partition_point(|&x| x < t);
                let after = b.get(i).map(|&x| x - t);
                let before = i.checked_sub(1).map(|j| t - b[j]);
                after.into_iter().chain(before).any(|d| d <= window_ns)
            })
            .count();
        near as f64 / inside.len() as f64
    }

    /// Run two timelines at once on `pool`'s two workers; both start when
    /// both workers are ready. The clock is the same in every interpreter.
    fn two_at_once(pool: &WorkerPool) -> f64 {
        let start = |i: usize| {
            pool.submit_with(JobOptions::new().on_worker(i), |py| timeline(py, 300))
                .unwrap()
        };
        let (a, b) = (start(0), start(1));
        let (a, b) = (a.wait().unwrap(), b.wait().unwrap());
        concurrency(&a, &b, 500_000)
    }

    #[test]
    fn cpu_bound_jobs_run_in_parallel_on_own_gil_workers_and_take_turns_under_one_gil() {
        let _serial = SERIAL.lock();
        common::interp();
        let own = WorkerPool::builder()
            .workers(2)
            .subinterpreters(SubInterpreterConfig::default())
            .build()
            .unwrap();
        let shared = WorkerPool::builder().workers(2).build().unwrap();
        // Best of three, against a busy moment of the machine.
        let parallel = (0..3).map(|_| two_at_once(&own)).fold(0.0, f64::max);
        let turns = (0..3).map(|_| two_at_once(&shared)).fold(1.0, f64::min);
        eprintln!("concurrency: own-GIL workers {parallel:.2}, one shared interpreter {turns:.2}");
        assert!(
            parallel > 0.7,
            "own-GIL workers did not run at the same time: {parallel:.2}"
        );
        if pyhost::interpreter::compiled_free_threaded() {
            // No GIL at all: the ordinary pool runs in parallel too.
            assert!(
                turns > 0.7,
                "free-threaded workers did not run at the same time: {turns:.2}"
            );
        } else {
            assert!(turns < 0.4, "workers sharing one GIL ran at the same time: {turns:.2}");
        }
    }

    #[test]
    fn a_failing_or_timed_out_job_leaves_the_other_interpreters_running() {
        let _serial = SERIAL.lock();
        common::interp();
        let pool = WorkerPool::builder()
            .workers(2)
            .subinterpreters(SubInterpreterConfig::default())
            .stuck_grace(Duration::from_millis(200))
            .build()
            .unwrap();
        let fail = pool
            .submit_with(JobOptions::new().on_worker(0), |py| {
                py.run("raise ValueError('boom in a sub-interpreter')", None, None)
            })
            .unwrap()
            .wait()
            .unwrap_err();
        match &fail {
            JobError::Python(e) => assert!(e.to_string().contains("ValueError: boom in a sub-interpreter"), "{e}"),
            other => panic!("{other:?}"),
        }
        let slow = pool
            .submit_with(
                JobOptions::new().on_worker(0).timeout(Duration::from_millis(100)),
                |py| py.run("while True:\n    pass", None, None),
            )
            .unwrap();
        let other = pool
            .submit_with(JobOptions::new().on_worker(1), |py| timeline(py, 200).map(|v| v.len()))
            .unwrap();
        assert!(matches!(slow.wait(), Err(JobError::TimedOut)));
        assert!(other.wait().unwrap() > 100);
        // The timed-out job got pyhost.JobTimeout in its own interpreter and
        // stopped: its worker takes jobs again.
        let after: i64 = pool
            .submit_with(JobOptions::new().on_worker(0), |py| {
                py.eval("6 * 7", None, None)?.extract()
            })
            .unwrap()
            .wait()
            .unwrap();
        assert_eq!(after, 42);
        assert_eq!(pool.stats().workers_replaced, 0, "the job stopped at the JobTimeout");
        let cancel_me = pool
            .submit_with(JobOptions::new().on_worker(1), |py| {
                py.run("while True:\n    pass", None, None)
            })
            .unwrap();
        std::thread::sleep(Duration::from_millis(50));
        cancel_me.cancel();
        assert!(matches!(cancel_me.wait(), Err(JobError::Cancelled)));
    }

    #[test]
    fn a_py_cannot_be_used_in_another_interpreter() {
        let _serial = SERIAL.lock();
        common::interp();
        let sub = SubInterpreter::new().unwrap();
        let from_main = pyhost::with_gil(|py| py.eval("['main']", None, None).unwrap().unbind());
        assert_eq!(from_main.interpreter(), pyhost::interp::MAIN_INTERPRETER);
        let (err, back) = sub
            .run(move |py| {
                let err = from_main.try_bind(py).unwrap_err();
                let mine = py.eval("['sub']", None, None)?.unbind();
                // Dropped here, in the wrong interpreter: deferred, not decref'd.
                drop(from_main);
                Ok((err.to_string(), mine))
            })
            .unwrap();
        assert!(err.contains("objects cannot cross interpreters"), "{err}");
        assert_eq!(back.interpreter(), sub.id());
        pyhost::with_gil(|py| {
            assert!(back.try_bind(py).is_err());
            let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let _ = back.bind(py);
            }));
            assert!(caught.is_err(), "bind in the wrong interpreter panics");
        });
        drop(back);
    }

    #[test]
    fn create_and_destroy_return_everything_to_baseline() {
        let _serial = SERIAL.lock();
        common::interp();
        let (interps, owners) = (count_interpreters(), pyhost::interpreter::thread_state_owners());
        for _ in 0..1000 {
            let sub = SubInterpreter::new().unwrap();
            let n: i64 = sub.run(|py| py.eval("1 + 1", None, None)?.extract()).unwrap();
            assert_eq!(n, 2);
            assert!(sub.close(Duration::from_secs(10)));
        }
        assert_eq!(count_interpreters(), interps);
        assert_eq!(pyhost::interpreter::thread_state_owners(), owners);
        assert_eq!(
            pyhost::with_gil(pyhost::worker::thread_state_count),
            pyhost::with_gil(pyhost::worker::thread_state_count)
        );
    }

    #[test]
    fn a_stuck_job_leaves_its_interpreter_to_a_replacement_worker() {
        let _serial = SERIAL.lock();
        common::interp();
        let interps = count_interpreters();
        let sub = SubInterpreter::builder(SubInterpreterConfig::default())
            .stuck_grace(Duration::from_millis(100))
            .build()
            .unwrap();
        sub.run(|py| py.run("import builtins; builtins.state = 'kept'", None, None))
            .unwrap();
        // Blocked in C: the JobTimeout cannot interrupt it.
        let stuck = sub
            .submit_with(JobOptions::new().timeout(Duration::from_millis(100)), |py| {
                py.run("import time; time.sleep(1.5)", None, None)
            })
            .unwrap();
        assert!(matches!(stuck.wait(), Err(JobError::TimedOut)));
        // The replacement worker lives in the same interpreter.
        let t0 = std::time::Instant::now();
        let state: String = sub
            .run(|py| py.eval("__import__('builtins').state", None, None)?.extract())
            .unwrap();
        assert_eq!(state, "kept");
        assert!(
            t0.elapsed() < Duration::from_millis(1200),
            "the replacement waited for the stuck job"
        );
        assert_eq!(sub.pool().stats().workers_replaced, 1);
        // Entering from this thread works while the stuck thread sleeps.
        let entered = sub.enter(|py| {
            py.eval("__import__('builtins').state", None, None)
                .and_then(|v| v.extract::<String>())
        });
        assert_eq!(entered.unwrap().unwrap(), "kept");
        assert!(
            sub.close(Duration::from_secs(5)),
            "the stuck thread left when its sleep ended"
        );
        assert_eq!(
            count_interpreters(),
            interps,
            "the interpreter ended with its last thread"
        );
    }
}
