#include "_cgo_export.h"
#include "raw.h"

/* The C entry of the raw-cgo callback: CPython calls it (METH_FASTCALL),
 * it hands the argument array to Go, which reads it through the C API with
 * one cgo call per operation. */
static PyObject *raw_gauge(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames) {
    (void)self;
    if (nargs != 4 || kwnames != NULL) {
        PyErr_SetString(PyExc_TypeError, "raw_gauge() takes exactly 4 positional arguments");
        return NULL;
    }
    if (rawGaugeGo((PyObject **)args, nargs) != 0) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "raw_gauge(): bad arguments");
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef raw_def = {"raw_gauge", (PyCFunction)(void (*)(void))raw_gauge, METH_FASTCALL | METH_KEYWORDS,
                              NULL};

int bench_install_raw(void) {
    PyGILState_STATE st = PyGILState_Ensure();
    int rc = -1;
    PyObject *mod = PyImport_ImportModule("bench_funcs");
    if (mod != NULL) {
        PyObject *fn = PyCFunction_NewEx(&raw_def, NULL, NULL);
        if (fn != NULL) {
            rc = PyObject_SetAttrString(mod, "raw_gauge", fn);
            Py_DECREF(fn);
        }
        Py_DECREF(mod);
    }
    if (rc != 0)
        PyErr_Print();
    PyGILState_Release(st);
    return rc;
}

PyObject *bench_get(const char *name) {
    PyGILState_STATE st = PyGILState_Ensure();
    PyObject *r = NULL;
    PyObject *mod = PyImport_ImportModule("bench_funcs");
    if (mod != NULL) {
        r = PyObject_GetAttrString(mod, name);
        Py_DECREF(mod);
    }
    if (r == NULL)
        PyErr_Print();
    PyGILState_Release(st);
    return r;
}
