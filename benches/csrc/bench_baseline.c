/*
 * Plain-C baselines for `cargo bench`: the floor each Rust figure is
 * compared with, measured in the same process and run (benches/core.rs).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <time.h>

#include "pyhost_bench.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t pyhost_bench_c_call_noargs(PyObject *f, uint64_t iters)
{
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < iters; i++) {
        PyObject *r = PyObject_CallNoArgs(f);
        if (r == NULL) {
            PyErr_Print();
            return 0;
        }
        Py_DECREF(r);
    }
    return now_ns() - t0;
}

uint64_t pyhost_bench_c_call_1int(PyObject *g, uint64_t iters)
{
    long long sink = 0;
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < iters; i++) {
        PyObject *arg = PyLong_FromLongLong(1000);
        PyObject *r = PyObject_CallOneArg(g, arg);
        Py_DECREF(arg);
        if (r == NULL) {
            PyErr_Print();
            return 0;
        }
        sink += PyLong_AsLongLong(r);
        Py_DECREF(r);
    }
    uint64_t dt = now_ns() - t0;
    if (sink == 42)
        fputs("", stderr); /* keep the conversion live */
    return dt;
}

uint64_t pyhost_bench_c_gil_cycle_tstate(uint64_t iters)
{
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < iters; i++) {
        PyThreadState *ts = PyEval_SaveThread();
        PyEval_RestoreThread(ts);
    }
    return now_ns() - t0;
}

uint64_t pyhost_bench_c_gil_cycle_fresh(uint64_t iters)
{
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < iters; i++) {
        PyGILState_STATE st = PyGILState_Ensure();
        PyGILState_Release(st);
    }
    return now_ns() - t0;
}
