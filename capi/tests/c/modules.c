/* Host modules written in C against pyhost.h, exercised from Python
 * (tests/c/modules_test.py, which checks every argument type, every wrong
 * type and its exact message), plus what only C can show: callbacks from
 * four C threads at once, an object handle kept by C and released on
 * another thread, typed calls from C.
 *
 *   modules <dir-of-modules_test.py>
 *
 * Prints "modules: all ok" and exits 0, or prints what failed and exits 1.
 * Built and run by tests/c_modules.rs.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pyhost.h"

#define FAIL(...)                                                                                                      \
    do {                                                                                                               \
        fprintf(stderr, "FAILED line %d: ", __LINE__);                                                                 \
        fprintf(stderr, __VA_ARGS__);                                                                                  \
        fprintf(stderr, "\n");                                                                                         \
        exit(1);                                                                                                       \
    } while (0)
#define CHECK(call)                                                                                                    \
    do {                                                                                                               \
        if ((call) != 0)                                                                                               \
            FAIL("%s:\n%s", #call, pyhost_last_error());                                                               \
    } while (0)

/* ---- the module's functions ---------------------------------------------- */

/* Return the one declared argument as it came (strings are copied by pyhost
 * after we return; they point into the argument objects, alive until then). */
static int echo(pyhost_ctx *ctx, const pyhost_value *args, size_t nargs, pyhost_value *result, void *userdata) {
    (void)userdata;
    if (nargs != 1)
        return pyhost_raise(ctx, "SystemError", "echo: one parameter expected");
    *result = args[0];
    return 0;
}

/* describe(name, value, tags=None, hostname=None, *, flush=False): the gauge
 * arguments, formatted into a buffer on this stack and returned with
 * pyhost_return() (which copies at once). */
static int describe(pyhost_ctx *ctx, const pyhost_value *args, size_t nargs, pyhost_value *result, void *userdata) {
    (void)result;
    (void)userdata;
    if (nargs != 5)
        return pyhost_raise(ctx, "SystemError", "describe: five parameters expected");
    char buf[512];
    int n = snprintf(buf, sizeof buf, "%.*s|%g|", (int)args[0].len, (const char *)args[0].ptr, args[1].f);
    if (args[2].type == PYHOST_STR_LIST) {
        const pyhost_str *tags = (const pyhost_str *)args[2].ptr;
        for (size_t i = 0; i < args[2].len; i++)
            /* Items are NUL-terminated too. */
            n += snprintf(buf + n, sizeof buf - n, "%s%s", i ? "," : "", tags[i].ptr);
    } else {
        n += snprintf(buf + n, sizeof buf - n, "None");
    }
    if (args[3].type == PYHOST_STR)
        n += snprintf(buf + n, sizeof buf - n, "|%s", (const char *)args[3].ptr);
    else
        n += snprintf(buf + n, sizeof buf - n, "|None");
    n += snprintf(buf + n, sizeof buf - n, "|%s", args[4].type == PYHOST_NONE ? "None" : args[4].i ? "True" : "False");
    pyhost_value v = pyhost_value_strn(buf, (size_t)n);
    return pyhost_return(ctx, &v);
}

/* dyn(a, b=None, *, c=None): no declared parameters; read with pyhost_arg*. */
static int dyn(pyhost_ctx *ctx, const pyhost_value *args, size_t nargs, pyhost_value *result, void *userdata) {
    (void)userdata;
    static const char *const names[] = {"a", "b", "c"};
    if (args != NULL || nargs != 0)
        return pyhost_raise(ctx, "SystemError", "dyn: no declared arguments expected");
    if (pyhost_args_check(ctx, names, 3, 2) != 0)
        return -1;
    char buf[512];
    int n = snprintf(buf, sizeof buf, "count=%zu kw=%zu", pyhost_arg_count(ctx), pyhost_kwarg_count(ctx));
    int t = pyhost_arg_type(ctx, 0, "a");
    if (t < 0)
        return -1;
    n += snprintf(buf + n, sizeof buf - n, " a:%d", t);
    if (t == PYHOST_STR) {
        const char *s;
        size_t len;
        if (pyhost_arg_str(ctx, 0, "a", &s, &len) != 0)
            return -1;
        n += snprintf(buf + n, sizeof buf - n, " a=%.*s", (int)len, s);
    } else if (t == PYHOST_STR_LIST) {
        const pyhost_str *items;
        size_t count;
        if (pyhost_arg_str_list(ctx, 0, "a", &items, &count) != 0)
            return -1;
        n += snprintf(buf + n, sizeof buf - n, " a=[");
        for (size_t i = 0; i < count; i++)
            n += snprintf(buf + n, sizeof buf - n, "%s%.*s", i ? "," : "", (int)items[i].len, items[i].ptr);
        n += snprintf(buf + n, sizeof buf - n, "]");
    } else {
        /* Anything else must be an int (missing: "missing required argument"). */
        int64_t i;
        if (pyhost_arg_int(ctx, 0, "a", &i) != 0)
            return -1;
        n += snprintf(buf + n, sizeof buf - n, " a=%lld", (long long)i);
    }
    pyhost_value v;
    if (pyhost_arg(ctx, 1, "b", PYHOST_FLOAT, PYHOST_OPTIONAL, &v) != 0)
        return -1;
    if (v.type == PYHOST_NONE)
        n += snprintf(buf + n, sizeof buf - n, " b=None");
    else
        n += snprintf(buf + n, sizeof buf - n, " b=%g", v.f);
    if (pyhost_arg(ctx, PYHOST_KEYWORD, "c", PYHOST_STR_LIST, PYHOST_OPTIONAL, &v) != 0)
        return -1;
    n += snprintf(buf + n, sizeof buf - n, " c=%s", v.type == PYHOST_NONE ? "None" : "");
    for (size_t i = 0; v.type == PYHOST_STR_LIST && i < v.len; i++)
        n += snprintf(buf + n, sizeof buf - n, "%s%s", i ? "," : "", ((const pyhost_str *)v.ptr)[i].ptr);
    int none = pyhost_arg_is_none(ctx, 1, "b");
    n += snprintf(buf + n, sizeof buf - n, " b_is_none=%d", none);
    /* A static buffer would do for *result; this one is on the stack. */
    v = pyhost_value_strn(buf, (size_t)n);
    (void)result;
    return pyhost_return(ctx, &v);
}

/* kwreq(*, key): a required keyword-only str. */
static int kwreq(pyhost_ctx *ctx, const pyhost_value *args, size_t nargs, pyhost_value *result, void *userdata) {
    (void)ctx;
    (void)nargs;
    (void)userdata;
    *result = args[0];
    return 0;
}

/* fail(type, message): raise it (type "NULL" passes NULL). */
static int fail(pyhost_ctx *ctx, const pyhost_value *args, size_t nargs, pyhost_value *result, void *userdata) {
    (void)nargs;
    (void)result;
    (void)userdata;
    char type[64], msg[256];
    snprintf(type, sizeof type, "%.*s", (int)args[0].len, (const char *)args[0].ptr);
    snprintf(msg, sizeof msg, "%.*s", (int)args[1].len, (const char *)args[1].ptr);
    return pyhost_raise(ctx, strcmp(type, "NULL") == 0 ? NULL : type, msg);
}

/* -1 without raising. */
static int bad_return(pyhost_ctx *ctx, const pyhost_value *args, size_t nargs, pyhost_value *result, void *ud) {
    (void)ctx, (void)args, (void)nargs, (void)result, (void)ud;
    return -1;
}

/* Ignore a failed pyhost_arg and return 0: its error is raised anyway. */
static int ignore_error(pyhost_ctx *ctx, const pyhost_value *args, size_t nargs, pyhost_value *result, void *ud) {
    (void)args, (void)nargs, (void)ud;
    int64_t i;
    (void)pyhost_arg_int(ctx, 0, "x", &i);
    *result = pyhost_value_int(1);
    return 0;
}

/* A result that is not UTF-8. */
static int bad_utf8(pyhost_ctx *ctx, const pyhost_value *args, size_t nargs, pyhost_value *result, void *ud) {
    (void)ctx, (void)args, (void)nargs, (void)ud;
    *result = pyhost_value_strn("\xff", 1);
    return 0;
}

/* reenter(code): run Python code and make a typed call into this very
 * module from inside the callback (GIL held: re-entrant). */
static int reenter(pyhost_ctx *ctx, const pyhost_value *args, size_t nargs, pyhost_value *result, void *ud) {
    (void)nargs, (void)ud;
    char *code = malloc(args[0].len + 1);
    memcpy(code, args[0].ptr, args[0].len);
    code[args[0].len] = '\0';
    int rc = pyhost_run(code);
    free(code);
    if (rc != 0)
        return pyhost_raise(ctx, "RuntimeError", pyhost_last_error());
    pyhost_value a = pyhost_value_int(41), r;
    if (pyhost_call("cmod", "echo_int", &a, 1, &r) != 0)
        return pyhost_raise(ctx, "RuntimeError", pyhost_last_error());
    *result = pyhost_value_int(r.i + 1);
    return 0;
}

/* owned(kind): pass on a result of pyhost_call (flagged owned: pyhost copies
 * it into the return value, then frees it). */
static int owned(pyhost_ctx *ctx, const pyhost_value *args, size_t nargs, pyhost_value *result, void *ud) {
    (void)nargs, (void)ud;
    if (pyhost_call("modules_test", "make", args, 1, result) != 0)
        return pyhost_raise(ctx, "RuntimeError", pyhost_last_error());
    if (!(result->flags & PYHOST_VALUE_OWNED) && result->type != PYHOST_INT)
        return pyhost_raise(ctx, "SystemError", "owned: the result is not flagged");
    return 0;
}

struct counter {
    long calls;
};

static void short_sleep(void *data) {
    (void)data;
    struct timespec ts = {0, 20000};
    nanosleep(&ts, NULL);
}

/* count(): add one to the counter in userdata; every 64th call sleeps with
 * the GIL released (pyhost_allow_threads). */
static int count(pyhost_ctx *ctx, const pyhost_value *args, size_t nargs, pyhost_value *result, void *userdata) {
    (void)args, (void)nargs;
    struct counter *c = userdata;
    long n = __atomic_add_fetch(&c->calls, 1, __ATOMIC_SEQ_CST);
    if (n % 64 == 0 && pyhost_allow_threads(short_sleep, NULL) != 0)
        return pyhost_raise(ctx, "RuntimeError", pyhost_last_error());
    *result = pyhost_value_int(n);
    return 0;
}

static int total(pyhost_ctx *ctx, const pyhost_value *args, size_t nargs, pyhost_value *result, void *userdata) {
    (void)ctx, (void)args, (void)nargs;
    struct counter *c = userdata;
    *result = pyhost_value_int(__atomic_load_n(&c->calls, __ATOMIC_SEQ_CST));
    return 0;
}

/* release(handle): release a handle the host kept, from inside a callback
 * (the GIL is held: immediate). The argument's own handle is borrowed:
 * releasing it is ignored. */
static pyhost_object *kept_in_callback;
static int release(pyhost_ctx *ctx, const pyhost_value *args, size_t nargs, pyhost_value *result, void *ud) {
    (void)ctx, (void)nargs, (void)ud;
    pyhost_object_release((pyhost_object *)args[0].ptr); /* borrowed: ignored */
    pyhost_object_release(kept_in_callback);
    kept_in_callback = NULL;
    *result = pyhost_value_object((const pyhost_object *)args[0].ptr);
    return 0;
}

static struct counter counter;

#define P(name, type, flags) {name, type, flags}

static void define_cmod(void) {
    static const pyhost_param str_p[] = {P("s", PYHOST_STR, 0)};
    static const pyhost_param int_p[] = {P("i", PYHOST_INT, 0)};
    static const pyhost_param float_p[] = {P("f", PYHOST_FLOAT, 0)};
    static const pyhost_param bool_p[] = {P("b", PYHOST_BOOL, 0)};
    static const pyhost_param bytes_p[] = {P("b", PYHOST_BYTES, 0)};
    static const pyhost_param tags_p[] = {P("tags", PYHOST_STR_LIST, 0)};
    static const pyhost_param obj_p[] = {P("o", PYHOST_OBJECT, 0)};
    static const pyhost_param opt_str_p[] = {P("s", PYHOST_STR, PYHOST_OPTIONAL)};
    static const pyhost_param describe_p[] = {
        P("name", PYHOST_STR, 0),
        P("value", PYHOST_FLOAT, 0),
        P("tags", PYHOST_STR_LIST, PYHOST_OPTIONAL),
        P("hostname", PYHOST_STR, PYHOST_OPTIONAL),
        P("flush", PYHOST_BOOL, PYHOST_OPTIONAL | PYHOST_KEYWORD_ONLY),
    };
    static const pyhost_param kwreq_p[] = {P("key", PYHOST_STR, PYHOST_KEYWORD_ONLY)};
    static const pyhost_param fail_p[] = {P("type", PYHOST_STR, 0), P("message", PYHOST_STR, 0)};
    static const pyhost_param code_p[] = {P("code", PYHOST_STR, 0)};
    static const pyhost_param x_p[] = {P("x", PYHOST_OBJECT, 0)};
    static const pyhost_param kind_p[] = {P("kind", PYHOST_STR, 0)};

    pyhost_module *m = NULL;
    CHECK(pyhost_module_new("cmod", "A host module written in C.", &m));
    CHECK(pyhost_module_add_function(m, "echo_str", NULL, str_p, 1, echo, NULL));
    CHECK(pyhost_module_add_function(m, "echo_int", NULL, int_p, 1, echo, NULL));
    CHECK(pyhost_module_add_function(m, "echo_float", NULL, float_p, 1, echo, NULL));
    CHECK(pyhost_module_add_function(m, "echo_bool", NULL, bool_p, 1, echo, NULL));
    CHECK(pyhost_module_add_function(m, "echo_bytes", NULL, bytes_p, 1, echo, NULL));
    CHECK(pyhost_module_add_function(m, "echo_tags", NULL, tags_p, 1, echo, NULL));
    CHECK(pyhost_module_add_function(m, "echo_obj", NULL, obj_p, 1, echo, NULL));
    CHECK(pyhost_module_add_function(m, "echo_opt_str", NULL, opt_str_p, 1, echo, NULL));
    CHECK(pyhost_module_add_function(m, "describe",
                                     "describe(name, value, tags=None, hostname=None, *, flush=False)\n--\n\n"
                                     "The gauge arguments as one string.",
                                     describe_p, 5, describe, NULL));
    CHECK(pyhost_module_add_function(m, "kwreq", NULL, kwreq_p, 1, kwreq, NULL));
    CHECK(pyhost_module_add_function_unchecked(m, "dyn", "dyn(a, b=None, *, c=None)\n--\n\n", dyn, NULL));
    CHECK(pyhost_module_add_function(m, "fail", NULL, fail_p, 2, fail, NULL));
    CHECK(pyhost_module_add_function(m, "bad_return", NULL, NULL, 0, bad_return, NULL));
    CHECK(pyhost_module_add_function(m, "ignore_error", NULL, x_p, 1, ignore_error, NULL));
    CHECK(pyhost_module_add_function_unchecked(m, "ignore_error2", NULL, ignore_error, NULL));
    CHECK(pyhost_module_add_function(m, "bad_utf8", NULL, NULL, 0, bad_utf8, NULL));
    CHECK(pyhost_module_add_function(m, "reenter", NULL, code_p, 1, reenter, NULL));
    CHECK(pyhost_module_add_function(m, "owned", NULL, kind_p, 1, owned, NULL));
    CHECK(pyhost_module_add_function(m, "count", NULL, NULL, 0, count, &counter));
    CHECK(pyhost_module_add_function(m, "total", NULL, NULL, 0, total, &counter));
    CHECK(pyhost_module_add_function(m, "release", NULL, x_p, 1, release, NULL));
    CHECK(pyhost_module_add_int(m, "INT_C", -7));
    CHECK(pyhost_module_add_float(m, "FLOAT_C", 2.5));
    CHECK(pyhost_module_add_str(m, "STR_C", "h\xc3\xa9llo"));
    CHECK(pyhost_module_add_exception(m, "CError", "ValueError", "Raised by cmod."));
    CHECK(pyhost_module_register(m));
}

/* ---- threads ------------------------------------------------------------- */

#define HAMMER 2000

static void *hammer_thread(void *arg) {
    (void)arg;
    pyhost_value n = pyhost_value_int(HAMMER), r;
    if (pyhost_call("modules_test", "hammer", &n, 1, &r) != 0) {
        fprintf(stderr, "hammer: %s\n", pyhost_last_error());
        return (void *)1;
    }
    return r.type == PYHOST_INT && r.i == HAMMER ? NULL : (void *)1;
}

static void *release_thread(void *arg) {
    /* No GIL here, and no Python thread state: the decrement is deferred. */
    pyhost_object_release(arg);
    return NULL;
}

static void expect_eval(const char *expr, const char *want) {
    char *out = NULL;
    CHECK(pyhost_eval_json(expr, &out));
    if (strcmp(out, want) != 0)
        FAIL("%s: got %s, want %s", expr, out, want);
    pyhost_free(out);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: modules <dir of modules_test.py>\n");
        return 2;
    }
    define_cmod();

    /* Registering after start-up is an error; installing works. */
    const char *paths[] = {argv[1], NULL};
    pyhost_config cfg = {0};
    cfg.isolated = 1;
    cfg.paths = paths;
    CHECK(pyhost_init(&cfg));
    pyhost_module *late = NULL;
    CHECK(pyhost_module_new("cmod_late", NULL, &late));
    if (pyhost_module_register(late) == 0)
        FAIL("register after init succeeded");
    printf("register after init: %s\n", pyhost_last_error());
    static const pyhost_param int_p[] = {P("i", PYHOST_INT, 0)};
    CHECK(pyhost_module_new("cmod_late", "Installed at run time.", &late));
    CHECK(pyhost_module_add_function(late, "echo_int", NULL, int_p, 1, echo, NULL));
    CHECK(pyhost_module_add_exception(late, "LateError", NULL, NULL));
    CHECK(pyhost_module_install(late));

    /* Every argument type and wrong type, from Python. */
    CHECK(pyhost_run("import modules_test\nmodules_test.main()"));
    printf("python checks: ok\n");

    /* Four C threads call Python, which calls cmod.count, at once. */
    long before = __atomic_load_n(&counter.calls, __ATOMIC_SEQ_CST);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, hammer_thread, NULL);
    for (int i = 0; i < 4; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        if (ret != NULL)
            FAIL("hammer thread %d", i);
    }
    long calls = __atomic_load_n(&counter.calls, __ATOMIC_SEQ_CST) - before;
    if (calls != 4 * HAMMER)
        FAIL("count: %ld calls, want %d", calls, 4 * HAMMER);
    printf("4 C threads: %ld calls\n", calls);

    /* A handle kept by C, released on a thread without the GIL: the object
     * is freed once some thread next takes the GIL (a weakref shows it). */
    CHECK(pyhost_run("import weakref\nclass Check: pass\nkept = Check()\nkept_ref = weakref.ref(kept)"));
    pyhost_object *main_mod = NULL, *kept = NULL, *kept2 = NULL;
    CHECK(pyhost_import("__main__", &main_mod));
    CHECK(pyhost_getattr(main_mod, "kept", &kept));
    CHECK(pyhost_object_clone(kept, &kept2));
    CHECK(pyhost_run("del kept"));
    expect_eval("kept_ref() is not None", "true");
    pthread_t rt;
    pthread_create(&rt, NULL, release_thread, kept);
    pthread_join(rt, NULL);
    expect_eval("kept_ref() is not None", "true"); /* the clone still holds it */
    pthread_create(&rt, NULL, release_thread, kept2);
    pthread_join(rt, NULL);
    expect_eval("kept_ref() is None", "true");
    printf("handle released on another thread: freed\n");

    /* Released inside a callback (GIL held). */
    CHECK(pyhost_run("kept = Check()\nkept_ref = weakref.ref(kept)"));
    CHECK(pyhost_getattr(main_mod, "kept", &kept_in_callback));
    CHECK(pyhost_run("del kept\nimport cmod\nassert cmod.release(5) == 5"));
    expect_eval("kept_ref() is None", "true");
    printf("handle released in a callback: freed\n");

    /* Typed calls from C. */
    pyhost_object *echo_str = NULL;
    pyhost_object *cmod = NULL;
    CHECK(pyhost_import("cmod", &cmod));
    CHECK(pyhost_getattr(cmod, "echo_str", &echo_str));
    pyhost_value arg = pyhost_value_str("h\xc3\xa9"), r;
    CHECK(pyhost_object_call(echo_str, &arg, 1, &r));
    if (r.type != PYHOST_STR || r.len != 3 || memcmp(r.ptr, "h\xc3\xa9", 4) != 0 || !(r.flags & PYHOST_VALUE_OWNED))
        FAIL("echo_str via a handle");
    pyhost_value_free(&r);
    if (r.type != PYHOST_NONE || r.ptr != NULL)
        FAIL("pyhost_value_free did not reset");
    pyhost_value_free(&arg); /* not owned: a no-op */
    arg = pyhost_value_int(-3);
    if (pyhost_object_call(echo_str, &arg, 1, &r) == 0)
        FAIL("echo_str(-3) succeeded");
    if (strstr(pyhost_last_error(), "TypeError: echo_str() argument 1 must be str, not int") == NULL)
        FAIL("wrong error: %s", pyhost_last_error());
    pyhost_str tags[] = {{"a:1", 3}, {"b", 1}};
    pyhost_value gauge[] = {pyhost_value_str("m"), pyhost_value_float(1.5), pyhost_value_str_list(tags, 2),
                            pyhost_value_none()};
    CHECK(pyhost_call("cmod", "describe", gauge, 4, &r));
    if (r.type != PYHOST_STR || strcmp(r.ptr, "m|1.5|a:1,b|None|None") != 0)
        FAIL("describe: %s", r.type == PYHOST_STR ? (const char *)r.ptr : "?");
    pyhost_value_free(&r);
    CHECK(pyhost_object_call_method(cmod, "echo_tags", &gauge[2], 1, &r));
    if (r.type != PYHOST_STR_LIST || r.len != 2 || strcmp(((const pyhost_str *)r.ptr)[1].ptr, "b") != 0)
        FAIL("echo_tags");
    pyhost_value_free(&r);
    printf("typed calls from C: ok\n");

    pyhost_object_release(echo_str);
    pyhost_object_release(cmod);
    pyhost_object_release(main_mod);
    printf("modules: all ok\n");
    return 0;
}
