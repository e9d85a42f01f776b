// Command demo replays the talk's demos with a Go host (see package demos).
//
//	PKG_CONFIG_PATH=<repo>/target/release go run ./cmd/demo
package main

import (
	"fmt"
	"os"

	"pyhost.example/go/demos"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	if err := demos.Setup(); err != nil {
		return err
	}
	if err := demos.Demo01(os.Stdout); err != nil {
		return err
	}
	if err := demos.Demo02(os.Stdout, 64, 1000); err != nil {
		return err
	}
	return demos.Demo03(os.Stdout, 5)
}
