package pyhost

/*
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"runtime/cgo"
	"unsafe"
)

// Param declares one parameter of a host function: pyhost checks and
// converts the argument before the function runs, with CPython's messages
// ("f() argument 2 must be float, not str").
type Param struct {
	Name string
	// TypeStr, TypeInt, TypeFloat, TypeBool, TypeBytes, TypeStrList or TypeObject.
	Type int
	// May be omitted or None (then the argument's Type is TypeNone).
	Optional bool
	// Can only be passed by keyword (after all positional parameters).
	KeywordOnly bool
}

// Func is a host function written in Go. It runs with the GIL held, on
// whatever thread runs the Python code that calls it (possibly several at
// once): guard shared state with a mutex, do not block (or use
// AllowThreads), keep nothing from c after returning. Return nil, bool, an
// integer, float, string, []byte, []string or *Object; return an error to
// raise it (an *Exception picks the Python type, anything else is
// RuntimeError).
type Func func(a Args) (any, error)

// Exception is an error that a Func returns to raise a given Python
// exception type: a built-in name ("ValueError") or one of the module's own
// (added with Module.Exception).
type Exception struct {
	Type    string
	Message string
}

func (e *Exception) Error() string { return e.Type + ": " + e.Message }

// Module is a host module under construction (pyhost_module_new).
type Module struct {
	m   *C.pyhost_module
	err error
}

// NewModule starts the definition of module `name`.
func NewModule(name, doc string) *Module {
	n := C.CString(name)
	defer C.free(unsafe.Pointer(n))
	var d *C.char
	if doc != "" {
		d = C.CString(doc)
		defer C.free(unsafe.Pointer(d))
	}
	mod := &Module{}
	mod.err = errorFrom(C.go_err(C.pyhost_module_new(n, d, &mod.m)))
	return mod
}

func (mod *Module) check(e *C.char) *Module {
	if err := errorFrom(e); err != nil && mod.err == nil {
		mod.err = err
	}
	return mod
}

// cParams copies params into C memory (pyhost copies them again; freed by the caller).
func cParams(params []Param) (*C.pyhost_param, func()) {
	if len(params) == 0 {
		return nil, func() {}
	}
	size := C.size_t(len(params)) * C.size_t(unsafe.Sizeof(C.pyhost_param{}))
	p := (*C.pyhost_param)(C.malloc(size))
	items := unsafe.Slice(p, len(params))
	var names []*C.char
	for i, q := range params {
		name := C.CString(q.Name)
		names = append(names, name)
		var flags C.int32_t
		if q.Optional {
			flags |= C.PYHOST_OPTIONAL
		}
		if q.KeywordOnly {
			flags |= C.PYHOST_KEYWORD_ONLY
		}
		items[i] = C.pyhost_param{name: name, _type: C.int32_t(q.Type), flags: flags}
	}
	return p, func() {
		for _, n := range names {
			C.free(unsafe.Pointer(n))
		}
		C.free(unsafe.Pointer(p))
	}
}

// Func adds a Go function with declared parameters. doc may start with a
// signature line ("f(a, b=None)\n--\n\n...").
func (mod *Module) Func(name, doc string, params []Param, fn Func) *Module {
	return mod.addGo(name, doc, params, false, fn)
}

// FuncUnchecked adds a Go function that takes any arguments and reads
// them with Args.Arg (no declared parameters).
func (mod *Module) FuncUnchecked(name, doc string, fn Func) *Module {
	return mod.addGo(name, doc, nil, true, fn)
}

func (mod *Module) addGo(name, doc string, params []Param, unchecked bool, fn Func) *Module {
	if mod.err != nil {
		return mod
	}
	n, d := C.CString(name), C.CString(doc)
	defer C.free(unsafe.Pointer(n))
	defer C.free(unsafe.Pointer(d))
	p, free := cParams(params)
	defer free()
	// The handle lives as long as the function: for the life of the process.
	h := cgo.NewHandle(&goFunc{name: name, fn: fn})
	u := C.int(0)
	if unchecked {
		u = 1
	}
	return mod.check(C.go_module_add_go_function(mod.m, n, d, p, C.size_t(len(params)), u, C.uintptr_t(h)))
}

// CFunc adds a C function (a pyhost_function pointer, e.g. a Go function
// exported with //export and declared in the caller's cgo preamble) with
// declared parameters. It is called directly: one C-to-Go transition per
// call, no handle lookup.
func (mod *Module) CFunc(name, doc string, params []Param, fn, userdata unsafe.Pointer) *Module {
	if mod.err != nil {
		return mod
	}
	n, d := C.CString(name), C.CString(doc)
	defer C.free(unsafe.Pointer(n))
	defer C.free(unsafe.Pointer(d))
	p, free := cParams(params)
	defer free()
	return mod.check(C.go_err(C.pyhost_module_add_function(mod.m, n, d, p, C.size_t(len(params)),
		C.pyhost_function(fn), userdata)))
}

// Int, Float and Str add constants.
func (mod *Module) Int(name string, v int64) *Module {
	if mod.err != nil {
		return mod
	}
	n := C.CString(name)
	defer C.free(unsafe.Pointer(n))
	return mod.check(C.go_err(C.pyhost_module_add_int(mod.m, n, C.int64_t(v))))
}

func (mod *Module) Float(name string, v float64) *Module {
	if mod.err != nil {
		return mod
	}
	n := C.CString(name)
	defer C.free(unsafe.Pointer(n))
	return mod.check(C.go_err(C.pyhost_module_add_float(mod.m, n, C.double(v))))
}

func (mod *Module) Str(name, v string) *Module {
	if mod.err != nil {
		return mod
	}
	n, s := C.CString(name), C.CString(v)
	defer C.free(unsafe.Pointer(n))
	defer C.free(unsafe.Pointer(s))
	return mod.check(C.go_err(C.pyhost_module_add_str(mod.m, n, s)))
}

// Exception adds an exception type module.name deriving from base (a
// built-in name; "" for Exception), raised with &Exception{Type: name}.
func (mod *Module) Exception(name, base, doc string) *Module {
	if mod.err != nil {
		return mod
	}
	n, d := C.CString(name), C.CString(doc)
	defer C.free(unsafe.Pointer(n))
	defer C.free(unsafe.Pointer(d))
	var b *C.char
	if base != "" {
		b = C.CString(base)
		defer C.free(unsafe.Pointer(b))
	}
	return mod.check(C.go_err(C.pyhost_module_add_exception(mod.m, n, b, d)))
}

// Register makes the module importable once Init runs (call it before).
func (mod *Module) Register() error {
	return mod.finish(func() *C.char { return C.go_err(C.pyhost_module_register(mod.m)) })
}

// Install creates the module in the running interpreter.
func (mod *Module) Install() error {
	return mod.finish(func() *C.char { return C.go_err(C.pyhost_module_install(mod.m)) })
}

func (mod *Module) finish(f func() *C.char) error {
	if mod.m == nil {
		if mod.err == nil {
			mod.err = fmt.Errorf("pyhost: module already registered or installed")
		}
		return mod.err
	}
	if mod.err != nil {
		C.pyhost_module_free(mod.m)
		mod.m = nil
		return mod.err
	}
	err := errorFrom(f())
	mod.m = nil // consumed in every case
	return err
}
