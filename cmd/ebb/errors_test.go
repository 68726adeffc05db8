package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
)

// oneJSON decodes stdout as exactly one JSON document.
func oneJSON(t *testing.T, stdout string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(stdout))
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("stdout has more than one JSON document:\n%s", stdout)
	}
	return v
}

// errorDocJSON runs ebb with args (which include --json), wants exit
// status code and returns the error document it printed.
func errorDocJSON(t *testing.T, code int, args ...string) map[string]any {
	t.Helper()
	got, out, errs := ebb(t, args...)
	if got != code {
		t.Fatalf("ebb %v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, got, code, out, errs)
	}
	doc, ok := oneJSON(t, out).(map[string]any)
	if !ok {
		t.Fatalf("ebb %v: stdout is not a JSON object:\n%s", args, out)
	}
	if e, _ := doc["error"].(map[string]any); e == nil || e["type"] == "" || e["message"] == "" {
		t.Fatalf("ebb %v: %v has no typed error", args, doc)
	}
	return doc
}

func errorType(doc map[string]any) string {
	e, _ := doc["error"].(map[string]any)
	s, _ := e["type"].(string)
	return s
}

func errorMessage(doc map[string]any) string {
	e, _ := doc["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}

// Under --json, stdout is one JSON document whatever goes wrong.
func TestJSONAlways(t *testing.T) {
	for _, tc := range []struct {
		code   int
		status string
		typ    string
		args   []string
	}{
		{1, "invalid", "prompt_outputs_failed_validation", []string{"plan", "--json", "testdata/invalid.json"}},
		{2, "invalid", "usage", []string{"run", "--json"}},
		{2, "invalid", "usage", []string{"run", "--json", "--frob", "testdata/ok.json"}},
		{2, "invalid", "usage", []string{"run", "--json", "testdata/nope.json"}},
		{2, "invalid", "usage", []string{"run", "--json", "testdata/bad.json"}},
		{2, "invalid", "usage", []string{"run", "--json", "--cache", "sometimes", "testdata/ok.json"}},
		{2, "invalid", "usage", []string{"run", "testdata/ok.json", "--json=true", "--level", "9"}},
		{2, "invalid", "usage", []string{"plan", "--json"}},
		{2, "invalid", "usage", []string{"plan", "--json", "testdata/ok.json", "testdata/ok.json"}},
		{2, "invalid", "usage", []string{"plan", "--json", "--device-memory", "lots", "testdata/ok.json"}},
		{2, "invalid", "usage", []string{"demo", "--json", "extra"}},
		{2, "invalid", "usage", []string{"dot", "--json", "testdata/ok.json"}},
	} {
		doc := errorDocJSON(t, tc.code, tc.args...)
		if doc["status"] != tc.status || errorType(doc) != tc.typ {
			t.Errorf("%v: status %v type %v, want %s %s", tc.args, doc["status"], errorType(doc), tc.status, tc.typ)
		}
	}
	// Without --json (or with --json=false) stdout stays empty.
	for _, args := range [][]string{{"run", "--frob"}, {"run", "--json=false", "--frob"}} {
		if code, out, _ := ebb(t, args...); code != 2 || out != "" {
			t.Errorf("%v: exit %d, stdout %q", args, code, out)
		}
	}
	// An interrupted plan.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	code := runCtx(ctx, []string{"plan", "--json", "testdata/ok.json"}, &out, &errb)
	doc, _ := oneJSON(t, out.String()).(map[string]any)
	if code != 1 || doc["status"] != "interrupted" || errorType(doc) != "interrupted" {
		t.Errorf("interrupted plan: exit %d, %v", code, doc)
	}
}

// An unwritable --memory-timeline is a usage error before anything runs;
// checking a writable one leaves no file behind when the run does not
// happen.
func TestTimelineUnwritable(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "no", "such", "dir", "mem.png")
	for _, cmd := range []string{"run", "plan"} {
		doc := errorDocJSON(t, 2, cmd, "--json", "--memory-timeline", bad, "testdata/ok.json")
		if errorType(doc) != typeUsage || !strings.Contains(errorMessage(doc), "--memory-timeline") {
			t.Errorf("%s: %v", cmd, doc)
		}
	}
	code, out, errs := ebb(t, "run", "--events", "--memory-timeline", bad, "testdata/ok.json")
	if code != 2 || out != "" || strings.Contains(errs, "execution_start") {
		t.Errorf("the run started: exit %d\n%s\n%s", code, out, errs)
	}
	png := filepath.Join(t.TempDir(), "mem.png")
	if code, _, _ := ebb(t, "run", "--memory-timeline", png, "testdata/nope.json"); code != 2 {
		t.Errorf("exit %d", code)
	}
	if _, err := os.Stat(png); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the check left %s behind (%v)", png, err)
	}
}

// A panic in a command is an internal error: exit status 3, reported
// without a goroutine stack, and as JSON under --json.
func TestPanicIsInternal(t *testing.T) {
	cmds := []command{{name: "boom", run: func(context.Context, []string, io.Writer, io.Writer) error {
		var m map[string]int
		m["x"] = 1 // a real runtime panic
		return nil
	}}}
	for _, asJSON := range []bool{false, true} {
		args := []string{"boom"}
		if asJSON {
			args = append(args, "--json")
		}
		var out, errb bytes.Buffer
		code := dispatch(context.Background(), cmds, args, &out, &errb)
		if code != exitInternal || !strings.Contains(errb.String(), "internal error") || !strings.Contains(errb.String(), "nil map") {
			t.Errorf("exit %d, stderr:\n%s", code, errb.String())
		}
		if strings.Contains(errb.String()+out.String(), "goroutine ") {
			t.Errorf("a stack was printed:\n%s\n%s", out.String(), errb.String())
		}
		if !asJSON {
			continue
		}
		doc, _ := oneJSON(t, out.String()).(map[string]any)
		if doc["status"] != "error" || errorType(doc) != engine.TypeInternal {
			t.Errorf("JSON %v, want an internal_error", doc)
		}
	}
}

// refusingDevice refuses every Free: the engine reports that as an
// internal error (a bug in ebb).
type refusingDevice struct{ device.Device }

func (refusingDevice) Free(device.Buffer) error { return errors.New("free refused") }

// A run that fails with engine.ErrInternal exits 3, not 1.
func TestRunInternalError(t *testing.T) {
	defer func(open func(deviceSpec, int64) (device.Device, error)) { openDevice = open }(openDevice)
	openDevice = func(d deviceSpec, capacity int64) (device.Device, error) {
		dev, err := d.open(capacity)
		return refusingDevice{dev}, err
	}
	runs := runJSONOut(t, exitInternal, "--profile", "testdata/small.profile.json", "testdata/sim.json")
	if e, _ := runs[0]["error"].(map[string]any); runs[0]["status"] != "error" || e == nil || e["type"] != engine.TypeInternal {
		t.Errorf("status %v error %v, want internal_error", runs[0]["status"], runs[0]["error"])
	}
	if code, out, _ := ebb(t, "run", "--profile", "testdata/small.profile.json", "testdata/sim.json"); code != exitInternal || !strings.Contains(out, "internal_error") {
		t.Errorf("text: exit %d\n%s", code, out)
	}
}

// A failure inside an expansion names the real node and its class, and
// the expanded node that failed and its class.
func TestExpandedNodeError(t *testing.T) {
	runs := runJSONOut(t, 1, "testdata/expanded_error.json")
	e, _ := runs[0]["error"].(map[string]any)
	if e == nil || e["node_id"] != "sleep" || e["node_type"] != "TestParallelSleep" {
		t.Fatalf("error %v, want node sleep (TestParallelSleep)", runs[0]["error"])
	}
	x, _ := e["expanded_node"].(map[string]any)
	id, _ := x["id"].(string)
	if !strings.HasPrefix(id, "sleep.") || !strings.HasSuffix(id, "blend") || x["class"] != "TestVariadicAverage" {
		t.Errorf("expanded_node %v, want the blend node (TestVariadicAverage)", e["expanded_node"])
	}
	if msg, _ := e["message"].(string); !strings.HasPrefix(msg, "in expanded node "+id+": ") {
		t.Errorf("message %q", msg)
	}
	// A node that is no expansion's has no expanded_node.
	runs = runJSONOut(t, 1, "testdata/mismatch.json")
	if e, _ := runs[0]["error"].(map[string]any); e == nil || e["expanded_node"] != nil {
		t.Errorf("error %v, want no expanded_node", runs[0]["error"])
	}
	_, out, _ := ebb(t, "run", "testdata/expanded_error.json")
	if want := fmt.Sprintf("node sleep (TestParallelSleep), in expanded node %s (TestVariadicAverage): execution_error: stack expects", id); !strings.Contains(out, want) {
		t.Errorf("text lacks %q:\n%s", want, out)
	}
}

// A node's panic is reported by its value, never with a goroutine stack.
func TestPanicMessageHasNoStack(t *testing.T) {
	err := &engine.NodeError{Node: "1", ID: "1", Class: "X", Type: engine.TypePanic,
		Err: &engine.PanicError{Value: "boom", Stack: []byte("goroutine 1 [running]:\nmain.main()")}}
	e := errorOf(fmt.Errorf("run: %w", err))
	if e.Type != engine.TypePanic || !strings.Contains(e.Message, "boom") || strings.Contains(e.Message, "goroutine") {
		t.Errorf("%+v", e)
	}
}

// A workflow (or profile) that starts with a UTF-8 byte-order mark works.
func TestByteOrderMark(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"ok.json", "sim.json", "small.profile.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), append([]byte(utf8BOM), b...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runs := runJSONOut(t, 0, filepath.Join(dir, "ok.json"))
	if runs[0]["status"] != "success" {
		t.Errorf("status %v", runs[0]["status"])
	}
	runJSONOut(t, 0, "--profile", filepath.Join(dir, "small.profile.json"), filepath.Join(dir, "sim.json"))
	if code, _, errs := ebb(t, "dot", filepath.Join(dir, "ok.json")); code != 0 {
		t.Errorf("dot: exit %d\n%s", code, errs)
	}
}
