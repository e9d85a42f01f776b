package aggregator

/*
#include "pyhost.h"
*/
import "C"

import (
	"fmt"
	"unsafe"

	"pyhost.example/go/pyhost"
)

// aggregatorSubmitMetric is submit_metric(name, value, tags=None,
// hostname=None): a pyhost_function. pyhost has checked and converted the
// four arguments; they are read from C memory in place (no cgo call) and
// copied into Go strings.
//
//export aggregatorSubmitMetric
func aggregatorSubmitMetric(ctx *C.pyhost_ctx, args *C.pyhost_value, nargs C.size_t, result *C.pyhost_value,
	userdata unsafe.Pointer) (rc C.int) {
	a := pyhost.ArgsFromC(unsafe.Pointer(ctx), unsafe.Pointer(args), int(nargs), unsafe.Pointer(result))
	// A Go panic must never unwind into C.
	defer func() {
		if p := recover(); p != nil {
			rc = C.int(a.Raise("RuntimeError", fmt.Sprint("submit_metric: ", p)))
		}
	}()
	std.Submit(a.Str(0), a.Float(1), a.Strs(2), a.Str(3))
	return 0
}
