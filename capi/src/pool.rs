//! Worker pools through the C ABI: `pyhost_pool_*` (pyhost's
//! [`WorkerPool`]: threads that each own one Python thread state for life).

use std::ffi::{c_char, c_int};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use pyhost::{JobError, JobOptions, Python, WorkerPool};

use crate::error::{arg_str, err_text, guard, opt_str, panic_message, reset_out, set_error, write_out};
use crate::json::call_json_py;

/// A worker pool (`pyhost_pool` in the header): threads that each own one
/// Python thread state for life.
#[allow(non_camel_case_types)] // the C name
#[derive(Debug)]
pub struct pyhost_pool {
    pool: WorkerPool,
}

/// Start a pool of `workers` threads. See `include/pyhost.h`.
///
/// # Safety
/// `pool_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pyhost_pool_new(workers: usize, pool_out: *mut *mut pyhost_pool) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a writable pointer.
        unsafe { reset_out(pool_out, "pool_out") }?;
        if workers == 0 {
            return Err("workers must be at least 1".to_string());
        }
        let pool = WorkerPool::new(workers).map_err(err_text)?;
        let raw = Box::into_raw(Box::new(pyhost_pool { pool }));
        // SAFETY: checked non-NULL above.
        unsafe { *pool_out = raw };
        Ok(())
    })
}

/// [`pyhost_call_json`](crate::json::pyhost_call_json) on one of the pool's workers, waiting for the
/// result. See `include/pyhost.h`.
///
/// # Safety
/// `pool` is NULL or a live pool from [`pyhost_pool_new`]; the strings are
/// NULL or NUL-terminated; `json_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn pyhost_pool_call_json(
    pool: *const pyhost_pool,
    module: *const c_char,
    function: *const c_char,
    args_json: *const c_char,
    timeout_seconds: f64,
    json_out: *mut *mut c_char,
) -> c_int {
    guard(|| {
        // SAFETY: the caller passes NULL or a writable pointer.
        unsafe { reset_out(json_out, "json_out") }?;
        if pool.is_null() {
            return Err("pool is NULL".to_string());
        }
        // SAFETY: non-NULL; the caller guarantees it is a live pool.
        let pool = unsafe { &(*pool).pool };
        // SAFETY: the caller guarantees NUL termination (NULL is checked).
        let module = unsafe { arg_str(module, "module") }?.to_string();
        // SAFETY: as above.
        let function = unsafe { arg_str(function, "function") }?.to_string();
        // SAFETY: as above; NULL means no arguments.
        let args_json = unsafe { opt_str(args_json, "args_json") }?.map(str::to_string);
        let mut opts = JobOptions::new();
        if timeout_seconds > 0.0 {
            let timeout =
                Duration::try_from_secs_f64(timeout_seconds).map_err(|e| format!("invalid timeout_seconds: {e}"))?;
            opts = opts.timeout(timeout);
        }
        let job = move |py: Python<'_>| call_json_py(py, &module, &function, args_json.as_deref());
        let json = pool
            .submit_with(opts, job)
            .and_then(|h| h.wait())
            .map_err(|e| match e {
                JobError::Python(e) => err_text(e),
                other => other.to_string(),
            })?;
        // SAFETY: json_out checked above.
        unsafe { write_out(json_out, &json) }
    })
}

/// Shut a pool down (queued jobs still run) and free it. See `include/pyhost.h`.
///
/// # Safety
/// `pool` is NULL or a live pool from [`pyhost_pool_new`], not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn pyhost_pool_free(pool: *mut pyhost_pool) {
    if pool.is_null() {
        return;
    }
    // SAFETY: the pool was made by Box::into_raw in pyhost_pool_new and is
    // freed once (caller contract).
    let pool = unsafe { Box::from_raw(pool) };
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(pool))) {
        set_error(&panic_message(payload.as_ref()));
    }
}
