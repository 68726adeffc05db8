// Package golden checks an example's output against testdata/golden.txt.
package golden

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.txt with the program's output")

// Check runs the program twice (its output must not change from one run
// to the next) and compares the output with testdata/golden.txt.
// Regenerate the file with: go test ./examples/NAME -update
func Check(t *testing.T, run func(io.Writer) error) {
	t.Helper()
	var first, second bytes.Buffer
	if err := run(&first); err != nil {
		t.Fatalf("run: %v\noutput so far:\n%s", err, first.String())
	}
	if err := run(&second); err != nil {
		t.Fatalf("second run: %v", err)
	}
	if first.String() != second.String() {
		t.Errorf("the output changed from one run to the next:\n%s", firstDiff(first.String(), second.String()))
	}
	path := filepath.Join("testdata", "golden.txt")
	if *update {
		if err := os.WriteFile(path, first.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (create it with -update)", err)
	}
	if got := first.String(); got != string(want) {
		t.Errorf("the output differs from %s (rerun with -update if the change is intended):\n%s", path, firstDiff(string(want), got))
	}
}

// firstDiff describes the first line where want and got differ.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(w), len(g)) {
		if i >= len(w) || i >= len(g) || w[i] != g[i] {
			return fmt.Sprintf("line %d:\n  want: %s\n  got:  %s", i+1, line(w, i), line(g, i))
		}
	}
	return "(no difference)"
}

func line(lines []string, i int) string {
	if i >= len(lines) {
		return "(end of output)"
	}
	return fmt.Sprintf("%q", lines[i])
}
