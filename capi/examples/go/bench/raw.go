package bench

/*
#cgo pkg-config: pyhost
#include "raw.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"
)

// rawCall calls g(1000) n times through the C API from Go (one cgo call
// per C API call, go-python style), the GIL held for the whole loop.
// runtime.LockOSThread is required: Ensure and Release are separate cgo
// calls and must run on the same OS thread.
func rawCall(g *C.PyObject, n int) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	st := C.PyGILState_Ensure()
	defer C.PyGILState_Release(st)
	return rawLoop(g, n, false)
}

// rawCallGIL does the same, taking and releasing the GIL around every call
// (on a thread that keeps its thread state, as pyhost's threads do).
func rawCallGIL(g *C.PyObject, n int) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	outer := C.PyGILState_Ensure()
	ts := C.PyEval_SaveThread()
	err := rawLoop(g, n, true)
	C.PyEval_RestoreThread(ts)
	C.PyGILState_Release(outer)
	return err
}

func rawLoop(g *C.PyObject, n int, gilPerCall bool) error {
	for i := 0; i < n; i++ {
		var st C.PyGILState_STATE
		if gilPerCall {
			st = C.PyGILState_Ensure()
		}
		arg := C.PyLong_FromLongLong(1000)
		r := C.PyObject_CallOneArg(g, arg)
		C.Py_DecRef(arg)
		if r == nil {
			C.PyErr_Print()
			if gilPerCall {
				C.PyGILState_Release(st)
			}
			return fmt.Errorf("g(1000) raised")
		}
		v := C.PyLong_AsLongLong(r)
		C.Py_DecRef(r)
		if gilPerCall {
			C.PyGILState_Release(st)
		}
		if v != 1001 {
			return fmt.Errorf("g(1000) = %d", v)
		}
	}
	return nil
}

func installRaw() error {
	if C.bench_install_raw() != 0 {
		return fmt.Errorf("installing raw_gauge failed")
	}
	return nil
}

func getRaw(name string) (*C.PyObject, error) {
	c := C.CString(name)
	defer C.free(unsafe.Pointer(c))
	p := C.bench_get(c)
	if p == nil {
		return nil, fmt.Errorf("bench_funcs.%s not found", name)
	}
	return p, nil
}
