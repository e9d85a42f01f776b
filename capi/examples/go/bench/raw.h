/* Raw-cgo baselines: Go calling the CPython C API directly, as go-python
 * and the 2017 Datadog Agent did (benchmarks only). */
#ifndef PYHOST_GO_BENCH_RAW_H
#define PYHOST_GO_BENCH_RAW_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "pyhost.h"

/* Put the raw FASTCALL function `raw_gauge` into module bench_funcs. */
int bench_install_raw(void);

/* A new reference to bench_funcs.<name> (kept for the process), or NULL. */
PyObject *bench_get(const char *name);

#endif
