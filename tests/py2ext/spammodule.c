/*
 * The spam module of the Python 2 "Extending and Embedding" tutorial
 * (section 1.1-1.4), written for Python 2 and compiled for Python 3 without
 * a single edit:
 *
 *     cc -shared -fPIC -I<python include> -I<pyhost>/include \
 *        -include pyhost/py2compat.h -DPYHOST_PY2_MODULE_NAME=spam \
 *        spammodule.c -o spam.so
 *
 * Beyond the tutorial's system() and SpamError it uses the PyInt_* and
 * PyString_* calls a Python 2 extension typically makes, so the tests
 * (tests/py2compat.rs) exercise the header's mappings.
 */
#include <Python.h>

static PyObject *SpamError;

/* spam.system(command) -> exit status; SpamError if it cannot run. */
static PyObject *
spam_system(PyObject *self, PyObject *args)
{
    const char *command;
    int sts;

    if (!PyArg_ParseTuple(args, "s:system", &command))
        return NULL;
    sts = system(command);
    if (sts < 0) {
        PyErr_SetString(SpamError, "System command failed");
        return NULL;
    }
    return PyInt_FromLong(sts);
}

/* spam.shout(text) -> text + "!" upper-cased, via PyString_*. */
static PyObject *
spam_shout(PyObject *self, PyObject *args)
{
    PyObject *text;
    char *s, *buf;
    Py_ssize_t n, i;
    PyObject *result;

    if (!PyArg_ParseTuple(args, "O:shout", &text))
        return NULL;
    if (!PyString_Check(text)) {
        PyErr_SetString(SpamError, "shout() needs a string");
        return NULL;
    }
    s = PyString_AsString(text);
    n = PyString_Size(text);
    if (s == NULL || n < 0)
        return NULL;
    buf = (char *)malloc(n + 2);
    if (buf == NULL)
        return PyErr_NoMemory();
    for (i = 0; i < n; i++)
        buf[i] = (s[i] >= 'a' && s[i] <= 'z') ? s[i] - 'a' + 'A' : s[i];
    buf[n] = '!';
    buf[n + 1] = '\0';
    result = PyString_FromStringAndSize(buf, n + 1);
    free(buf);
    return result;
}

/* spam.add(a, b) -> a + b for ints, via PyInt_*. */
static PyObject *
spam_add(PyObject *self, PyObject *args)
{
    PyObject *a, *b;
    long x, y;

    if (!PyArg_ParseTuple(args, "OO:add", &a, &b))
        return NULL;
    if (!PyInt_Check(a) || !PyInt_Check(b)) {
        PyErr_SetString(PyExc_TypeError, "add() needs two ints");
        return NULL;
    }
    x = PyInt_AsLong(a);
    y = PyInt_AS_LONG(b);
    if ((x == -1 || y == -1) && PyErr_Occurred())
        return NULL;
    return PyInt_FromLong(x + y);
}

static PyMethodDef SpamMethods[] = {
    {"system",  spam_system, METH_VARARGS,
     "Execute a shell command."},
    {"shout",  spam_shout, METH_VARARGS,
     "Upper-case a string and add an exclamation mark."},
    {"add",  spam_add, METH_VARARGS,
     "Add two integers."},
    {NULL, NULL, 0, NULL}        /* Sentinel */
};

PyMODINIT_FUNC
initspam(void)
{
    PyObject *m;

    m = Py_InitModule3("spam", SpamMethods, "The spam module from the Python 2 tutorial.");
    if (m == NULL)
        return;

    SpamError = PyErr_NewException("spam.error", NULL, NULL);
    Py_INCREF(SpamError);
    PyModule_AddObject(m, "error", SpamError);

    PyModule_AddObject(m, "VERSION", PyString_FromString("2.7-style"));
    PyModule_AddObject(m, "ANSWER", PyInt_FromLong(42));
}
