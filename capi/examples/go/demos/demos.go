// Package demos replays the talk's demos with a Go host embedding Python
// through pyhost: 01 import a module and call a function; 02 many
// goroutines calling Python at once; 03 a check-like plugin calling back
// into Go (the aggregator module).
package demos

import (
	"embed"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"pyhost.example/go/aggregator"
	"pyhost.example/go/pyhost"
)

//go:embed python
var pythonFiles embed.FS

var setup struct {
	once sync.Once
	err  error
}

// Setup registers the aggregator module, writes the demo plugins to a
// temporary folder and starts Python with it on sys.path (once per process).
func Setup() error {
	setup.once.Do(func() {
		dir, err := os.MkdirTemp("", "pyhost-go-demos-")
		if err != nil {
			setup.err = err
			return
		}
		err = fs.WalkDir(pythonFiles, "python", func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			target := filepath.Join(dir, path)
			if d.IsDir() {
				return os.MkdirAll(target, 0o755)
			}
			data, err := pythonFiles.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(target, data, 0o644)
		})
		if err != nil {
			setup.err = err
			return
		}
		if err := aggregator.Module().Register(); err != nil {
			setup.err = err
			return
		}
		setup.err = pyhost.Init(filepath.Join(dir, "python"))
	})
	return setup.err
}

// Demo01 imports a module and calls its functions: typed, and with JSON.
func Demo01(w io.Writer) error {
	plugin, err := pyhost.Import("demo_plugin")
	if err != nil {
		return err
	}
	defer plugin.Release()
	greet, err := plugin.Attr("greet")
	if err != nil {
		return err
	}
	defer greet.Release()
	s, err := greet.Call("Go")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "01 greet: %s\n", s)
	sum, err := plugin.CallMethod("add", 40, 2)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "01 add: %d\n", sum)
	js, err := pyhost.CallJSON("demo_plugin", "stats", "[[3, 1, 4, 1, 5]]")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "01 stats (JSON): %s\n", js)
	_, err = plugin.CallMethod("add", 1, "x")
	fmt.Fprintf(w, "01 error: %s\n", err.(*pyhost.Error).Type())
	return nil
}

// Demo02 has many goroutines call Python at once.
//
// No runtime.LockOSThread: each pyhost call takes the GIL and releases it
// within one cgo call, during which the goroutine cannot change OS threads
// (see the pyhost package's doc for what breaks without that). The Go
// scheduler is free to move goroutines between calls.
func Demo02(w io.Writer, goroutines, calls int) error {
	fib, err := pyhost.Call("demo_plugin", "fib", 0)
	if err != nil || fib != int64(0) {
		return fmt.Errorf("fib(0) = %v, %v", fib, err)
	}
	plugin, err := pyhost.Import("demo_plugin")
	if err != nil {
		return err
	}
	defer plugin.Release()
	fn, err := plugin.Attr("fib")
	if err != nil {
		return err
	}
	defer fn.Release()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < calls; i++ {
				n := (g + i) % 50
				r, err := fn.Call(n)
				if err != nil {
					errs <- err
					return
				}
				if r != fibGo(n) {
					errs <- fmt.Errorf("fib(%d) = %v, want %d", n, r, fibGo(n))
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	fmt.Fprintf(w, "02 %d goroutines x %d calls: all right (%.0f ns per call)\n", goroutines, calls,
		float64(time.Since(start).Nanoseconds())/float64(goroutines*calls))
	return nil
}

func fibGo(n int) int64 {
	a, b := int64(0), int64(1)
	for i := 0; i < n; i++ {
		a, b = b, a+b
	}
	return a
}

// Demo03 runs a check-like plugin that reports through the Go aggregator:
// the host keeps the check instance (an object handle) and runs it from
// several goroutines; Go aggregates what it submitted.
func Demo03(w io.Writer, runs int) error {
	agg := aggregator.Default()
	agg.Flush()
	mod, err := pyhost.Import("checks.disk_like")
	if err != nil {
		return err
	}
	defer mod.Release()
	class, err := mod.Attr("DiskLikeCheck")
	if err != nil {
		return err
	}
	defer class.Release()
	inst, err := class.Call("disk", []string{"env:demo"})
	if err != nil {
		return err
	}
	check := inst.(*pyhost.Object)
	defer check.Release()
	var wg sync.WaitGroup
	errs := make(chan error, runs)
	for i := 0; i < runs; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := check.CallMethod("run"); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	n, err := check.Attr("runs")
	if err != nil {
		return err
	}
	defer n.Release()
	count, err := n.JSON()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "03 check ran %s times\n", count)
	for _, m := range agg.Flush() {
		host := "<this host>"
		if m.Host != agg.Hostname() {
			host = m.Host
		}
		fmt.Fprintf(w, "03 %s %v host=%s count=%d sum=%g\n", m.Name, m.Tags, host, m.Count, m.Sum)
	}
	return nil
}
