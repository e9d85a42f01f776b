package aggregator

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"

	"pyhost.example/go/pyhost"
)

func TestMain(m *testing.M) {
	if err := Module().Register(); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	if err := pyhost.Init(); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func TestSubmitFromPython(t *testing.T) {
	std.Flush()
	err := pyhost.Run(`
import aggregator
for i in range(3):
    aggregator.submit_metric("disk.used", 1.5 * i, ["env:prod", "device:sda"], "h1")
aggregator.submit_metric("disk.used", 9, tags=["device:sda", "env:prod"], hostname="h1")
aggregator.submit_metric("cpu", 0.5)
assert aggregator.get_hostname() == ` + "'" + std.Hostname() + "'" + `
assert aggregator.GAUGE == 0 and aggregator.COUNT == 2
`)
	if err != nil {
		t.Fatal(err)
	}
	got := std.Flush()
	want := []Metric{
		{Name: "cpu", Host: "", Tags: nil, Last: 0.5, Sum: 0.5, Count: 1},
		{Name: "disk.used", Host: "h1", Tags: []string{"device:sda", "env:prod"}, Last: 9, Sum: 13.5, Count: 4},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}

func TestWrongArguments(t *testing.T) {
	for expr, want := range map[string]string{
		"submit_metric('m')":                 "TypeError: submit_metric() missing required argument 'value' (pos 2)",
		"submit_metric(1, 2)":                "TypeError: submit_metric() argument 1 must be str, not int",
		"submit_metric('m', '2')":            "TypeError: submit_metric() argument 2 must be float, not str",
		"submit_metric('m', 2, 'env:prod')":  "TypeError: submit_metric() argument 3 must be list or None, not str",
		"submit_metric('m', 2, ['a', None])": "TypeError: submit_metric() argument 3 item 1 must be str, not NoneType",
		"submit_metric('m', 2, [], 7)":       "TypeError: submit_metric() argument 4 must be str or None, not int",
		"submit_metric('m', 2, x=1)":         "TypeError: submit_metric() got an unexpected keyword argument 'x'",
		"get_hostname(1)":                    "TypeError: get_hostname() takes no arguments (1 given)",
	} {
		code := fmt.Sprintf("import aggregator\ntry:\n    aggregator.%s\n    r = 'no error'\n"+
			"except Exception as e:\n    r = f'{type(e).__name__}: {e}'\n", expr)
		if err := pyhost.Run(code); err != nil {
			t.Fatal(err)
		}
		got, err := pyhost.EvalJSON("r")
		if err != nil || got != fmt.Sprintf("%q", want) {
			t.Errorf("%s: %s, want %q", expr, got, want)
		}
	}
}

// Python threads and goroutines submit at once; nothing is lost (run with -race).
func TestConcurrentSubmissions(t *testing.T) {
	std.Flush()
	if err := pyhost.Run(`
import aggregator, threading
def submit(n, tag):
    for i in range(n):
        aggregator.submit_metric("threads", 1.0, [tag])
`); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			if _, err := pyhost.Call("__main__", "submit", 500, fmt.Sprintf("g:%d", g%2)); err != nil {
				t.Error(err)
			}
		}(g)
	}
	if err := pyhost.Run(`
ts = [threading.Thread(target=submit, args=(500, "py")) for _ in range(4)]
for t in ts: t.start()
for t in ts: t.join()
`); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	counts := map[string]int{}
	for _, m := range std.Flush() {
		counts[strings.Join(m.Tags, ",")] = m.Count
	}
	want := map[string]int{"g:0": 2000, "g:1": 2000, "py": 2000}
	if !reflect.DeepEqual(counts, want) {
		t.Fatalf("counts %v, want %v", counts, want)
	}
}
