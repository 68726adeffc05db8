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

// startServe runs "ebb serve" in-process on a loopback port and returns
// its URL; the server stops (and must exit 0) when the test ends.
func startServe(t *testing.T, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	ready := make(chan string, 1)
	serveReady = func(addr string) { ready <- addr }
	t.Cleanup(func() { serveReady = nil })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var out, errb bytes.Buffer
	go func() {
		done <- runCtx(ctx, append([]string{"serve", "--listen", "127.0.0.1:0", "--quiet",
			"--nats-listen", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data"),
			"--output-dir", filepath.Join(dir, "out"), "--temp-dir", filepath.Join(dir, "temp"), "--input-dir", filepath.Join(dir, "in")}, args...), &out, &errb)
	}()
	var addr string
	select {
	case addr = <-ready:
	case code := <-done:
		t.Fatalf("ebb serve exited %d before listening: %s%s", code, out.String(), errb.String())
	}
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("ebb serve exited %d: %s%s", code, out.String(), errb.String())
		}
		if !strings.Contains(out.String(), "ebb serve: stopped") {
			t.Errorf("ebb serve did not say it stopped: %s", out.String())
		}
	})
	return "http://" + addr
}

// "ebb submit --json" prints what "ebb run --json" prints for the same
// workflows: the status, the error, the node errors, what ran and was
// cached, the memory stats and the UI outputs (plus the file names the
// server's SaveImage wrote).
func TestSubmitMatchesRun(t *testing.T) {
	url := startServe(t, "--cache", "classic", "--parallel", "1")
	files := []string{"lazy_input", "lazy_input", "runtime_error", "missing_input", "missing_node"}
	var paths []string
	for _, f := range files {
		paths = append(paths, filepath.Join("..", "..", "nodes", "testpack", "testdata", "conformance", f+".json"))
	}
	code, out, errs := ebb(t, append([]string{"submit", "--json", "--server", url}, paths...)...)
	if code != exitFailed {
		t.Fatalf("ebb submit: exit %d, want %d (a run failed)\n%s\n%s", code, exitFailed, out, errs)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("submit output is not JSON: %v\n%s", err, out)
	}
	want := runJSONOut(t, exitFailed, append([]string{"--cache", "classic", "--parallel", "1"}, paths...)...)
	if len(got) != len(want) {
		t.Fatalf("%d results, run has %d", len(got), len(want))
	}
	for i := range got {
		checkShape(t, got[i])
		// The server's images also name their files.
		for _, ui := range got[i]["outputs"].(map[string]any) {
			for _, im := range ui.(map[string]any)["images"].([]any) {
				m := im.(map[string]any)
				if m["filename"] == nil || m["type"] != "output" {
					t.Errorf("run %d: image %v has no file", i+1, m)
				}
				delete(m, "filename")
				delete(m, "subfolder")
				delete(m, "type")
			}
		}
		// The clock counts the wall time of nodes without a declared
		// time: it differs from run to run.
		for _, r := range []map[string]any{got[i], want[i]} {
			if st, ok := r["stats"].(map[string]any); ok {
				for _, k := range []string{"compute_ms", "transfer_ms", "sim_ms"} {
					if _, ok := st[k].(float64); !ok {
						t.Errorf("run %d: stats.%s is %v", i+1, k, st[k])
					}
					delete(st, k)
				}
			}
		}
		for _, k := range runKeys {
			g, _ := json.Marshal(got[i][k])
			w, _ := json.Marshal(want[i][k])
			if k == "error" && want[i][k] != nil { // the message may differ in wording
				var ge, we map[string]any
				json.Unmarshal(g, &ge)
				json.Unmarshal(w, &we)
				if ge["type"] != we["type"] || ge["node_id"] != we["node_id"] || ge["node_type"] != we["node_type"] {
					t.Errorf("run %d error %s, ebb run says %s", i+1, g, w)
				}
				continue
			}
			if string(g) != string(w) {
				t.Errorf("run %d (%s) %s:\nsubmit %s\nrun    %s", i+1, files[i], k, g, w)
			}
		}
	}
}

// Bad command lines are usage errors (exit 2).
func TestServeSubmitUsage(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "extra"},
		{"serve", "--level", "7"},
		{"serve", "--cache", "lru:0"},
		{"serve", "--listen", "not an address"},
		{"submit"},
		{"submit", "--server", "ftp://x", "wf.json"},
		{"submit", "--server", "http://127.0.0.1:1", "missing.json"},
	} {
		if code, out, errs := ebb(t, args...); code != exitUsage {
			t.Errorf("ebb %v: exit %d, want %d\n%s%s", args, code, exitUsage, out, errs)
		}
	}
}

// docs/cli.md documents every flag of serve, submit and worker.
func TestDocsListServeFlags(t *testing.T) {
	doc, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"serve", "submit", "worker"} {
		_, _, help := ebb(t, cmd, "-h")
		n := 0
		for line := range strings.Lines(help) {
			name, ok := strings.CutPrefix(line, "  -")
			if !ok {
				continue
			}
			n++
			name, _, _ = strings.Cut(strings.TrimSpace(name), " ")
			if !bytes.Contains(doc, []byte("`--"+name)) {
				t.Errorf("docs/cli.md does not document %s --%s", cmd, name)
			}
		}
		if n == 0 {
			t.Errorf("ebb %s -h lists no flags", cmd)
		}
	}
}
