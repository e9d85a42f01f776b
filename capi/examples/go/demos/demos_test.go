package demos

import (
	"bytes"
	"strings"
	"testing"
)

func TestDemos(t *testing.T) {
	if err := Setup(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Demo01(&out); err != nil {
		t.Fatal(err)
	}
	if err := Demo02(&out, 16, 200); err != nil {
		t.Fatal(err)
	}
	if err := Demo03(&out, 4); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"01 greet: hello Go, from Python\n",
		"01 add: 42\n",
		`01 stats (JSON): {"n": 5, "sum": 14, "max": 5}` + "\n",
		"01 error: TypeError\n",
		"02 16 goroutines x 200 calls: all right",
		"03 check ran 4 times\n",
		"03 disk.runs [env:demo] host=<this host> count=4 sum=4\n",
		"03 disk.used [device:sda1 env:demo] host=<this host> count=4 sum=1\n",
		"03 disk.used [device:sdb1 env:demo] host=<this host> count=4 sum=2\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("missing %q in:\n%s", want, out.String())
		}
	}
}
