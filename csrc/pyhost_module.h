/*
 * pyhost host modules: the C half of src/module/.
 *
 * Module definitions (PyModuleDef, PEP 489 multi-phase) and method tables
 * (PyMethodDef, METH_FASTCALL | METH_KEYWORDS) live in C, where every
 * extension author expects them; their entries are Rust `extern "C"`
 * functions. Two kinds:
 *
 * - fixed modules (csrc/demo_module.c): a static table per module, each entry
 *   a `#[no_mangle] extern "C"` Rust function;
 * - host modules built at run time from Rust closures (csrc/module.c): one
 *   shared PyModuleDef whose Py_mod_exec slot (Rust) looks the module up by
 *   name and adds one PyCFunction per closure, all sharing one trampoline.
 *
 * Like pyhost_shim.h, this header does not include Python.h, so bindgen sees
 * PyObject as opaque. The declarations of the Rust functions the C tables
 * point at need Python's types and are only visible to C (after Python.h).
 */
#ifndef PYHOST_MODULE_H
#define PYHOST_MODULE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _object PyObject;

/* ---- host modules built from Rust closures (csrc/module.c) ------------- */

/* Init function for PyImport_AppendInittab, shared by every host module
 * registered before start-up: returns PyModuleDef_Init(&def) of the shared
 * multi-phase definition. The module's name comes from the import spec; the
 * Py_mod_exec slot finds the module's functions and constants by that name. */
PyObject *pyhost_module_host_init(void);

/* Create and execute a host module in a running interpreter from an import
 * spec (anything with a `name` attribute): PyModule_FromDefAndSpec +
 * PyModule_ExecDef on the shared definition. New reference, or NULL with an
 * exception. Needs the GIL. */
PyObject *pyhost_module_host_create(PyObject *spec);

/* A new `pyhost.FunctionData` type (PyType_FromSpec), for the calling
 * thread's interpreter: the type of the self objects of closure-backed
 * functions. New reference, or NULL with an exception. */
PyObject *pyhost_function_data_type_new(void);

/* A new `pyhost.FunctionData` object of `type` (from
 * pyhost_function_data_type_new, in the same interpreter): the self object of
 * a closure-backed function, holding `entry` (the Rust closure's record,
 * never freed). The trampoline reads the pointer at the offset of
 * pyhost_function_data.entry (csrc/pyhost_layout.h). */
PyObject *pyhost_function_data_new(PyObject *type, void *entry);

/* ---- fixed module `pyhost_demo` (csrc/demo_module.c) ----------------- */

/* Init function of `pyhost_demo` (for PyImport_AppendInittab): a static
 * METH_FASTCALL | METH_KEYWORDS table of Rust functions, module state
 * holding its exception type, multi-phase initialisation. */
PyObject *pyhost_module_demo_init(void);

/* `pyhost_demo.DemoError`, from the module state of `module` (borrowed), or
 * NULL with SystemError if `module` is not a pyhost_demo module. */
PyObject *pyhost_module_demo_error(PyObject *module);

#ifdef Py_PYTHON_H
/* Implemented in Rust (src/module/). Hidden from bindgen, which does not
 * include Python.h: the Rust definitions are the source of truth. */

/* Py_mod_exec slot of the shared host-module definition. */
int pyhost_rs_hostmodule_exec(PyObject *module);

/* pyhost_demo's functions (src/module/demo.rs). */
PyObject *pyhost_rs_demo_noop(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames);
PyObject *pyhost_rs_demo_gauge(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames);
PyObject *pyhost_rs_demo_add(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames);
PyObject *pyhost_rs_demo_fail(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames);

/* Slots every pyhost module definition lists (before its {0, NULL}): its
 * state lives in the module object and its functions call thread-safe Rust,
 * so it may be imported in every interpreter, own-GIL sub-interpreters
 * included (Py_mod_multiple_interpreters, 3.12+), and importing it does not
 * turn the GIL back on in a free-threaded build (Py_mod_gil, 3.13+). */
#if PY_VERSION_HEX >= 0x030C0000
#define PYHOST_SLOT_INTERPRETERS {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#else
#define PYHOST_SLOT_INTERPRETERS
#endif
#if PY_VERSION_HEX >= 0x030D0000
#define PYHOST_SLOT_GIL {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#else
#define PYHOST_SLOT_GIL
#endif
#define PYHOST_MODULE_SLOTS PYHOST_SLOT_INTERPRETERS PYHOST_SLOT_GIL

/* PyModule_AddObjectRef (add `obj` to module `m` as `name`, without stealing
 * the reference) is 3.10+; older Pythons get the equivalent. For the exec
 * slots of csrc/demo_module.c and of dependent packages' tables (agent/csrc/dd_*.c). */
#if PY_VERSION_HEX >= 0x030A0000
#define PYHOST_ADD_OBJECT_REF(m, name, obj) PyModule_AddObjectRef((m), (name), (obj))
#else
static inline int pyhost_add_object_ref(PyObject *m, const char *name, PyObject *obj)
{
    Py_XINCREF(obj);
    if (PyModule_AddObject(m, name, obj) < 0) {
        Py_XDECREF(obj);
        return -1;
    }
    return 0;
}
#define PYHOST_ADD_OBJECT_REF(m, name, obj) pyhost_add_object_ref((m), (name), (obj))
#endif
#endif

#ifdef __cplusplus
}
#endif

#endif /* PYHOST_MODULE_H */
