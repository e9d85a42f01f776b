/*
 * Plain-C baselines for benches/modules.rs: the module `pyhost_bench_c`,
 * whose functions do what pyhost_demo's Rust functions do, written directly
 * against the C API with the same calling convention (METH_FASTCALL |
 * METH_KEYWORDS).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>
#include <string.h>

#include "pyhost_bench.h"

/* Critical sections are 3.13+; before, the GIL is the lock. */
#ifndef Py_BEGIN_CRITICAL_SECTION
#define Py_BEGIN_CRITICAL_SECTION(op) {
#define Py_END_CRITICAL_SECTION() }
#endif

/* Keep the copies observable so the compiler cannot drop them. */
#define CONSUME(p) __asm__ __volatile__("" : : "g"(p) : "memory")

static PyObject *bench_noop(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (nargs != 0 || kwnames != NULL) {
        PyErr_SetString(PyExc_TypeError, "noop() takes no arguments");
        return NULL;
    }
    Py_RETURN_NONE;
}

/* A malloc'd copy of a str's UTF-8, or NULL with TypeError naming the argument. */
static char *copy_str(PyObject *o, int argno)
{
    Py_ssize_t n;
    const char *s;
    char *copy;
    if (!PyUnicode_Check(o)) {
        PyErr_Format(PyExc_TypeError, "gauge() argument %d must be str, not %.50s", argno, Py_TYPE(o)->tp_name);
        return NULL;
    }
    s = PyUnicode_AsUTF8AndSize(o, &n);
    if (s == NULL)
        return NULL;
    copy = malloc((size_t)n + 1);
    if (copy == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    memcpy(copy, s, (size_t)n + 1);
    return copy;
}

static PyObject *bench_gauge(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    char *name = NULL, *host = NULL, **tags = NULL;
    Py_ssize_t ntags = 0, i;
    double value;
    PyObject *list;

    if (nargs != 4 || kwnames != NULL) {
        PyErr_SetString(PyExc_TypeError, "gauge() takes exactly 4 positional arguments");
        return NULL;
    }
    name = copy_str(args[0], 1);
    if (name == NULL)
        return NULL;
    value = PyFloat_AsDouble(args[1]);
    if (value == -1.0 && PyErr_Occurred())
        goto fail;
    list = args[2];
    if (!PyList_Check(list)) {
        PyErr_Format(PyExc_TypeError, "gauge() argument 3 must be list, not %.50s", Py_TYPE(list)->tp_name);
        goto fail;
    }
    /* The items are read in place: on a free-threaded build, under the list's
     * lock, as CPython's own code reads a list (a no-op with the GIL). */
    int ok = 1;
    Py_BEGIN_CRITICAL_SECTION(list);
    tags = calloc((size_t)PyList_GET_SIZE(list) + 1, sizeof(char *));
    if (tags == NULL) {
        PyErr_NoMemory();
        ok = 0;
    }
    for (i = 0; ok && i < PyList_GET_SIZE(list); i++) {
        tags[i] = copy_str(PyList_GET_ITEM(list, i), 3);
        if (tags[i] == NULL)
            ok = 0;
        else
            ntags++;
    }
    Py_END_CRITICAL_SECTION();
    if (!ok)
        goto fail;
    host = copy_str(args[3], 4);
    if (host == NULL)
        goto fail;

    CONSUME(name);
    CONSUME(tags);
    CONSUME(host);
    CONSUME(&value);
    free(name);
    for (i = 0; i < ntags; i++)
        free(tags[i]);
    free(tags);
    free(host);
    Py_RETURN_NONE;

fail:
    free(name);
    for (i = 0; i < ntags; i++)
        free(tags[i]);
    free(tags);
    free(host);
    return NULL;
}

#define FASTCALL_KW(f) (PyCFunction)(void (*)(void))(f), METH_FASTCALL | METH_KEYWORDS

static PyMethodDef bench_methods[] = {
    {"noop", FASTCALL_KW(bench_noop), "noop()\n--\n\nDo nothing (plain C)."},
    {"gauge", FASTCALL_KW(bench_gauge),
     "gauge(name, value, tags, hostname)\n--\n\nCopy name, tags and host into malloc'd strings, then free them (plain C)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef bench_def = {
    PyModuleDef_HEAD_INIT, "pyhost_bench_c", "Plain-C baselines for the host-module benchmarks.", 0, bench_methods,
    NULL, NULL, NULL, NULL,
};

PyObject *pyhost_module_bench_c_init(void)
{
    return PyModuleDef_Init(&bench_def);
}
