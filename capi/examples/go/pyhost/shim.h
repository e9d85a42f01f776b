/* C side of the Go binding: wrappers that make each pyhost call and read its
 * error text in ONE cgo call (see pyhost.go for why), and the layout Go
 * builds typed arguments in (no Go pointers inside, as cgo requires). */
#ifndef PYHOST_GO_SHIM_H
#define PYHOST_GO_SHIM_H

#include <stdint.h>
#include <stdlib.h>

#include "pyhost.h"

/* A typed argument as Go builds it: like pyhost_value, but strings and
 * bytes are offsets into the call's data buffer, lists offsets into its
 * item array, objects the handle's address (all plain integers). */
typedef struct {
    int32_t type;
    int32_t flags;
    int64_t i;
    double f;
    uintptr_t off;
    size_t len;
} go_value;

/* A list item: offset and length in the call's data buffer. */
typedef struct {
    uintptr_t off;
    size_t len;
} go_str;

/* NULL if rc is 0, else a malloc'd copy of this thread's pyhost_last_error(). */
char *go_err(int rc);

/* pyhost_init with isolation on and these sys.path entries (NULL-terminated). */
char *go_init(const char *const *paths);

/* Convert Go-built arguments (see go_value) and call: callable(*args) if
 * callable is set and method is NULL, callable.method(*args) if both are,
 * module.function(*args) otherwise. */
char *go_call_values(const char *module, const char *function, pyhost_object *callable, const char *method,
                     const go_value *vals, size_t n, const char *data, const go_str *items, size_t nitems,
                     pyhost_value *result);

/* pyhost_module_add_function with the Go trampoline and a cgo.Handle as userdata. */
char *go_module_add_go_function(pyhost_module *m, const char *name, const char *doc, const pyhost_param *params,
                                size_t nparams, int unchecked, uintptr_t handle);

/* pyhost_return of a str, bytes or list of str built from Go memory
 * (copied at once). For a list, data holds the texts back to back and
 * lens their lengths. */
int go_return_bytes(pyhost_ctx *ctx, int32_t type, const char *data, size_t len);
int go_return_str_list(pyhost_ctx *ctx, const char *data, const size_t *lens, size_t n);

/* pyhost_allow_threads running the Go func behind a cgo.Handle. */
char *go_allow_threads(uintptr_t handle);

#endif
