package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type row struct {
	Level        int    `json:"level"`
	Strategy     string `json:"strategy"`
	Status       string `json:"status"`
	OK           bool   `json:"ok"`
	PeakBytes    int64  `json:"peak_bytes"`
	BoundBytes   int64  `json:"bound_bytes"`
	Reexecutions int    `json:"reexecutions"`
	Error        *struct {
		NodeID string `json:"node_id"`
		Type   string `json:"type"`
	} `json:"error"`
}

func planRows(t *testing.T, args ...string) []row {
	t.Helper()
	code, out, errs := ebb(t, args...)
	if code != 0 {
		t.Fatalf("ebb %v: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, out, errs)
	}
	var rows []row
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("ebb %v: %v\n%s", args, err, out)
	}
	if len(rows) != 9 {
		t.Fatalf("ebb %v: %d rows, want 9 (3 levels x 3 strategies)", args, len(rows))
	}
	return rows
}

const gibBytes = 1 << 30

// checkSeedRows checks the seed workflow's numbers from issue 3: levels 0
// and 1 run out of memory at KSampler (node 24) on 22 GiB; level 2 fits
// with a peak under 19 GiB equal to the bound.
func checkSeedRows(t *testing.T, rows []row) {
	t.Helper()
	for _, r := range rows {
		switch r.Level {
		case 0, 1:
			if r.Status != "out of memory at node 24" || r.OK {
				t.Errorf("level %d %s: status %q, want out of memory at node 24", r.Level, r.Strategy, r.Status)
			}
		case 2:
			if r.Status != "ok" || !r.OK {
				t.Errorf("level 2 %s: status %q, want ok", r.Strategy, r.Status)
			}
			if r.PeakBytes >= 19*gibBytes || r.PeakBytes != r.BoundBytes {
				t.Errorf("level 2 %s: peak %d bound %d, want equal and under 19 GiB", r.Strategy, r.PeakBytes, r.BoundBytes)
			}
			if r.Reexecutions != 0 {
				t.Errorf("level 2 %s: %d re-executions, want 0", r.Strategy, r.Reexecutions)
			}
		}
	}
}

func TestPlanSeed(t *testing.T) {
	rows := planRows(t, "plan", "--json", "../../workflows/seed-offload.json",
		"--profile", "../../workflows/seed-offload.profile.json", "--device-memory", "22GiB")
	checkSeedRows(t, rows)
	var order []string
	for _, r := range rows {
		order = append(order, string(rune('0'+r.Level))+" "+r.Strategy)
	}
	want := "0 reexecute,0 restrict,0 auto,1 reexecute,1 restrict,1 auto,2 reexecute,2 restrict,2 auto"
	if got := strings.Join(order, ","); got != want {
		t.Errorf("row order %s, want %s", got, want)
	}
}

func TestDemo(t *testing.T) {
	checkSeedRows(t, planRows(t, "demo", "--json"))

	code, out, errs := ebb(t, "demo")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"node smart offload", "level  strategy", "out of memory at node 24", "22.000 GiB"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	// The table: a header and 9 rows after the explanation.
	var table []string
	in := false
	for line := range strings.Lines(out) {
		if strings.HasPrefix(line, "level") {
			in = true
		}
		if in && strings.TrimSpace(line) == "" {
			break
		}
		if in {
			table = append(table, line)
		}
	}
	if len(table) != 10 {
		t.Errorf("table has %d lines, want 10:\n%s", len(table), strings.Join(table, ""))
	}
}

func TestPlanSmall(t *testing.T) {
	rows := planRows(t, "plan", "--json", "--profile", "testdata/small.profile.json", "--device-memory", "2.5GiB", "testdata/sim.json")
	for _, r := range rows {
		want := "ok"
		if r.Level == 0 {
			want = "out of memory at node 3"
		}
		if r.Status != want {
			t.Errorf("level %d %s: %q, want %q", r.Level, r.Strategy, r.Status, want)
		}
	}
}

func TestPlanTimeline(t *testing.T) {
	png := filepath.Join(t.TempDir(), "plan.png")
	code, out, errs := ebb(t, "demo", "--memory-timeline", png)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	b, err := os.ReadFile(png)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Errorf("%s is not a PNG", png)
	}
}

func TestPlanInvalid(t *testing.T) {
	code, out, _ := ebb(t, "plan", "testdata/invalid.json")
	if code != 1 || !strings.Contains(out, "required_input_missing") {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
}
