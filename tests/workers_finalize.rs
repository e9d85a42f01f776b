//! Scenario: finalising the interpreter while worker pools are alive is an
//! error, not a crash; after every pool is down it succeeds. Its own binary,
//! because it finalises.

use std::sync::mpsc;
use std::time::Duration;

use pyhost::worker::{JobError, JobOptions, ShutdownMode, WorkerPool};
use pyhost::{Error, Interpreter};

#[test]
fn finalize_waits_for_every_pool_to_be_down() {
    let interp = Interpreter::builder().init().unwrap();
    let pool = WorkerPool::new(2).unwrap();
    assert_eq!(pyhost::interpreter::thread_state_owners(), 2);

    // Wrong order: refused, and nothing is broken by the attempt.
    let e = interp.finalize().unwrap_err();
    assert!(matches!(e, Error::Lifecycle(_)), "{e}");
    assert!(e.to_string().contains("2 worker thread(s)"), "{e}");
    assert_eq!(
        pool.run(|py| py.eval("6 * 7", None, None)?.extract::<i64>()).unwrap(),
        42
    );

    // A worker abandoned with a job stuck in native code still owns its
    // thread state: finalisation stays refused until that thread is gone.
    let (tx, rx) = mpsc::channel::<()>();
    let stuck = pool
        .submit_with(JobOptions::new().timeout(Duration::from_millis(10)), move |py| {
            py.allow_threads(move || {
                let _ = rx.recv();
            });
            Ok(())
        })
        .unwrap();
    assert!(matches!(stuck.wait(), Err(JobError::TimedOut)));
    assert!(!pool.shutdown_timeout(ShutdownMode::Drain, Duration::from_millis(50)));
    let e = interp.finalize().unwrap_err();
    assert!(matches!(e, Error::Lifecycle(_)), "{e}");

    // Right order: release the stuck job, shut the pool down, finalise.
    tx.send(()).unwrap();
    pool.shutdown();
    assert_eq!(pyhost::interpreter::thread_state_owners(), 0);
    drop(pool);
    interp.finalize().unwrap();

    // After finalisation a pool cannot start.
    assert!(matches!(WorkerPool::new(1), Err(Error::Finalized)));
}
