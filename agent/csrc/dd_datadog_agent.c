/*
 * `datadog_agent`: rtloader's built-in module (common/builtins/datadog_agent.c),
 * the Agent's services for checks: configuration, hostname, version,
 * logging, check metadata, external host tags, the persistent cache, SQL
 * obfuscation, telemetry and issues.
 *
 * The bodies are Rust (src/agent/modules/datadog_agent.rs), reading the
 * host's services (src/agent/host.rs). Each behaves as rtloader's does,
 * including when the host has no such service (rtloader's unset callback:
 * mostly `None`).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "pyhost_dd.h"
#include "pyhost_module.h"

static PyMethodDef datadog_agent_methods[] = {
    {"get_clustername", PYHOST_DD_FASTCALL(pyhost_rs_dd_datadog_agent_get_clustername),
     "get_clustername()\n--\n\nGet the cluster name."},
    {"get_config", PYHOST_DD_FASTCALL(pyhost_rs_dd_datadog_agent_get_config),
     "get_config(key)\n--\n\nGet an Agent configuration value (JSON-decoded), or None."},
    {"get_hostname", PYHOST_DD_FASTCALL(pyhost_rs_dd_datadog_agent_get_hostname),
     "get_hostname()\n--\n\nGet the hostname."},
    {"get_host_tags", PYHOST_DD_FASTCALL(pyhost_rs_dd_datadog_agent_get_host_tags),
     "get_host_tags()\n--\n\nGet the host tags, as a JSON string."},
    {"tracemalloc_enabled", PYHOST_DD_FASTCALL(pyhost_rs_dd_datadog_agent_tracemalloc_enabled),
     "Get whether tracemalloc is enabled."},
    {"get_version", PYHOST_DD_FASTCALL(pyhost_rs_dd_datadog_agent_get_version),
     "get_version()\n--\n\nGet the Agent version."},
    {"headers", PYHOST_DD_FASTCALL(pyhost_rs_dd_datadog_agent_headers),
     "Get the standard set of HTTP headers (with Host from the http_host keyword)."},
    {"log", PYHOST_DD_FASTCALL(pyhost_rs_dd_datadog_agent_log),
     "log(message, level)\n--\n\nLog a message through the Agent logger."},
    {"send_log", PYHOST_DD_FASTCALL(pyhost_rs_dd_datadog_agent_send_log),
     "send_log(log_line, check_id)\n--\n\nSubmit a log for a check."},
    {"set_check_metadata", PYHOST_DD_FASTCALL(pyhost_rs_dd_datadog_agent_set_check_metadata),
     "set_check_metadata(check_id, name, value)\n--\n\nSend metadata for a check."},
    {"set_external_tags", PYHOST_DD_FASTCALL(pyhost_rs_dd_datadog_agent_set_external_tags),
     "set_external_tags(tags)\n--\n\nSend external host tags: [('hostname', {'source_type': ['tag']})]."},
    {"write_persistent_cache", PYHOST_DD_FASTCALL(pyhost_rs_dd_datadog_agent_write_persistent_cache),
     "write_persistent_cache(key, value)\n--\n\nStore a value for a key."},
    {"read_persistent_cache", PYHOST_DD_FASTCALL(pyhost_rs_dd_datadog_agent_read_persistent_cache),
     "read_persistent_cache(key)\n--\n\nRetrieve the value stored for a key (\"\" if none)."},
    {"obfuscate_sql", PYHOST_DD_FASTCALL(pyhost_rs_dd_datadog_agent_obfuscate_sql),
     "obfuscate_sql(query, options=None)\n--\n\nObfuscate and normalise a SQL string."},
    {"batch_obfuscate_sql", PYHOST_DD_FASTCALL(pyhost_rs_dd_datadog_agent_batch_obfuscate_sql),
     "batch_obfuscate_sql(queries, options=None)\n--\n\nObfuscate a list of SQL strings; a JSON list."},
    {"get_process_start_time", PYHOST_DD_FASTCALL(pyhost_rs_dd_datadog_agent_get_process_start_time),
     "get_process_start_time()\n--\n\nGet the Agent process start time, in seconds since the epoch."},
    {"emit_agent_telemetry", PYHOST_DD_FASTCALL(pyhost_rs_dd_datadog_agent_emit_agent_telemetry),
     "emit_agent_telemetry(check_name, metric_name, metric_value, metric_type)\n--\n\nEmit Agent telemetry."},
    {"report_issue", PYHOST_DD_FASTCALL(pyhost_rs_dd_datadog_agent_report_issue),
     "report_issue(check_name, report_json)\n--\n\nReport an issue (a JSON object with an id)."},
    {"resolve_issue", PYHOST_DD_FASTCALL(pyhost_rs_dd_datadog_agent_resolve_issue),
     "resolve_issue(issue_id)\n--\n\nResolve a reported issue."},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot datadog_agent_slots[] = {
    PYHOST_MODULE_SLOTS
    {0, NULL},
};

static struct PyModuleDef datadog_agent_def = {
    PyModuleDef_HEAD_INIT,
    "datadog_agent",
    "The Agent's services for checks (rtloader's `datadog_agent`).",
    0,
    datadog_agent_methods,
    datadog_agent_slots,
    NULL,
    NULL,
    NULL,
};

PyObject *pyhost_dd_datadog_agent_init(void)
{
    return PyModuleDef_Init(&datadog_agent_def);
}
