/*
 * `containers`: rtloader's built-in module (common/builtins/containers.c).
 *
 *   from containers import is_excluded
 *   if is_excluded(name, image, namespace): ...
 *
 * The body is Rust (src/agent/modules/containers.rs), asking the host's
 * container filter (AgentHost::is_excluded).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "pyhost_dd.h"
#include "pyhost_module.h"

static PyMethodDef containers_methods[] = {
    {"is_excluded", PYHOST_DD_FASTCALL(pyhost_rs_dd_containers_is_excluded),
     "is_excluded(name, image, namespace=None)\n--\n\n"
     "True if the Agent's container filters exclude this container."},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot containers_slots[] = {
    PYHOST_MODULE_SLOTS
    {0, NULL},
};

static struct PyModuleDef containers_def = {
    PyModuleDef_HEAD_INIT,
    "containers",
    "The Agent's container filters (rtloader's `containers`).",
    0,
    containers_methods,
    containers_slots,
    NULL,
    NULL,
    NULL,
};

PyObject *pyhost_dd_containers_init(void)
{
    return PyModuleDef_Init(&containers_def);
}
