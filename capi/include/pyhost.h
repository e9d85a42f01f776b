/**
 * @file pyhost.h
 * @brief C ABI of pyhost: embed CPython in a C host.
 *
 * Build the library with `cargo build --release -p pyhost-capi`; it produces
 * `target/release/libpyhost_capi.a` and `target/release/libpyhost_capi.so`.
 * See docs/c-api.md for compiling and linking a host.
 *
 * General rules, for every function below:
 *
 * - **One interpreter per process.** Start it once with pyhost_init(); it
 *   cannot be restarted (not even after a failed start).
 * - **GIL:** every function takes the Python GIL itself and releases it
 *   before returning; the caller need not (and normally does not) hold it.
 *   Taking it is re-entrant, so a thread already holding it (e.g. C code
 *   called from Python) may call pyhost, but never block while holding it
 *   on another thread that calls pyhost (deadlock).
 * - **Threads:** any thread may call any function, concurrently; calls are
 *   serialised by the GIL.
 * - **Return codes:** `int` functions return 0 on success and -1 on error
 *   (pyhost_is_initialized() returns 1 or 0). After -1, pyhost_last_error()
 *   describes the error on the calling thread.
 * - **Strings in:** NUL-terminated UTF-8. NULL where a string is required,
 *   and invalid UTF-8, are errors (-1), never crashes.
 * - **Strings out:** strings returned through `char **` out-parameters are
 *   allocated with malloc() and owned by the caller, who frees them with
 *   pyhost_free(). On error the out-parameter is set to NULL.
 * - **Panics:** internal Rust panics never unwind into C; they are reported
 *   as -1 with the panic message.
 */
#ifndef PYHOST_H
#define PYHOST_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Start-up options for pyhost_init().
 *
 * Zero-initialise it (`pyhost_config cfg = {0};`) and set what you need.
 * All strings are borrowed for the duration of the pyhost_init() call only.
 */
typedef struct {
    /** Non-zero: isolated mode (ignore `PYTHON*` environment variables and
     *  the user site directory). Zero: honour them. */
    int isolated;
    /** Non-zero: let Python install its signal handlers (SIGINT raises
     *  KeyboardInterrupt). Zero: the host keeps its signals. */
    int install_signal_handlers;
    /** `sys.executable`; NULL for the Python pyhost was built against. */
    const char *executable;
    /** `PyConfig.home` (the Python prefix, like `PYTHONHOME`); NULL for the default. */
    const char *home;
    /** A virtual environment directory; its `bin/python3` becomes
     *  `sys.executable` (overriding @c executable) and its site-packages
     *  are used. NULL for none. */
    const char *venv;
    /** NULL-terminated array of directories appended to `sys.path`; NULL for none. */
    const char *const *paths;
} pyhost_config;

/**
 * @brief Start the Python interpreter (once per process).
 *
 * @param cfg Options, or NULL for the defaults (isolated mode, no signal
 *            handlers, the build's Python as `sys.executable`, no extra paths).
 * @return 0 on success; -1 on error (already initialised, start-up failure,
 *         libpython version mismatch, invalid UTF-8 in @p cfg) with
 *         pyhost_last_error() set.
 *
 * GIL: not held on return. Thread: any thread may initialise; the
 * interpreter is then usable from every thread.
 */
int pyhost_init(const pyhost_config *cfg);

/**
 * @brief Whether the interpreter is running.
 * @return 1 if pyhost_init() succeeded in this process, else 0. Never fails.
 */
int pyhost_is_initialized(void);

/**
 * @brief Execute Python statements in `__main__`'s namespace.
 *
 * Names defined persist across calls (and are visible to pyhost_eval_json()).
 *
 * @param code NUL-terminated UTF-8 source.
 * @return 0 on success; -1 if @p code is NULL or not UTF-8, the interpreter
 *         is not initialised, or the code raised (pyhost_last_error() then
 *         holds the full traceback text, ending in "Type: message").
 *
 * GIL: taken and released by the call. Thread: any.
 */
int pyhost_run(const char *code);

/**
 * @brief Evaluate a Python expression in `__main__`'s namespace and return
 *        `json.dumps(result)`.
 *
 * @param expr     NUL-terminated UTF-8 expression.
 * @param json_out Receives a malloc'd NUL-terminated JSON string, owned by
 *                 the caller (free with pyhost_free()); set to NULL on error.
 * @return 0 on success; -1 on error (NULL arguments, invalid UTF-8, not
 *         initialised, exception while evaluating, result not JSON
 *         serialisable), with pyhost_last_error() set.
 *
 * GIL: taken and released by the call. Thread: any.
 */
int pyhost_eval_json(const char *expr, char **json_out);

/**
 * @brief Import @p module, call `module.function(*args)` and return
 *        `json.dumps(result)`.
 *
 * @param module    Module name (dotted names allowed), NUL-terminated UTF-8.
 * @param function  Attribute of the module to call.
 * @param args_json A JSON array of positional arguments (e.g. `[1, "a"]`),
 *                  or NULL for no arguments. Anything but an array is an error.
 * @param json_out  Receives a malloc'd NUL-terminated JSON string, owned by
 *                  the caller (free with pyhost_free()); set to NULL on error.
 * @return 0 on success; -1 on error (NULL @p module, @p function or
 *         @p json_out, invalid UTF-8, bad JSON, import/attribute/call
 *         exceptions, result not JSON serialisable), with pyhost_last_error() set.
 *
 * GIL: taken and released by the call. Thread: any.
 */
int pyhost_call_json(const char *module, const char *function, const char *args_json, char **json_out);

/**
 * @brief The calling thread's last error message.
 *
 * For Python exceptions: the full traceback text (`traceback.format_exception`),
 * ending in "Type: message". Otherwise a one-line description.
 *
 * @return A borrowed NUL-terminated string, never NULL; "" if the last
 *         pyhost call on this thread succeeded. Do not free it. It stays
 *         valid until the next pyhost call on the same thread. Errors are
 *         per thread: another thread's failure never changes it.
 */
const char *pyhost_last_error(void);

/**
 * @brief Free a string returned through a pyhost out-parameter.
 * @param p A pointer returned by pyhost (e.g. via @c json_out), or NULL (no-op).
 *          Equivalent to free(), but use this in case the host links a
 *          different allocator.
 */
void pyhost_free(void *p);

/**
 * @brief The Python version pyhost was compiled against, e.g. "3.11.7".
 * @return A static NUL-terminated string (do not free). Callable before
 *         pyhost_init(); never fails.
 */
const char *pyhost_version(void);

/**
 * @defgroup pool Worker pools
 * Threads that each own one Python thread state for their whole life
 * (pyhost's WorkerPool): for running Python jobs off the caller's threads,
 * with per-call timeouts.
 * @{
 */

/** @brief An opaque worker pool; create with pyhost_pool_new(). */
typedef struct pyhost_pool pyhost_pool;

/**
 * @brief Start a pool of @p workers threads.
 *
 * @param workers  Number of worker threads (at least 1).
 * @param pool_out Receives the pool, owned by the caller (release it with
 *                 pyhost_pool_free()); set to NULL on error.
 * @return 0 on success; -1 on error (interpreter not initialised, @p workers
 *         is 0, NULL @p pool_out), with pyhost_last_error() set.
 *
 * GIL: must not be held by the caller. Thread: any.
 */
int pyhost_pool_new(size_t workers, pyhost_pool **pool_out);

/**
 * @brief pyhost_call_json() run on one of the pool's workers; blocks until
 *        the job finishes.
 *
 * @param pool            A pool from pyhost_pool_new().
 * @param module          As for pyhost_call_json().
 * @param function        As for pyhost_call_json().
 * @param args_json       As for pyhost_call_json() (JSON array or NULL).
 * @param timeout_seconds Deadline for the job (queueing included); <= 0 for none.
 *                        On expiry a `pyhost.JobTimeout` exception is raised
 *                        in the running job and the call returns -1
 *                        ("job timed out").
 * @param json_out        Receives a malloc'd JSON string, owned by the caller
 *                        (free with pyhost_free()); set to NULL on error.
 * @return 0 on success; -1 on error (as pyhost_call_json(), plus NULL
 *         @p pool, timeout, cancellation, pool shut down), with
 *         pyhost_last_error() set (Python errors: the full traceback).
 *
 * GIL: must not be held by the caller (the job runs on another thread).
 * Thread: any; concurrent calls on one pool are fine.
 */
int pyhost_pool_call_json(pyhost_pool *pool, const char *module, const char *function,
                          const char *args_json, double timeout_seconds, char **json_out);

/**
 * @brief Shut the pool down and free it: queued jobs still run, then the
 *        worker threads are joined.
 * @param pool A pool from pyhost_pool_new(), or NULL (no-op). Not usable
 *             afterwards; no other thread may be using it.
 *
 * GIL: must not be held by the caller. Thread: any thread but the pool's own
 * workers.
 */
void pyhost_pool_free(pyhost_pool *pool);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* PYHOST_H */
