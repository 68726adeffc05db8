package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ebb runs the command in-process and returns its exit status and output.
func ebb(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// runJSON runs "ebb run --json" and decodes its array.
func runJSONOut(t *testing.T, wantCode int, args ...string) []map[string]any {
	t.Helper()
	code, out, errs := ebb(t, append([]string{"run", "--json"}, args...)...)
	if code != wantCode {
		t.Fatalf("ebb run --json %v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, code, wantCode, out, errs)
	}
	var runs []map[string]any
	if err := json.Unmarshal([]byte(out), &runs); err != nil {
		t.Fatalf("ebb run --json %v: output is not a JSON array: %v\n%s", args, err, out)
	}
	return runs
}

var runKeys = []string{"status", "error", "node_errors", "outputs", "executed", "cached", "stats"}

var statsKeys = []string{"executions", "reexecutions", "cache_hits", "releases", "pins",
	"peak_bytes", "bound_bytes", "device_peak_bytes", "reexecuted"}

func checkShape(t *testing.T, r map[string]any) {
	t.Helper()
	for _, k := range runKeys {
		if _, ok := r[k]; !ok {
			t.Errorf("result has no %q key: %v", k, r)
		}
	}
	stats, _ := r["stats"].(map[string]any)
	for _, k := range statsKeys {
		if _, ok := stats[k]; !ok {
			t.Errorf("stats has no %q key: %v", k, stats)
		}
	}
	for _, k := range []string{"executed", "cached"} {
		if _, ok := r[k].([]any); !ok {
			t.Errorf("%s = %v, want a list", k, r[k])
		}
	}
	for _, k := range []string{"node_errors", "outputs"} {
		if _, ok := r[k].(map[string]any); !ok {
			t.Errorf("%s = %v, want an object", k, r[k])
		}
	}
}

func ids(v any) []string {
	var s []string
	for _, x := range v.([]any) {
		s = append(s, x.(string))
	}
	return s
}

func TestRunSuccess(t *testing.T) {
	runs := runJSONOut(t, 0, "testdata/ok.json")
	if len(runs) != 1 {
		t.Fatalf("got %d runs, want 1", len(runs))
	}
	r := runs[0]
	checkShape(t, r)
	if r["status"] != "success" || r["error"] != nil {
		t.Errorf("status %v error %v, want success and null", r["status"], r["error"])
	}
	outputs := r["outputs"].(map[string]any)
	if _, ok := outputs["2"]; !ok {
		t.Errorf("outputs %v have no SaveImage node 2", outputs)
	}
	if got := strings.Join(ids(r["executed"]), ","); got != "1,2" {
		t.Errorf("executed %s, want 1,2", got)
	}
}

func TestRunCacheCarriesOver(t *testing.T) {
	runs := runJSONOut(t, 0, "--parallel", "1", "testdata/ok.json", "testdata/ok.json")
	if len(runs) != 2 {
		t.Fatalf("got %d runs, want 2", len(runs))
	}
	if ex := ids(runs[1]["executed"]); len(ex) != 0 {
		t.Errorf("second run executed %v, want nothing (cached)", ex)
	}
	if c := ids(runs[1]["cached"]); len(c) == 0 {
		t.Errorf("second run cached nothing")
	}
	// Without a cache the second run runs everything again.
	runs = runJSONOut(t, 0, "--cache", "none", "testdata/ok.json", "testdata/ok.json")
	if ex := ids(runs[1]["executed"]); len(ex) != 2 {
		t.Errorf("--cache none: second run executed %v, want both nodes", ex)
	}
}

func TestRunValidationError(t *testing.T) {
	runs := runJSONOut(t, 1, "testdata/invalid.json")
	r := runs[0]
	checkShape(t, r)
	if r["status"] != "invalid" {
		t.Errorf("status %v, want invalid", r["status"])
	}
	e, ok := r["error"].(map[string]any)
	if !ok || e["type"] == "" || e["message"] == "" {
		t.Errorf("error %v, want a typed error with a message", r["error"])
	}
	ne := r["node_errors"].(map[string]any)
	n2, ok := ne["2"].(map[string]any)
	if !ok {
		t.Fatalf("node_errors %v have no node 2", ne)
	}
	if n2["class_type"] != "SaveImage" {
		t.Errorf("class_type %v, want SaveImage", n2["class_type"])
	}
	errs := n2["errors"].([]any)
	if len(errs) == 0 {
		t.Fatalf("node 2 has no errors")
	}
	first := errs[0].(map[string]any)
	if first["type"] != "required_input_missing" || first["input_name"] != "images" {
		t.Errorf("error %v, want required_input_missing on images", first)
	}
	if _, ok := n2["dependent_outputs"].([]any); !ok {
		t.Errorf("dependent_outputs %v, want a list", n2["dependent_outputs"])
	}
	if len(ids(r["executed"])) != 0 {
		t.Errorf("invalid workflow executed %v", r["executed"])
	}
}

func TestRunRuntimeError(t *testing.T) {
	runs := runJSONOut(t, 1, "testdata/mismatch.json")
	r := runs[0]
	checkShape(t, r)
	e, _ := r["error"].(map[string]any)
	if r["status"] != "error" || e == nil {
		t.Fatalf("status %v error %v, want error", r["status"], r["error"])
	}
	if e["node_id"] != "4" || e["node_type"] != "TestLazyMixImages" || e["message"] == "" {
		t.Errorf("error %v, want node 4 (TestLazyMixImages) with a message", e)
	}
}

func TestRunOutOfMemory(t *testing.T) {
	runs := runJSONOut(t, 1, "--profile", "testdata/small.profile.json", "--device-memory", "2GiB", "testdata/oom.json")
	e, _ := runs[0]["error"].(map[string]any)
	if e == nil || e["type"] != "out_of_memory" || e["node_id"] != "2" || e["node_type"] != "AllocateVRAM" {
		t.Errorf("error %v, want out_of_memory at node 2 (AllocateVRAM)", runs[0]["error"])
	}
	// The same workflow fits when it is scaled down.
	runs = runJSONOut(t, 0, "--profile", "testdata/small.profile.json", "--device-memory", "2GiB", "--scale", "0.25", "testdata/oom.json")
	if runs[0]["status"] != "success" {
		t.Errorf("--scale 0.25: status %v, want success", runs[0]["status"])
	}
}

func TestRunStats(t *testing.T) {
	runs := runJSONOut(t, 0, "--profile", "testdata/small.profile.json", "--device-memory", "3GiB", "testdata/sim.json")
	stats := runs[0]["stats"].(map[string]any)
	// Loader 1 GiB (passed through AllocateVRAM) + Sampler 1 GiB work + 0.25 GiB out.
	const want = 2.25 * (1 << 30)
	if stats["peak_bytes"] != want || stats["bound_bytes"] != want {
		t.Errorf("peak %v bound %v, want %v", stats["peak_bytes"], stats["bound_bytes"], want)
	}
	if stats["executions"] != 4.0 {
		t.Errorf("executions %v, want 4", stats["executions"])
	}
	runs = runJSONOut(t, 1, "--level", "0", "--profile", "testdata/small.profile.json", "--device-memory", "2.5GiB", "testdata/sim.json")
	if e, _ := runs[0]["error"].(map[string]any); e == nil || e["type"] != "out_of_memory" || e["node_id"] != "3" {
		t.Errorf("level 0 on 2.5GiB: error %v, want out_of_memory at node 3", runs[0]["error"])
	}
}

func TestRunHumanSummary(t *testing.T) {
	code, out, _ := ebb(t, "run", "testdata/ok.json")
	if code != 0 || !strings.Contains(out, "success") || !strings.Contains(out, "executed 2, cached 0") || !strings.Contains(out, "GiB") {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
	code, out, _ = ebb(t, "run", "testdata/invalid.json")
	if code != 1 || !strings.Contains(out, "invalid") || !strings.Contains(out, "required_input_missing") {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
}

func TestRunEvents(t *testing.T) {
	code, out, errs := ebb(t, "run", "--json", "--events", "testdata/ok.json")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	types := map[string]bool{}
	for line := range strings.Lines(errs) {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("event line %q: %v", line, err)
		}
		if ev["run"] != 1.0 {
			t.Errorf("event %v: run %v, want 1", ev, ev["run"])
		}
		types[ev["type"].(string)] = true
	}
	for _, ty := range []string{"execution_start", "executing", "executed", "execution_success"} {
		if !types[ty] {
			t.Errorf("no %s event in\n%s", ty, errs)
		}
	}
}

func TestRunTargets(t *testing.T) {
	runs := runJSONOut(t, 0, "--targets", "2", "testdata/ok.json")
	if runs[0]["status"] != "success" {
		t.Errorf("status %v", runs[0]["status"])
	}
	// An explicitly empty target list is rejected by the engine.
	runs = runJSONOut(t, 1, "--targets", "", "testdata/ok.json")
	if runs[0]["status"] == "success" {
		t.Errorf("empty --targets: status success, want a failure")
	}
}

func TestRunTimeline(t *testing.T) {
	png := filepath.Join(t.TempDir(), "mem.png")
	code, out, errs := ebb(t, "run", "--profile", "testdata/small.profile.json", "--device-memory", "3GiB",
		"--memory-timeline", png, "testdata/sim.json", "testdata/sim.json")
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

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"no command", nil, "Usage"},
		{"unknown command", []string{"frobnicate"}, "unknown command"},
		{"no workflow", []string{"run"}, "no workflow"},
		{"missing file", []string{"run", "testdata/nope.json"}, "nope.json"},
		{"bad JSON", []string{"run", "testdata/bad.json"}, "bad.json"},
		{"bad JSON among several", []string{"run", "testdata/ok.json", "testdata/bad.json"}, "bad.json"},
		{"unknown flag", []string{"run", "--frob", "testdata/ok.json"}, "frob"},
		{"bad cache", []string{"run", "--cache", "sometimes", "testdata/ok.json"}, "--cache"},
		{"bad lru", []string{"run", "--cache", "lru:0", "testdata/ok.json"}, "--cache"},
		{"bad level", []string{"run", "--level", "3", "testdata/ok.json"}, "--level"},
		{"bad strategy", []string{"run", "--strategy", "maybe", "testdata/ok.json"}, "--strategy"},
		{"bad parallel", []string{"run", "--parallel", "-1", "testdata/ok.json"}, "--parallel"},
		{"bad parallel syntax", []string{"run", "--parallel", "two", "testdata/ok.json"}, "parallel"},
		{"bad memory", []string{"run", "--device-memory", "22 gallons", "testdata/ok.json"}, "--device-memory"},
		{"zero memory", []string{"run", "--device-memory", "0", "testdata/ok.json"}, "--device-memory"},
		{"bad device", []string{"run", "--device", "tpu", "testdata/ok.json"}, "--device"},
		{"bad cuda ordinal", []string{"run", "--device", "cuda:x", "testdata/ok.json"}, "--device"},
		{"bad scale", []string{"run", "--scale", "0", "testdata/ok.json"}, "--scale"},
		{"infinite scale", []string{"run", "--scale", "+Inf", "testdata/ok.json"}, "--scale"},
		{"bad timeline", []string{"run", "--memory-timeline", "mem.txt", "testdata/ok.json"}, "--memory-timeline"},
		{"missing profile", []string{"run", "--profile", "testdata/nope.profile.json", "testdata/ok.json"}, "nope.profile.json"},
		{"bad profile", []string{"run", "--profile", "testdata/bad.json", "testdata/ok.json"}, "profile"},
		{"plan without workflow", []string{"plan"}, "plan"},
		{"plan two workflows", []string{"plan", "testdata/ok.json", "testdata/ok.json"}, "plan"},
		{"plan bad memory", []string{"plan", "--device-memory", "lots", "testdata/ok.json"}, "--device-memory"},
		{"plan missing file", []string{"plan", "testdata/nope.json"}, "nope.json"},
		{"dot bad JSON", []string{"dot", "testdata/bad.json"}, "bad.json"},
		{"dot no file", []string{"dot"}, "dot"},
		{"demo argument", []string{"demo", "extra"}, "demo"},
		{"version argument", []string{"version", "extra"}, "version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := ebb(t, tc.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2\nstdout:\n%s\nstderr:\n%s", code, out, errs)
			}
			if !strings.Contains(errs, tc.want) {
				t.Errorf("stderr does not mention %q:\n%s", tc.want, errs)
			}
			if strings.Contains(errs, "panic") || strings.Contains(errs, "goroutine ") {
				t.Errorf("stderr shows a panic:\n%s", errs)
			}
		})
	}
}

func TestCUDAUnavailable(t *testing.T) {
	code, _, errs := ebb(t, "run", "--device", "cuda:0", "testdata/ok.json")
	if code == 0 {
		t.Skip("this build has CUDA and a GPU")
	}
	if code != 1 || !strings.Contains(errs, "built without -tags cuda") {
		t.Errorf("exit %d, stderr:\n%s", code, errs)
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		code, out, _ := ebb(t, args...)
		if code != 0 {
			t.Errorf("%v: exit %d", args, code)
		}
		for _, sub := range []string{"run", "plan", "demo", "dot", "version", "help"} {
			if !strings.Contains(out, "  "+sub+" ") {
				t.Errorf("%v: usage does not list %s:\n%s", args, sub, out)
			}
		}
	}
	for _, args := range [][]string{{"run", "-h"}, {"help", "plan"}} {
		code, _, errs := ebb(t, args...)
		if code != 0 || !strings.Contains(errs, "Usage: ebb") {
			t.Errorf("%v: exit %d, stderr:\n%s", args, code, errs)
		}
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := ebb(t, "version")
	if code != 0 || !strings.HasPrefix(out, "ebb ") {
		t.Errorf("exit %d, output %q", code, out)
	}
}

func TestDot(t *testing.T) {
	code, out, errs := ebb(t, "dot", "testdata/ok.json")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	for _, want := range []string{"digraph workflow {", `label="1: StubImage"`, `label="2: SaveImage"`, `label="0 -> images"`, "1 -> 2"} {
		if !strings.Contains(out, want) {
			t.Errorf("DOT output lacks %q:\n%s", want, out)
		}
	}
}

func TestDotMissingNode(t *testing.T) {
	wf := filepath.Join(t.TempDir(), "wf.json")
	os.WriteFile(wf, []byte(`{"2": {"class_type": "SaveImage", "inputs": {"images": ["9", 0]}}}`), 0o644)
	code, out, errs := ebb(t, "dot", wf)
	if code != 0 {
		t.Skipf("the decoder rejects links to missing nodes (exit %d): %s", code, errs)
	}
	if !strings.Contains(out, `label="9: (missing)"`) {
		t.Errorf("no placeholder for the missing node:\n%s", out)
	}
}

// The seed workflow through "run" with its defaults (cache classic, level 2,
// auto, any parallelism) fits in 22 GiB; levels 0 and 1 do not.
func TestRunSeed(t *testing.T) {
	args := []string{"--device-memory", "22GiB", "--profile", "../../workflows/seed-offload.profile.json", "../../workflows/seed-offload.json"}
	runs := runJSONOut(t, 0, args...)
	if r := runs[0]; r["status"] != "success" {
		t.Fatalf("level 2: status %v error %v", r["status"], r["error"])
	}
	stats := runs[0]["stats"].(map[string]any)
	if p, b := stats["peak_bytes"].(float64), stats["bound_bytes"].(float64); p != b || p >= 19*(1<<30) {
		t.Errorf("level 2: peak %v bound %v, want equal and under 19 GiB", p, b)
	}
	for _, level := range []string{"0", "1"} {
		runs := runJSONOut(t, 1, append([]string{"--level", level}, args...)...)
		e, _ := runs[0]["error"].(map[string]any)
		if e == nil || e["type"] != "out_of_memory" || e["node_id"] != "24" || e["node_type"] != "KSampler" {
			t.Errorf("level %s: error %v, want out_of_memory at node 24 (KSampler)", level, runs[0]["error"])
		}
	}
}

func TestRunInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	code := runCtx(ctx, []string{"run", "--json", "testdata/ok.json"}, &out, &errb)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out.String(), errb.String())
	}
	var runs []map[string]any
	if err := json.Unmarshal(out.Bytes(), &runs); err != nil {
		t.Fatal(err)
	}
	if runs[0]["status"] != "interrupted" {
		t.Errorf("status %v, want interrupted", runs[0]["status"])
	}
	if e, _ := runs[0]["error"].(map[string]any); e == nil || e["type"] != "interrupted" {
		t.Errorf("error %v, want type interrupted", runs[0]["error"])
	}
}
