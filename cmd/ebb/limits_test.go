package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ebbgraph/ebb/engine"
)

// Every limit flag fails a run that exceeds it with limit_exceeded,
// naming the limit and the node, in JSON and in text; exit status 1.
func TestRunLimits(t *testing.T) {
	for _, tc := range []struct {
		flag, value, workflow string
	}{
		{"max-executions", "50", "testdata/forever.json"},
		{"max-expansion-depth", "5", "testdata/forever.json"},
		{"max-expansion-nodes", "20", "testdata/forever.json"},
		{"max-list-length", "2", "testdata/list.json"},
		{"timeout", "100ms", "testdata/slow.json"},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			runs := runJSONOut(t, 1, "--"+tc.flag, tc.value, tc.workflow)
			r := runs[0]
			checkShape(t, r)
			e, _ := r["error"].(map[string]any)
			if r["status"] != "error" || e == nil || e["type"] != engine.TypeLimit {
				t.Fatalf("status %v error %v, want limit_exceeded", r["status"], r["error"])
			}
			if id, _ := e["node_id"].(string); id == "" || e["node_type"] == nil {
				t.Errorf("error %v names no node", e)
			}
			if msg, _ := e["message"].(string); !strings.Contains(msg, tc.flag) {
				t.Errorf("message %q does not name %s", msg, tc.flag)
			}
			code, out, _ := ebb(t, "run", "--"+tc.flag, tc.value, tc.workflow)
			if code != 1 || !strings.Contains(out, "limit_exceeded") || !strings.Contains(out, tc.flag) || !strings.Contains(out, "error: node ") {
				t.Errorf("text: exit %d, output:\n%s", code, out)
			}
		})
	}
}

// plan runs every row under the same limits: an endless loop ends in
// nine limit_exceeded rows instead of never returning.
func TestPlanLimits(t *testing.T) {
	rows := planRows(t, "plan", "--json", "--max-executions", "50", "testdata/forever.json")
	for _, r := range rows {
		if r.OK || r.Error == nil || r.Error.Type != engine.TypeLimit || r.Error.NodeID != "close" {
			t.Errorf("level %d %s: %+v, want limit_exceeded at node close", r.Level, r.Strategy, r.Error)
		}
	}
	rows = planRows(t, "plan", "--json", "--timeout", "50ms", "testdata/slow.json")
	if r := rows[0]; r.Error == nil || r.Error.Type != engine.TypeLimit {
		t.Errorf("--timeout: %+v, want limit_exceeded", r.Error)
	}
}

func TestKeepExecuted(t *testing.T) {
	runs := runJSONOut(t, 1, "--keep-executed", "3", "--max-executions", "50", "testdata/forever.json")
	if ex := ids(runs[0]["executed"]); len(ex) != 3 {
		t.Errorf("executed %v, want the last 3 ids", ex)
	}
	if n := runs[0]["stats"].(map[string]any)["executions"]; n != 50.0 {
		t.Errorf("stats.executions %v, want 50 (every execution)", n)
	}
	// The text summary counts every execution too.
	_, out, _ := ebb(t, "run", "--keep-executed", "3", "--max-executions", "50", "testdata/forever.json")
	if !strings.Contains(out, "executed 50,") {
		t.Errorf("summary:\n%s", out)
	}
	runs = runJSONOut(t, 1, "--keep-executed", "-1", "--max-executions", "50", "testdata/forever.json")
	if ex := ids(runs[0]["executed"]); len(ex) != 50 {
		t.Errorf("--keep-executed -1: %d ids, want all 50", len(ex))
	}
}

// Bad values of the new flags are usage errors, in JSON too.
func TestLimitUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"run", "--max-executions", "0"},
		{"run", "--max-expansion-depth", "0"},
		{"run", "--max-expansion-nodes", "0"},
		{"run", "--max-list-length", "0"},
		{"run", "--timeout", "-1s"},
		{"run", "--timeout", "forever"},
		{"run", "--keep-executed", "0"},
		{"run", "--max-file-size", "lots"},
		{"plan", "--max-executions", "0"},
		{"plan", "--timeout", "-5m"},
	} {
		doc := errorDocJSON(t, 2, append(append([]string{}, args...), "--json", "testdata/ok.json")...)
		if errorType(doc) != typeUsage || doc["status"] != "invalid" || !strings.Contains(errorMessage(doc), strings.TrimPrefix(args[1], "--")) {
			t.Errorf("%v: %v, want a usage error naming the flag", args, doc)
		}
	}
	// Negative values remove the limits.
	runJSONOut(t, 0, "--max-executions", "-1", "--max-expansion-depth", "-1", "--max-expansion-nodes", "-1",
		"--max-list-length", "-1", "--timeout", "0", "--max-file-size", "0", "testdata/ok.json")
}

// Workflow and profile files are capped: /dev/zero and large files are a
// usage error naming the file and the cap, without reading on.
func TestFileSizeCap(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big.json")
	ok, _ := os.ReadFile("testdata/ok.json")
	if err := os.WriteFile(big, append(ok, bytes.Repeat([]byte(" "), 2048)...), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := [][]string{
		{"run", "--max-file-size", "1KiB", big},
		{"run", "--max-file-size", "1KiB", "--profile", big, "testdata/ok.json"},
		{"plan", "--max-file-size", "1KiB", big},
		{"dot", "--max-file-size", "1KiB", big},
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		cases = append(cases,
			[]string{"run", "--max-file-size", "1MiB", "/dev/zero"},
			[]string{"run", "--max-file-size", "1MiB", "--profile", "/dev/zero", "testdata/ok.json"},
			[]string{"plan", "--max-file-size", "1MiB", "/dev/zero"})
	}
	for _, args := range cases {
		file, limit := args[len(args)-1], args[2]
		if args[3] == "--profile" {
			file = args[4]
		}
		code, _, errs := ebb(t, args...)
		if code != 2 || !strings.Contains(errs, file) || !strings.Contains(errs, limit) || !strings.Contains(errs, "--max-file-size") {
			t.Errorf("%v: exit %d, stderr:\n%s", args, code, errs)
		}
		if args[0] == "dot" {
			continue
		}
		doc := errorDocJSON(t, 2, append([]string{args[0], "--json"}, args[1:]...)...)
		if errorType(doc) != typeFileTooLarge || !strings.Contains(errorMessage(doc), file) {
			t.Errorf("%v --json: %v", args, doc)
		}
	}
	// The cap can be raised or removed.
	runJSONOut(t, 0, "--max-file-size", "1MiB", big)
	runJSONOut(t, 0, "--max-file-size", "0", big)
	runJSONOut(t, 0, "--max-file-size", "-1", big)
	if n, err := parseFileSize(formatBytes(defaultMaxFileSize)); err != nil || n != 256<<20 {
		t.Errorf("default cap %d (%v), want 256 MiB", n, err)
	}
}

// A huge --parallel is a usage error, answered at once.
func TestParallelCap(t *testing.T) {
	doc := errorDocJSON(t, 2, "run", "--json", "--parallel", "1000000", "testdata/ok.json")
	if !strings.Contains(errorMessage(doc), "4096") {
		t.Errorf("%v does not name the cap", doc)
	}
	runJSONOut(t, 0, "--parallel", "4096", "testdata/ok.json")
}

// A --scale that overflows a profile size is a usage error before the run.
func TestScaleOverflow(t *testing.T) {
	for _, scale := range []string{"1e10", "1e300"} {
		doc := errorDocJSON(t, 2, "run", "--json", "--profile", "testdata/small.profile.json", "--scale", scale, "testdata/profile_only.json")
		if msg := errorMessage(doc); errorType(doc) != typeUsage || !strings.Contains(msg, "--scale") || !strings.Contains(msg, "too large") {
			t.Errorf("--scale %s: %v", scale, doc)
		}
	}
}
