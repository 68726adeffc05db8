package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	brWorkflow = "../../workflows/base-refiner.json"
	brProfile  = "../../workflows/base-refiner.profile.json"
)

func TestOffloadUsageErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"unknown offload", []string{"run", "--offload", "gpu", "testdata/ok.json"}, "--offload"},
		{"unknown evict", []string{"run", "--offload", "host", "--evict", "lru", "testdata/ok.json"}, "--evict"},
		{"negative host memory", []string{"run", "--offload", "host", "--host-memory", "-1GiB", "testdata/ok.json"}, "--host-memory"},
		{"zero host memory", []string{"run", "--offload", "host", "--host-memory", "0", "testdata/ok.json"}, "--host-memory"},
		{"absurd host memory", []string{"run", "--offload", "host", "--host-memory", "4000TiB", "testdata/ok.json"}, "--host-memory"},
		{"bad host memory", []string{"run", "--offload", "host", "--host-memory", "lots", "testdata/ok.json"}, "--host-memory"},
		{"host memory without offload", []string{"run", "--host-memory", "8GiB", "testdata/ok.json"}, "--host-memory needs --offload"},
		{"evict without offload", []string{"run", "--evict", "swap", "testdata/ok.json"}, "--evict needs --offload"},
		{"disk dir without offload", []string{"run", "--disk-dir", t.TempDir(), "testdata/ok.json"}, "--disk-dir needs --offload"},
		{"disk dir with host", []string{"run", "--offload", "host", "--disk-dir", t.TempDir(), "testdata/ok.json"}, "--disk-dir needs --offload disk"},
		{"missing disk dir", []string{"run", "--offload", "disk", "--disk-dir", filepath.Join(t.TempDir(), "nope"), "testdata/ok.json"}, "--disk-dir"},
		{"disk dir is a file", []string{"run", "--offload", "disk", "--disk-dir", file, "testdata/ok.json"}, "not a directory"},
		{"cuda offload disk", []string{"run", "--device", "cuda:0", "--offload", "disk", "testdata/ok.json"}, "host tier only"},
		{"plan unknown offload", []string{"plan", "--offload", "gpu", "testdata/ok.json"}, "--offload"},
		{"plan host memory without offload", []string{"plan", "--host-memory", "1GiB", "testdata/ok.json"}, "--host-memory"},
		{"plan bad curve file", []string{"plan", "--budget-curve", "curve.txt", "testdata/ok.json"}, "--budget-curve"},
		{"serve unknown offload", []string{"serve", "--offload", "gpu"}, "--offload"},
		{"worker bad host memory", []string{"worker", "--nats", "nats://127.0.0.1:1", "--offload", "host", "--host-memory", "0"}, "--host-memory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := ebb(t, tc.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitUsage, out, errs)
			}
			if !strings.Contains(errs, tc.want) {
				t.Errorf("stderr does not mention %q:\n%s", tc.want, errs)
			}
		})
	}
}

// An unwritable --disk-dir is a usage error (root writes anywhere).
func TestOffloadDiskDirUnwritable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root can write to a read-only directory")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o700)
	code, _, errs := ebb(t, "run", "--offload", "disk", "--disk-dir", dir, "testdata/ok.json")
	if code != exitUsage || !strings.Contains(errs, "not writable") {
		t.Errorf("exit %d, stderr:\n%s", code, errs)
	}
}

// At 10 GiB, level 1 keeps the base model's CLIP and VAE while the base
// sampler needs 4 GiB of work: without offload it runs out of memory, with
// --offload host it completes, moving what the sampler does not read to
// the host and back.
func TestRunOffloadHost(t *testing.T) {
	args := []string{"--parallel", "1", "--level", "1", "--device-memory", "10GiB", "--profile", brProfile, brWorkflow}
	runs := runJSONOut(t, 1, args...)
	if e, _ := runs[0]["error"].(map[string]any); e == nil || e["type"] != "out_of_memory" {
		t.Fatalf("--offload none: error %v, want out_of_memory", runs[0]["error"])
	}
	runs = runJSONOut(t, 0, append([]string{"--offload", "host"}, args...)...)
	st := runs[0]["stats"].(map[string]any)
	for _, k := range []string{"offloaded_bytes", "reloaded_bytes", "evictions", "compute_ms", "sim_ms"} {
		if v, _ := st[k].(float64); v <= 0 {
			t.Errorf("stats %s = %v, want > 0", k, st[k])
		}
	}
	if peak := st["device_peak_bytes"].(float64); peak > 10*gibBytes {
		t.Errorf("device peak %v over 10 GiB", peak)
	}
	if sim, parts := st["sim_ms"].(float64), st["compute_ms"].(float64)+st["transfer_ms"].(float64); sim < parts*0.999 || sim > parts*1.001 {
		t.Errorf("sim_ms %v, compute_ms + transfer_ms %v", sim, parts)
	}

	code, out, errs := ebb(t, append([]string{"run", "--offload", "host"}, args...)...)
	if code != 0 || !strings.Contains(out, "offload host, evict cost: offloaded ") || !strings.Contains(out, "sim time ") {
		t.Errorf("exit %d, output:\n%s\n%s", code, out, errs)
	}
}

// run --json always has the offload stats, zero without offload.
func TestRunJSONOffloadKeys(t *testing.T) {
	runs := runJSONOut(t, 0, "testdata/ok.json")
	st := runs[0]["stats"].(map[string]any)
	for _, k := range []string{"offloaded_bytes", "reloaded_bytes", "disk_bytes", "evictions", "recomputes", "compute_ms", "transfer_ms", "sim_ms"} {
		v, ok := st[k].(float64)
		if !ok {
			t.Errorf("stats lack %s: %v", k, st)
			continue
		}
		if k != "compute_ms" && k != "sim_ms" && v != 0 {
			t.Errorf("stats %s = %v without offload, want 0", k, v)
		}
	}
}

// --offload disk without --disk-dir makes a temporary directory and
// removes it at exit, after a run that used it, and after one that failed.
func TestOffloadDiskTempDir(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	base := []string{"--parallel", "1", "--level", "1", "--offload", "disk", "--host-memory", "1GiB", "--profile", brProfile, brWorkflow}
	runs := runJSONOut(t, 0, append([]string{"--device-memory", "9GiB"}, base...)...)
	if st := runs[0]["stats"].(map[string]any); st["disk_bytes"].(float64) <= 0 {
		t.Errorf("disk_bytes %v, want > 0 (host tier of 1 GiB)", st["disk_bytes"])
	}
	checkEmpty(t, tmp)
	// 6 GiB cannot hold the base sampler's model and working memory.
	runs = runJSONOut(t, 1, append([]string{"--device-memory", "6GiB"}, base...)...)
	if e, _ := runs[0]["error"].(map[string]any); e == nil || e["type"] != "out_of_memory" {
		t.Errorf("at 6 GiB: error %v, want out_of_memory", runs[0]["error"])
	}
	checkEmpty(t, tmp)
	// A usage error after the directory is made (a bad workflow) too.
	code, _, _ := ebb(t, "run", "--offload", "disk", "testdata/bad.json")
	if code != exitUsage {
		t.Errorf("bad workflow: exit %d", code)
	}
	checkEmpty(t, tmp)
}

// A given --disk-dir is kept, and holds no file after the run.
func TestOffloadDiskDirGiven(t *testing.T) {
	dir := t.TempDir()
	runJSONOut(t, 0, "--parallel", "1", "--level", "1", "--offload", "disk", "--disk-dir", dir, "--host-memory", "1GiB",
		"--device-memory", "9GiB", "--profile", brProfile, brWorkflow)
	checkEmpty(t, dir)
}

func checkEmpty(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("%s still holds %s", dir, e.Name())
	}
}

// offloadPlanJSON is the part of "plan --offload --json" the tests read.
type offloadPlanJSON struct {
	Rows    []row `json:"rows"`
	Offload struct {
		Offload string `json:"offload"`
		Evict   string `json:"evict"`
		Levels  []struct {
			Level      int   `json:"level"`
			PeakBytes  int64 `json:"peak_bytes"`
			LowerBytes int64 `json:"lower_bound_bytes"`
			MinBytes   int64 `json:"min_bytes"`
			Times      []struct {
				At            string  `json:"at"`
				CapacityBytes int64   `json:"capacity_bytes"`
				OK            bool    `json:"ok"`
				SimMs         float64 `json:"sim_ms"`
			} `json:"times"`
		} `json:"levels"`
		Curve []struct {
			Evict  string `json:"evict"`
			Points []struct {
				CapacityBytes int64   `json:"capacity_bytes"`
				SimMs         float64 `json:"sim_ms"`
			} `json:"points"`
		} `json:"budget_curve"`
	} `json:"offload"`
}

func TestPlanOffload(t *testing.T) {
	for _, wf := range [][2]string{{brWorkflow, brProfile}, {"../../workflows/seed-offload.json", "../../workflows/seed-offload.profile.json"}} {
		code, out, errs := ebb(t, "plan", "--json", "--parallel", "1", "--offload", "host", "--profile", wf[1], wf[0])
		if code != 0 {
			t.Fatalf("exit %d\n%s\n%s", code, out, errs)
		}
		var p offloadPlanJSON
		if err := json.Unmarshal([]byte(out), &p); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if len(p.Rows) != 9 || p.Offload.Offload != "host" || p.Offload.Evict != "cost" || len(p.Offload.Levels) != 3 {
			t.Fatalf("%s: plan %+v", wf[0], p)
		}
		for _, l := range p.Offload.Levels {
			if l.MinBytes <= 0 || l.MinBytes > l.PeakBytes || l.MinBytes < l.LowerBytes {
				t.Errorf("%s level %d: minimum %d, lower bound %d, peak %d", wf[0], l.Level, l.MinBytes, l.LowerBytes, l.PeakBytes)
			}
			if len(l.Times) != 4 || l.Times[0].At != "unlimited" || !l.Times[0].OK || l.Times[3].At != "minimum" || !l.Times[3].OK {
				t.Errorf("%s level %d: times %+v", wf[0], l.Level, l.Times)
			}
			for _, tm := range l.Times {
				if tm.OK && tm.SimMs <= 0 {
					t.Errorf("%s level %d: %s: sim_ms %v", wf[0], l.Level, tm.At, tm.SimMs)
				}
			}
		}
	}

	code, out, errs := ebb(t, "plan", "--parallel", "1", "--offload", "host", "--profile", brProfile, brWorkflow)
	if code != 0 || !strings.Contains(out, "offload host, evict cost") || !strings.Contains(out, "minimum") || !strings.Contains(out, "level  strategy") {
		t.Errorf("exit %d, output:\n%s\n%s", code, out, errs)
	}
}

// Without --offload, plan --json is the array of rows it always was.
func TestPlanWithoutOffloadUnchanged(t *testing.T) {
	planRows(t, "plan", "--json", "--parallel", "1", "--profile", brProfile, brWorkflow)
	code, out, _ := ebb(t, "plan", "--parallel", "1", "--profile", brProfile, brWorkflow)
	if code != 0 || strings.Contains(out, "offload") {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
}

func TestPlanBudgetCurve(t *testing.T) {
	path := filepath.Join(t.TempDir(), "curve.png")
	code, out, errs := ebb(t, "plan", "--json", "--parallel", "1", "--budget-curve", path, "--profile", brProfile, brWorkflow)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	var p offloadPlanJSON
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatal(err)
	}
	if p.Offload.Offload != "host" || len(p.Offload.Curve) != 3 {
		t.Fatalf("offload %q (want host, implied), %d curve lines (want 3)", p.Offload.Offload, len(p.Offload.Curve))
	}
	for i, c := range p.Offload.Curve {
		if want := []string{"cost", "swap", "recompute"}[i]; c.Evict != want {
			t.Errorf("curve line %d: evict %s, want %s", i, c.Evict, want)
		}
		if len(c.Points) == 0 {
			t.Errorf("evict %s: no feasible point", c.Evict)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if r := img.Bounds(); r.Dx() < 100 || r.Dy() < 100 {
		t.Errorf("image %v", r)
	}
}

// ebb serve takes the offload flags for every prompt: a submitted
// base+refiner workflow that does not fit the device without offload
// completes with it, and its history entry reports the moves, as ebb run
// --json does for the same run.
func TestServeOffload(t *testing.T) {
	wf := filepath.Join("..", "..", "workflows", "base-refiner.json")
	profile := filepath.Join("..", "..", "workflows", "base-refiner.profile.json")
	common := []string{"--cache", "none", "--parallel", "1", "--level", "1", "--device-memory", "10GiB", "--profile", profile}
	url := startServe(t, append(common, "--offload", "host")...)
	code, out, errs := ebb(t, "submit", "--json", "--server", url, wf)
	if code != 0 {
		t.Fatalf("ebb submit: exit %d\n%s\n%s", code, out, errs)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != 1 {
		t.Fatalf("submit output: %v\n%s", err, out)
	}
	want := runJSONOut(t, 0, append(append([]string{}, common...), "--offload", "host", wf)...)
	st, wst := got[0]["stats"].(map[string]any), want[0]["stats"].(map[string]any)
	if st["evictions"].(float64) == 0 || st["offloaded_bytes"].(float64) == 0 {
		t.Errorf("served run stats %v: want evictions and offloaded bytes", st)
	}
	for _, k := range []string{"evictions", "offloaded_bytes", "reloaded_bytes", "recomputes", "peak_bytes", "working_set_bytes", "sim_ms"} {
		if st[k] != wst[k] {
			t.Errorf("stats.%s: served %v, ebb run %v", k, st[k], wst[k])
		}
	}
}
