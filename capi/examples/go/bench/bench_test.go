package bench

import (
	"os"
	"testing"
)

func variants(tb testing.TB) []Variant {
	vs, err := Setup()
	if err != nil {
		tb.Fatal(err)
	}
	return vs
}

// Every variant computes the right thing (correctness only; timing is the
// benchmarks' job).
func TestVariants(t *testing.T) {
	for _, v := range variants(t) {
		if err := v.Run(100); err != nil {
			t.Errorf("%s: %v", v.Name, err)
		}
	}
	if sink == 0 {
		t.Error("the gauge functions consumed nothing")
	}
}

func run(b *testing.B, name string) {
	v := Find(variants(b), name)
	b.ResetTimer()
	if err := v.Run(b.N); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkCallPyFunc is the talk's benchmark (3606 ns/op in 2017): Go calls
// a Python function with one int.
func BenchmarkCallPyFunc(b *testing.B) {
	for _, name := range []string{"call_typed", "call_json", "call_rawcgo", "call_rawcgo_gil"} {
		b.Run(name, func(b *testing.B) { run(b, name) })
	}
}

// BenchmarkCallback: Python calls a Go function with the gauge arguments.
func BenchmarkCallback(b *testing.B) {
	for _, name := range []string{"cb_pyhost", "cb_rawcgo", "cb_aggregator", "cb_py", "loop_empty"} {
		b.Run(name, func(b *testing.B) { run(b, name) })
	}
}

func TestMain(m *testing.M) {
	os.Exit(m.Run())
}
