package main

import (
	"testing"

	"github.com/ebbgraph/ebb/examples/internal/golden"
)

// TestGolden checks the output against testdata/golden.txt; regenerate it
// with: go test ./examples/NAME -update
func TestGolden(t *testing.T) { golden.Check(t, run) }
