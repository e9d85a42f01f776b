/*
 * pyhost/py2compat.h: compile a Python 2 C extension for Python 3.
 *
 * Header-only (it needs nothing but Python.h), so the same ported source
 * builds into a pyhost host and into a shared object for a stand-alone
 * python3. See docs/porting.md for the steps and for what it cannot hide.
 *
 * What it provides:
 *
 *  - Py_InitModule, Py_InitModule3, Py_InitModule4 with Python 2's meaning:
 *    create the module and return it as a BORROWED reference, registered in
 *    sys.modules (which owns it).
 *  - PyMODINIT_FUNC redefined to `void` (exported), so the Python 2 entry
 *    point `PyMODINIT_FUNC initNAME(void) { ... return; }` compiles as is.
 *  - PYHOST_PY2_MODULE(NAME): defines Python 3's entry point PyInit_NAME,
 *    which calls initNAME() and returns the module its Py_InitModule call
 *    created. Either write `PYHOST_PY2_MODULE(spam)` once in the source, or
 *    build with `-DPYHOST_PY2_MODULE_NAME=spam` and the header writes it.
 *  - The PyInt_* names as PyLong_*, and the PyString_* names as text (str,
 *    UTF-8) as py3c maps PyStr_*; define PYHOST_PY2COMPAT_STRING_IS_BYTES
 *    before including to map PyString_* to PyBytes_* instead.
 *  - Python 2 type flags that Python 3 removed (Py_TPFLAGS_HAVE_ITER, ...) as 0,
 *    and a few renamed functions (PyNumber_Int).
 *
 * Zero-edit build of a classic extension (nothing in the .c file changes):
 *
 *     cc -shared -fPIC $(python3-config --includes) -I<pyhost>/include \
 *        -include pyhost/py2compat.h -DPYHOST_PY2_MODULE_NAME=spam \
 *        spammodule.c -o spam.so
 */
#ifndef PYHOST_PY2COMPAT_H
#define PYHOST_PY2COMPAT_H

#include <Python.h>

#if PY_MAJOR_VERSION < 3
#error "pyhost/py2compat.h ports Python 2 extensions to Python 3; do not use it with Python 2"
#endif

#ifdef __GNUC__
#define PYHOST_PY2_UNUSED __attribute__((unused))
#else
#define PYHOST_PY2_UNUSED
#endif

#ifdef __cplusplus
#define PYHOST_PY2_EXTERN_C extern "C"
#else
#define PYHOST_PY2_EXTERN_C
#endif

/* Exported with C linkage, as PyMODINIT_FUNC is. Py_EXPORTED_SYMBOL is
 * 3.9+; before, the same attribute spelled out (pyport.h's definition). */
#ifdef Py_EXPORTED_SYMBOL
#define PYHOST_PY2_EXPORTED_SYMBOL Py_EXPORTED_SYMBOL
#elif defined(_WIN32) || defined(__CYGWIN__)
#define PYHOST_PY2_EXPORTED_SYMBOL __declspec(dllexport)
#elif defined(__GNUC__) && __GNUC__ >= 4
#define PYHOST_PY2_EXPORTED_SYMBOL __attribute__((visibility("default")))
#else
#define PYHOST_PY2_EXPORTED_SYMBOL
#endif
#define PYHOST_PY2_EXPORT PYHOST_PY2_EXTERN_C PYHOST_PY2_EXPORTED_SYMBOL

/* ---- module initialisation ------------------------------------------- */

/* Python 2's entry point returned void; Python 3's returns the module. The
 * Python 2 function keeps its shape and PyInit_NAME wraps it. Define
 * PYHOST_PY2COMPAT_KEEP_MODINIT to keep Python 3's meaning (for a file that
 * also has Python 3 entry points); then declare initNAME as
 * `PYHOST_PY2_MODINIT_FUNC initNAME(void)`. */
#define PYHOST_PY2_MODINIT_FUNC PYHOST_PY2_EXPORT void
#ifndef PYHOST_PY2COMPAT_KEEP_MODINIT
#undef PyMODINIT_FUNC
#define PyMODINIT_FUNC PYHOST_PY2_MODINIT_FUNC
#endif

/* The first module created by Py_InitModule* during the current initNAME()
 * call (borrowed; sys.modules owns it). Import runs under the import lock
 * with the GIL held, so one per translation unit is enough. */
static PyObject *pyhost_py2_current_module PYHOST_PY2_UNUSED = NULL;
static int pyhost_py2_in_init PYHOST_PY2_UNUSED = 0;

/* Python 2: Py_InitModule4(name, methods, doc, self, apiver).
 * Creates a single-phase module (PyModule_Create2 on a PyModuleDef that is
 * allocated here and kept for the life of the process, as Python 2 kept its
 * method tables), stores it in sys.modules under its __name__ and returns
 * it borrowed. A non-NULL `self` becomes the functions' self, as in Python 2
 * (PyModule_Create would pass the module). */
static PyObject *pyhost_py2_init_module4(const char *name, PyMethodDef *methods, const char *doc,
                                         PyObject *self, int apiver) PYHOST_PY2_UNUSED;
static PyObject *pyhost_py2_init_module4(const char *name, PyMethodDef *methods, const char *doc,
                                         PyObject *self, int apiver)
{
    static const PyModuleDef def_template = {PyModuleDef_HEAD_INIT, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL};
    PyModuleDef *def;
    PyObject *m, *modname;

    def = (PyModuleDef *)PyMem_RawMalloc(sizeof(PyModuleDef));
    if (def == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    *def = def_template;
    def->m_name = name;
    def->m_doc = doc;
    def->m_size = -1; /* single-phase, global state: what a Python 2 module is */
    def->m_methods = self == NULL ? methods : NULL;

    m = PyModule_Create2(def, apiver);
    if (m == NULL)
        return NULL; /* def is leaked on this path only; a failing import is rare */

    if (self != NULL && methods != NULL) {
        PyMethodDef *ml;
        modname = PyModule_GetNameObject(m);
        if (modname == NULL)
            goto fail;
        for (ml = methods; ml->ml_name != NULL; ml++) {
            PyObject *f = PyCFunction_NewEx(ml, self, modname);
            if (f == NULL || PyModule_AddObject(m, ml->ml_name, f) < 0) {
                Py_XDECREF(f);
                Py_DECREF(modname);
                goto fail;
            }
        }
        Py_DECREF(modname);
    }

    modname = PyModule_GetNameObject(m);
    if (modname == NULL)
        goto fail;
    if (PyObject_SetItem(PyImport_GetModuleDict(), modname, m) < 0) {
        Py_DECREF(modname);
        goto fail;
    }
    Py_DECREF(modname);
    Py_DECREF(m); /* sys.modules keeps it alive: the result is borrowed */
    if (pyhost_py2_in_init && pyhost_py2_current_module == NULL)
        pyhost_py2_current_module = m;
    return m;

fail:
    Py_DECREF(m);
    return NULL;
}

#define Py_InitModule4(name, methods, doc, self, apiver) \
    pyhost_py2_init_module4((name), (methods), (doc), (self), (apiver))
#define Py_InitModule3(name, methods, doc) \
    pyhost_py2_init_module4((name), (methods), (doc), (PyObject *)NULL, PYTHON_API_VERSION)
#define Py_InitModule(name, methods) \
    pyhost_py2_init_module4((name), (methods), (const char *)NULL, (PyObject *)NULL, PYTHON_API_VERSION)

/* Run a Python 2 initNAME() and return, as PyInit_NAME must, a new reference
 * to the module it created, or NULL with an exception. */
static PyObject *pyhost_py2_run_init(void (*init)(void), const char *initname) PYHOST_PY2_UNUSED;
static PyObject *pyhost_py2_run_init(void (*init)(void), const char *initname)
{
    PyObject *m;
    pyhost_py2_current_module = NULL;
    pyhost_py2_in_init = 1;
    init();
    pyhost_py2_in_init = 0;
    m = pyhost_py2_current_module;
    pyhost_py2_current_module = NULL;
    if (PyErr_Occurred()) {
        /* Python 2 reported "initialization of NAME raised unreported
         * exception" here too; leave no half-built module behind. */
        if (m != NULL) {
            PyObject *exc_type, *exc_value, *exc_tb, *modname;
            PyErr_Fetch(&exc_type, &exc_value, &exc_tb);
            modname = PyModule_GetNameObject(m);
            if (modname == NULL || PyObject_DelItem(PyImport_GetModuleDict(), modname) < 0)
                PyErr_Clear();
            Py_XDECREF(modname);
            PyErr_Restore(exc_type, exc_value, exc_tb);
        }
        return NULL;
    }
    if (m == NULL) {
        PyErr_Format(PyExc_SystemError, "%s() returned without creating a module (no Py_InitModule call)",
                     initname);
        return NULL;
    }
    Py_INCREF(m);
    return m;
}

/* Define Python 3's entry point PyInit_NAME around Python 2's initNAME. */
#define PYHOST_PY2_MODULE(name)                                               \
    PYHOST_PY2_EXPORT void init##name(void);                                  \
    PYHOST_PY2_EXPORT PyObject *PyInit_##name(void);                          \
    PyObject *PyInit_##name(void)                                             \
    {                                                                         \
        return pyhost_py2_run_init(init##name, "init" #name);                 \
    }

/* With -DPYHOST_PY2_MODULE_NAME=spam the header writes PyInit_spam itself
 * (the extra macro level expands the name before pasting). */
#define PYHOST_PY2_MODULE_EXPAND(name) PYHOST_PY2_MODULE(name)
#ifdef PYHOST_PY2_MODULE_NAME
PYHOST_PY2_MODULE_EXPAND(PYHOST_PY2_MODULE_NAME)
#endif

/* ---- ints: Python 3 has one integer type ------------------------------ */

#define PyInt_Type PyLong_Type
#define PyInt_Check PyLong_Check
#define PyInt_CheckExact PyLong_CheckExact
#define PyInt_FromString PyLong_FromString
#define PyInt_FromLong PyLong_FromLong
#define PyInt_FromSsize_t PyLong_FromSsize_t
#define PyInt_FromSize_t PyLong_FromSize_t
#define PyInt_AsLong PyLong_AsLong
#define PyInt_AS_LONG PyLong_AsLong
#define PyInt_AsSsize_t PyLong_AsSsize_t
#define PyInt_AsUnsignedLongMask PyLong_AsUnsignedLongMask
#define PyInt_AsUnsignedLongLongMask PyLong_AsUnsignedLongLongMask
#define PyInt_GetMax() LONG_MAX
#define PyNumber_Int PyNumber_Long

/* ---- strings ---------------------------------------------------------- */

#ifndef PYHOST_PY2COMPAT_STRING_IS_BYTES

/* PyString_* as text: Python 3 str, exchanged with C as UTF-8 (py3c's
 * PyStr_* mapping). Sizes are UTF-8 byte counts, matching the buffer that
 * PyString_AsString returns (Python 2 code uses them together). */

static Py_ssize_t pyhost_py2_str_size(PyObject *o) PYHOST_PY2_UNUSED;
static Py_ssize_t pyhost_py2_str_size(PyObject *o)
{
    Py_ssize_t n;
    if (PyUnicode_AsUTF8AndSize(o, &n) == NULL)
        return -1;
    return n;
}

/* Python 2 accepted str (bytes) here; Python 3 code may pass either. */
static int pyhost_py2_str_as_string_and_size(PyObject *o, char **buf, Py_ssize_t *len) PYHOST_PY2_UNUSED;
static int pyhost_py2_str_as_string_and_size(PyObject *o, char **buf, Py_ssize_t *len)
{
    if (PyBytes_Check(o))
        return PyBytes_AsStringAndSize(o, buf, len);
    {
        Py_ssize_t n;
        const char *s = PyUnicode_AsUTF8AndSize(o, &n);
        if (s == NULL)
            return -1;
        if (len != NULL)
            *len = n;
        else if ((Py_ssize_t)strlen(s) != n) {
            PyErr_SetString(PyExc_ValueError, "embedded null character");
            return -1;
        }
        *buf = (char *)s;
        return 0;
    }
}

/* PyString_Concat(&left, right): replaces *left with left + right (steals
 * the old *left); on error *left becomes NULL. Same as PyUnicode_Append. */
#define PyString_Type PyUnicode_Type
#define PyString_Check PyUnicode_Check
#define PyString_CheckExact PyUnicode_CheckExact
#define PyString_FromString PyUnicode_FromString
#define PyString_FromStringAndSize PyUnicode_FromStringAndSize
#define PyString_FromFormat PyUnicode_FromFormat
#define PyString_FromFormatV PyUnicode_FromFormatV
/* Python 2 returned char *; writing through it was never allowed for shared
 * strings, and Python 3's buffer is const: the cast keeps old code compiling. */
#define PyString_AsString(o) ((char *)PyUnicode_AsUTF8(o))
#define PyString_AS_STRING(o) ((char *)PyUnicode_AsUTF8(o))
#define PyString_Size pyhost_py2_str_size
#define PyString_GET_SIZE pyhost_py2_str_size
#define PyString_AsStringAndSize pyhost_py2_str_as_string_and_size
#define PyString_Concat PyUnicode_Append
#define PyString_ConcatAndDel PyUnicode_AppendAndDel
#define PyString_Format PyUnicode_Format
#define PyString_InternInPlace PyUnicode_InternInPlace
#define PyString_InternFromString PyUnicode_InternFromString
#define PyString_Decode PyUnicode_Decode

#else /* PYHOST_PY2COMPAT_STRING_IS_BYTES */

#define PyString_Type PyBytes_Type
#define PyString_Check PyBytes_Check
#define PyString_CheckExact PyBytes_CheckExact
#define PyString_FromString PyBytes_FromString
#define PyString_FromStringAndSize PyBytes_FromStringAndSize
#define PyString_FromFormat PyBytes_FromFormat
#define PyString_FromFormatV PyBytes_FromFormatV
#define PyString_AsString PyBytes_AsString
#define PyString_AS_STRING PyBytes_AS_STRING
#define PyString_Size PyBytes_Size
#define PyString_GET_SIZE PyBytes_GET_SIZE
#define PyString_AsStringAndSize PyBytes_AsStringAndSize
#define PyString_Concat PyBytes_Concat
#define PyString_ConcatAndDel PyBytes_ConcatAndDel
#define _PyString_Resize _PyBytes_Resize

#endif /* PYHOST_PY2COMPAT_STRING_IS_BYTES */

/* py3c's spelling for text, for code already half-way ported. */
#ifndef PyStr_Check
#define PyStr_Type PyUnicode_Type
#define PyStr_Check PyUnicode_Check
#define PyStr_CheckExact PyUnicode_CheckExact
#define PyStr_FromString PyUnicode_FromString
#define PyStr_FromStringAndSize PyUnicode_FromStringAndSize
#define PyStr_FromFormat PyUnicode_FromFormat
#define PyStr_AsString PyUnicode_AsUTF8
#define PyStr_AsUTF8 PyUnicode_AsUTF8
#define PyStr_AsUTF8AndSize PyUnicode_AsUTF8AndSize
#endif

/* ---- type flags Python 3 removed (their features are always on) ------- */

#ifndef Py_TPFLAGS_HAVE_GETCHARBUFFER
#define Py_TPFLAGS_HAVE_GETCHARBUFFER 0
#endif
#ifndef Py_TPFLAGS_HAVE_SEQUENCE_IN
#define Py_TPFLAGS_HAVE_SEQUENCE_IN 0
#endif
#ifndef Py_TPFLAGS_HAVE_INPLACEOPS
#define Py_TPFLAGS_HAVE_INPLACEOPS 0
#endif
#ifndef Py_TPFLAGS_CHECKTYPES
#define Py_TPFLAGS_CHECKTYPES 0
#endif
#ifndef Py_TPFLAGS_HAVE_RICHCOMPARE
#define Py_TPFLAGS_HAVE_RICHCOMPARE 0
#endif
#ifndef Py_TPFLAGS_HAVE_WEAKREFS
#define Py_TPFLAGS_HAVE_WEAKREFS 0
#endif
#ifndef Py_TPFLAGS_HAVE_ITER
#define Py_TPFLAGS_HAVE_ITER 0
#endif
#ifndef Py_TPFLAGS_HAVE_CLASS
#define Py_TPFLAGS_HAVE_CLASS 0
#endif
#ifndef Py_TPFLAGS_HAVE_INDEX
#define Py_TPFLAGS_HAVE_INDEX 0
#endif
#ifndef Py_TPFLAGS_HAVE_NEWBUFFER
#define Py_TPFLAGS_HAVE_NEWBUFFER 0
#endif

/* Python 2.2-era forward-declaration macros. */
#ifndef staticforward
#define staticforward static
#endif
#ifndef statichere
#define statichere static
#endif

#endif /* PYHOST_PY2COMPAT_H */
