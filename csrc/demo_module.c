/*
 * `pyhost_demo`: a fixed host module, the shape of CPython's
 * Modules/xxmodule.c and rtloader's builtins, with Rust function bodies.
 *
 * The method table is static and every entry is a `#[no_mangle] extern "C"`
 * Rust function (src/module/demo.rs) called with METH_FASTCALL |
 * METH_KEYWORDS: positional arguments arrive as a C array, keyword names as
 * a tuple, no argument tuple or dict is built. Multi-phase initialisation
 * (PEP 489) with module state: the module's exception type lives in the
 * state, not in a C global, so a second module object (a re-import after
 * `del sys.modules[...]`) gets its own.
 *
 * The benchmark (benches/modules.rs) calls `noop` and `gauge`.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "pyhost_module.h"

typedef struct {
    PyObject *error; /* pyhost_demo.DemoError */
} demo_state;

static demo_state *get_state(PyObject *module)
{
    return (demo_state *)PyModule_GetState(module);
}

static struct PyModuleDef demo_def;

PyObject *pyhost_module_demo_error(PyObject *module)
{
    /* Only a pyhost_demo module's state is a demo_state. */
    demo_state *st = NULL;
    if (module != NULL && PyModule_Check(module) && PyModule_GetDef(module) == &demo_def)
        st = get_state(module);
    if (st == NULL || st->error == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_SystemError, "not an initialised pyhost_demo module");
        return NULL;
    }
    return st->error;
}

static int demo_exec(PyObject *m)
{
    demo_state *st = get_state(m);
    st->error = PyErr_NewExceptionWithDoc(
        "pyhost_demo.DemoError",
        "Raised by pyhost_demo.fail('demo', message): an exception type owned by the host module.",
        NULL, NULL);
    if (st->error == NULL)
        return -1;
    if (PYHOST_ADD_OBJECT_REF(m, "DemoError", st->error) < 0)
        return -1;
    /* rtloader's aggregator constants, as an example of int constants. */
    if (PyModule_AddIntConstant(m, "GAUGE", 0) < 0 || PyModule_AddIntConstant(m, "RATE", 1) < 0 ||
        PyModule_AddIntConstant(m, "COUNT", 2) < 0)
        return -1;
    return 0;
}

static int demo_traverse(PyObject *m, visitproc visit, void *arg)
{
    demo_state *st = get_state(m);
    if (st != NULL)
        Py_VISIT(st->error);
    return 0;
}

static int demo_clear(PyObject *m)
{
    demo_state *st = get_state(m);
    if (st != NULL)
        Py_CLEAR(st->error);
    return 0;
}

static void demo_free(void *m)
{
    demo_clear((PyObject *)m);
}

/* The double cast keeps -Wcast-function-type quiet: CPython calls the
 * function through the type that ml_flags names. */
#define FASTCALL_KW(f) (PyCFunction)(void (*)(void))(f), METH_FASTCALL | METH_KEYWORDS

static PyMethodDef demo_methods[] = {
    {"noop", FASTCALL_KW(pyhost_rs_demo_noop),
     "noop()\n--\n\nDo nothing: the benchmark's no-op host call."},
    {"gauge", FASTCALL_KW(pyhost_rs_demo_gauge),
     "gauge(name, value, tags=None, hostname=None)\n--\n\n"
     "Copy a gauge's name, tags and host name into host-owned strings, then drop them."},
    {"add", FASTCALL_KW(pyhost_rs_demo_add),
     "add(a, b)\n--\n\nReturn a + b for two 64-bit ints (OverflowError past i64)."},
    {"fail", FASTCALL_KW(pyhost_rs_demo_fail),
     "fail(kind, message='failed')\n--\n\n"
     "Raise: kind is 'value', 'overflow', 'runtime', 'demo' (DemoError) or 'panic' (a Rust panic)."},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot demo_slots[] = {
    {Py_mod_exec, (void *)demo_exec},
    PYHOST_MODULE_SLOTS
    {0, NULL},
};

static struct PyModuleDef demo_def = {
    PyModuleDef_HEAD_INIT,
    "pyhost_demo",
    "A fixed pyhost host module: a static C method table whose entries are Rust functions.",
    sizeof(demo_state),
    demo_methods,
    demo_slots,
    demo_traverse,
    demo_clear,
    demo_free,
};

PyObject *pyhost_module_demo_init(void)
{
    return PyModuleDef_Init(&demo_def);
}
