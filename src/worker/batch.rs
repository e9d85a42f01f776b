//! Bursts: many small jobs under one GIL acquisition.
//!
//! Each job a worker runs costs a GIL hand-off (`PyEval_RestoreThread` /
//! `PyEval_SaveThread`) and, if its waiter parked, a thread wake-up. A worker
//! already keeps the GIL while jobs are ready (up to
//! [`PoolBuilder::max_batch`](super::PoolBuilder::max_batch) in a row), but
//! whether the next job is "ready" depends on the submitter's timing. A
//! batch makes it certain: the jobs travel as one queued job, run in order on
//! one worker without releasing the GIL between them, and wake the waiter
//! once.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::job::stop_reason;
use super::{JobError, JobHandle, JobOptions, WorkerPool};
use crate::err::Result;
use crate::ffi;
use crate::gil::Python;

impl WorkerPool {
    /// Run `jobs` in order on one worker, under one GIL acquisition, and
    /// return one handle for all their results (in order).
    ///
    /// Each job fails on its own: a Python exception or a panic becomes that
    /// job's `Err` ([`JobError::Python`], [`JobError::Panicked`]) and the
    /// next job runs. The batch is one job for everything else: `opts`'
    /// timeout covers the whole batch, and cancelling the handle (or a
    /// timeout) stops it at the running job's next bytecode; the remaining
    /// jobs do not run and the handle reports [`JobError::Cancelled`] or
    /// [`JobError::TimedOut`].
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # pyhost::Interpreter::builder().init()?;
    /// use pyhost::worker::{JobOptions, WorkerPool};
    /// let pool = WorkerPool::new(2)?;
    /// let jobs = (0..100).map(|i| move |py: pyhost::Python<'_>| py.eval(&format!("{i} * 2"), None, None)?.extract::<i64>());
    /// let results = pool.submit_batch(JobOptions::new(), jobs)?.wait()?;
    /// assert_eq!(*results[21].as_ref().unwrap(), 42);
    /// # Ok(()) }
    /// ```
    pub fn submit_batch<I, F, R>(
        &self,
        opts: JobOptions,
        jobs: I,
    ) -> Result<JobHandle<Vec<Result<R, JobError>>>, JobError>
    where
        I: IntoIterator<Item = F>,
        F: FnOnce(Python<'_>) -> Result<R> + Send + 'static,
        R: Send + 'static,
    {
        let jobs: Vec<F> = jobs.into_iter().collect();
        self.submit_with(opts, move |py| {
            let mut out = Vec::with_capacity(jobs.len());
            for job in jobs {
                match catch_unwind(AssertUnwindSafe(|| job(py))) {
                    Ok(Ok(v)) => out.push(Ok(v)),
                    // Our cancellation or timeout ends the whole batch: hand
                    // the exception on for the pool to report.
                    Ok(Err(e)) if stop_reason(py, &e).is_some() => return Err(e),
                    Ok(Err(e)) => out.push(Err(JobError::Python(e))),
                    Err(payload) => {
                        // As for a single job: a panic half-way through a C
                        // API sequence must not leave an error set for the next.
                        // SAFETY: jobs run on a worker that holds the GIL.
                        unsafe {
                            if !ffi::PyErr_Occurred().is_null() {
                                ffi::PyErr_Clear();
                            }
                        }
                        out.push(Err(JobError::Panicked(crate::panic::panic_message(&*payload))));
                    }
                }
            }
            Ok(out)
        })
    }
}
