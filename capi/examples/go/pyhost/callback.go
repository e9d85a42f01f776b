package pyhost

/*
#include "shim.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime/cgo"
	"unsafe"
)

type goFunc struct {
	name string
	fn   Func
}

// Args is one call of a host function, as the function sees it: the
// converted arguments (C memory, read in place without a cgo call) and the
// call's context. Valid only while the function runs.
type Args struct {
	ctx    *C.pyhost_ctx
	args   []C.pyhost_value
	result *C.pyhost_value
}

// ArgsFromC wraps the arguments of a pyhost_function (for Go functions
// exported with //export and added with Module.CFunc).
func ArgsFromC(ctx, args unsafe.Pointer, nargs int, result unsafe.Pointer) Args {
	c := Args{ctx: (*C.pyhost_ctx)(ctx), result: (*C.pyhost_value)(result)}
	if nargs > 0 {
		c.args = unsafe.Slice((*C.pyhost_value)(args), nargs)
	}
	return c
}

// Len is the number of declared parameters (0 for unchecked functions).
func (c Args) Len() int { return len(c.args) }

// Type is the kind of declared argument i (TypeNone for an optional one
// not given, or given as None).
func (c Args) Type(i int) int { return int(c.args[i]._type) }

// Str is declared argument i (a str, or "" if None), copied into Go memory.
func (c Args) Str(i int) string {
	a := &c.args[i]
	if int(a._type) != TypeStr {
		return ""
	}
	return C.GoStringN((*C.char)(a.ptr), C.int(a.len))
}

// Int is declared argument i (0 if None).
func (c Args) Int(i int) int64 { return int64(c.args[i].i) }

// Float is declared argument i (0 if None).
func (c Args) Float(i int) float64 { return float64(c.args[i].f) }

// Bool is declared argument i (false if None).
func (c Args) Bool(i int) bool { return c.args[i].i != 0 }

// Bytes is declared argument i, copied (nil if None).
func (c Args) Bytes(i int) []byte {
	a := &c.args[i]
	if int(a._type) != TypeBytes {
		return nil
	}
	return C.GoBytes(a.ptr, C.int(a.len))
}

// Strs is declared argument i, a list of str (tags), copied (nil if None).
func (c Args) Strs(i int) []string {
	a := &c.args[i]
	if int(a._type) != TypeStrList {
		return nil
	}
	return goStrings(a.ptr, int(a.len))
}

// Object is declared argument i as a new handle the caller owns (nil if None).
func (c Args) Object(i int) (*Object, error) {
	a := &c.args[i]
	if int(a._type) != TypeObject {
		return nil, nil
	}
	var h *C.pyhost_object
	if err := errorFrom(C.go_err(C.pyhost_object_clone((*C.pyhost_object)(a.ptr), &h))); err != nil {
		return nil, err
	}
	return newObject(h), nil
}

// Arg reads argument index (or keyword-only if index < 0) called name as
// type typ, for unchecked functions (pyhost_arg): missing or None gives
// nil when optional; a wrong type is an error to return as is.
func (c Args) Arg(index int, name string, typ int, optional bool) (any, error) {
	n := C.CString(name)
	defer C.free(unsafe.Pointer(n))
	idx := C.size_t(index)
	if index < 0 {
		idx = C.size_t(^uint(0))
	}
	var flags C.int32_t
	if optional {
		flags = C.PYHOST_OPTIONAL
	}
	var v C.pyhost_value
	if C.pyhost_arg(c.ctx, idx, n, C.int32_t(typ), flags, &v) != 0 {
		return nil, errPending
	}
	switch int(v._type) {
	case TypeNone:
		return nil, nil
	case TypeBool:
		return v.i != 0, nil
	case TypeInt:
		return int64(v.i), nil
	case TypeFloat:
		return float64(v.f), nil
	case TypeStr:
		return C.GoStringN((*C.char)(v.ptr), C.int(v.len)), nil
	case TypeBytes:
		return C.GoBytes(v.ptr, C.int(v.len)), nil
	case TypeStrList:
		return goStrings(v.ptr, int(v.len)), nil
	}
	return nil, fmt.Errorf("pyhost: Arg cannot read type %d", typ)
}

// errPending: the error is already pending in the call's context (a failed
// Arg); returning it raises that exception.
var errPending = errors.New("pyhost: exception pending")

// Raise sets the exception the function raises and returns -1, for
// //export functions (a Func returns an error instead).
func (c Args) Raise(typ, msg string) int32 { return int32(raise(c.ctx, typ, msg)) }

// setResult stores a Func's result: scalars into *result, the rest copied
// at once with pyhost_return.
func (c Args) setResult(v any) C.int {
	r := c.result
	switch x := v.(type) {
	case nil:
	case bool:
		r._type = C.PYHOST_BOOL
		if x {
			r.i = 1
		}
	case int:
		r._type, r.i = C.PYHOST_INT, C.int64_t(x)
	case int64:
		r._type, r.i = C.PYHOST_INT, C.int64_t(x)
	case int32:
		r._type, r.i = C.PYHOST_INT, C.int64_t(x)
	case float64:
		r._type, r.f = C.PYHOST_FLOAT, C.double(x)
	case float32:
		r._type, r.f = C.PYHOST_FLOAT, C.double(x)
	case string:
		// A Go pointer passed as an argument, to memory without pointers:
		// allowed; pyhost_return copies before returning.
		var p *C.char
		if len(x) > 0 {
			p = *(**C.char)(unsafe.Pointer(&x)) // the string's data (unsafe.StringData is Go 1.20+)
		}
		return C.go_return_bytes(c.ctx, C.PYHOST_STR, p, C.size_t(len(x)))
	case []byte:
		var p *C.char
		if len(x) > 0 {
			p = (*C.char)(unsafe.Pointer(&x[0]))
		}
		return C.go_return_bytes(c.ctx, C.PYHOST_BYTES, p, C.size_t(len(x)))
	case []string:
		var data []byte
		lens := make([]C.size_t, len(x)+1) // never empty: &lens[0] is valid
		for i, s := range x {
			data = append(data, s...)
			lens[i] = C.size_t(len(s))
		}
		var p *C.char
		if len(data) > 0 {
			p = (*C.char)(unsafe.Pointer(&data[0]))
		}
		return C.go_return_str_list(c.ctx, p, &lens[0], C.size_t(len(x)))
	case *Object:
		h, err := x.handle()
		if err != nil {
			return raise(c.ctx, "RuntimeError", err.Error())
		}
		// Borrowed: pyhost takes its own reference before x can go.
		r._type, r.ptr = C.PYHOST_OBJECT, unsafe.Pointer(h)
		return C.pyhost_return(c.ctx, r)
	default:
		return raise(c.ctx, "TypeError", fmt.Sprintf("a Go host function returned a %T", v))
	}
	return 0
}

//export pyhostGoTrampoline
func pyhostGoTrampoline(ctx *C.pyhost_ctx, args *C.pyhost_value, nargs C.size_t, result *C.pyhost_value,
	userdata unsafe.Pointer) (rc C.int) {
	f := cgo.Handle(*(*C.uintptr_t)(userdata)).Value().(*goFunc)
	c := ArgsFromC(unsafe.Pointer(ctx), unsafe.Pointer(args), int(nargs), unsafe.Pointer(result))
	// A Go panic must not unwind into C: it becomes a Python exception.
	defer func() {
		if p := recover(); p != nil {
			rc = raise(ctx, "RuntimeError", fmt.Sprintf("Go panic in %s(): %v", f.name, p))
		}
	}()
	v, err := f.fn(c)
	if err != nil {
		if err == errPending {
			return -1
		}
		var exc *Exception
		if errors.As(err, &exc) {
			return raise(ctx, exc.Type, exc.Message)
		}
		return raise(ctx, "RuntimeError", err.Error())
	}
	return c.setResult(v)
}

// AllowThreads runs f with the GIL released, for blocking work inside a
// host function (other threads run Python meanwhile); outside one, it just
// runs f. f may call pyhost (it takes the GIL itself).
func AllowThreads(f func()) error {
	h := cgo.NewHandle(f)
	defer h.Delete()
	return errorFrom(C.go_allow_threads(C.uintptr_t(h)))
}

//export pyhostGoRunHandle
func pyhostGoRunHandle(h C.uintptr_t) {
	cgo.Handle(h).Value().(func())()
}
