package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/ebbgraph/ebb/engine"
)

// docs/cli.md documents every flag of run and plan, and each limit's
// default.
func TestDocsListFlags(t *testing.T) {
	doc, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"run", "plan"} {
		_, _, help := ebb(t, cmd, "-h")
		for line := range strings.Lines(help) {
			name, ok := strings.CutPrefix(line, "  -")
			if !ok {
				continue
			}
			name, _, _ = strings.Cut(strings.TrimSpace(name), " ")
			if !bytes.Contains(doc, []byte("`--"+name)) {
				t.Errorf("docs/cli.md does not document %s --%s", cmd, name)
			}
		}
	}
	d := engine.DefaultLimits()
	for flag, def := range map[string]string{
		"--max-executions": fmt.Sprint(d.MaxExecutions), "--max-expansion-depth": fmt.Sprint(d.MaxExpansionDepth),
		"--max-expansion-nodes": fmt.Sprint(d.MaxExpansionNodes), "--max-list-length": fmt.Sprint(d.MaxListLength),
		"--keep-executed": fmt.Sprint(engine.DefaultKeepExecuted), "--max-file-size": formatBytes(defaultMaxFileSize),
		"--parallel": fmt.Sprint(maxParallel),
	} {
		if !bytes.Contains(doc, []byte("| `"+flag)) || !bytes.Contains(doc, []byte(def)) {
			t.Errorf("docs/cli.md has no row for %s with %s", flag, def)
		}
	}
	for _, status := range []string{"`0`", "`1`", "`2`", "`3`"} {
		if !bytes.Contains(doc, []byte(status)) {
			t.Errorf("docs/cli.md does not list exit status %s", status)
		}
	}
}
