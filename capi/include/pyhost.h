/**
 * @file pyhost.h
 * @brief C ABI of pyhost: embed CPython in a C host.
 *
 * Build the library with `cargo build --release -p pyhost-capi`; it produces
 * `target/release/libpyhost_capi.a` and `target/release/libpyhost_capi.so`.
 * See docs/c-api.md for compiling and linking a host.
 *
 * General rules, for every function below:
 *
 * - **One interpreter per process.** Start it once with pyhost_init(); it
 *   cannot be restarted (not even after a failed start).
 * - **GIL:** every function takes the Python GIL itself and releases it
 *   before returning; the caller need not (and normally does not) hold it.
 *   Taking it is re-entrant, so a thread already holding it (e.g. C code
 *   called from Python) may call pyhost, but never block while holding it
 *   on another thread that calls pyhost (deadlock).
 * - **Threads:** any thread may call any function, concurrently; calls are
 *   serialised by the GIL.
 * - **Thread states:** the first call on a thread that has no Python thread
 *   state gives it one that lasts until the thread exits, so later calls on
 *   that thread cost a GIL cycle (~40 ns), not a thread state's creation
 *   (~8 us). Threads that call pyhost once and exit pay the creation once.
 * - **Return codes:** `int` functions return 0 on success and -1 on error
 *   (pyhost_is_initialized() returns 1 or 0). After -1, pyhost_last_error()
 *   describes the error on the calling thread.
 * - **Strings in:** NUL-terminated UTF-8, or pointer + length where the
 *   signature says so. NULL where a string is required, and invalid UTF-8,
 *   are errors (-1), never crashes.
 * - **Strings out:** strings returned through `char **` out-parameters are
 *   allocated with malloc() and owned by the caller, who frees them with
 *   pyhost_free(). On error the out-parameter is set to NULL.
 * - **JSON:** the `_json` functions read and write standard JSON (RFC 8259):
 *   `NaN`, `Infinity` and `-Infinity`, which Python's json module accepts
 *   and writes by default, are errors both ways ("... is not standard
 *   JSON"). Use the typed API (pyhost_call(), pyhost_value) for such floats.
 * - **Panics:** internal Rust panics never unwind into C; they are reported
 *   as -1 with the panic message.
 */
#ifndef PYHOST_H
#define PYHOST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Start-up options for pyhost_init().
 *
 * Zero-initialise it (`pyhost_config cfg = {0};`) and set what you need.
 * All strings are borrowed for the duration of the pyhost_init() call only.
 */
typedef struct {
    /** Non-zero: isolated mode (ignore `PYTHON*` environment variables and
     *  the user site directory). Zero: honour them. */
    int isolated;
    /** Non-zero: let Python install its signal handlers (SIGINT raises
     *  KeyboardInterrupt). Zero: the host keeps its signals. */
    int install_signal_handlers;
    /** `sys.executable`; NULL for the Python pyhost was built against. */
    const char *executable;
    /** `PyConfig.home` (the Python prefix, like `PYTHONHOME`); NULL for the default. */
    const char *home;
    /** A virtual environment directory; its `bin/python3` becomes
     *  `sys.executable` (overriding @c executable) and its site-packages
     *  are used. NULL for none. */
    const char *venv;
    /** NULL-terminated array of directories appended to `sys.path`; NULL for none. */
    const char *const *paths;
} pyhost_config;

/**
 * @brief Start the Python interpreter (once per process).
 *
 * @param cfg Options, or NULL for the defaults (isolated mode, no signal
 *            handlers, the build's Python as `sys.executable`, no extra paths).
 * @return 0 on success; -1 on error (already initialised, start-up failure,
 *         libpython version mismatch, invalid UTF-8 in @p cfg) with
 *         pyhost_last_error() set.
 *
 * GIL: not held on return. Thread: any thread may initialise; the
 * interpreter is then usable from every thread.
 */
int pyhost_init(const pyhost_config *cfg);

/**
 * @brief Whether the interpreter is running.
 * @return 1 if pyhost_init() succeeded in this process, else 0. Never fails.
 */
int pyhost_is_initialized(void);

/**
 * @brief Execute Python statements in `__main__`'s namespace.
 *
 * Names defined persist across calls (and are visible to pyhost_eval_json()).
 *
 * @param code NUL-terminated UTF-8 source.
 * @return 0 on success; -1 if @p code is NULL or not UTF-8, the interpreter
 *         is not initialised, or the code raised (pyhost_last_error() then
 *         holds the full traceback text, ending in "Type: message").
 *
 * GIL: taken and released by the call. Thread: any.
 */
int pyhost_run(const char *code);

/**
 * @brief Evaluate a Python expression in `__main__`'s namespace and return
 *        `json.dumps(result)`.
 *
 * @param expr     NUL-terminated UTF-8 expression.
 * @param json_out Receives a malloc'd NUL-terminated JSON string, owned by
 *                 the caller (free with pyhost_free()); set to NULL on error.
 * @return 0 on success; -1 on error (NULL arguments, invalid UTF-8, not
 *         initialised, exception while evaluating, result not JSON
 *         serialisable or holding a NaN or infinite float), with
 *         pyhost_last_error() set.
 *
 * GIL: taken and released by the call. Thread: any.
 */
int pyhost_eval_json(const char *expr, char **json_out);

/**
 * @brief Import @p module, call `module.function(*args)` and return
 *        `json.dumps(result)`.
 *
 * @param module    Module name (dotted names allowed), NUL-terminated UTF-8.
 * @param function  Attribute of the module to call.
 * @param args_json A JSON array of positional arguments (e.g. `[1, "a"]`),
 *                  or NULL for no arguments. Anything but an array is an
 *                  error, and so are `NaN`/`Infinity` (not standard JSON).
 * @param json_out  Receives a malloc'd NUL-terminated JSON string, owned by
 *                  the caller (free with pyhost_free()); set to NULL on error.
 * @return 0 on success; -1 on error (NULL @p module, @p function or
 *         @p json_out, invalid UTF-8, bad JSON, import/attribute/call
 *         exceptions, result not JSON serialisable or holding a NaN or
 *         infinite float), with pyhost_last_error() set.
 *
 * GIL: taken and released by the call. Thread: any.
 */
int pyhost_call_json(const char *module, const char *function, const char *args_json, char **json_out);

/**
 * @brief The longest last-error text, in bytes (without the NUL).
 *
 * A longer message (a traceback through a 100 MB argument's repr, say) is
 * cut: its head, then a line `... [N bytes omitted] ...`, then its final
 * line (the "Type: message" line of a traceback; itself cut to its first
 * 2048 bytes plus " ..." if longer). Cuts fall on UTF-8 character boundaries.
 */
#define PYHOST_LAST_ERROR_MAX 16384

/**
 * @brief The calling thread's last error message.
 *
 * For Python exceptions: the full traceback text (`traceback.format_exception`),
 * ending in "Type: message". Otherwise a one-line description. At most
 * #PYHOST_LAST_ERROR_MAX bytes (see there for how longer texts are cut).
 *
 * @return A borrowed NUL-terminated string, never NULL; "" if the last
 *         pyhost call on this thread succeeded. Do not free it. It stays
 *         valid until the next pyhost call on the same thread. Errors are
 *         per thread: another thread's failure never changes it.
 */
const char *pyhost_last_error(void);

/**
 * @brief Free a string returned through a pyhost out-parameter.
 * @param p A pointer returned by pyhost (e.g. via @c json_out), or NULL (no-op).
 *          Equivalent to free(), but use this in case the host links a
 *          different allocator.
 */
void pyhost_free(void *p);

/**
 * @brief The Python version pyhost was compiled against, e.g. "3.11.7".
 * @return A static NUL-terminated string (do not free). Callable before
 *         pyhost_init(); never fails.
 */
const char *pyhost_version(void);

/**
 * @defgroup values Typed values
 * Arguments and results of typed calls (pyhost_call()) and the arguments
 * and result of host functions, without JSON: one tagged struct.
 * @{
 */

/** @brief An opaque reference to a Python object (see @ref objects). */
typedef struct pyhost_object pyhost_object;

/** @brief The kinds of #pyhost_value (its @c type field). */
typedef enum {
    /** `None`. No field is used. */
    PYHOST_NONE = 0,
    /** `True`/`False`: @c i is 1 or 0. */
    PYHOST_BOOL = 1,
    /** An `int` that fits in 64 bits: @c i. */
    PYHOST_INT = 2,
    /** A `float`: @c f. */
    PYHOST_FLOAT = 3,
    /** A `str`: @c ptr (UTF-8, not necessarily NUL-terminated) and @c len bytes. */
    PYHOST_STR = 4,
    /** `bytes`: @c ptr and @c len bytes. */
    PYHOST_BYTES = 5,
    /** A list of `str` (tags): @c ptr is a `const pyhost_str *` array of @c len items. */
    PYHOST_STR_LIST = 6,
    /** Any other object: @c ptr is a `pyhost_object *`. */
    PYHOST_OBJECT = 7
} pyhost_type;

/** @brief A UTF-8 string by pointer and length (an item of a #PYHOST_STR_LIST). */
typedef struct {
    /** The bytes (not necessarily NUL-terminated). May be NULL if @c len is 0. */
    const char *ptr;
    /** Their number. */
    size_t len;
} pyhost_str;

/** @brief #pyhost_value flag: pyhost allocated this value's memory; pyhost_value_free() releases it. */
#define PYHOST_VALUE_OWNED 1

/**
 * @brief A typed value: @c type says which fields hold it (see #pyhost_type).
 *
 * Build arguments with the pyhost_value_*() helpers below. Results that
 * pyhost fills in are released with pyhost_value_free(), which does nothing
 * for values it did not allocate (no flag), so calling it on every result is
 * always right.
 */
typedef struct {
    /** A #pyhost_type. */
    int32_t type;
    /** #PYHOST_VALUE_OWNED on results pyhost allocated; 0 on values the caller builds. */
    int32_t flags;
    /** #PYHOST_BOOL (0/1) and #PYHOST_INT. */
    int64_t i;
    /** #PYHOST_FLOAT. */
    double f;
    /** #PYHOST_STR, #PYHOST_BYTES: the bytes; #PYHOST_STR_LIST: a `pyhost_str` array;
     *  #PYHOST_OBJECT: the `pyhost_object *`. */
    const void *ptr;
    /** #PYHOST_STR, #PYHOST_BYTES: bytes; #PYHOST_STR_LIST: items. */
    size_t len;
} pyhost_value;

/** @brief `None`. */
static inline pyhost_value pyhost_value_none(void) {
    pyhost_value v = {PYHOST_NONE, 0, 0, 0.0, NULL, 0};
    return v;
}
/** @brief `True` if @p b is non-zero, else `False`. */
static inline pyhost_value pyhost_value_bool(int b) {
    pyhost_value v = {PYHOST_BOOL, 0, b != 0, 0.0, NULL, 0};
    return v;
}
/** @brief An `int`. */
static inline pyhost_value pyhost_value_int(int64_t i) {
    pyhost_value v = {PYHOST_INT, 0, i, 0.0, NULL, 0};
    return v;
}
/** @brief A `float`. */
static inline pyhost_value pyhost_value_float(double f) {
    pyhost_value v = {PYHOST_FLOAT, 0, 0, f, NULL, 0};
    return v;
}
/** @brief A `str` of @p len bytes of UTF-8 at @p s (borrowed until the call returns). */
static inline pyhost_value pyhost_value_strn(const char *s, size_t len) {
    pyhost_value v = {PYHOST_STR, 0, 0, 0.0, s, len};
    return v;
}
/** @brief A `str` from a NUL-terminated UTF-8 string (borrowed; NULL is an error when used). */
static inline pyhost_value pyhost_value_str(const char *s) {
    size_t n = 0;
    if (s != NULL)
        while (s[n] != '\0')
            n++;
    pyhost_value v = {PYHOST_STR, 0, 0, 0.0, s, s == NULL ? (size_t)-1 : n};
    return v;
}
/** @brief `bytes`: @p len bytes at @p p (borrowed until the call returns). */
static inline pyhost_value pyhost_value_bytes(const void *p, size_t len) {
    pyhost_value v = {PYHOST_BYTES, 0, 0, 0.0, p, len};
    return v;
}
/** @brief A list of @p n `str` (borrowed until the call returns). */
static inline pyhost_value pyhost_value_str_list(const pyhost_str *items, size_t n) {
    pyhost_value v = {PYHOST_STR_LIST, 0, 0, 0.0, items, n};
    return v;
}
/** @brief The object @p obj refers to (borrowed: the handle stays the caller's). */
static inline pyhost_value pyhost_value_object(const pyhost_object *obj) {
    pyhost_value v = {PYHOST_OBJECT, 0, 0, 0.0, obj, 0};
    return v;
}

/**
 * @brief Release what pyhost allocated for a result and set it to `None`.
 * @param value A value pyhost filled in, or one the caller built (no-op),
 *              or NULL (no-op). Any thread; the GIL is not needed.
 */
void pyhost_value_free(pyhost_value *value);

/** @} */

/**
 * @defgroup objects Typed calls and object handles
 *
 * Call Python with #pyhost_value arguments and get a #pyhost_value back,
 * without JSON text in between; keep Python objects (a module, a function,
 * a check instance) across calls as handles.
 *
 * Arguments: each #pyhost_value becomes the Python object of its type
 * (#PYHOST_STR: a `str`, invalid UTF-8 is an error; #PYHOST_STR_LIST: a new
 * `list` of `str`; #PYHOST_OBJECT: the object itself). An unknown @c type,
 * a NULL @c ptr with a non-zero @c len, or a NULL handle is an error.
 *
 * Results, by the Python type of the returned object: `None` ->
 * #PYHOST_NONE; `bool` -> #PYHOST_BOOL; `int` that fits in int64 ->
 * #PYHOST_INT; `float` -> #PYHOST_FLOAT; `str` -> #PYHOST_STR (a malloc'd
 * copy, NUL-terminated after @c len bytes); `bytes` -> #PYHOST_BYTES (a
 * malloc'd copy); a `list` or `tuple` whose items are all `str` ->
 * #PYHOST_STR_LIST (one malloc'd block); anything else (a dict, a larger
 * int, an instance) -> #PYHOST_OBJECT with a new handle. Release every
 * result with pyhost_value_free(). @p result may be NULL to discard it; on
 * error it is set to `None`.
 *
 * Handles: a `pyhost_object *` owns one reference to its object. It may be
 * used from any thread, and released from any thread, with or without the
 * GIL: pyhost_object_release() then decrements the reference count the next
 * time some thread takes the GIL through pyhost (deferred, as pyhost's Rust
 * `Py` does), so releasing never blocks. A handle belongs to the main
 * interpreter.
 * @{
 */

/**
 * @brief `module.function(*args)` with typed arguments and result.
 *
 * @param module   Module name (dotted names allowed), NUL-terminated UTF-8.
 * @param function Attribute of the module to call.
 * @param args     @p nargs arguments (may be NULL when @p nargs is 0).
 * @param nargs    Number of arguments.
 * @param result   Receives the result (see above), or NULL.
 * @return 0, or -1 with pyhost_last_error() set (NULL names, invalid
 *         UTF-8, a bad argument, import/attribute/call exceptions).
 *
 * Imports and looks up the function on every call; for a hot path keep the
 * function as a handle (pyhost_import(), pyhost_getattr()) and use
 * pyhost_object_call(). GIL: taken and released by the call. Thread: any.
 */
int pyhost_call(const char *module, const char *function, const pyhost_value *args, size_t nargs,
                pyhost_value *result);

/**
 * @brief `import module` as a handle.
 * @param module Module name (dotted names allowed).
 * @param out    Receives a new handle (release with pyhost_object_release()); NULL on error.
 * @return 0, or -1 with pyhost_last_error() set.
 */
int pyhost_import(const char *module, pyhost_object **out);

/**
 * @brief `getattr(obj, name)` as a handle.
 * @param obj  A handle.
 * @param name Attribute name, NUL-terminated UTF-8.
 * @param out  Receives a new handle; NULL on error.
 * @return 0, or -1 with pyhost_last_error() set (e.g. AttributeError).
 */
int pyhost_getattr(const pyhost_object *obj, const char *name, pyhost_object **out);

/**
 * @brief `obj(*args)`.
 * @param callable A handle to a callable.
 * @param args     @p nargs arguments (may be NULL when @p nargs is 0).
 * @param nargs    Number of arguments.
 * @param result   Receives the result, or NULL.
 * @return 0, or -1 with pyhost_last_error() set (the traceback of an exception).
 *
 * GIL: taken and released by the call (free if the caller is inside
 * pyhost_with_gil() or a host function). Thread: any.
 */
int pyhost_object_call(const pyhost_object *callable, const pyhost_value *args, size_t nargs,
                       pyhost_value *result);

/**
 * @brief `obj.name(*args)`.
 * @return 0, or -1 with pyhost_last_error() set.
 */
int pyhost_object_call_method(const pyhost_object *obj, const char *name, const pyhost_value *args,
                              size_t nargs, pyhost_value *result);

/**
 * @brief `json.dumps(obj)` of a handle's object (standard JSON: NaN and
 *        infinities are errors).
 * @param obj      A handle.
 * @param json_out Receives a malloc'd string (free with pyhost_free()); NULL on error.
 * @return 0, or -1 with pyhost_last_error() set.
 */
int pyhost_object_to_json(const pyhost_object *obj, char **json_out);

/**
 * @brief A second handle to the same object (a new reference).
 * @param obj A handle.
 * @param out Receives the new handle; NULL on error.
 * @return 0, or -1 with pyhost_last_error() set.
 */
int pyhost_object_clone(const pyhost_object *obj, pyhost_object **out);

/**
 * @brief Release a handle. Safe from any thread, with or without the GIL.
 * @param obj A handle from pyhost (not used afterwards), or NULL (no-op).
 *            Handles that a host function receives as arguments belong to
 *            the call: releasing one is ignored.
 */
void pyhost_object_release(pyhost_object *obj);

/** @} */

/**
 * @defgroup gil Holding and releasing the GIL
 * Every pyhost function takes the GIL itself. These two change how long
 * it is held: pyhost_with_gil() keeps it across many calls (each then skips
 * taking it), pyhost_allow_threads() releases it around blocking work inside
 * a host function.
 * @{
 */

/**
 * @brief Run `fn(data)` holding the GIL; pyhost calls inside it do not take
 *        it again (a batch of calls costs one GIL cycle).
 * @return What @p fn returned; -1 with pyhost_last_error() set if Python is
 *         not running or @p fn is NULL.
 *
 * @p fn must not block on other threads that call pyhost (they wait for the
 * GIL), except inside pyhost_allow_threads(). Thread: any.
 */
int pyhost_with_gil(int (*fn)(void *data), void *data);

/**
 * @brief Run `fn(data)` with the GIL released, if this thread holds it
 *        through pyhost (in a host function or pyhost_with_gil()); otherwise
 *        just run it.
 *
 * For blocking work (I/O, waiting on a lock or channel) inside a host
 * function, so other threads can run Python meanwhile. @p fn may call pyhost
 * functions (they take the GIL themselves). Arguments borrowed from the
 * host function's call stay valid (the caller holds them).
 *
 * @return 0, or -1 with pyhost_last_error() set if @p fn is NULL.
 */
int pyhost_allow_threads(void (*fn)(void *data), void *data);

/** @} */

/**
 * @defgroup modules Host modules: C functions callable from Python
 *
 * A C (or Go, through cgo) host extends Python with a built-in module whose
 * functions are C function pointers with a `void *userdata`, plus constants
 * and exception types:
 *
 * @code
 * static int add(pyhost_ctx *ctx, const pyhost_value *args, size_t nargs,
 *                pyhost_value *result, void *userdata) {
 *     *result = pyhost_value_int(args[0].i + args[1].i);
 *     return 0;
 * }
 * static const pyhost_param add_params[] = {{"a", PYHOST_INT, 0}, {"b", PYHOST_INT, 0}};
 *
 * pyhost_module *m = NULL;
 * pyhost_module_new("host", "Functions of the host.", &m);
 * pyhost_module_add_function(m, "add", "add(a, b)\n--\n\nAdd two ints.",
 *                            add_params, 2, add, NULL);
 * pyhost_module_add_int(m, "VERSION", 3);
 * pyhost_module_add_exception(m, "HostError", "Exception", NULL);
 * pyhost_module_register(m);    // before pyhost_init(); after it: pyhost_module_install(m)
 * @endcode
 *
 * They are built on pyhost's Rust host modules: `METH_FASTCALL |
 * METH_KEYWORDS` functions (no argument tuple is built), the arguments
 * converted in place with the same checks and the same CPython-worded
 * errors as a Rust host function (`add() argument 2 must be int, not str`,
 * `add() missing required argument 'b' (pos 2)`, `add() takes at most 2
 * arguments (3 given)`, `add() got an unexpected keyword argument 'c'`).
 *
 * **In the callback** the GIL is held (on a free-threaded build: the thread
 * is attached) and:
 * - it MAY call any pyhost function (re-entrant: they see the GIL is held
 *   and do not take it again), including Python code that calls this or
 *   another host function;
 * - it MAY be called by several threads at once (on a free-threaded build,
 *   or when a callback releases the GIL), so shared host state needs its own
 *   locking; and it is called on whatever thread runs the Python code;
 * - it MUST NOT block (I/O, locks, waiting on other threads that use Python)
 *   while holding the GIL: do that inside pyhost_allow_threads();
 * - it MUST NOT keep @p ctx, @p args or pointers into them after it returns:
 *   strings point into the Python objects, valid for the call only. Copy
 *   what it keeps (or pyhost_object_clone() a handle);
 * - it returns 0 with @p result set (it starts as `None`), or -1 after
 *   pyhost_raise() (or after a pyhost_arg() that failed, whose exception is
 *   then raised). -1 with nothing raised raises `SystemError`. Returning 0
 *   while an error is pending (a failed pyhost_arg()) raises that error.
 * A `*result` of type #PYHOST_STR, #PYHOST_BYTES or #PYHOST_STR_LIST is
 * copied into a new Python object after the callback returns, so it must
 * point at memory that outlives the callback (static or heap memory, or the
 * argument data), never at the callback's stack: for that, use
 * pyhost_return(), which copies at once. #PYHOST_OBJECT is borrowed (pyhost
 * takes its own reference). A `*result` with #PYHOST_VALUE_OWNED (from a
 * pyhost_call() inside the callback) is released by pyhost after the copy.
 * @{
 */

/** @brief An opaque module under construction; see pyhost_module_new(). */
typedef struct pyhost_module pyhost_module;

/** @brief The context of one call of a host function (valid during the callback only). */
typedef struct pyhost_ctx pyhost_ctx;

/**
 * @brief A host function.
 *
 * @param ctx      The call's context: for pyhost_arg(), pyhost_raise(), ...
 * @param args     For functions with declared parameters, one converted
 *                 value per parameter, in declaration order (an optional
 *                 parameter that was not given, or given as `None`, is
 *                 #PYHOST_NONE); NULL for pyhost_module_add_function_unchecked().
 * @param nargs    The number of declared parameters (0 for unchecked functions).
 * @param result   The return value, pre-set to `None`.
 * @param userdata The pointer given at registration.
 * @return 0 on success, -1 to raise (see the rules above).
 */
typedef int (*pyhost_function)(pyhost_ctx *ctx, const pyhost_value *args, size_t nargs, pyhost_value *result,
                               void *userdata);

/** @brief #pyhost_param flag: the argument may be omitted or `None` (then #PYHOST_NONE). */
#define PYHOST_OPTIONAL 1
/** @brief #pyhost_param flag: the argument can be passed by keyword only
 *  (every parameter after it must be keyword-only too). */
#define PYHOST_KEYWORD_ONLY 2

/**
 * @brief One declared parameter of a host function.
 *
 * Each is passed by position or by keyword (its @c name), unless
 * #PYHOST_KEYWORD_ONLY. Conversions: #PYHOST_STR accepts a `str`
 * (zero-copy: @c ptr points at the object's UTF-8); #PYHOST_INT an `int`
 * (or an object with `__index__`) that fits in int64, else OverflowError;
 * #PYHOST_FLOAT a `float` or an `int` (anything with `__float__`);
 * #PYHOST_BOOL `True` or `False` only; #PYHOST_BYTES `bytes` (zero-copy);
 * #PYHOST_STR_LIST a `list` or `tuple` of `str` (the texts are copied once
 * into a buffer pyhost reuses per thread; an item of another type is
 * `f() argument 3 item 1 must be str, not int`); #PYHOST_OBJECT any object,
 * as a handle borrowed for the call. Strings, bytes and list items are
 * followed by a NUL byte (not counted in @c len; a `str` may hold NULs of
 * its own, so @c len is what counts).
 */
typedef struct {
    /** The parameter's name (keyword lookup and error messages). */
    const char *name;
    /** A #pyhost_type other than #PYHOST_NONE. */
    int32_t type;
    /** 0, or #PYHOST_OPTIONAL and/or #PYHOST_KEYWORD_ONLY. */
    int32_t flags;
} pyhost_param;

/**
 * @brief Start a module definition.
 * @param name Module name (`import name`; dotted names allowed), NUL-terminated UTF-8.
 * @param doc  Module docstring, or NULL.
 * @param out  Receives the definition (give it to pyhost_module_register()
 *             or pyhost_module_install(), or free it with pyhost_module_free()).
 * @return 0, or -1 with pyhost_last_error() set. Callable before pyhost_init().
 */
int pyhost_module_new(const char *name, const char *doc, pyhost_module **out);

/**
 * @brief Add a function with declared parameters: pyhost checks the call
 *        (count, keywords) and converts every argument before @p fn runs.
 *
 * @param m        The module definition.
 * @param name     Function name.
 * @param doc      Docstring or NULL; may start with a signature line
 *                 (`"add(a, b)\n--\n\n..."`) for `inspect.signature` and `help()`.
 * @param params   @p nparams parameter declarations (copied; may be NULL if @p nparams is 0,
 *                 a function that takes no arguments).
 * @param nparams  Their number.
 * @param fn       The implementation.
 * @param userdata Passed to every call of @p fn; pyhost never dereferences it.
 * @return 0, or -1 with pyhost_last_error() set (NULL or invalid names, an
 *         unknown type or flag, a positional parameter after a keyword-only one).
 */
int pyhost_module_add_function(pyhost_module *m, const char *name, const char *doc, const pyhost_param *params,
                               size_t nparams, pyhost_function fn, void *userdata);

/**
 * @brief Add a function that takes any arguments: @p fn receives `args ==
 *        NULL` and reads them with pyhost_arg(), pyhost_arg_count() and
 *        pyhost_args_check().
 * @return 0, or -1 with pyhost_last_error() set.
 */
int pyhost_module_add_function_unchecked(pyhost_module *m, const char *name, const char *doc, pyhost_function fn,
                                         void *userdata);

/** @brief Add an `int` constant. @return 0, or -1 with pyhost_last_error() set. */
int pyhost_module_add_int(pyhost_module *m, const char *name, int64_t value);
/** @brief Add a `float` constant. @return 0, or -1 with pyhost_last_error() set. */
int pyhost_module_add_float(pyhost_module *m, const char *name, double value);
/** @brief Add a `str` constant (NUL-terminated UTF-8). @return 0, or -1 with pyhost_last_error() set. */
int pyhost_module_add_str(pyhost_module *m, const char *name, const char *value);

/**
 * @brief Add an exception type `module.name`, raised from host functions
 *        with `pyhost_raise(ctx, name, message)`.
 * @param base A built-in exception type name it derives from: `Exception`
 *             (NULL means this), `TypeError`, `ValueError`, `OverflowError`,
 *             `RuntimeError`, `KeyError`, `IndexError`, `AttributeError`,
 *             `ImportError`, `SystemError`, `MemoryError`, `TimeoutError`,
 *             `KeyboardInterrupt`, `UnicodeError` or `OSError`.
 * @param doc  Class docstring, or NULL.
 * @return 0, or -1 with pyhost_last_error() set (e.g. an unknown @p base).
 */
int pyhost_module_add_exception(pyhost_module *m, const char *name, const char *base, const char *doc);

/**
 * @brief Register the module as a built-in (`PyImport_AppendInittab`), to be
 *        importable once pyhost_init() runs. Must be called before it.
 * @param m The definition; always consumed (freed), even on error.
 * @return 0, or -1 with pyhost_last_error() set (NULL @p m, Python already
 *         running: use pyhost_module_install()).
 */
int pyhost_module_register(pyhost_module *m);

/**
 * @brief Create the module in the running interpreter and put it in
 *        `sys.modules` (replacing a module of that name).
 * @param m The definition; always consumed (freed), even on error.
 * @return 0, or -1 with pyhost_last_error() set (NULL @p m, not initialised).
 */
int pyhost_module_install(pyhost_module *m);

/** @brief Free a definition that was not registered or installed. NULL is a no-op. */
void pyhost_module_free(pyhost_module *m);

/** @brief pyhost_arg() @p index for a keyword-only argument (looked up by name only). */
#define PYHOST_KEYWORD ((size_t)-1)

/** @brief Number of positional arguments of the call (0 if @p ctx is NULL). */
size_t pyhost_arg_count(const pyhost_ctx *ctx);

/** @brief Number of keyword arguments of the call (0 if @p ctx is NULL). */
size_t pyhost_kwarg_count(const pyhost_ctx *ctx);

/**
 * @brief Read one argument, converted as for a #pyhost_param of @p type.
 *
 * @param ctx   The call's context.
 * @param index Its position (0-based); it may also be passed by keyword as
 *              @p name. #PYHOST_KEYWORD: keyword-only, by @p name.
 * @param name  The parameter name (keyword lookup and messages).
 * @param type  A #pyhost_type other than #PYHOST_NONE.
 * @param flags 0 (required: missing is `f() missing required argument
 *              'name' (pos 1)`) or #PYHOST_OPTIONAL (missing or `None`
 *              gives #PYHOST_NONE).
 * @param out   Receives the value: valid until the callback returns, never
 *              to be freed (a #PYHOST_OBJECT handle is borrowed for the call).
 * @return 0, or -1 with the exception pending in @p ctx (return -1 from
 *         the callback to raise it), e.g. `TypeError: f() argument 1 must
 *         be str, not int`.
 */
int pyhost_arg(pyhost_ctx *ctx, size_t index, const char *name, int32_t type, int32_t flags, pyhost_value *out);

/**
 * @brief The type of an argument as given, without converting it.
 * @return A #pyhost_type (#PYHOST_NONE for `None` and for a missing
 *         argument; #PYHOST_STR_LIST for a list or tuple whose items are all
 *         `str`; #PYHOST_INT only if it fits in int64; #PYHOST_OBJECT for
 *         the rest), or -1 with the exception pending in @p ctx (e.g. the
 *         argument was given both by position and by keyword).
 */
int pyhost_arg_type(pyhost_ctx *ctx, size_t index, const char *name);

/**
 * @brief Check the call against a signature: @p names lists every
 *        parameter; the first @p max_positional may be passed by position.
 * @return 0, or -1 with `TypeError` pending in @p ctx (`f() takes at most 2
 *         arguments (3 given)`, `f() got an unexpected keyword argument 'x'`).
 */
int pyhost_args_check(pyhost_ctx *ctx, const char *const *names, size_t nnames, size_t max_positional);

/** @brief A required `str` argument, zero-copy. @return 0, or -1 (exception pending). */
static inline int pyhost_arg_str(pyhost_ctx *ctx, size_t index, const char *name, const char **ptr, size_t *len) {
    pyhost_value v;
    if (pyhost_arg(ctx, index, name, PYHOST_STR, 0, &v) != 0)
        return -1;
    *ptr = (const char *)v.ptr;
    *len = v.len;
    return 0;
}
/** @brief A required `int` argument (int64; overflow is OverflowError). @return 0, or -1. */
static inline int pyhost_arg_int(pyhost_ctx *ctx, size_t index, const char *name, int64_t *out) {
    pyhost_value v;
    if (pyhost_arg(ctx, index, name, PYHOST_INT, 0, &v) != 0)
        return -1;
    *out = v.i;
    return 0;
}
/** @brief A required `float` argument (an `int` is accepted). @return 0, or -1. */
static inline int pyhost_arg_float(pyhost_ctx *ctx, size_t index, const char *name, double *out) {
    pyhost_value v;
    if (pyhost_arg(ctx, index, name, PYHOST_FLOAT, 0, &v) != 0)
        return -1;
    *out = v.f;
    return 0;
}
/** @brief A required `bool` argument (`True`/`False` only). @return 0, or -1. */
static inline int pyhost_arg_bool(pyhost_ctx *ctx, size_t index, const char *name, int *out) {
    pyhost_value v;
    if (pyhost_arg(ctx, index, name, PYHOST_BOOL, 0, &v) != 0)
        return -1;
    *out = (int)v.i;
    return 0;
}
/** @brief A required `bytes` argument, zero-copy. @return 0, or -1. */
static inline int pyhost_arg_bytes(pyhost_ctx *ctx, size_t index, const char *name, const void **ptr, size_t *len) {
    pyhost_value v;
    if (pyhost_arg(ctx, index, name, PYHOST_BYTES, 0, &v) != 0)
        return -1;
    *ptr = v.ptr;
    *len = v.len;
    return 0;
}
/** @brief A required list or tuple of `str` (tags). @return 0, or -1. */
static inline int pyhost_arg_str_list(pyhost_ctx *ctx, size_t index, const char *name, const pyhost_str **items,
                                      size_t *count) {
    pyhost_value v;
    if (pyhost_arg(ctx, index, name, PYHOST_STR_LIST, 0, &v) != 0)
        return -1;
    *items = (const pyhost_str *)v.ptr;
    *count = v.len;
    return 0;
}
/** @brief 1 if the argument is `None` or missing, 0 if it is something else, -1 on error. */
static inline int pyhost_arg_is_none(pyhost_ctx *ctx, size_t index, const char *name) {
    int t = pyhost_arg_type(ctx, index, name);
    return t < 0 ? -1 : t == PYHOST_NONE;
}

/**
 * @brief Set the return value now: @p value is converted (strings copied)
 *        at once, so it may point at the callback's own stack. It wins over
 *        `*result`. The value stays the caller's (a #PYHOST_VALUE_OWNED one
 *        is still freed by the caller).
 * @return 0, or -1 with the exception pending in @p ctx (e.g. a #PYHOST_STR
 *         that is not UTF-8); return that from the callback.
 */
int pyhost_return(pyhost_ctx *ctx, const pyhost_value *value);

/**
 * @brief Raise an exception from the host function: the callback then
 *        returns -1 (this function always returns -1, so `return
 *        pyhost_raise(...)` works).
 * @param ctx     The call's context.
 * @param type    An exception type added to this function's module with
 *                pyhost_module_add_exception() (by its name), or a built-in
 *                exception name (`ValueError`, `LookupError`, ...). Unknown
 *                names raise `SystemError` naming them; NULL means `RuntimeError`.
 * @param message NUL-terminated UTF-8 (invalid bytes are replaced); NULL means "".
 * @return -1.
 */
int pyhost_raise(pyhost_ctx *ctx, const char *type, const char *message);

/** @} */

/**
 * @defgroup pool Worker pools
 * Threads that each own one Python thread state for their whole life
 * (pyhost's WorkerPool): for running Python jobs off the caller's threads,
 * with per-call timeouts.
 * @{
 */

/** @brief An opaque worker pool; create with pyhost_pool_new(). */
typedef struct pyhost_pool pyhost_pool;

/**
 * @brief Start a pool of @p workers threads.
 *
 * @param workers  Number of worker threads (at least 1).
 * @param pool_out Receives the pool, owned by the caller (release it with
 *                 pyhost_pool_free()); set to NULL on error.
 * @return 0 on success; -1 on error (interpreter not initialised, @p workers
 *         is 0, NULL @p pool_out), with pyhost_last_error() set.
 *
 * GIL: must not be held by the caller. Thread: any.
 */
int pyhost_pool_new(size_t workers, pyhost_pool **pool_out);

/**
 * @brief pyhost_call_json() run on one of the pool's workers; blocks until
 *        the job finishes.
 *
 * @param pool            A pool from pyhost_pool_new().
 * @param module          As for pyhost_call_json().
 * @param function        As for pyhost_call_json().
 * @param args_json       As for pyhost_call_json() (JSON array or NULL).
 * @param timeout_seconds Deadline for the job (queueing included); <= 0 for none.
 *                        On expiry a `pyhost.JobTimeout` exception is raised
 *                        in the running job and the call returns -1
 *                        ("job timed out").
 * @param json_out        Receives a malloc'd JSON string, owned by the caller
 *                        (free with pyhost_free()); set to NULL on error.
 * @return 0 on success; -1 on error (as pyhost_call_json(), plus NULL
 *         @p pool, timeout, cancellation, pool shut down), with
 *         pyhost_last_error() set (Python errors: the full traceback).
 *
 * GIL: must not be held by the caller (the job runs on another thread).
 * Thread: any; concurrent calls on one pool are fine.
 */
int pyhost_pool_call_json(pyhost_pool *pool, const char *module, const char *function,
                          const char *args_json, double timeout_seconds, char **json_out);

/**
 * @brief Shut the pool down and free it: queued jobs still run, then the
 *        worker threads are joined.
 * @param pool A pool from pyhost_pool_new(), or NULL (no-op). Not usable
 *             afterwards; no other thread may be using it.
 *
 * GIL: must not be held by the caller. Thread: any thread but the pool's own
 * workers.
 */
void pyhost_pool_free(pyhost_pool *pool);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* PYHOST_H */
