// Command bench runs the Go benchmark variants (package bench) in
// interleaved rounds (each round runs every variant, in a rotating order,
// so drift in the machine's speed spreads over all of them) and prints the
// medians and the ratios to the raw-cgo baselines, as markdown.
//
//	PKG_CONFIG_PATH=<repo>/target/release go run ./cmd/bench -rounds 15 -iters 200000
package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"time"

	"pyhost.example/go/bench"
)

func main() {
	rounds := flag.Int("rounds", 15, "interleaved rounds")
	iters := flag.Int("iters", 200000, "operations per sample")
	flag.Parse()
	if err := run(*rounds, *iters); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func run(rounds, iters int) error {
	variants, err := bench.Setup()
	if err != nil {
		return err
	}
	samples := make(map[string][]float64)
	for _, v := range variants { // warm-up
		if err := v.Run(iters / 4); err != nil {
			return fmt.Errorf("%s: %w", v.Name, err)
		}
	}
	for r := 0; r < rounds; r++ {
		for k := range variants {
			v := variants[(r+k)%len(variants)]
			t0 := time.Now()
			if err := v.Run(iters); err != nil {
				return fmt.Errorf("%s: %w", v.Name, err)
			}
			samples[v.Name] = append(samples[v.Name], float64(time.Since(t0).Nanoseconds())/float64(iters))
		}
	}
	fmt.Printf("Go host through pyhost beside raw cgo: %d rounds x %d operations, ns per operation\n\n", rounds, iters)
	fmt.Println("| op | what | median ns [min-max] |\n|---|---|---|")
	for _, v := range variants {
		s := append([]float64(nil), samples[v.Name]...)
		sort.Float64s(s)
		fmt.Printf("| %s | %s | %.0f [%.0f-%.0f] |\n", v.Name, v.What, median(s), s[0], s[len(s)-1])
	}
	// Median over rounds of a/b (both minus `minus`, if given).
	ratio := func(a, b, minus string) float64 {
		r := make([]float64, rounds)
		for i := range r {
			m := 0.0
			if minus != "" {
				m = samples[minus][i]
			}
			r[i] = (samples[a][i] - m) / (samples[b][i] - m)
		}
		return median(r)
	}
	fmt.Println("\n| ratio | median of per-round ratios |\n|---|---|")
	fmt.Printf("| call_typed / call_rawcgo_gil (goal <= 1.2) | %.2f |\n", ratio("call_typed", "call_rawcgo_gil", ""))
	fmt.Printf("| call_typed / call_rawcgo (raw cgo holding the GIL) | %.2f |\n", ratio("call_typed", "call_rawcgo", ""))
	fmt.Printf("| call_json / call_typed | %.1f |\n", ratio("call_json", "call_typed", ""))
	fmt.Printf("| cb_pyhost / cb_rawcgo (goal <= 1.2) | %.2f |\n", ratio("cb_pyhost", "cb_rawcgo", ""))
	fmt.Printf("| cb_pyhost / cb_rawcgo, net of the empty loop | %.2f |\n", ratio("cb_pyhost", "cb_rawcgo", "loop_empty"))
	fmt.Printf("| cb_aggregator / cb_rawcgo | %.2f |\n", ratio("cb_aggregator", "cb_rawcgo", ""))
	fmt.Printf("| cb_pyhost / cb_py | %.2f |\n", ratio("cb_pyhost", "cb_py", ""))
	return nil
}
