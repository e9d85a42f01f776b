#include <string.h>

#include "_cgo_export.h"
#include "shim.h"

char *go_err(int rc) {
    if (rc == 0)
        return NULL;
    const char *e = pyhost_last_error();
    size_t n = strlen(e);
    char *copy = malloc(n + 1);
    if (copy != NULL)
        memcpy(copy, e, n + 1);
    return copy;
}

char *go_init(const char *const *paths) {
    pyhost_config cfg = {0};
    cfg.isolated = 1;
    cfg.paths = paths;
    return go_err(pyhost_init(&cfg));
}

enum { INLINE = 16 };

char *go_call_values(const char *module, const char *function, pyhost_object *callable, const char *method,
                     const go_value *vals, size_t n, const char *data, const go_str *items, size_t nitems,
                     pyhost_value *result) {
    pyhost_value inline_vals[INLINE];
    pyhost_str inline_strs[INLINE];
    pyhost_value *args = n <= INLINE ? inline_vals : malloc(n * sizeof *args);
    pyhost_str *strs = nitems <= INLINE ? inline_strs : malloc(nitems * sizeof *strs);
    if (args == NULL || strs == NULL) {
        if (args != inline_vals)
            free(args);
        if (strs != inline_strs)
            free(strs);
        return strdup("out of memory");
    }
    for (size_t k = 0; k < nitems; k++) {
        strs[k].ptr = data == NULL ? NULL : data + items[k].off;
        strs[k].len = items[k].len;
    }
    for (size_t i = 0; i < n; i++) {
        args[i].type = vals[i].type;
        args[i].flags = 0;
        args[i].i = vals[i].i;
        args[i].f = vals[i].f;
        args[i].len = vals[i].len;
        switch (vals[i].type) {
        case PYHOST_STR:
        case PYHOST_BYTES:
            args[i].ptr = data == NULL ? NULL : data + vals[i].off;
            break;
        case PYHOST_STR_LIST:
            args[i].ptr = strs + vals[i].off;
            break;
        case PYHOST_OBJECT:
            args[i].ptr = (const void *)vals[i].off;
            break;
        default:
            args[i].ptr = NULL;
        }
    }
    int rc;
    if (callable == NULL)
        rc = pyhost_call(module, function, args, n, result);
    else if (method == NULL)
        rc = pyhost_object_call(callable, args, n, result);
    else
        rc = pyhost_object_call_method(callable, method, args, n, result);
    if (args != inline_vals)
        free(args);
    if (strs != inline_strs)
        free(strs);
    return go_err(rc);
}

char *go_module_add_go_function(pyhost_module *m, const char *name, const char *doc, const pyhost_param *params,
                                size_t nparams, int unchecked, uintptr_t handle) {
    uintptr_t *userdata = malloc(sizeof *userdata); /* kept for the life of the process, as the function is */
    if (userdata == NULL)
        return strdup("out of memory");
    *userdata = handle;
    pyhost_function fn = (pyhost_function)pyhostGoTrampoline;
    if (unchecked)
        return go_err(pyhost_module_add_function_unchecked(m, name, doc, fn, userdata));
    return go_err(pyhost_module_add_function(m, name, doc, params, nparams, fn, userdata));
}

int go_return_bytes(pyhost_ctx *ctx, int32_t type, const char *data, size_t len) {
    pyhost_value v = {type, 0, 0, 0.0, data, len};
    return pyhost_return(ctx, &v);
}

int go_return_str_list(pyhost_ctx *ctx, const char *data, const size_t *lens, size_t n) {
    pyhost_str inline_strs[INLINE];
    pyhost_str *strs = n <= INLINE ? inline_strs : malloc(n * sizeof *strs);
    if (strs == NULL)
        return pyhost_raise(ctx, "MemoryError", "out of memory");
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        strs[i].ptr = data + off;
        strs[i].len = lens[i];
        off += lens[i];
    }
    pyhost_value v = pyhost_value_str_list(strs, n);
    int rc = pyhost_return(ctx, &v);
    if (strs != inline_strs)
        free(strs);
    return rc;
}

static void go_allow_threads_cb(void *data) {
    pyhostGoRunHandle((uintptr_t)data);
}

char *go_allow_threads(uintptr_t handle) {
    return go_err(pyhost_allow_threads(go_allow_threads_cb, (void *)handle));
}
