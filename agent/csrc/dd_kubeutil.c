/*
 * `kubeutil`: rtloader's built-in module (common/builtins/kubeutil.c).
 *
 *   from kubeutil import get_connection_info
 *   info = get_connection_info()   # {'url': ..., 'verify_tls': ...}
 *
 * The body is Rust (src/agent/modules/kubeutil.rs), asking the host
 * (AgentHost::connection_info) for the kubelet connection settings.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "pyhost_dd.h"
#include "pyhost_module.h"

static PyMethodDef kubeutil_methods[] = {
    {"get_connection_info", PYHOST_DD_FASTCALL(pyhost_rs_dd_kubeutil_get_connection_info),
     "get_connection_info()\n--\n\nThe kubelet connection settings, as a dict ({} if unknown)."},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot kubeutil_slots[] = {
    PYHOST_MODULE_SLOTS
    {0, NULL},
};

static struct PyModuleDef kubeutil_def = {
    PyModuleDef_HEAD_INIT,
    "kubeutil",
    "Kubelet connection settings from the Agent (rtloader's `kubeutil`).",
    0,
    kubeutil_methods,
    kubeutil_slots,
    NULL,
    NULL,
    NULL,
};

PyObject *pyhost_dd_kubeutil_init(void)
{
    return PyModuleDef_Init(&kubeutil_def);
}
