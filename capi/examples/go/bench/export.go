package bench

/*
#include "raw.h"
*/
import "C"

import (
	"sync/atomic"
	"unsafe"

	"pyhost.example/go/pyhost"
)

// sink keeps the copies observable.
var sink int64

func consume(name string, value float64, tags []string, host string) {
	n := len(name) + len(host) + int(value)
	for _, t := range tags {
		n += len(t)
	}
	atomic.AddInt64(&sink, int64(n))
}

// benchGaugeGo is gauge(name, value, tags, hostname) through pyhost: the
// arguments arrive checked and converted; reading them is no cgo call.
//
//export benchGaugeGo
func benchGaugeGo(ctx *C.pyhost_ctx, args *C.pyhost_value, nargs C.size_t, result *C.pyhost_value,
	userdata unsafe.Pointer) C.int {
	a := pyhost.ArgsFromC(unsafe.Pointer(ctx), unsafe.Pointer(args), int(nargs), unsafe.Pointer(result))
	consume(a.Str(0), a.Float(1), a.Strs(2), a.Str(3))
	return 0
}

// rawGaugeGo is the same through raw cgo: Go reads the argument objects
// with the C API, one cgo call per operation (type checks left out, which
// favours the baseline).
//
//export rawGaugeGo
func rawGaugeGo(args **C.PyObject, nargs C.Py_ssize_t) C.int {
	a := unsafe.Slice(args, int(nargs))
	var n C.Py_ssize_t
	p := C.PyUnicode_AsUTF8AndSize(a[0], &n)
	if p == nil {
		return -1
	}
	name := C.GoStringN(p, C.int(n))
	value := float64(C.PyFloat_AsDouble(a[1]))
	count := C.PyList_Size(a[2])
	if count < 0 {
		return -1
	}
	tags := make([]string, 0, int(count))
	for i := C.Py_ssize_t(0); i < count; i++ {
		p := C.PyUnicode_AsUTF8AndSize(C.PyList_GetItem(a[2], i), &n)
		if p == nil {
			return -1
		}
		tags = append(tags, C.GoStringN(p, C.int(n)))
	}
	p = C.PyUnicode_AsUTF8AndSize(a[3], &n)
	if p == nil {
		return -1
	}
	consume(name, value, tags, C.GoStringN(p, C.int(n)))
	return 0
}
