//go:build !cuda

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "this example allocates real VRAM: run it with go run -tags cuda ./examples/cuda (see docs/cuda.md)")
	os.Exit(2)
}
