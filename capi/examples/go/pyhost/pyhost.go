// Package pyhost embeds CPython in a Go program through pyhost's C ABI
// (libpyhost_capi and include/pyhost.h), with cgo and the standard library
// only. Build the library first (cargo build --release -p pyhost-capi) and
// point pkg-config at it: PKG_CONFIG_PATH=<repo>/target/release.
//
// # Goroutines need no runtime.LockOSThread
//
// Every pyhost C function is self-contained: it takes the GIL (and the
// calling thread's Python thread state), does its work and releases both
// before it returns, inside ONE cgo call. A goroutine stays on its OS thread
// for the whole of a cgo call, so the GIL is always taken and released on the
// same thread, whichever thread the Go scheduler picks for the next call.
//
// What would break without that: with the raw C API (the go-python style
// the Datadog Agent used in 2017), PyGILState_Ensure, the calls and
// PyGILState_Release are separate cgo calls. Between two of them the
// scheduler may move the goroutine to another OS thread; Release then runs on
// a thread that never called Ensure, which corrupts the GIL state (a crash or
// a deadlock: the first crash of the talk). The only cure there is
// runtime.LockOSThread around every such sequence. The same holds for
// pyhost's error text, which is kept per OS thread: this package reads it in
// the same cgo call as the failing function (the go_* wrappers in shim.c),
// never in a second one.
package pyhost

/*
#cgo pkg-config: pyhost
#include <stdlib.h>
#include <string.h>
#include "shim.h"

// NUL-terminated copies of Go strings (names are short: a stack buffer),
// so that a call with names is still one cgo call.
#define NAME_MAX_LEN 512
static int copy_name(char *buf, _GoString_ s) {
	size_t n = _GoStringLen(s);
	if (n >= NAME_MAX_LEN)
		return -1;
	memcpy(buf, _GoStringPtr(s), n);
	buf[n] = 0;
	return 0;
}

static char *go_call_named(_GoString_ module, _GoString_ function, pyhost_object *callable, _GoString_ method,
                           const go_value *vals, size_t n, const char *data, const go_str *items, size_t nitems,
                           pyhost_value *result) {
	char m[NAME_MAX_LEN], f[NAME_MAX_LEN], meth[NAME_MAX_LEN];
	if (copy_name(m, module) || copy_name(f, function) || copy_name(meth, method))
		return strdup("name too long");
	return go_call_values(m, f, callable, _GoStringLen(method) ? meth : NULL, vals, n, data, items, nitems, result);
}

// pyhost_raise with Go strings (a message may be long: copied to the heap).
static int go_raise(pyhost_ctx *ctx, _GoString_ type, _GoString_ msg) {
	char t[NAME_MAX_LEN];
	if (copy_name(t, type))
		strcpy(t, "RuntimeError");
	size_t n = _GoStringLen(msg);
	char *m = malloc(n + 1);
	if (m == NULL)
		return pyhost_raise(ctx, "MemoryError", "out of memory");
	memcpy(m, _GoStringPtr(msg), n);
	m[n] = 0;
	int rc = pyhost_raise(ctx, t, m);
	free(m);
	return rc;
}
*/
import "C"

import (
	"strings"
	"sync"
	"unsafe"
)

// Error is a failure reported by pyhost: for a Python exception, the whole
// traceback text, ending in "Type: message".
type Error struct {
	Text string
}

func (e *Error) Error() string { return e.Text }

// Type is the exception's type name ("ValueError", "json.decoder.JSONDecodeError"),
// read from the last line of the text; "" if it does not name one.
func (e *Error) Type() string {
	last := e.Text[strings.LastIndexByte(e.Text, '\n')+1:]
	if i := strings.Index(last, ": "); i > 0 && !strings.Contains(last[:i], " ") {
		return last[:i]
	}
	if !strings.ContainsAny(last, " :") {
		return last
	}
	return ""
}

// errorFrom takes a malloc'd error text from a go_* wrapper (NULL: success).
func errorFrom(e *C.char) error {
	if e == nil {
		return nil
	}
	text := C.GoString(e)
	C.free(unsafe.Pointer(e))
	return &Error{Text: text}
}

var initOnce struct {
	sync.Mutex
	done bool
}

// Init starts Python (once per process) in isolated mode, with paths
// appended to sys.path. Modules registered with Module.Register before it
// are importable. A second call is an error.
func Init(paths ...string) error {
	initOnce.Lock()
	defer initOnce.Unlock()
	cpaths := make([]*C.char, len(paths)+1)
	for i, p := range paths {
		cpaths[i] = C.CString(p)
		defer C.free(unsafe.Pointer(cpaths[i]))
	}
	// The array holds C pointers only, so it may be passed as Go memory.
	if err := errorFrom(C.go_init(&cpaths[0])); err != nil {
		return err
	}
	initOnce.done = true
	return nil
}

// Run executes Python statements in __main__.
func Run(code string) error {
	c := C.CString(code)
	defer C.free(unsafe.Pointer(c))
	return errorFrom(C.go_err(C.pyhost_run(c)))
}

// EvalJSON evaluates a Python expression in __main__ and returns
// json.dumps of the result (standard JSON: NaN and infinities are errors).
func EvalJSON(expr string) (string, error) {
	c := C.CString(expr)
	defer C.free(unsafe.Pointer(c))
	var out *C.char
	if err := errorFrom(C.go_err(C.pyhost_eval_json(c, &out))); err != nil {
		return "", err
	}
	defer C.pyhost_free(unsafe.Pointer(out))
	return C.GoString(out), nil
}

// CallJSON calls module.function(*json.loads(argsJSON)) and returns the
// JSON of the result. An empty argsJSON means no arguments.
func CallJSON(module, function, argsJSON string) (string, error) {
	m, f := C.CString(module), C.CString(function)
	defer C.free(unsafe.Pointer(m))
	defer C.free(unsafe.Pointer(f))
	var a *C.char
	if argsJSON != "" {
		a = C.CString(argsJSON)
		defer C.free(unsafe.Pointer(a))
	}
	var out *C.char
	if err := errorFrom(C.go_err(C.pyhost_call_json(m, f, a, &out))); err != nil {
		return "", err
	}
	defer C.pyhost_free(unsafe.Pointer(out))
	return C.GoString(out), nil
}

// Call calls module.function(*args) with typed arguments (see Object.Call
// for the types) and returns the typed result.
func Call(module, function string, args ...any) (any, error) {
	return call(module, function, nil, "", args)
}

// call marshals args, makes ONE cgo call, and converts the result.
func call(module, function string, callable *C.pyhost_object, method string, args []any) (any, error) {
	b := bufPool.Get().(*callBuf)
	defer func() {
		b.reset()
		bufPool.Put(b)
	}()
	for _, a := range args {
		if err := b.add(a); err != nil {
			return nil, err
		}
	}
	var vals *C.go_value
	var data *C.char
	var items *C.go_str
	if len(b.vals) > 0 {
		vals = &b.vals[0]
	}
	if len(b.data) > 0 {
		data = (*C.char)(unsafe.Pointer(&b.data[0]))
	}
	if len(b.items) > 0 {
		items = &b.items[0]
	}
	e := C.go_call_named(module, function, callable, method, vals, C.size_t(len(b.vals)), data, items,
		C.size_t(len(b.items)), &b.result)
	if err := errorFrom(e); err != nil {
		return nil, err
	}
	return fromValue(b), nil
}

// raise is pyhost_raise with Go strings; it returns -1.
func raise(ctx *C.pyhost_ctx, typ, msg string) C.int {
	return C.go_raise(ctx, typ, msg)
}
