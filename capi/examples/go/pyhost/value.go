package pyhost

/*
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"unsafe"
)

// Kinds of typed values (pyhost_type in pyhost.h).
const (
	TypeNone    = int(C.PYHOST_NONE)
	TypeBool    = int(C.PYHOST_BOOL)
	TypeInt     = int(C.PYHOST_INT)
	TypeFloat   = int(C.PYHOST_FLOAT)
	TypeStr     = int(C.PYHOST_STR)
	TypeBytes   = int(C.PYHOST_BYTES)
	TypeStrList = int(C.PYHOST_STR_LIST)
	TypeObject  = int(C.PYHOST_OBJECT)
)

// Object is a handle on a Python object, kept across calls (a module, a
// function, a check instance). It may be used and released from any
// goroutine: Release (or the garbage collector, through a finalizer, if it
// is forgotten) gives the reference back without waiting for the GIL.
type Object struct {
	mu sync.Mutex
	h  *C.pyhost_object
}

func newObject(h *C.pyhost_object) *Object {
	o := &Object{h: h}
	runtime.SetFinalizer(o, (*Object).Release)
	return o
}

func (o *Object) handle() (*C.pyhost_object, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.h == nil {
		return nil, fmt.Errorf("pyhost: the object was released")
	}
	return o.h, nil
}

// Release gives the reference back (pyhost_object_release: safe without
// the GIL, from any thread). Later uses are errors; a second Release does
// nothing.
func (o *Object) Release() {
	o.mu.Lock()
	h := o.h
	o.h = nil
	o.mu.Unlock()
	if h != nil {
		C.pyhost_object_release(h)
	}
}

// Import returns `import module` as a handle.
func Import(module string) (*Object, error) {
	m := C.CString(module)
	defer C.free(unsafe.Pointer(m))
	var h *C.pyhost_object
	if err := errorFrom(C.go_err(C.pyhost_import(m, &h))); err != nil {
		return nil, err
	}
	return newObject(h), nil
}

// Attr returns getattr(o, name) as a handle.
func (o *Object) Attr(name string) (*Object, error) {
	h, err := o.handle()
	if err != nil {
		return nil, err
	}
	n := C.CString(name)
	defer C.free(unsafe.Pointer(n))
	var out *C.pyhost_object
	if err := errorFrom(C.go_err(C.pyhost_getattr(h, n, &out))); err != nil {
		return nil, err
	}
	runtime.KeepAlive(o)
	return newObject(out), nil
}

// Call calls o(*args). Arguments: nil, bool, the integer types (int64
// range), float32/64, string, []byte, []string, *Object. The result is nil,
// bool, int64, float64, string, []byte, []string, or *Object for anything
// else (a dict, a big int, an instance).
func (o *Object) Call(args ...any) (any, error) {
	h, err := o.handle()
	if err != nil {
		return nil, err
	}
	r, err := call("", "", h, "", args)
	runtime.KeepAlive(o)
	return r, err
}

// CallMethod calls o.name(*args); see Call.
func (o *Object) CallMethod(name string, args ...any) (any, error) {
	h, err := o.handle()
	if err != nil {
		return nil, err
	}
	if name == "" {
		return nil, fmt.Errorf("pyhost: empty method name")
	}
	r, err := call("", "", h, name, args)
	runtime.KeepAlive(o)
	return r, err
}

// JSON returns json.dumps(o) (standard JSON).
func (o *Object) JSON() (string, error) {
	h, err := o.handle()
	if err != nil {
		return "", err
	}
	var out *C.char
	if err := errorFrom(C.go_err(C.pyhost_object_to_json(h, &out))); err != nil {
		return "", err
	}
	runtime.KeepAlive(o)
	defer C.pyhost_free(unsafe.Pointer(out))
	return C.GoString(out), nil
}

// callBuf is what one call marshals its arguments into: no Go pointers
// inside (cgo's rule for Go memory passed to C), reused through a pool so a
// call allocates nothing for scalar arguments.
type callBuf struct {
	vals   []C.go_value
	data   []byte
	items  []C.go_str
	result C.pyhost_value
	// Objects passed as arguments, kept alive until the call returns.
	objs []*Object
}

var bufPool = sync.Pool{New: func() any {
	return &callBuf{vals: make([]C.go_value, 0, 8)}
}}

func (b *callBuf) add(arg any) error {
	v := C.go_value{}
	switch x := arg.(type) {
	case nil:
		v._type = C.PYHOST_NONE
	case bool:
		v._type = C.PYHOST_BOOL
		if x {
			v.i = 1
		}
	case int:
		v._type, v.i = C.PYHOST_INT, C.int64_t(x)
	case int64:
		v._type, v.i = C.PYHOST_INT, C.int64_t(x)
	case int32:
		v._type, v.i = C.PYHOST_INT, C.int64_t(x)
	case int16:
		v._type, v.i = C.PYHOST_INT, C.int64_t(x)
	case int8:
		v._type, v.i = C.PYHOST_INT, C.int64_t(x)
	case uint8:
		v._type, v.i = C.PYHOST_INT, C.int64_t(x)
	case uint16:
		v._type, v.i = C.PYHOST_INT, C.int64_t(x)
	case uint32:
		v._type, v.i = C.PYHOST_INT, C.int64_t(x)
	case uint:
		if uint64(x) > math.MaxInt64 {
			return fmt.Errorf("pyhost: %d does not fit in int64", x)
		}
		v._type, v.i = C.PYHOST_INT, C.int64_t(x)
	case uint64:
		if x > math.MaxInt64 {
			return fmt.Errorf("pyhost: %d does not fit in int64", x)
		}
		v._type, v.i = C.PYHOST_INT, C.int64_t(x)
	case float64:
		v._type, v.f = C.PYHOST_FLOAT, C.double(x)
	case float32:
		v._type, v.f = C.PYHOST_FLOAT, C.double(x)
	case string:
		v._type, v.off, v.len = C.PYHOST_STR, C.uintptr_t(len(b.data)), C.size_t(len(x))
		b.data = append(b.data, x...)
	case []byte:
		v._type, v.off, v.len = C.PYHOST_BYTES, C.uintptr_t(len(b.data)), C.size_t(len(x))
		b.data = append(b.data, x...)
	case []string:
		v._type, v.off, v.len = C.PYHOST_STR_LIST, C.uintptr_t(len(b.items)), C.size_t(len(x))
		for _, s := range x {
			b.items = append(b.items, C.go_str{off: C.uintptr_t(len(b.data)), len: C.size_t(len(s))})
			b.data = append(b.data, s...)
		}
	case *Object:
		h, err := x.handle()
		if err != nil {
			return err
		}
		v._type, v.off = C.PYHOST_OBJECT, C.uintptr_t(uintptr(unsafe.Pointer(h)))
		b.objs = append(b.objs, x)
	default:
		return fmt.Errorf("pyhost: cannot pass a %T to Python", arg)
	}
	b.vals = append(b.vals, v)
	return nil
}

func (b *callBuf) reset() {
	b.vals = b.vals[:0]
	b.data = b.data[:0]
	b.items = b.items[:0]
	for i := range b.objs {
		b.objs[i] = nil
	}
	b.objs = b.objs[:0]
	b.result = C.pyhost_value{}
}

// fromValue converts the result pyhost filled in, and frees what pyhost
// allocated for it. (It takes the buffer, not the value: cgo checks a
// pointer argument's whole Go object unless it is written as &x.field.)
func fromValue(b *callBuf) any {
	v := &b.result
	var out any
	switch int(v._type) {
	case TypeNone:
		return nil
	case TypeBool:
		return v.i != 0
	case TypeInt:
		return int64(v.i)
	case TypeFloat:
		return float64(v.f)
	case TypeStr:
		out = C.GoStringN((*C.char)(v.ptr), C.int(v.len))
	case TypeBytes:
		out = C.GoBytes(v.ptr, C.int(v.len))
	case TypeStrList:
		out = goStrings(v.ptr, int(v.len))
	case TypeObject:
		// The handle is ours now: do not free it with the value.
		return newObject((*C.pyhost_object)(v.ptr))
	}
	C.pyhost_value_free(&b.result)
	return out
}

// goStrings copies a pyhost_str array (C memory) into Go strings.
func goStrings(p unsafe.Pointer, n int) []string {
	if n == 0 {
		return []string{}
	}
	items := unsafe.Slice((*C.pyhost_str)(p), n)
	out := make([]string, n)
	for i, s := range items {
		out[i] = C.GoStringN(s.ptr, C.int(s.len))
	}
	return out
}
