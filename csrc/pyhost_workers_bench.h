/*
 * Plain-C baselines for the worker-pool benchmark (benches/workers.rs): a
 * round trip to another thread with no Python involved, the floor a
 * thread-affine worker's dispatch is compared with.
 *
 * No Python.h here: the bindings generated from this header (src/ffi/shim.rs)
 * stay independent of the Python version.
 */
#ifndef PYHOST_WORKERS_BENCH_H
#define PYHOST_WORKERS_BENCH_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* `iters` round trips to a helper thread through one pthread mutex and two
 * condition variables (request, response): the blocking hand-off. Returns
 * the elapsed nanoseconds (CLOCK_MONOTONIC) for all of them, excluding
 * thread start and join; 0 if the thread could not be started. */
uint64_t pyhost_bench_c_condvar_roundtrip(uint64_t iters);

/* The same round trip with both threads busy-polling an atomic counter
 * (no sleeping at all): the hand-off floor, at the price of two busy cores. */
uint64_t pyhost_bench_c_spin_roundtrip(uint64_t iters);

#ifdef __cplusplus
}
#endif

#endif /* PYHOST_WORKERS_BENCH_H */
