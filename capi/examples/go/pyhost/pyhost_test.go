package pyhost

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// The Go host module these tests call from Python.
func goModule() *Module {
	p := func(name string, typ int) Param { return Param{Name: name, Type: typ} }
	echo := func(a Args) (any, error) {
		switch a.Type(0) {
		case TypeStr:
			return a.Str(0), nil
		case TypeInt:
			return a.Int(0), nil
		case TypeFloat:
			return a.Float(0), nil
		case TypeBool:
			return a.Bool(0), nil
		case TypeBytes:
			return a.Bytes(0), nil
		case TypeStrList:
			return a.Strs(0), nil
		case TypeObject:
			return a.Object(0)
		}
		return nil, nil
	}
	return NewModule("gomod", "Go functions for pyhost_test.go.").
		Func("add", "add(a, b)\n--\n\n", []Param{p("a", TypeInt), p("b", TypeInt)},
			func(a Args) (any, error) { return a.Int(0) + a.Int(1), nil }).
		Func("echo_str", "", []Param{p("s", TypeStr)}, echo).
		Func("echo_int", "", []Param{p("i", TypeInt)}, echo).
		Func("echo_float", "", []Param{p("f", TypeFloat)}, echo).
		Func("echo_bool", "", []Param{p("b", TypeBool)}, echo).
		Func("echo_bytes", "", []Param{p("b", TypeBytes)}, echo).
		Func("echo_tags", "", []Param{p("tags", TypeStrList)}, echo).
		Func("echo_obj", "", []Param{p("o", TypeObject)}, echo).
		Func("echo_opt", "", []Param{{Name: "s", Type: TypeStr, Optional: true}}, echo).
		Func("gauge", "gauge(name, value, tags=None, hostname=None)\n--\n\n", []Param{
			p("name", TypeStr), p("value", TypeFloat),
			{Name: "tags", Type: TypeStrList, Optional: true},
			{Name: "hostname", Type: TypeStr, Optional: true},
		}, func(a Args) (any, error) {
			return fmt.Sprintf("%s=%g %v %q", a.Str(0), a.Float(1), a.Strs(2), a.Str(3)), nil
		}).
		Func("raise_go", "", []Param{p("kind", TypeStr)}, func(a Args) (any, error) {
			switch a.Str(0) {
			case "GoError":
				return nil, &Exception{Type: "GoError", Message: "from Go"}
			case "KeyError":
				return nil, &Exception{Type: "KeyError", Message: "k"}
			case "plain":
				return nil, errors.New("a plain Go error")
			case "panic":
				panic("oh no")
			}
			return nil, nil
		}).
		FuncUnchecked("dyn", "", func(a Args) (any, error) {
			x, err := a.Arg(0, "x", TypeInt, false)
			if err != nil {
				return nil, err
			}
			tags, err := a.Arg(-1, "tags", TypeStrList, true)
			if err != nil {
				return nil, err
			}
			return fmt.Sprint(x, tags), nil
		}).
		Func("reenter", "", []Param{p("n", TypeInt)}, func(a Args) (any, error) {
			// Back into Python, which calls add() again: the GIL is held, re-entrant.
			return Call("gohelpers", "call_go_many", a.Int(0))
		}).
		Func("sleep_released", "", nil, func(a Args) (any, error) {
			return nil, AllowThreads(func() { time.Sleep(20 * time.Millisecond) })
		}).
		Int("ANSWER", 42).Float("HALF", 0.5).Str("NAME", "gomod").
		Exception("GoError", "ValueError", "Raised from Go.")
}

func TestMain(m *testing.M) {
	if err := goModule().Register(); err != nil {
		fmt.Println("register:", err)
		os.Exit(1)
	}
	if err := Init("testdata"); err != nil {
		fmt.Println("init:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func TestInitTwiceIsAnError(t *testing.T) {
	err := Init()
	if err == nil || !strings.Contains(err.Error(), "already initialised") {
		t.Fatalf("second Init: %v", err)
	}
}

func TestTypedRoundTrips(t *testing.T) {
	obj, err := Call("builtins", "object")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []any{nil, true, false, int64(-7), int64(1) << 62, 1.5, "h\u00e9llo", "", []byte{0, 1},
		[]string{"env:prod", ""}, obj} {
		got, err := Call("gohelpers", "ident", v)
		if err != nil {
			t.Fatalf("ident(%#v): %v", v, err)
		}
		if o, ok := v.(*Object); ok {
			same, err := Call("operator", "is_", o, got)
			if err != nil || same != true {
				t.Fatalf("ident(object) is not the object: %v %v", same, err)
			}
			continue
		}
		if !reflect.DeepEqual(got, v) {
			t.Fatalf("ident(%#v) = %#v", v, got)
		}
	}
	got, err := Call("gohelpers", "kinds", 1, int32(2), uint8(3), float32(1), "s", []byte("b"), []string{"t"}, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"int", "int", "int", "float", "str", "bytes", "list", "NoneType", "bool"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("kinds = %v", got)
	}
	if _, err := Call("gohelpers", "ident", make(chan int)); err == nil || !strings.Contains(err.Error(), "cannot pass a chan int") {
		t.Fatalf("chan: %v", err)
	}
	if _, err := Call("gohelpers", "ident", uint64(1)<<63); err == nil {
		t.Fatal("uint64 overflow accepted")
	}
	// Anything else comes back as an object.
	d, err := Call("builtins", "dict", []string{}, nil)
	if err == nil {
		t.Fatalf("dict([], None) = %v", d)
	}
	big, err := Call("builtins", "pow", 2, 70)
	if err != nil {
		t.Fatal(err)
	}
	if js, err := big.(*Object).JSON(); err != nil || js != "1180591620717411303424" {
		t.Fatalf("2**70 = %v %v", js, err)
	}
}

func TestErrors(t *testing.T) {
	_, err := Call("gohelpers", "fail", "bad input")
	var pe *Error
	if !errors.As(err, &pe) || pe.Type() != "ValueError" || !strings.HasSuffix(pe.Text, "ValueError: bad input") ||
		!strings.HasPrefix(pe.Text, "Traceback (most recent call last):") {
		t.Fatalf("error: %#v", err)
	}
	if _, err := Call("no_such_module", "f"); err == nil || err.(*Error).Type() != "ModuleNotFoundError" {
		t.Fatalf("missing module: %v", err)
	}
	if _, err := EvalJSON("float('nan')"); err == nil || !strings.Contains(err.Error(), "not standard JSON") {
		t.Fatalf("NaN: %v", err)
	}
	if _, err := CallJSON("builtins", "len", "[NaN]"); err == nil || !strings.Contains(err.Error(), "NaN is not allowed") {
		t.Fatalf("NaN in: %v", err)
	}
	if js, err := CallJSON("builtins", "sorted", `[["b", "a"]]`); err != nil || js != `["a", "b"]` {
		t.Fatalf("sorted: %v %v", js, err)
	}
	if err := Run("x = "); err == nil || err.(*Error).Type() != "SyntaxError" {
		t.Fatalf("syntax: %v", err)
	}
}

func TestObjectsAndRelease(t *testing.T) {
	m, err := Import("gohelpers")
	if err != nil {
		t.Fatal(err)
	}
	kept, err := m.Attr("kept")
	if err != nil {
		t.Fatal(err)
	}
	if r, err := kept.CallMethod("double", 21); err != nil || r != int64(42) {
		t.Fatalf("double: %v %v", r, err)
	}
	if _, err := m.Attr("nope"); err == nil || err.(*Error).Type() != "AttributeError" {
		t.Fatalf("nope: %v", err)
	}
	if err := Run("import gohelpers\ndel gohelpers.kept"); err != nil {
		t.Fatal(err)
	}
	alive := func() string {
		js, err := EvalJSON("__import__('gohelpers').kept_ref() is not None")
		if err != nil {
			t.Fatal(err)
		}
		return js
	}
	if alive() != "true" {
		t.Fatal("freed while a handle holds it")
	}
	// Released on another goroutine (another thread, no GIL): freed at the
	// next GIL acquisition.
	done := make(chan struct{})
	go func() { kept.Release(); close(done) }()
	<-done
	if alive() != "false" {
		t.Fatal("not freed after Release")
	}
	if _, err := kept.CallMethod("double", 1); err == nil || !strings.Contains(err.Error(), "released") {
		t.Fatalf("use after release: %v", err)
	}
	kept.Release() // twice: nothing
	m.Release()
}

func TestGoModuleArguments(t *testing.T) {
	cases := map[string]string{
		"gomod.add(2, b=3)":                         "5",
		"gomod.echo_str('h\\xe9')":                  `"h\u00e9"`,
		"gomod.echo_int(-2**63)":                    "-9223372036854775808",
		"gomod.echo_float(2)":                       "2.0",
		"gomod.echo_bool(False)":                    "false",
		"list(gomod.echo_bytes(b'ab'))":             "[97, 98]",
		"gomod.echo_tags(('a', 'b'))":               `["a", "b"]`,
		"gomod.echo_obj([1, 2])":                    "[1, 2]",
		"gomod.echo_opt(None)":                      "null",
		"gomod.gauge('m', 1, ['a:b'])":              `"m=1 [a:b] \"\""`,
		"gomod.gauge('m', 1.5, hostname='h')":       `"m=1.5 [] \"h\""`,
		"gomod.dyn(1, tags=['t'])":                  `"1 [t]"`,
		"gomod.dyn(x=2)":                            `"2 <nil>"`,
		"gomod.ANSWER + gomod.HALF":                 "42.5",
		"gomod.NAME":                                `"gomod"`,
		"gomod.reenter(10)":                         "55",
		"issubclass(gomod.GoError, ValueError)":     "true",
		"gomod.sleep_released()":                    "null",
		"__import__('gohelpers').call_go_many(100)": "5050",
	}
	if err := Run("import gomod"); err != nil {
		t.Fatal(err)
	}
	for expr, want := range cases {
		got, err := EvalJSON(expr)
		if err != nil || got != want {
			t.Errorf("%s = %s (%v), want %s", expr, got, err, want)
		}
	}
	errs := map[string]string{
		"gomod.add(1)":                 "TypeError: add() missing required argument 'b' (pos 2)",
		"gomod.add(1, '2')":            "TypeError: add() argument 2 must be int, not str",
		"gomod.add(1, 2, 3)":           "TypeError: add() takes at most 2 arguments (3 given)",
		"gomod.add(1, c=2)":            "TypeError: add() got an unexpected keyword argument 'c'",
		"gomod.add(2**64, 1)":          "OverflowError: add() argument 1: Python int too large to convert to i64",
		"gomod.echo_float('x')":        "TypeError: echo_float() argument 1 must be float, not str",
		"gomod.echo_bool(1)":           "TypeError: echo_bool() argument 1 must be bool, not int",
		"gomod.echo_bytes('x')":        "TypeError: echo_bytes() argument 1 must be bytes, not str",
		"gomod.echo_tags(['a', 2])":    "TypeError: echo_tags() argument 1 item 1 must be str, not int",
		"gomod.echo_tags('ab')":        "TypeError: echo_tags() argument 1 must be list, not str",
		"gomod.echo_opt(1)":            "TypeError: echo_opt() argument 1 must be str or None, not int",
		"gomod.gauge('m', 1, None, 2)": "TypeError: gauge() argument 4 must be str or None, not int",
		"gomod.dyn('x')":               "TypeError: dyn() argument 1 must be int, not str",
		"gomod.dyn(1, tags=[1])":       "TypeError: dyn() argument 'tags' item 0 must be str, not int",
		"gomod.raise_go('GoError')":    "GoError: from Go",
		"gomod.raise_go('KeyError')":   "KeyError: 'k'",
		"gomod.raise_go('plain')":      "RuntimeError: a plain Go error",
		"gomod.raise_go('panic')":      "RuntimeError: Go panic in raise_go(): oh no",
	}
	for expr, want := range errs {
		got, err := Call("gohelpers", "error_of", mustEval(t, "lambda: "+expr))
		if err != nil || got != want {
			t.Errorf("%s raised %q (%v), want %q", expr, got, err, want)
		}
	}
}

func mustEval(t *testing.T, expr string) *Object {
	t.Helper()
	if err := Run("import gomod\n__tmp = " + expr); err != nil {
		t.Fatal(err)
	}
	m, err := Import("__main__")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Release()
	o, err := m.Attr("__tmp")
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// Many goroutines call Python (which calls back into Go) at once, with no
// runtime.LockOSThread: every pyhost call is self-contained (package doc).
func TestGoroutines(t *testing.T) {
	add, err := Import("operator")
	if err != nil {
		t.Fatal(err)
	}
	fn, err := add.Attr("add")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				r, err := fn.Call(g, i)
				if err != nil || r != int64(g+i) {
					errs <- fmt.Errorf("add(%d, %d) = %v, %v", g, i, r, err)
					return
				}
				if i%50 == 0 {
					r, err := Call("gohelpers", "call_go_many", 10)
					if err != nil || r != int64(55) {
						errs <- fmt.Errorf("call_go_many: %v %v", r, err)
						return
					}
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
