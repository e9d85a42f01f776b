/*
 * `_util` and `util`: rtloader's built-in modules (common/builtins/_util.c
 * and util.c).
 *
 *   from _util import get_subprocess_output, SubprocessOutputEmptyError
 *   out, err, rc = get_subprocess_output(["ls", "/"], True, env={"LC_ALL": "C"})
 *
 * `_util.subprocess_output` / `get_subprocess_output` run a command (an
 * argv list, never a shell) with the GIL released and return
 * (stdout, stderr, returncode). `SubprocessOutputEmptyError` is created in
 * Py_mod_exec and kept in module state; the Rust body (src/agent/modules/
 * util.rs) finds it through the module it is called with.
 *
 * `util.headers` is `datadog_agent.headers` under its old name.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "pyhost_dd.h"
#include "pyhost_module.h"

/* ---- _util ------------------------------------------------------------ */

typedef struct {
    PyObject *empty_output_error; /* _util.SubprocessOutputEmptyError */
} util_state;

static util_state *get_util_state(PyObject *module)
{
    return (util_state *)PyModule_GetState(module);
}

static struct PyModuleDef util_priv_def;

PyObject *pyhost_dd__util_empty_output_error(PyObject *module)
{
    /* Only a `_util` module's state is a util_state. */
    util_state *st = NULL;
    if (module != NULL && PyModule_Check(module) && PyModule_GetDef(module) == &util_priv_def)
        st = get_util_state(module);
    if (st == NULL || st->empty_output_error == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_SystemError, "not an initialised _util module");
        return NULL;
    }
    return st->empty_output_error;
}

/* Py_mod_exec: create the exception type (rtloader's addSubprocessException)
 * and keep it in the module state. */
static int util_priv_exec(PyObject *m)
{
    util_state *st = get_util_state(m);
    st->empty_output_error = PyErr_NewExceptionWithDoc(
        "_util.SubprocessOutputEmptyError",
        "Raised by get_subprocess_output(..., raise_on_empty=True) when the command printed nothing.",
        NULL, NULL);
    if (st->empty_output_error == NULL)
        return -1;
    return PYHOST_ADD_OBJECT_REF(m, "SubprocessOutputEmptyError", st->empty_output_error);
}

static int util_priv_traverse(PyObject *m, visitproc visit, void *arg)
{
    util_state *st = get_util_state(m);
    if (st != NULL)
        Py_VISIT(st->empty_output_error);
    return 0;
}

static int util_priv_clear(PyObject *m)
{
    util_state *st = get_util_state(m);
    if (st != NULL)
        Py_CLEAR(st->empty_output_error);
    return 0;
}

static void util_priv_free(void *m)
{
    util_priv_clear((PyObject *)m);
}

static PyMethodDef util_priv_methods[] = {
    {"subprocess_output", PYHOST_DD_FASTCALL(pyhost_rs_dd__util_subprocess_output),
     "subprocess_output(command, raise_on_empty=False, *, env=None)\n--\n\n"
     "Run an argv list and return (stdout, stderr, returncode)."},
    {"get_subprocess_output", PYHOST_DD_FASTCALL(pyhost_rs_dd__util_get_subprocess_output),
     "get_subprocess_output(command, raise_on_empty=False, *, env=None)\n--\n\n"
     "Run an argv list and return (stdout, stderr, returncode)."},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot util_priv_slots[] = {
    {Py_mod_exec, (void *)util_priv_exec},
    PYHOST_MODULE_SLOTS
    {0, NULL},
};

static struct PyModuleDef util_priv_def = {
    PyModuleDef_HEAD_INIT,
    "_util",
    "Run subprocesses from checks without a shell (rtloader's `_util`).",
    sizeof(util_state),
    util_priv_methods,
    util_priv_slots,
    util_priv_traverse,
    util_priv_clear,
    util_priv_free,
};

PyObject *pyhost_dd__util_init(void)
{
    return PyModuleDef_Init(&util_priv_def);
}

/* ---- util ------------------------------------------------------------- */

static PyMethodDef util_methods[] = {
    {"headers", PYHOST_DD_FASTCALL(pyhost_rs_dd_util_headers),
     "Get the standard set of HTTP headers (with Host from the http_host keyword)."},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot util_slots[] = {
    PYHOST_MODULE_SLOTS
    {0, NULL},
};

static struct PyModuleDef util_def = {
    PyModuleDef_HEAD_INIT,
    "util",
    "Legacy helpers (rtloader's `util`): headers().",
    0,
    util_methods,
    util_slots,
    NULL,
    NULL,
    NULL,
};

PyObject *pyhost_dd_util_init(void)
{
    return PyModuleDef_Init(&util_def);
}
