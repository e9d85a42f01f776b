/*
 * Plain-C baselines for `cargo bench` (the pyhost-benches package): the same
 * operations the Rust benchmarks measure, written directly against the C API
 * (or, for the worker pool, against pthreads), so each Rust figure has a C
 * figure from the same process and run. Compiled against the headers of the
 * Python pyhost links (its build script exports their directory), and only
 * for the benchmarks: no pyhost user builds them.
 *
 * The timing functions run `iters` iterations and return the elapsed
 * nanoseconds (CLOCK_MONOTONIC).
 */
#ifndef PYHOST_BENCH_H
#define PYHOST_BENCH_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _object PyObject;

/* ---- core (csrc/bench_baseline.c) ------------------------------------- */

/* f() with the GIL held; result decref'd. */
uint64_t pyhost_bench_c_call_noargs(PyObject *f, uint64_t iters);
/* g(1000) with the GIL held, the int result converted back to a C long long. */
uint64_t pyhost_bench_c_call_1int(PyObject *g, uint64_t iters);
/* PyEval_SaveThread + PyEval_RestoreThread; caller holds the GIL. */
uint64_t pyhost_bench_c_gil_cycle_tstate(uint64_t iters);
/* PyGILState_Ensure + PyGILState_Release on a thread with no thread state;
 * caller does not hold the GIL. */
uint64_t pyhost_bench_c_gil_cycle_fresh(uint64_t iters);

/* ---- host modules (csrc/bench_modules.c) ------------------------------ */

/* Init function of `pyhost_bench_c`: `noop()` and `gauge(name, value, tags,
 * hostname)` written directly against the C API, METH_FASTCALL |
 * METH_KEYWORDS, the floor for benches/modules.rs. */
PyObject *pyhost_module_bench_c_init(void);

/* ---- worker pool (csrc/bench_workers.c) ------------------------------- */

/* `iters` round trips to a helper thread through one pthread mutex and two
 * condition variables (request, response): the blocking hand-off. Excludes
 * thread start and join; 0 if the thread could not be started. */
uint64_t pyhost_bench_c_condvar_roundtrip(uint64_t iters);

/* The same round trip with both threads busy-polling an atomic counter
 * (no sleeping at all): the hand-off floor, at the price of two busy cores. */
uint64_t pyhost_bench_c_spin_roundtrip(uint64_t iters);

#ifdef __cplusplus
}
#endif

#endif /* PYHOST_BENCH_H */
