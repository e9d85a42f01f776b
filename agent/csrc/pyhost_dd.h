/*
 * pyhost's Datadog built-in modules: the C half of src/agent/modules/.
 *
 * rtloader (DataDog/datadog-agent, rtloader/common/builtins/) gives
 * Python checks seven built-in modules: `aggregator`, `datadog_agent`,
 * `_util`, `util`, `tagger`, `containers` and `kubeutil`. Here each one is a
 * C file in that shape (csrc/dd_<module>.c, method table at the bottom),
 * with two differences from rtloader:
 *
 * - every table entry is METH_FASTCALL | METH_KEYWORDS and points at a
 *   `#[no_mangle] extern "C"` Rust function (no argument tuple is built);
 *   the Rust side parses the arguments the way rtloader's PyArg_ParseTuple
 *   formats do and raises the same messages;
 * - PEP 489 multi-phase initialisation: constants are added in the
 *   Py_mod_exec slot, and `_util.SubprocessOutputEmptyError` lives in
 *   module state instead of a C global.
 *
 * Like the other headers, this one does not include Python.h, so bindgen
 * sees PyObject as opaque; the declarations of the Rust functions need
 * Python's types and are only visible to C (after Python.h).
 */
#ifndef PYHOST_DD_H
#define PYHOST_DD_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _object PyObject;

/* ---- init functions (for PyImport_AppendInittab) ---------------------- */

/* Each returns PyModuleDef_Init(&def) of its module's static multi-phase
 * definition: csrc/dd_aggregator.c, dd_datadog_agent.c, dd_util.c (both
 * `_util` and `util`), dd_tagger.c, dd_containers.c, dd_kubeutil.c. */
PyObject *pyhost_dd_aggregator_init(void);
PyObject *pyhost_dd_datadog_agent_init(void);
PyObject *pyhost_dd__util_init(void);
PyObject *pyhost_dd_util_init(void);
PyObject *pyhost_dd_tagger_init(void);
PyObject *pyhost_dd_containers_init(void);
PyObject *pyhost_dd_kubeutil_init(void);

/* `_util.SubprocessOutputEmptyError`, borrowed from the module state of
 * `module`, or NULL with SystemError if `module` is not an initialised
 * `_util` module. Needs the GIL. */
PyObject *pyhost_dd__util_empty_output_error(PyObject *module);

#ifdef Py_PYTHON_H
/* The table entries: a METH_FASTCALL | METH_KEYWORDS function, cast the way
 * CPython expects (the double cast keeps -Wcast-function-type quiet;
 * CPython calls it through the type ml_flags names). */
#define PYHOST_DD_FASTCALL(f) (PyCFunction)(void (*)(void))(f), METH_FASTCALL | METH_KEYWORDS

/* Implemented in Rust (src/agent/modules/). Hidden from bindgen: the Rust
 * definitions are the source of truth. */
#define PYHOST_DD_DECLARE(name) \
    PyObject *name(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)

/* aggregator (src/agent/modules/aggregator.rs) */
PYHOST_DD_DECLARE(pyhost_rs_dd_aggregator_submit_metric);
PYHOST_DD_DECLARE(pyhost_rs_dd_aggregator_submit_service_check);
PYHOST_DD_DECLARE(pyhost_rs_dd_aggregator_submit_event);
PYHOST_DD_DECLARE(pyhost_rs_dd_aggregator_submit_histogram_bucket);
PYHOST_DD_DECLARE(pyhost_rs_dd_aggregator_submit_histogram_bucket_multi);
PYHOST_DD_DECLARE(pyhost_rs_dd_aggregator_submit_event_platform_event);

/* datadog_agent (src/agent/modules/datadog_agent.rs) */
PYHOST_DD_DECLARE(pyhost_rs_dd_datadog_agent_get_clustername);
PYHOST_DD_DECLARE(pyhost_rs_dd_datadog_agent_get_config);
PYHOST_DD_DECLARE(pyhost_rs_dd_datadog_agent_get_hostname);
PYHOST_DD_DECLARE(pyhost_rs_dd_datadog_agent_get_host_tags);
PYHOST_DD_DECLARE(pyhost_rs_dd_datadog_agent_tracemalloc_enabled);
PYHOST_DD_DECLARE(pyhost_rs_dd_datadog_agent_get_version);
PYHOST_DD_DECLARE(pyhost_rs_dd_datadog_agent_headers);
PYHOST_DD_DECLARE(pyhost_rs_dd_datadog_agent_log);
PYHOST_DD_DECLARE(pyhost_rs_dd_datadog_agent_send_log);
PYHOST_DD_DECLARE(pyhost_rs_dd_datadog_agent_set_check_metadata);
PYHOST_DD_DECLARE(pyhost_rs_dd_datadog_agent_set_external_tags);
PYHOST_DD_DECLARE(pyhost_rs_dd_datadog_agent_write_persistent_cache);
PYHOST_DD_DECLARE(pyhost_rs_dd_datadog_agent_read_persistent_cache);
PYHOST_DD_DECLARE(pyhost_rs_dd_datadog_agent_obfuscate_sql);
PYHOST_DD_DECLARE(pyhost_rs_dd_datadog_agent_batch_obfuscate_sql);
PYHOST_DD_DECLARE(pyhost_rs_dd_datadog_agent_get_process_start_time);
PYHOST_DD_DECLARE(pyhost_rs_dd_datadog_agent_emit_agent_telemetry);
PYHOST_DD_DECLARE(pyhost_rs_dd_datadog_agent_report_issue);
PYHOST_DD_DECLARE(pyhost_rs_dd_datadog_agent_resolve_issue);

/* _util and util (src/agent/modules/util.rs) */
PYHOST_DD_DECLARE(pyhost_rs_dd__util_subprocess_output);
PYHOST_DD_DECLARE(pyhost_rs_dd__util_get_subprocess_output);
PYHOST_DD_DECLARE(pyhost_rs_dd_util_headers);

/* tagger (src/agent/modules/tagger.rs) */
PYHOST_DD_DECLARE(pyhost_rs_dd_tagger_tag);
PYHOST_DD_DECLARE(pyhost_rs_dd_tagger_get_tags);

/* containers (src/agent/modules/containers.rs) */
PYHOST_DD_DECLARE(pyhost_rs_dd_containers_is_excluded);

/* kubeutil (src/agent/modules/kubeutil.rs) */
PYHOST_DD_DECLARE(pyhost_rs_dd_kubeutil_get_connection_info);

#endif /* Py_PYTHON_H */

#ifdef __cplusplus
}
#endif

#endif /* PYHOST_DD_H */
