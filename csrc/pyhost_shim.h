/*
 * pyhost C shim: the part of pyhost that must be compiled against the real
 * Python.h of the Python we link.
 *
 * Everything here is either version-sensitive (PyConfig's layout, the error
 * fetch API that changed in 3.12, _PyLong_AsByteArray's signature in 3.13) or
 * a C-only construct (static method tables).
 *
 * This header deliberately does not include Python.h: PyObject and
 * PyThreadState are opaque here, so the Rust bindings generated from it
 * (src/ffi/shim.rs, by bindgen) do not depend on the Python version.
 */
#ifndef PYHOST_SHIM_H
#define PYHOST_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _object PyObject;

/* ---- interpreter start-up (PEP 587: PyPreConfig + PyConfig) ---------- */

/* Options for pyhost_initialize. Strings are UTF-8 (or the locale's bytes for
 * paths) and are copied; NULL means "let CPython compute it". */
typedef struct pyhost_init_options {
    /* 1: PyConfig_InitIsolatedConfig (ignore PYTHON* variables and the user
     * site directory). 0: PyConfig_InitPythonConfig (honour them). */
    int isolated;
    /* PyConfig.install_signal_handlers. */
    int install_signal_handlers;
    /* PyPreConfig.utf8_mode: 1 on, 0 off. */
    int utf8_mode;
    /* PyConfig.site_import: 1 imports site (site-packages, .pth files). */
    int site_import;
    /* PyConfig.write_bytecode: 0 suppresses .pyc files (sys.dont_write_bytecode). */
    int write_bytecode;
    const char *home;         /* PyConfig.home (PYTHONHOME equivalent) */
    const char *program_name; /* PyConfig.program_name */
    const char *executable;   /* PyConfig.executable (sys.executable) */
    const char *const *argv;  /* PyConfig.argv (sys.argv), not parsed */
    size_t argc;
} pyhost_init_options;

/* Pre-initialise and initialise Python from `opts` (Py_PreInitialize,
 * Py_InitializeFromConfig). Returns 0 and holds the GIL on success. On
 * failure returns -1, writes the PyStatus message into err (NUL-terminated,
 * truncated to err_len) and leaves the GIL released if it was taken. */
int pyhost_initialize(const pyhost_init_options *opts, char *err, size_t err_len);

/* PY_VERSION of the headers this shim was compiled against, e.g. "3.11.7". */
const char *pyhost_compiled_version(void);
/* PY_VERSION_HEX of those headers. */
unsigned long pyhost_compiled_hexversion(void);

/* 1 if the headers are a free-threaded build's (Py_GIL_DISABLED), else 0. */
int pyhost_compiled_gil_disabled(void);

/* A layout fact of the headers, by name (the entries of csrc/pyhost_layout.h:
 * "PyObject_size", "PyObject_ob_type", ...), or -1 for an unknown name. The
 * Rust mirrors in src/ffi/ are checked against the same list at build time;
 * this lets a test compare them with the library that actually runs. */
long long pyhost_layout(const char *name);

/* ---- sub-interpreters (PEP 684, 3.12+) --------------------------------- */

typedef struct _ts PyThreadState;

/* PyInterpreterConfig, field by field (its layout is the shim's business). */
typedef struct pyhost_interp_options {
    /* 1: the interpreter has its own GIL (PyInterpreterConfig_OWN_GIL), which
     * needs its own allocator (use_main_obmalloc = 0) and
     * check_multi_interp_extensions = 1. 0: it shares the main GIL. */
    int own_gil;
    int allow_fork;
    int allow_exec;
    int allow_threads;
    int allow_daemon_threads;
    /* 1: importing a single-phase extension module (one that does not declare
     * multi-interpreter support) raises ImportError in this interpreter. */
    int check_multi_interp_extensions;
} pyhost_interp_options;

/* Create an interpreter with Py_NewInterpreterFromConfig on the calling
 * thread, which must have no attached thread state. On success returns 0
 * with *tstate_out the new interpreter's thread state, attached to this
 * thread with the interpreter's GIL held. On failure returns -1 and writes
 * the reason into err (the PyStatus message, or, before 3.12, that Python
 * 3.12 is needed). */
int pyhost_subinterpreter_new(const pyhost_interp_options *opts, PyThreadState **tstate_out, char *err, size_t err_len);

/* ---- errors ----------------------------------------------------------- */

/* Take the current exception (PyErr_Fetch + PyErr_NormalizeException on
 * <=3.11, PyErr_GetRaisedException on >=3.12) and return the normalised
 * exception instance with its __traceback__ set, as a new reference.
 * Returns NULL if no exception is set. Needs the GIL. */
PyObject *pyhost_err_take(void);

/* ---- integers wider than 64 bits -------------------------------------- */

/* PyLong from a 128-bit two's-complement integer given as two 64-bit halves
 * (_PyLong_FromByteArray). New reference, or NULL with an exception. */
PyObject *pyhost_long_from_128(uint64_t lo, uint64_t hi, int is_signed);
/* Write `obj` (an int) into two 64-bit halves (_PyLong_AsByteArray).
 * Returns 0, or -1 with OverflowError/TypeError set. */
int pyhost_long_as_128(PyObject *obj, uint64_t *lo, uint64_t *hi, int is_signed);

#ifdef __cplusplus
}
#endif

#endif /* PYHOST_SHIM_H */
