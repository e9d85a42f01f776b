/*
 * pyhost C shim: interpreter start-up, error fetch, wide integers.
 * See pyhost_shim.h for the contract of each function.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>
#ifndef _WIN32
#include <signal.h>
#endif

#include "pyhost_layout.h"
#include "pyhost_shim.h"

static void copy_message(char *err, size_t err_len, const char *prefix, const char *msg)
{
    if (err == NULL || err_len == 0)
        return;
    snprintf(err, err_len, "%s%s", prefix, msg ? msg : "unknown error");
}

/* Turn a failed PyStatus into text: "func: message" as Py_ExitStatusException
 * would print it, without exiting the host. */
static int status_failed(PyStatus status, char *err, size_t err_len)
{
    if (err != NULL && err_len > 0) {
        if (status.func != NULL)
            snprintf(err, err_len, "%s: %s", status.func, status.err_msg ? status.err_msg : "error");
        else if (status.err_msg != NULL)
            snprintf(err, err_len, "%s", status.err_msg);
        else if (PyStatus_IsExit(status))
            snprintf(err, err_len, "Python asked to exit with code %d during start-up", status.exitcode);
        else
            snprintf(err, err_len, "unknown start-up error");
    }
    return -1;
}

int pyhost_initialize(const pyhost_init_options *opts, char *err, size_t err_len)
{
    PyStatus status;
    PyPreConfig preconfig;
    PyConfig config;

    if (opts == NULL) {
        copy_message(err, err_len, "", "pyhost_initialize: options are NULL");
        return -1;
    }

    /* Pre-initialisation fixes the allocator, the locale and UTF-8 mode. */
    if (opts->isolated)
        PyPreConfig_InitIsolatedConfig(&preconfig);
    else
        PyPreConfig_InitPythonConfig(&preconfig);
    preconfig.utf8_mode = opts->utf8_mode ? 1 : 0;
    status = Py_PreInitialize(&preconfig);
    if (PyStatus_Exception(status))
        return status_failed(status, err, err_len);

    if (opts->isolated)
        PyConfig_InitIsolatedConfig(&config);
    else
        PyConfig_InitPythonConfig(&config);

    /* The host owns the process: no signal handlers unless asked, no
     * command-line parsing, no change to the C stdio buffering. */
    config.install_signal_handlers = opts->install_signal_handlers ? 1 : 0;
    config.parse_argv = 0;
    config.configure_c_stdio = 0;
    config.pathconfig_warnings = 0;
    config.site_import = opts->site_import ? 1 : 0;
    config.write_bytecode = opts->write_bytecode ? 1 : 0;

    if (opts->home != NULL) {
        status = PyConfig_SetBytesString(&config, &config.home, opts->home);
        if (PyStatus_Exception(status))
            goto fail;
    }
    if (opts->program_name != NULL) {
        status = PyConfig_SetBytesString(&config, &config.program_name, opts->program_name);
        if (PyStatus_Exception(status))
            goto fail;
    }
    if (opts->executable != NULL) {
        status = PyConfig_SetBytesString(&config, &config.executable, opts->executable);
        if (PyStatus_Exception(status))
            goto fail;
    }
    if (opts->argv != NULL && opts->argc > 0) {
        status = PyConfig_SetBytesArgv(&config, (Py_ssize_t)opts->argc, (char *const *)opts->argv);
        if (PyStatus_Exception(status))
            goto fail;
    }

    status = Py_InitializeFromConfig(&config);
    PyConfig_Clear(&config);
    if (PyStatus_Exception(status)) {
        /* Never leave the GIL held after a failed start-up (the rtloader bug
         * fixed in datadog-agent#54331 hung every later ensure_gil). */
        if (Py_IsInitialized() && PyGILState_Check())
            (void)PyEval_SaveThread();
        return status_failed(status, err, err_len);
    }
#ifndef _WIN32
    if (!opts->install_signal_handlers) {
        /* Even with install_signal_handlers=0, CPython's signal module
         * installs its SIGINT handler when first imported in the main
         * interpreter if the action is SIG_DFL (3.11 signal_get_set_handlers),
         * and asyncio/subprocess import it. Import it now and put the host's
         * action back, so SIGINT stays the host's. */
        struct sigaction saved;
        if (sigaction(SIGINT, NULL, &saved) == 0) {
            PyObject *mod = PyImport_ImportModule("signal");
            if (mod == NULL)
                PyErr_Clear();
            Py_XDECREF(mod);
            (void)sigaction(SIGINT, &saved, NULL);
        }
    }
#endif
    return 0;

fail:
    PyConfig_Clear(&config);
    return status_failed(status, err, err_len);
}

int pyhost_subinterpreter_new(const pyhost_interp_options *opts, PyThreadState **tstate_out, char *err, size_t err_len)
{
    if (opts == NULL || tstate_out == NULL) {
        copy_message(err, err_len, "", "pyhost_subinterpreter_new: NULL argument");
        return -1;
    }
    *tstate_out = NULL;
#if PY_VERSION_HEX >= 0x030C0000
    PyInterpreterConfig config = {
        .use_main_obmalloc = opts->own_gil ? 0 : 1,
        .allow_fork = opts->allow_fork ? 1 : 0,
        .allow_exec = opts->allow_exec ? 1 : 0,
        .allow_threads = opts->allow_threads ? 1 : 0,
        .allow_daemon_threads = opts->allow_daemon_threads ? 1 : 0,
        .check_multi_interp_extensions = opts->check_multi_interp_extensions ? 1 : 0,
        .gil = opts->own_gil ? PyInterpreterConfig_OWN_GIL : PyInterpreterConfig_SHARED_GIL,
    };
    PyThreadState *tstate = NULL;
    PyStatus status = Py_NewInterpreterFromConfig(&tstate, &config);
    if (PyStatus_Exception(status)) {
        /* Nothing was attached; the calling thread is as it was. */
        return status_failed(status, err, err_len);
    }
    *tstate_out = tstate;
    return 0;
#else
    snprintf(err, err_len,
             "sub-interpreters with their own GIL need Python 3.12 or newer (PEP 684); pyhost was built against %s",
             PY_VERSION);
    return -1;
#endif
}

const char *pyhost_compiled_version(void) { return PY_VERSION; }
unsigned long pyhost_compiled_hexversion(void) { return (unsigned long)PY_VERSION_HEX; }

long long pyhost_layout(const char *name)
{
    if (name == NULL)
        return -1;
#define PYHOST_LAYOUT_CASE(entry, value) \
    if (strcmp(name, #entry) == 0)        \
        return (long long)(value);
    PYHOST_LAYOUT(PYHOST_LAYOUT_CASE)
#undef PYHOST_LAYOUT_CASE
    return -1;
}

int pyhost_compiled_gil_disabled(void)
{
#ifdef Py_GIL_DISABLED
    return 1;
#else
    return 0;
#endif
}

PyObject *pyhost_err_take(void)
{
#if PY_VERSION_HEX >= 0x030C0000
    /* 3.12+: the exception is stored normalised, traceback attached. */
    return PyErr_GetRaisedException();
#else
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (type == NULL)
        return NULL;
    PyErr_NormalizeException(&type, &value, &tb);
    if (value == NULL) {
        /* Normalisation can only fail to produce a value if it raised; fall
         * back to the type as the "value" so the caller still sees something. */
        Py_XDECREF(tb);
        return type;
    }
    if (tb != NULL) {
        PyException_SetTraceback(value, tb);
        Py_DECREF(tb);
    }
    Py_DECREF(type);
    return value;
#endif
}

PyObject *pyhost_long_from_128(uint64_t lo, uint64_t hi, int is_signed)
{
    unsigned char bytes[16];
    for (int i = 0; i < 8; i++) {
        bytes[i] = (unsigned char)(lo >> (8 * i));
        bytes[8 + i] = (unsigned char)(hi >> (8 * i));
    }
    return _PyLong_FromByteArray(bytes, 16, /*little_endian=*/1, is_signed);
}

int pyhost_long_as_128(PyObject *obj, uint64_t *lo, uint64_t *hi, int is_signed)
{
    unsigned char bytes[16];
    PyObject *num = PyNumber_Index(obj);
    if (num == NULL)
        return -1;
#if PY_VERSION_HEX >= 0x030D0000
    int rc = _PyLong_AsByteArray((PyLongObject *)num, bytes, 16, 1, is_signed, 1);
#else
    int rc = _PyLong_AsByteArray((PyLongObject *)num, bytes, 16, 1, is_signed);
#endif
    Py_DECREF(num);
    if (rc < 0)
        return -1;
    uint64_t l = 0, h = 0;
    for (int i = 0; i < 8; i++) {
        l |= (uint64_t)bytes[i] << (8 * i);
        h |= (uint64_t)bytes[8 + i] << (8 * i);
    }
    *lo = l;
    *hi = h;
    return 0;
}
