/*
 * A Python 2 extension ported the explicit way: the two lines marked
 * "ported" are the only changes (the include, and PYHOST_PY2_MODULE at the
 * end). It covers Py_InitModule, and Py_InitModule4 with a `self` object,
 * which Python 2 passed to every function of the module.
 *
 * Built with -DLEGACY_FAIL, initlegacy raises after creating the module, to
 * test that the failed import leaves nothing in sys.modules.
 */
#include <Python.h>
#include <pyhost/py2compat.h> /* ported */

/* legacy.helpers.whoami() -> the self object given to Py_InitModule4. */
static PyObject *
helpers_whoami(PyObject *self, PyObject *args)
{
    if (!PyArg_ParseTuple(args, ":whoami"))
        return NULL;
    Py_INCREF(self);
    return self;
}

/* legacy.double(n) -> 2 * n */
static PyObject *
legacy_double(PyObject *self, PyObject *args)
{
    long n;
    if (!PyArg_ParseTuple(args, "l:double", &n))
        return NULL;
    return PyInt_FromLong(2 * n);
}

/* legacy.join(list of str, sep) -> str, with PyString_Concat. */
static PyObject *
legacy_join(PyObject *self, PyObject *args)
{
    PyObject *list, *sep, *result;
    Py_ssize_t i;

    if (!PyArg_ParseTuple(args, "O!O:join", &PyList_Type, &list, &sep))
        return NULL;
    result = PyString_FromString("");
    for (i = 0; result != NULL && i < PyList_Size(list); i++) {
        if (i > 0)
            PyString_Concat(&result, sep);
        if (result != NULL)
            PyString_Concat(&result, PyList_GetItem(list, i));
    }
    return result;
}

static PyMethodDef legacy_methods[] = {
    {"double", legacy_double, METH_VARARGS, "Double an int."},
    {"join", legacy_join, METH_VARARGS, "Join strings with a separator."},
    {NULL, NULL, 0, NULL}
};

static PyMethodDef helpers_methods[] = {
    {"whoami", helpers_whoami, METH_VARARGS, "Return the module's self object."},
    {NULL, NULL, 0, NULL}
};

PyMODINIT_FUNC
initlegacy(void)
{
    PyObject *m, *helpers, *token;

    m = Py_InitModule("legacy", legacy_methods);
    if (m == NULL)
        return;
    token = PyString_FromString("legacy self");
    if (token == NULL)
        return;
    helpers = Py_InitModule4("legacy_helpers", helpers_methods, "Helpers with a self object.",
                             token, PYTHON_API_VERSION);
    Py_DECREF(token);
    if (helpers == NULL)
        return;
    Py_INCREF(helpers);
    PyModule_AddObject(m, "helpers", helpers);
#ifdef LEGACY_FAIL
    PyErr_SetString(PyExc_RuntimeError, "initlegacy failed on purpose");
    return;
#endif
}

PYHOST_PY2_MODULE(legacy) /* ported */
