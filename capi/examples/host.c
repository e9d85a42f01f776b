/* A small C host embedding Python through pyhost (include/pyhost.h):
 * code run, JSON and typed calls, an object handle, a host module of C
 * functions that the plugin calls back, threads and a worker pool.
 *
 *   cc $(pkg-config --cflags --libs pyhost) host.c -o host
 *   host <plugin-dir>
 *
 * <plugin-dir> must contain a Python module `plugin` (see docs/c-api.md);
 * when no argument is given the example writes one to /tmp.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pyhost.h"

#define CHECK(call)                                                        \
    do {                                                                   \
        if ((call) != 0) {                                                 \
            fprintf(stderr, "FAILED %s:\n%s\n", #call, pyhost_last_error()); \
            return 1;                                                      \
        }                                                                  \
    } while (0)

static void *worker(void *arg) {
    long id = (long)arg;
    long ok = 0;
    for (int i = 0; i < 50; i++) {
        char args[64];
        char *out = NULL;
        snprintf(args, sizeof args, "[%ld, %d]", id, i);
        if (pyhost_call_json("plugin", "add", args, &out) != 0) {
            fprintf(stderr, "thread %ld: %s\n", id, pyhost_last_error());
            return (void *)-1;
        }
        char want[32];
        snprintf(want, sizeof want, "%ld", id + i);
        if (strcmp(out, want) == 0) ok++;
        pyhost_free(out);
    }
    return (void *)ok;
}

/* host.record(name, value, tags=None): a C function the plugin calls. The
 * arguments arrive checked and converted (strings point into the Python
 * objects, valid until we return); we keep a running total. */
static double recorded_total;
static long recorded_tags;

static int record(pyhost_ctx *ctx, const pyhost_value *args, size_t nargs, pyhost_value *result, void *userdata) {
    (void)ctx, (void)nargs, (void)userdata;
    recorded_total += args[1].f;
    if (args[2].type == PYHOST_STR_LIST)
        recorded_tags += (long)args[2].len;
    *result = pyhost_value_float(recorded_total);
    return 0;
}

static pyhost_pool *pool;

static void *pool_worker(void *arg) {
    long id = (long)arg;
    long ok = 0;
    for (int i = 0; i < 25; i++) {
        char args[64];
        char *out = NULL;
        snprintf(args, sizeof args, "[%ld, %d]", 100 * id, i);
        if (pyhost_pool_call_json(pool, "plugin", "add", args, 10.0, &out) != 0) {
            fprintf(stderr, "pool thread %ld: %s\n", id, pyhost_last_error());
            return (void *)-1;
        }
        char want[32];
        snprintf(want, sizeof want, "%ld", 100 * id + i);
        if (strcmp(out, want) == 0) ok++;
        pyhost_free(out);
    }
    return (void *)ok;
}

static int write_plugin(const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/plugin.py", dir);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs("def greet(name):\n"
          "    return {'greeting': 'hello ' + name, 'n': len(name)}\n"
          "\n"
          "def add(a, b):\n"
          "    return a + b\n"
          "\n"
          "def fail():\n"
          "    raise ValueError('plugin failed on purpose')\n"
          "\n"
          "def report(n):\n"
          "    import host\n"
          "    for i in range(n):\n"
          "        host.record('plugin.value', i, tags=['env:dev'])\n"
          "    return host.record('plugin.value', 0.5)\n",
          f);
    return fclose(f);
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/tmp/pyhost-c-example";
    if (argc <= 1) {
        mkdir(dir, 0755);
        if (write_plugin(dir) != 0) {
            perror("writing plugin.py");
            return 1;
        }
    }
    printf("version: %s\n", pyhost_version());
    printf("initialized before: %d\n", pyhost_is_initialized());

    /* A host module, registered before start-up (a built-in module). */
    static const pyhost_param record_params[] = {
        {"name", PYHOST_STR, 0},
        {"value", PYHOST_FLOAT, 0},
        {"tags", PYHOST_STR_LIST, PYHOST_OPTIONAL},
    };
    pyhost_module *m = NULL;
    CHECK(pyhost_module_new("host", "Functions of the C host.", &m));
    CHECK(pyhost_module_add_function(m, "record", "record(name, value, tags=None)\n--\n\nAdd value to the total.",
                                     record_params, 3, record, NULL));
    CHECK(pyhost_module_register(m));

    const char *paths[] = {dir, NULL};
    pyhost_config cfg = {0};
    cfg.isolated = 1;
    cfg.paths = paths;
    CHECK(pyhost_init(&cfg));
    printf("initialized after: %d\n", pyhost_is_initialized());

    /* A second init is an error. */
    if (pyhost_init(NULL) == 0) {
        fprintf(stderr, "second init unexpectedly succeeded\n");
        return 1;
    }
    printf("second init: %s\n", pyhost_last_error());

    CHECK(pyhost_run("counter = 40\ncounter += 2"));

    char *out = NULL;
    CHECK(pyhost_eval_json("{'counter': counter, 'list': [1, 2.5, None, True]}", &out));
    printf("eval: %s\n", out);
    pyhost_free(out);

    CHECK(pyhost_call_json("plugin", "greet", "[\"C\"]", &out));
    printf("call: %s\n", out);
    pyhost_free(out);

    /* Error path: a Python exception's traceback. */
    if (pyhost_call_json("plugin", "fail", NULL, &out) == 0) {
        fprintf(stderr, "fail() unexpectedly succeeded\n");
        return 1;
    }
    printf("error (out=%s):\n%s\n", out == NULL ? "NULL" : "set", pyhost_last_error());

    /* Error path: bad JSON arguments. */
    if (pyhost_call_json("plugin", "add", "[1,", &out) == 0) return 1;
    printf("bad json: %s\n", strstr(pyhost_last_error(), "JSONDecodeError") ? "JSONDecodeError" : pyhost_last_error());

    /* Typed calls: no JSON in between; a function kept as a handle. */
    pyhost_object *plugin = NULL, *add = NULL;
    CHECK(pyhost_import("plugin", &plugin));
    CHECK(pyhost_getattr(plugin, "add", &add));
    pyhost_value args[2] = {pyhost_value_int(40), pyhost_value_int(2)}, r;
    CHECK(pyhost_object_call(add, args, 2, &r));
    printf("typed add: %lld\n", (long long)r.i);
    args[0] = pyhost_value_str("py");
    args[1] = pyhost_value_str("host");
    CHECK(pyhost_object_call(add, args, 2, &r));
    printf("typed add (str): %.*s\n", (int)r.len, (const char *)r.ptr);
    pyhost_value_free(&r); /* strings come back malloc'd */

    /* The plugin calls back into C (host.record), with its checks. */
    pyhost_value n = pyhost_value_int(4);
    CHECK(pyhost_call("plugin", "report", &n, 1, &r));
    printf("callbacks: total %g, %ld tags\n", r.f, recorded_tags);
    CHECK(pyhost_run("import host\n"
                     "try:\n"
                     "    host.record('x', 'not a number')\n"
                     "except TypeError as e:\n"
                     "    message = str(e)\n"));
    CHECK(pyhost_eval_json("message", &out));
    printf("callback error: %s\n", out);
    pyhost_free(out);
    pyhost_object_release(add);
    pyhost_object_release(plugin);

    /* Four threads calling concurrently. */
    pthread_t threads[4];
    for (long t = 0; t < 4; t++) pthread_create(&threads[t], NULL, worker, (void *)t);
    long total = 0;
    for (int t = 0; t < 4; t++) {
        void *ret;
        pthread_join(threads[t], &ret);
        if ((long)ret < 0) return 1;
        total += (long)ret;
    }
    printf("threads: %ld/200 ok\n", total);

    /* A worker pool: 2 Python worker threads serving 4 C threads. */
    CHECK(pyhost_pool_new(2, &pool));
    for (long t = 0; t < 4; t++) pthread_create(&threads[t], NULL, pool_worker, (void *)t);
    total = 0;
    for (int t = 0; t < 4; t++) {
        void *ret;
        pthread_join(threads[t], &ret);
        if ((long)ret < 0) return 1;
        total += (long)ret;
    }
    printf("pool: %ld/100 ok\n", total);
    if (pyhost_pool_call_json(pool, "plugin", "fail", NULL, 0, &out) == 0) return 1;
    printf("pool error: %s\n", strstr(pyhost_last_error(), "ValueError: plugin failed on purpose") ? "ValueError" : pyhost_last_error());
    pyhost_pool_free(pool);

    CHECK(pyhost_eval_json("counter", &out));
    printf("counter: %s\n", out);
    pyhost_free(out);
    printf("done\n");
    return 0;
}
