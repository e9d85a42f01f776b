/*
 * `tagger`: rtloader's built-in module (common/builtins/tagger.c), the
 * tags the Agent knows for an entity (a container, a pod...).
 *
 *   import tagger
 *   tags = tagger.tag("container_id://abc", tagger.HIGH)
 *
 * The bodies are Rust (src/agent/modules/tagger.rs), calling the host's
 * tagger (AgentHost::tagger).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "pyhost_dd.h"
#include "pyhost_module.h"

/* Py_mod_exec: the cardinalities, rtloader's TaggerCardinality. */
static int tagger_exec(PyObject *m)
{
    if (PyModule_AddIntConstant(m, "LOW", 0) < 0 || PyModule_AddIntConstant(m, "ORCHESTRATOR", 1) < 0 ||
        PyModule_AddIntConstant(m, "HIGH", 2) < 0)
        return -1;
    return 0;
}

static PyMethodDef tagger_methods[] = {
    {"tag", PYHOST_DD_FASTCALL(pyhost_rs_dd_tagger_tag),
     "tag(entity_id, cardinality)\n--\n\nGet the tags of an entity at a cardinality (LOW, ORCHESTRATOR, HIGH)."},
    {"get_tags", PYHOST_DD_FASTCALL(pyhost_rs_dd_tagger_get_tags),
     "get_tags(entity_id, high_card)\n--\n\nDeprecated: tag(entity_id, HIGH if high_card else LOW)."},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot tagger_slots[] = {
    {Py_mod_exec, (void *)tagger_exec},
    PYHOST_MODULE_SLOTS
    {0, NULL},
};

static struct PyModuleDef tagger_def = {
    PyModuleDef_HEAD_INIT,
    "tagger",
    "Entity tags from the Agent's tagger (rtloader's `tagger`).",
    0,
    tagger_methods,
    tagger_slots,
    NULL,
    NULL,
    NULL,
};

PyObject *pyhost_dd_tagger_init(void)
{
    return PyModuleDef_Init(&tagger_def);
}
