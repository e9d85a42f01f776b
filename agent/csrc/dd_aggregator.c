/*
 * `aggregator`: rtloader's built-in module (common/builtins/aggregator.c),
 * where checks submit what they measure.
 *
 *   import aggregator
 *   aggregator.submit_metric(check, check_id, aggregator.GAUGE, name, value,
 *                            tags, hostname, flush_first_value)
 *
 * The bodies are Rust (src/agent/modules/aggregator.rs): they parse the
 * arguments as rtloader's PyArg_ParseTuple formats do ("OsisdOs|b",
 * "OssiOss", "OsO", "OssLffisO|b", "Oss#s"), raise the same errors, and
 * record into the host's Aggregator. `check` (the first argument) is
 * ignored, as in rtloader.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "pyhost_dd.h"
#include "pyhost_module.h"

/* Py_mod_exec: the metric-type constants, rtloader's metric_type_t. */
static int aggregator_exec(PyObject *m)
{
    if (PyModule_AddIntConstant(m, "GAUGE", 0) < 0 || PyModule_AddIntConstant(m, "RATE", 1) < 0 ||
        PyModule_AddIntConstant(m, "COUNT", 2) < 0 || PyModule_AddIntConstant(m, "MONOTONIC_COUNT", 3) < 0 ||
        PyModule_AddIntConstant(m, "COUNTER", 4) < 0 || PyModule_AddIntConstant(m, "HISTOGRAM", 5) < 0 ||
        PyModule_AddIntConstant(m, "HISTORATE", 6) < 0)
        return -1;
    return 0;
}

static PyMethodDef aggregator_methods[] = {
    {"submit_metric", PYHOST_DD_FASTCALL(pyhost_rs_dd_aggregator_submit_metric),
     "submit_metric(check, check_id, mtype, name, value, tags, hostname, flush_first_value=False)\n--\n\n"
     "Submit a metric sample."},
    {"submit_service_check", PYHOST_DD_FASTCALL(pyhost_rs_dd_aggregator_submit_service_check),
     "submit_service_check(check, check_id, name, status, tags, hostname, message)\n--\n\n"
     "Submit a service check."},
    {"submit_event", PYHOST_DD_FASTCALL(pyhost_rs_dd_aggregator_submit_event),
     "submit_event(check, check_id, event)\n--\n\nSubmit an event (a dict)."},
    {"submit_histogram_bucket", PYHOST_DD_FASTCALL(pyhost_rs_dd_aggregator_submit_histogram_bucket),
     "submit_histogram_bucket(check, check_id, name, value, lower_bound, upper_bound, monotonic, hostname, "
     "tags, flush_first_value=False)\n--\n\nSubmit a histogram bucket."},
    {"submit_histogram_bucket_multi", PYHOST_DD_FASTCALL(pyhost_rs_dd_aggregator_submit_histogram_bucket_multi),
     "submit_histogram_bucket_multi(check, check_id, name, value, lower_bound, upper_bound, monotonic, "
     "hostname, tags, flush_first_value=False)\n--\n\n"
     "Submit one of several buckets of the same histogram (deltas are tracked per bucket)."},
    {"submit_event_platform_event", PYHOST_DD_FASTCALL(pyhost_rs_dd_aggregator_submit_event_platform_event),
     "submit_event_platform_event(check, check_id, raw_event, event_type)\n--\n\n"
     "Submit an event-platform event (str or bytes)."},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot aggregator_slots[] = {
    {Py_mod_exec, (void *)aggregator_exec},
    PYHOST_MODULE_SLOTS
    {0, NULL},
};

static struct PyModuleDef aggregator_def = {
    PyModuleDef_HEAD_INIT,
    "aggregator",
    "Where Agent checks submit metrics, service checks, events and histogram buckets (rtloader's `aggregator`).",
    0,
    aggregator_methods,
    aggregator_slots,
    NULL,
    NULL,
    NULL,
};

PyObject *pyhost_dd_aggregator_init(void)
{
    return PyModuleDef_Init(&aggregator_def);
}
