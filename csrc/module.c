/*
 * Host modules built at run time from Rust closures.
 *
 * One multi-phase definition (PEP 489) serves every such module. Python
 * creates the module object from the import spec (its name is spec.name);
 * the Py_mod_exec slot, written in Rust, looks that name up in the registry
 * of `pyhost::module::HostModule`s and adds the module's functions,
 * constants and exception types. Each function is a PyCFunction whose
 * PyMethodDef points at the one Rust trampoline and whose self object is a
 * small `pyhost.FunctionData` object pointing at the closure.
 *
 * No module state: each closure carries what it needs, so the definition
 * can be shared and m_size is 0.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "pyhost_layout.h"
#include "pyhost_module.h"

static PyModuleDef_Slot host_slots[] = {
    {Py_mod_exec, (void *)pyhost_rs_hostmodule_exec},
    PYHOST_MODULE_SLOTS
    {0, NULL},
};

static struct PyModuleDef host_def = {
    PyModuleDef_HEAD_INIT,
    "pyhost.hostmodule", /* unused: multi-phase modules take spec.name */
    NULL,                /* __doc__ is set by the exec slot */
    0,                   /* no per-module state */
    NULL,                /* functions are added by the exec slot */
    host_slots,
    NULL,
    NULL,
    NULL,
};

PyObject *pyhost_module_host_init(void)
{
    return PyModuleDef_Init(&host_def);
}

PyObject *pyhost_module_host_create(PyObject *spec)
{
    PyObject *m = PyModule_FromDefAndSpec(&host_def, spec);
    if (m == NULL)
        return NULL;
    if (PyModule_ExecDef(m, &host_def) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}

/* The self object of a closure-backed function (pyhost_function_data, in
 * pyhost_layout.h): a pointer to its Rust entry, read by the trampoline with
 * one load (a capsule would cost a call and a strcmp of its name on every
 * call). A heap type, one per interpreter: a static type would be shared by
 * interpreters that each have their own GIL. Not instantiable from Python. */
static PyType_Slot function_data_slots[] = {
    {Py_tp_doc, (void *)"The Rust closure behind a pyhost host function (the function's __self__)."},
    {0, NULL},
};

static PyType_Spec function_data_spec = {
    "pyhost.FunctionData",
    sizeof(pyhost_function_data),
    0,
#ifdef Py_TPFLAGS_DISALLOW_INSTANTIATION
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION | Py_TPFLAGS_IMMUTABLETYPE,
#else
    Py_TPFLAGS_DEFAULT,
#endif
    function_data_slots,
};

PyObject *pyhost_function_data_type_new(void)
{
    PyObject *t = PyType_FromSpec(&function_data_spec);
#ifndef Py_TPFLAGS_DISALLOW_INSTANTIATION
    if (t != NULL)
        ((PyTypeObject *)t)->tp_new = NULL;
#endif
    return t;
}

PyObject *pyhost_function_data_new(PyObject *type, void *entry)
{
    pyhost_function_data *o;
    if (type == NULL || !PyType_Check(type) || ((PyTypeObject *)type)->tp_basicsize != sizeof(pyhost_function_data)) {
        PyErr_SetString(PyExc_SystemError, "pyhost_function_data_new: not the FunctionData type");
        return NULL;
    }
    o = PyObject_New(pyhost_function_data, (PyTypeObject *)type);
    if (o == NULL)
        return NULL;
    o->entry = entry;
    return (PyObject *)o;
}
