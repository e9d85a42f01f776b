/*
 * The struct layouts pyhost's Rust side mirrors (src/ffi/), as the C compiler
 * sees them in the Python.h we build against: one X-macro list used twice.
 *
 * - build.rs compiles a probe that prints every entry, writes them as Rust
 *   constants, and src/ffi/layout.rs asserts at compile time that each Rust
 *   mirror matches: a build against a Python whose layout pyhost does not
 *   know fails to compile instead of crashing at run time.
 * - the shim (pyhost_shim.c) exports pyhost_layout(name), so a test can
 *   compare the same numbers from the library that actually runs.
 *
 * Include after Python.h.
 */
#ifndef PYHOST_LAYOUT_H
#define PYHOST_LAYOUT_H

#include <stddef.h>

/* The self object of a closure-backed host function (csrc/module.c). */
typedef struct {
    PyObject_HEAD
    void *entry;
} pyhost_function_data;

#define PYHOST_MEMBER_SIZE(type, member) sizeof(((type *)0)->member)

#ifdef Py_GIL_DISABLED
#define PYHOST_LAYOUT_OBJECT_HEAD(X)                                            \
    X(PyObject_ob_tid, offsetof(PyObject, ob_tid))                              \
    X(PyObject_ob_ref_local, offsetof(PyObject, ob_ref_local))                  \
    X(PyObject_ob_ref_shared, offsetof(PyObject, ob_ref_shared))
#else
#define PYHOST_LAYOUT_OBJECT_HEAD(X)                                            \
    X(PyObject_ob_refcnt, offsetof(PyObject, ob_refcnt))
#endif

#ifdef Py_GIL_DISABLED
#define PYHOST_LAYOUT_FREE_THREADED(X)                                          \
    X(PyCriticalSection_size, sizeof(PyCriticalSection))
#else
#define PYHOST_LAYOUT_FREE_THREADED(X)
#endif

#define PYHOST_LAYOUT(X)                                                        \
    PYHOST_LAYOUT_OBJECT_HEAD(X)                                                \
    PYHOST_LAYOUT_FREE_THREADED(X)                                              \
    X(PyObject_size, sizeof(PyObject))                                          \
    X(PyObject_ob_type, offsetof(PyObject, ob_type))                            \
    X(PyVarObject_size, sizeof(PyVarObject))                                    \
    X(PyVarObject_ob_size, offsetof(PyVarObject, ob_size))                      \
    X(PyTypeObject_tp_name, offsetof(PyTypeObject, tp_name))                    \
    X(PyTypeObject_tp_flags, offsetof(PyTypeObject, tp_flags))                  \
    X(PyTypeObject_tp_flags_size, PYHOST_MEMBER_SIZE(PyTypeObject, tp_flags))   \
    X(PyTupleObject_ob_item, offsetof(PyTupleObject, ob_item))                  \
    X(PyListObject_size, sizeof(PyListObject))                                  \
    X(PyListObject_ob_item, offsetof(PyListObject, ob_item))                    \
    X(PyMethodDef_size, sizeof(PyMethodDef))                                    \
    X(PyMethodDef_ml_meth, offsetof(PyMethodDef, ml_meth))                      \
    X(PyMethodDef_ml_flags, offsetof(PyMethodDef, ml_flags))                    \
    X(PyMethodDef_ml_doc, offsetof(PyMethodDef, ml_doc))                        \
    X(PyModuleDef_Base_size, sizeof(PyModuleDef_Base))                          \
    X(PyModuleDef_size, sizeof(PyModuleDef))                                    \
    X(pyhost_function_data_entry, offsetof(pyhost_function_data, entry))

#endif /* PYHOST_LAYOUT_H */
