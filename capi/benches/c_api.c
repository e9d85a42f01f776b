/* The C side of `cargo bench -p pyhost-capi --bench c_api`: pyhost's C ABI
 * beside plain C to the CPython API, in one process, interleaved rounds.
 *
 *   c_api <rounds> <iterations per sample>
 *
 * call: C calls g(1000) (a Python function adding 1) and reads the int:
 *   call_c          plain C API, GIL held across the sample
 *   call_c_gil      plain C API, PyGILState_Ensure/Release around each call
 *   call_typed_held pyhost_object_call inside pyhost_with_gil (GIL held)
 *   call_typed      pyhost_object_call, taking the GIL per call
 *   call_json       pyhost_call_json("bench_funcs", "g", "[1000]")
 * cb: Python calls gauge("system.swap.total", 1234.0, ["env:prod",
 * "role:db"], "host1") in a loop; the host copies name, tags and host into
 * malloc'd strings and frees them:
 *   cb_c            a plain C METH_FASTCALL function
 *   cb_pyhost       a pyhost host function (declared parameters)
 *   cb_py           control: a Python no-op
 *   loop_empty      control: the empty loop
 *
 * Prints a markdown table: median ns per operation [min-max], and ratios as
 * the median of the per-round ratios (the machine's speed drifts; a round's
 * variants run back to back).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pyhost.h"

#define CONSUME(p) __asm__ __volatile__("" : : "g"(p) : "memory")

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
    fprintf(stderr, "c_api bench: %s failed: %s\n", what, pyhost_last_error());
    exit(1);
}

/* ---- the gauge functions ---------------------------------------------------- */

static char *dup_n(const char *s, size_t n) {
    char *c = malloc(n + 1);
    memcpy(c, s, n);
    c[n] = 0;
    return c;
}

static void consume_gauge(char *name, double value, char **tags, size_t ntags, char *host) {
    CONSUME(name);
    CONSUME(tags);
    CONSUME(host);
    CONSUME(&value);
    free(name);
    for (size_t i = 0; i < ntags; i++)
        free(tags[i]);
    free(tags);
    free(host);
}

/* Plain C: what benches/csrc/bench_modules.c does (checks, in-place reads, copies). */
static char *copy_str(PyObject *o, int argno) {
    Py_ssize_t n;
    if (!PyUnicode_Check(o)) {
        PyErr_Format(PyExc_TypeError, "gauge() argument %d must be str, not %.50s", argno, Py_TYPE(o)->tp_name);
        return NULL;
    }
    const char *s = PyUnicode_AsUTF8AndSize(o, &n);
    return s == NULL ? NULL : dup_n(s, (size_t)n);
}

static PyObject *c_gauge(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames) {
    (void)self;
    if (nargs != 4 || kwnames != NULL) {
        PyErr_SetString(PyExc_TypeError, "gauge() takes exactly 4 positional arguments");
        return NULL;
    }
    char *name = copy_str(args[0], 1);
    if (name == NULL)
        return NULL;
    double value = PyFloat_AsDouble(args[1]);
    if (value == -1.0 && PyErr_Occurred()) {
        free(name);
        return NULL;
    }
    PyObject *list = args[2];
    if (!PyList_Check(list)) {
        free(name);
        PyErr_SetString(PyExc_TypeError, "gauge() argument 3 must be list");
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(list);
    char **tags = calloc((size_t)n + 1, sizeof *tags);
    for (Py_ssize_t i = 0; i < n; i++) {
        tags[i] = copy_str(PyList_GET_ITEM(list, i), 3);
        if (tags[i] == NULL) {
            consume_gauge(name, value, tags, (size_t)i, strdup(""));
            return NULL;
        }
    }
    char *host = copy_str(args[3], 4);
    if (host == NULL) {
        consume_gauge(name, value, tags, (size_t)n, strdup(""));
        return NULL;
    }
    consume_gauge(name, value, tags, (size_t)n, host);
    Py_RETURN_NONE;
}

static PyMethodDef c_gauge_def = {"gauge", (PyCFunction)(void (*)(void))c_gauge, METH_FASTCALL | METH_KEYWORDS, NULL};

/* pyhost: the arguments arrive checked and converted. */
static int pyhost_gauge(pyhost_ctx *ctx, const pyhost_value *args, size_t nargs, pyhost_value *result, void *ud) {
    (void)ctx, (void)nargs, (void)result, (void)ud;
    const pyhost_str *items = args[2].ptr;
    size_t n = args[2].type == PYHOST_STR_LIST ? args[2].len : 0;
    char **tags = calloc(n + 1, sizeof *tags);
    for (size_t i = 0; i < n; i++)
        tags[i] = dup_n(items[i].ptr, items[i].len);
    char *host = args[3].type == PYHOST_STR ? dup_n(args[3].ptr, args[3].len) : strdup("");
    consume_gauge(dup_n(args[0].ptr, args[0].len), args[1].f, tags, n, host);
    return 0;
}

/* ---- variants ----------------------------------------------------------------- */

static PyObject *g_raw, *loop_raw;
static pyhost_object *g, *loop_fn, *loop_empty, *gauge_py, *gauge_pyhost, *gauge_c;
static long iters;

static int check_int(PyObject *r) {
    if (r == NULL) {
        PyErr_Print();
        return -1;
    }
    long long v = PyLong_AsLongLong(r);
    Py_DECREF(r);
    return v == 1001 ? 0 : -1;
}

static void call_c(void) {
    PyGILState_STATE st = PyGILState_Ensure();
    for (long i = 0; i < iters; i++) {
        PyObject *arg = PyLong_FromLongLong(1000);
        PyObject *r = PyObject_CallOneArg(g_raw, arg);
        Py_DECREF(arg);
        if (check_int(r) != 0)
            exit(1);
    }
    PyGILState_Release(st);
}

static void call_c_gil(void) {
    for (long i = 0; i < iters; i++) {
        PyGILState_STATE st = PyGILState_Ensure();
        PyObject *arg = PyLong_FromLongLong(1000);
        PyObject *r = PyObject_CallOneArg(g_raw, arg);
        Py_DECREF(arg);
        int rc = check_int(r);
        PyGILState_Release(st);
        if (rc != 0)
            exit(1);
    }
}

static void typed_loop(void) {
    pyhost_value arg = pyhost_value_int(1000), r;
    for (long i = 0; i < iters; i++) {
        if (pyhost_object_call(g, &arg, 1, &r) != 0)
            die("pyhost_object_call");
        if (r.type != PYHOST_INT || r.i != 1001)
            die("g(1000) result");
    }
}

static int typed_held_cb(void *data) {
    (void)data;
    typed_loop();
    return 0;
}

static void call_typed_held(void) {
    if (pyhost_with_gil(typed_held_cb, NULL) != 0)
        die("pyhost_with_gil");
}

static void call_typed(void) { typed_loop(); }

static void call_json(void) {
    for (long i = 0; i < iters; i++) {
        char *out = NULL;
        if (pyhost_call_json("bench_funcs", "g", "[1000]", &out) != 0)
            die("pyhost_call_json");
        if (strcmp(out, "1001") != 0)
            die("g(1000) JSON");
        pyhost_free(out);
    }
}

static void run_loop(pyhost_object *fn, pyhost_object *target) {
    pyhost_value args[2] = {pyhost_value_object(target), pyhost_value_int(iters)};
    if (pyhost_object_call(fn, args, 2, NULL) != 0)
        die("loop");
}

static void cb_c(void) { run_loop(loop_fn, gauge_c); }
static void cb_pyhost(void) { run_loop(loop_fn, gauge_pyhost); }
static void cb_py(void) { run_loop(loop_fn, gauge_py); }
static void loop_empty_v(void) {
    pyhost_value args[2] = {pyhost_value_none(), pyhost_value_int(iters)};
    if (pyhost_object_call(loop_empty, args, 2, NULL) != 0)
        die("loop_empty");
}

struct variant {
    const char *key;
    const char *what;
    void (*run)(void);
    double *samples;
};

static struct variant variants[] = {
    {"call_c", "g(1000), plain C API, GIL held", call_c, NULL},
    {"call_c_gil", "g(1000), plain C API, GIL taken per call", call_c_gil, NULL},
    {"call_typed_held", "g(1000), pyhost typed call inside pyhost_with_gil", call_typed_held, NULL},
    {"call_typed", "g(1000), pyhost typed call, GIL taken per call", call_typed, NULL},
    {"call_json", "g(1000), pyhost_call_json", call_json, NULL},
    {"cb_c", "Python calls gauge(...) of plain C (FASTCALL)", cb_c, NULL},
    {"cb_pyhost", "Python calls gauge(...) of a pyhost C host function", cb_pyhost, NULL},
    {"cb_py", "control: gauge(...) into a Python no-op", cb_py, NULL},
    {"loop_empty", "control: the empty Python loop", loop_empty_v, NULL},
};
#define NVARIANTS (sizeof variants / sizeof variants[0])

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    double *s = malloc(n * sizeof *s);
    memcpy(s, v, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    double m = s[n / 2];
    free(s);
    return m;
}

static struct variant *find(const char *key) {
    for (size_t i = 0; i < NVARIANTS; i++)
        if (strcmp(variants[i].key, key) == 0)
            return &variants[i];
    fprintf(stderr, "no variant %s\n", key);
    exit(1);
}

/* Median over rounds of a/b, both minus `minus` (a variant key or NULL). */
static double ratio(const char *a, const char *b, const char *minus, int rounds) {
    struct variant *va = find(a), *vb = find(b), *vm = minus ? find(minus) : NULL;
    double r[rounds];
    for (int i = 0; i < rounds; i++) {
        double m = vm ? vm->samples[i] : 0;
        r[i] = (va->samples[i] - m) / (vb->samples[i] - m);
    }
    return median(r, rounds);
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 15;
    iters = argc > 2 ? atol(argv[2]) : 200000;

    static const pyhost_param gauge_params[] = {
        {"name", PYHOST_STR, 0},
        {"value", PYHOST_FLOAT, 0},
        {"tags", PYHOST_STR_LIST, PYHOST_OPTIONAL},
        {"hostname", PYHOST_STR, PYHOST_OPTIONAL},
    };
    pyhost_module *m = NULL;
    if (pyhost_module_new("bench_c", NULL, &m) != 0 ||
        pyhost_module_add_function(m, "gauge", NULL, gauge_params, 4, pyhost_gauge, NULL) != 0 ||
        pyhost_module_register(m) != 0)
        die("module");
    if (pyhost_init(NULL) != 0)
        die("pyhost_init");
    if (pyhost_run("import sys, types\n"
                   "code = '''\n"
                   "def g(x):\n    return x + 1\n"
                   "def loop(f, n):\n    for _ in range(n):\n"
                   "        f('system.swap.total', 1234.0, ['env:prod', 'role:db'], 'host1')\n"
                   "def loop_empty(f, n):\n    for _ in range(n):\n        pass\n"
                   "def gauge_py(name, value, tags, hostname):\n    pass\n"
                   "'''\n"
                   "bench_funcs = types.ModuleType('bench_funcs')\n"
                   "exec(code, bench_funcs.__dict__)\n"
                   "sys.modules['bench_funcs'] = bench_funcs\n") != 0)
        die("setup");
    pyhost_object *mod = NULL, *cmod = NULL;
    if (pyhost_import("bench_funcs", &mod) || pyhost_getattr(mod, "g", &g) || pyhost_getattr(mod, "loop", &loop_fn) ||
        pyhost_getattr(mod, "loop_empty", &loop_empty) || pyhost_getattr(mod, "gauge_py", &gauge_py) ||
        pyhost_import("bench_c", &cmod) || pyhost_getattr(cmod, "gauge", &gauge_pyhost))
        die("lookups");
    /* The plain-C function and g as raw objects (this is the main thread,
     * which initialised Python and keeps its thread state). */
    PyGILState_STATE st = PyGILState_Ensure();
    PyObject *bf = PyImport_ImportModule("bench_funcs");
    g_raw = PyObject_GetAttrString(bf, "g");
    PyObject *fn = PyCFunction_NewEx(&c_gauge_def, NULL, NULL);
    PyObject_SetAttrString(bf, "c_gauge", fn);
    Py_DECREF(fn);
    Py_DECREF(bf);
    PyGILState_Release(st);
    if (g_raw == NULL || pyhost_getattr(mod, "c_gauge", &gauge_c) != 0)
        die("raw objects");
    (void)loop_raw;

    long full = iters;
    iters = full / 4; /* warm-up */
    for (size_t v = 0; v < NVARIANTS; v++) {
        variants[v].samples = calloc(rounds, sizeof(double));
        variants[v].run();
    }
    iters = full;
    for (int r = 0; r < rounds; r++)
        for (size_t k = 0; k < NVARIANTS; k++) {
            struct variant *v = &variants[(r + k) % NVARIANTS];
            uint64_t t0 = now_ns();
            v->run();
            v->samples[r] = (double)(now_ns() - t0) / (double)iters;
        }

    printf("| op | what | median ns [min-max] |\n|---|---|---|\n");
    for (size_t v = 0; v < NVARIANTS; v++) {
        double lo = 1e18, hi = 0;
        for (int r = 0; r < rounds; r++) {
            lo = variants[v].samples[r] < lo ? variants[v].samples[r] : lo;
            hi = variants[v].samples[r] > hi ? variants[v].samples[r] : hi;
        }
        printf("| %s | %s | %.1f [%.1f-%.1f] |\n", variants[v].key, variants[v].what,
               median(variants[v].samples, rounds), lo, hi);
    }
    printf("\n| ratio | median of per-round ratios |\n|---|---|\n");
    printf("| call_typed_held / call_c (goal <= 1.3) | %.2f |\n", ratio("call_typed_held", "call_c", NULL, rounds));
    printf("| call_typed / call_c_gil | %.2f |\n", ratio("call_typed", "call_c_gil", NULL, rounds));
    printf("| call_typed / call_c | %.2f |\n", ratio("call_typed", "call_c", NULL, rounds));
    printf("| call_json / call_typed | %.1f |\n", ratio("call_json", "call_typed", NULL, rounds));
    printf("| cb_pyhost / cb_c | %.2f |\n", ratio("cb_pyhost", "cb_c", NULL, rounds));
    printf("| cb_pyhost / cb_c, net of the empty loop | %.2f |\n", ratio("cb_pyhost", "cb_c", "loop_empty", rounds));
    printf("| cb_pyhost / cb_py | %.2f |\n", ratio("cb_pyhost", "cb_py", NULL, rounds));
    return 0;
}
