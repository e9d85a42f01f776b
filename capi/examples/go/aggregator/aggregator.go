// Package aggregator is an aggregator-like host module written in Go: Python
// checks call aggregator.submit_metric(name, value, tags, hostname) and
// aggregator.get_hostname(), as Datadog checks call the Agent's Go
// aggregator through rtloader, and Go aggregates what they submit.
//
// submit_metric is a Go function exported with //export (export.go) and
// registered as the C function pointer it is (pyhost.Module.CFunc): Python
// calls it with one C-to-Go transition, the arguments already checked and
// converted by pyhost (CPython-worded TypeErrors for wrong types).
package aggregator

/*
#cgo pkg-config: pyhost
#include "pyhost.h"
extern int aggregatorSubmitMetric(pyhost_ctx *, pyhost_value *, size_t, pyhost_value *, void *);
*/
import "C"

import (
	"os"
	"sort"
	"strings"
	"sync"
	"unsafe"

	"pyhost.example/go/pyhost"
)

// Metric is what one context (name, host, tags) accumulated.
type Metric struct {
	Name  string
	Host  string
	Tags  []string
	Last  float64
	Sum   float64
	Count int
}

// Aggregator sums submissions per context. Safe for concurrent use: the
// module's functions may run on several threads at once.
type Aggregator struct {
	mu       sync.Mutex
	hostname string
	metrics  map[string]*Metric
}

// New makes an aggregator that reports hostname to checks.
func New(hostname string) *Aggregator {
	return &Aggregator{hostname: hostname, metrics: map[string]*Metric{}}
}

// Submit adds one value. tags are copied and sorted into the context key.
func (a *Aggregator) Submit(name string, value float64, tags []string, host string) {
	sorted := append([]string(nil), tags...)
	sort.Strings(sorted)
	key := name + "\x00" + host + "\x00" + strings.Join(sorted, "\x00")
	a.mu.Lock()
	defer a.mu.Unlock()
	m := a.metrics[key]
	if m == nil {
		m = &Metric{Name: name, Host: host, Tags: sorted}
		a.metrics[key] = m
	}
	m.Last = value
	m.Sum += value
	m.Count++
}

// Hostname is what get_hostname() returns.
func (a *Aggregator) Hostname() string { return a.hostname }

// Flush returns the metrics (sorted by name, host, tags) and starts over.
func (a *Aggregator) Flush() []Metric {
	a.mu.Lock()
	all := a.metrics
	a.metrics = map[string]*Metric{}
	a.mu.Unlock()
	out := make([]Metric, 0, len(all))
	for _, m := range all {
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		if out[i].Host != out[j].Host {
			return out[i].Host < out[j].Host
		}
		return strings.Join(out[i].Tags, ",") < strings.Join(out[j].Tags, ",")
	})
	return out
}

// std is the aggregator behind the module (a built-in module has one state
// per process, as the Agent has one aggregator).
var std = New(hostname())

func hostname() string {
	if h, err := os.Hostname(); err == nil {
		return h
	}
	return "localhost"
}

// Default is the aggregator the Python module feeds.
func Default() *Aggregator { return std }

// Metric types, as the Agent's aggregator module exposes them.
const (
	Gauge = iota
	Rate
	Count
)

// Module defines the `aggregator` module; Register it before pyhost.Init
// (or Install it after).
func Module() *pyhost.Module {
	params := []pyhost.Param{
		{Name: "name", Type: pyhost.TypeStr},
		{Name: "value", Type: pyhost.TypeFloat},
		{Name: "tags", Type: pyhost.TypeStrList, Optional: true},
		{Name: "hostname", Type: pyhost.TypeStr, Optional: true},
	}
	return pyhost.NewModule("aggregator", "Metrics submitted to the Go host's aggregator.").
		CFunc("submit_metric", "submit_metric(name, value, tags=None, hostname=None)\n--\n\n"+
			"Add a value to the context (name, hostname, tags).",
			params, unsafe.Pointer(C.aggregatorSubmitMetric), nil).
		Func("get_hostname", "get_hostname()\n--\n\nThe host's name.", nil,
			func(pyhost.Args) (any, error) { return std.Hostname(), nil }).
		Int("GAUGE", Gauge).Int("RATE", Rate).Int("COUNT", Count)
}
