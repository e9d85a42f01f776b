// Package bench measures a Go host through pyhost beside raw cgo to the
// CPython C API, in one process:
//
//   - call: Go calls a Python function with one int, g(1000), and reads the
//     int result: pyhost's typed API (GIL taken per call), pyhost's JSON API,
//     raw cgo with the GIL held across the loop, raw cgo taking the GIL per
//     call (the fair baseline for pyhost, which must take it);
//   - cb: Python calls gauge("system.swap.total", 1234.0, ["env:prod",
//     "role:db"], "host1") in a loop: a Go host function through pyhost
//     (declared parameters, one C-to-Go transition), the same through raw
//     cgo (a C FASTCALL entry handing the arguments to Go, which reads them
//     with one cgo call per C API call), the Go aggregator's submit_metric,
//     and controls (a Python no-op, the empty loop).
//
// Variants are plain functions of n (the operations to run), shared by the
// Go benchmarks (bench_test.go) and the interleaved runner (cmd/bench).
package bench

/*
#cgo pkg-config: pyhost
#include "raw.h"
extern int benchGaugeGo(pyhost_ctx *, pyhost_value *, size_t, pyhost_value *, void *);
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"

	"pyhost.example/go/aggregator"
	"pyhost.example/go/pyhost"
)

const pyCode = `
import sys, types
code = '''
def g(x):
    return x + 1

def loop(f, n):
    for _ in range(n):
        f("system.swap.total", 1234.0, ["env:prod", "role:db"], "host1")

def loop_empty(f, n):
    for _ in range(n):
        pass

def gauge_py(name, value, tags, hostname):
    pass
'''
bench_funcs = types.ModuleType("bench_funcs")
exec(code, bench_funcs.__dict__)
sys.modules["bench_funcs"] = bench_funcs
`

// Variant is one measured operation: Run(n) does it n times.
type Variant struct {
	Name string
	What string
	Run  func(n int) error
}

var setup struct {
	once     sync.Once
	err      error
	variants []Variant
}

// Setup starts Python with the benchmark's modules (once per process) and
// returns the variants.
func Setup() ([]Variant, error) {
	setup.once.Do(func() { setup.variants, setup.err = build() })
	return setup.variants, setup.err
}

func build() ([]Variant, error) {
	gauge := []pyhost.Param{
		{Name: "name", Type: pyhost.TypeStr},
		{Name: "value", Type: pyhost.TypeFloat},
		{Name: "tags", Type: pyhost.TypeStrList, Optional: true},
		{Name: "hostname", Type: pyhost.TypeStr, Optional: true},
	}
	err := pyhost.NewModule("bench_go", "").
		CFunc("gauge", "", gauge, unsafe.Pointer(C.benchGaugeGo), nil).Register()
	if err != nil {
		return nil, err
	}
	if err := aggregator.Module().Register(); err != nil {
		return nil, err
	}
	if err := pyhost.Init(); err != nil {
		return nil, err
	}
	if err := pyhost.Run(pyCode); err != nil {
		return nil, err
	}
	if err := installRaw(); err != nil {
		return nil, err
	}
	// Handles on the functions the variants call, kept for the process.
	var lookups []error
	attr := func(module, name string) *pyhost.Object {
		m, err := pyhost.Import(module)
		if err != nil {
			lookups = append(lookups, err)
			return nil
		}
		defer m.Release()
		a, err := m.Attr(name)
		if err != nil {
			lookups = append(lookups, err)
		}
		return a
	}
	g := attr("bench_funcs", "g")
	loop := attr("bench_funcs", "loop")
	loopEmpty := attr("bench_funcs", "loop_empty")
	gaugePy := attr("bench_funcs", "gauge_py")
	rawGauge := attr("bench_funcs", "raw_gauge")
	goGauge := attr("bench_go", "gauge")
	submit := attr("aggregator", "submit_metric")
	if len(lookups) > 0 {
		return nil, lookups[0]
	}
	rawG, err := getRaw("g")
	if err != nil {
		return nil, err
	}
	loopOver := func(f *pyhost.Object) func(int) error {
		return func(n int) error {
			_, err := loop.Call(f, n)
			return err
		}
	}
	return []Variant{
		{"call_typed", "g(1000) through pyhost's typed API (GIL taken per call)", func(n int) error {
			for i := 0; i < n; i++ {
				r, err := g.Call(1000)
				if err != nil {
					return err
				}
				if r != int64(1001) {
					return fmt.Errorf("g(1000) = %v", r)
				}
			}
			return nil
		}},
		{"call_json", "g(1000) through pyhost's JSON API (GIL taken per call)", func(n int) error {
			for i := 0; i < n; i++ {
				r, err := pyhost.CallJSON("bench_funcs", "g", "[1000]")
				if err != nil {
					return err
				}
				if r != "1001" {
					return fmt.Errorf("g(1000) = %v", r)
				}
			}
			return nil
		}},
		{"call_rawcgo", "g(1000), raw cgo to the C API, GIL held for the loop", func(n int) error {
			return rawCall(rawG, n)
		}},
		{"call_rawcgo_gil", "g(1000), raw cgo to the C API, GIL taken per call", func(n int) error {
			return rawCallGIL(rawG, n)
		}},
		{"cb_pyhost", "Python calls gauge(...) of Go through pyhost", loopOver(goGauge)},
		{"cb_rawcgo", "Python calls gauge(...) of Go through raw cgo", loopOver(rawGauge)},
		{"cb_aggregator", "Python calls the Go aggregator's submit_metric(...)", loopOver(submit)},
		{"cb_py", "control: gauge(...) into a Python no-op", loopOver(gaugePy)},
		{"loop_empty", "control: the empty Python loop", func(n int) error {
			_, err := loopEmpty.Call(nil, n)
			return err
		}},
	}, nil
}

// Find returns the variant called name.
func Find(variants []Variant, name string) Variant {
	for _, v := range variants {
		if v.Name == name {
			return v
		}
	}
	panic("no variant " + name)
}
