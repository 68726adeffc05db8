package server_test

// ComfyUI's execution tests (tests/execution/test_execution.py, §4.2 of
// the research report) ported over the wire: each case submits the test
// pack's conformance fixtures (nodes/testpack/testdata/conformance, the
// same workflows the in-process suite runs) to a server on a loopback
// listener, as ComfyUI's test client does: did-run from "executing",
// cached from "execution_cached", validation failures as HTTP 400,
// pixels from the PNGs fetched through /view. Each case gets a fresh
// server (ComfyUI's tests get fresh node ids instead) under every mode.

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/policy"
	"github.com/ebbgraph/ebb/server/client"
)

// wireMode is a server's cache mode and release level.
type wireMode struct {
	cache engine.CacheMode
	level policy.Level
}

func (m wireMode) String() string { return fmt.Sprintf("%s/L%d", m.cache, m.level) }

func (m wireMode) caches() bool { return m.cache.Kind != engine.CacheNone }

func wireModes() []wireMode {
	return []wireMode{
		{engine.CacheMode{Kind: engine.CacheClassic}, policy.ReleaseDead},
		{engine.CacheMode{Kind: engine.CacheLRU, Size: 100}, policy.ReleaseDead},
		{engine.CacheMode{Kind: engine.CacheNone}, policy.ReleaseDead},
		{engine.CacheMode{Kind: engine.CacheClassic}, policy.ReleaseUnreferenced},
	}
}

// wire is one case's view: a client of a fresh server, the mode, the
// fixture.
type wire struct {
	t    *testing.T
	m    wireMode
	c    *client.Client
	conn *client.Conn
	wf   wf
}

func (w *wire) run(x wf, targets ...string) *client.Result {
	w.t.Helper()
	return run(w.t, w.c, w.conn, x, targets...)
}

func (w *wire) ok(x wf, targets ...string) *client.Result {
	w.t.Helper()
	return ok(w.t, w.run(x, targets...))
}

func (w *wire) wantPixels(r *client.Result, id string, want ...int) {
	w.t.Helper()
	if got := pixels(w.t, w.c, r, id); !slices.Equal(got, want) {
		w.t.Errorf("node %s: pixels %v, want %v", id, got, want)
	}
}

func (w *wire) wantRan(r *client.Result, want map[string]bool) {
	w.t.Helper()
	for id, ran := range want {
		if r.DidRun(id) != ran {
			w.t.Errorf("node %s ran = %v, want %v (ran %v, cached %v)", id, r.DidRun(id), ran, r.Ran, r.Cached)
		}
	}
}

func (w *wire) wantExecuted(r *client.Result, ids ...string) {
	w.t.Helper()
	for _, id := range ids {
		if !r.DidRun(id) && !r.WasCached(id) {
			w.t.Errorf("node %s was not executed (ran %v, cached %v)", id, r.Ran, r.Cached)
		}
	}
}

// wantInvalid checks a 400 whose node_errors has one of types on node id.
func (w *wire) wantInvalid(x wf, id string, types ...string) *client.APIError {
	w.t.Helper()
	ae := rejected(w.t, w.c, x)
	var got []string
	for _, e := range ae.NodeErrors[id].Errors {
		got = append(got, e.Type)
		if slices.Contains(types, e.Type) {
			return ae
		}
	}
	w.t.Errorf("node %s errors %v, want one of %v (body %s)", id, got, types, ae.Body)
	return ae
}

// wantRuntimeError checks a failed prompt whose execution_error names
// node id (and carries the prompt id).
func (w *wire) wantRuntimeError(r *client.Result, id, class string) {
	w.t.Helper()
	if r.Error == nil || r.Success {
		w.t.Fatalf("prompt succeeded, want an execution_error on %s", id)
	}
	if r.Error["prompt_id"] != r.PromptID || r.Error["node_id"] != id || r.Error["node_type"] != class || r.Error["exception_message"] == "" {
		w.t.Errorf("execution_error %v, want one on %s (%s) with prompt_id %s", r.Error, id, class, r.PromptID)
	}
	if r.Entry.Status.StatusStr != "error" || r.Entry.Status.Completed {
		w.t.Errorf("history status %+v, want error", r.Entry.Status)
	}
}

var wireCases = []struct {
	name    string
	fixture string
	run     func(w *wire)
}{
	{"lazy_input", "lazy_input", func(w *wire) {
		r := w.ok(w.wf)
		w.wantPixels(r, "save", 0)
		w.wantRan(r, map[string]bool{"black": true, "white": false, "mask": true, "mix": true, "save": true})
	}},
	{"full_cache", "full_cache", func(w *wire) {
		w.ok(w.wf)
		r2 := w.ok(w.wf)
		for id := range w.wf {
			if r2.DidRun(id) == w.m.caches() {
				w.t.Errorf("run 2: %s ran = %v with cache %s", id, r2.DidRun(id), w.m.cache)
			}
		}
		if w.m.caches() && !r2.WasCached("save") {
			w.t.Errorf("run 2: save not in execution_cached %v", r2.Cached)
		}
		if len(r2.Entry.Images("save")) != 1 {
			w.t.Errorf("run 2: %d images", len(r2.Entry.Images("save")))
		}
	}},
	{"partial_cache", "full_cache", func(w *wire) {
		w.ok(w.wf)
		r2 := w.ok(w.wf.set("mask", "value", 0.4))
		again := !w.m.caches() || w.m.level == policy.ReleaseDead // level 2 released them (design.md §5)
		w.wantRan(r2, map[string]bool{"black": again, "noise": again, "mask": true, "mix": true, "save": true})
	}},
	{"error", "runtime_error", func(w *wire) {
		w.wantRuntimeError(w.run(w.wf), "mix", "TestLazyMixImages")
	}},
	{"validation_error_literal", "validation_literal", func(w *wire) {
		for _, v := range []any{5, "foo"} {
			w.wantInvalid(w.wf.set("validation", "input1", v), "validation", "custom_validation_failed")
		}
		w.wantPixels(w.ok(w.wf), "save", 255)
	}},
	{"validation_error_edge", "validation_link", func(w *wire) {
		for _, class := range []string{"TestCustomValidation1", "TestCustomValidation2", "TestCustomValidation3", "TestCustomValidation4"} {
			x := w.wf.clone()
			x["validation"]["class_type"] = class
			w.wantPixels(w.ok(x), "save", 255)
			w.wantInvalid(x.replace("stub", "StubInt", map[string]any{"value": 5}), "validation", "return_type_mismatch", "custom_validation_failed")
		}
		// edge1 with a StubMask missing its sizes: a MASK is not IMAGE,FLOAT.
		x := w.wf.replace("stub", "StubMask", map[string]any{"value": 5.0})
		x["validation"]["class_type"] = "TestCustomValidation1"
		ae := w.wantInvalid(x, "validation", "return_type_mismatch")
		if !slices.ContainsFunc(ae.NodeErrors["stub"].Errors, func(e client.ValidationError) bool { return e.Type == "required_input_missing" }) {
			w.t.Errorf("StubMask without sizes: %s", ae.Body)
		}
	}},
	{"validation_error_kwargs", "validation_kwargs", func(w *wire) {
		w.wantPixels(w.ok(w.wf), "save", 0)
		w.wantPixels(w.ok(w.wf.set("validation", "input2", 5.0)), "save", 0)
		ae := w.wantInvalid(w.wf.set("validation", "input2", 7.0), "validation", "custom_validation_failed")
		if !strings.Contains(string(ae.Body), "7s are not allowed") {
			w.t.Errorf("400 body %s does not say why", ae.Body)
		}
	}},
	{"cycle_error", "missing_input", func(w *wire) {
		ae := w.wantInvalid(w.wf, "mix1", "required_input_missing")
		if ae.Type != "prompt_outputs_failed_validation" {
			w.t.Errorf("error type %q", ae.Type)
		}
	}},
	{"static_cycle", "static_cycle", func(w *wire) {
		w.wantInvalid(w.wf, "avg1", "dependency_cycle")
	}},
	{"dynamic_cycle_error", "dynamic_cycle", func(w *wire) {
		w.wantRuntimeError(w.run(w.wf), "generator", "TestDynamicDependencyCycle")
	}},
	{"missing_node_error", "missing_node", func(w *wire) {
		r := w.ok(w.wf)
		q := r.Entry.Prompt // [number, id, prompt, extra, outputs]
		if len(q) != 5 || !strings.Contains(string(q[4]), "save2") || strings.Contains(string(q[4]), "save1") {
			t := w.t
			t.Errorf("history prompt %s: outputs_to_execute should hold save2 only", q)
		}
		if ne, found := r.NodeErrors["mix1"]; !found || !slices.Contains(ne.DependentOutputs, "save1") {
			w.t.Errorf("the 200 answer's node_errors %v do not report mix1 with save1", r.NodeErrors)
		}
		w.wantRan(r, map[string]bool{"mix1": false, "save1": false})
		w.wantPixels(r, "save2", 127)
		x := w.wf.replace("removeme", "StubImage", map[string]any{"content": "WHITE", "height": 64, "width": 64, "batch_size": 1})
		r = w.ok(x)
		w.wantPixels(r, "save1", 127)
		w.wantPixels(r, "save2", 127)
	}},
	{"custom_is_changed", "custom_is_changed", func(w *wire) {
		r1, r2 := w.ok(w.wf), w.ok(w.wf)
		x := w.wf.set("is_changed", "should_change", true)
		r3, r4 := w.ok(x), w.ok(x)
		if !r1.DidRun("is_changed") || r2.DidRun("is_changed") == w.m.caches() || !r3.DidRun("is_changed") || !r4.DidRun("is_changed") {
			w.t.Errorf("is_changed ran %v %v %v %v with cache %s", r1.DidRun("is_changed"), r2.DidRun("is_changed"), r3.DidRun("is_changed"), r4.DidRun("is_changed"), w.m.cache)
		}
		for _, r := range []*client.Result{r1, r2, r3, r4} {
			w.wantPixels(r, "save", 0)
		}
	}},
	{"undeclared_inputs", "undeclared_inputs", func(w *wire) {
		w.wantPixels(w.ok(w.wf), "save", 63)
	}},
	{"for_loop", "for_loop", func(w *wire) {
		for n := 1; n <= 4; n++ {
			r := w.ok(w.wf.set("for_open", "remaining", n))
			w.wantPixels(r, "save", 255>>n)
			if !r.DidRun("is_changed") {
				w.t.Errorf("N=%d: is_changed did not run", n)
			}
		}
	}},
	{"while_loop", "while_loop", func(w *wire) {
		r := w.ok(w.wf)
		w.wantPixels(r, "preview", 0)
		body := 0
		for _, p := range r.Entry.Ebb.Timeline {
			if p.Kind == "node" && p.Class == "TestIntMathOperation" {
				body++
			}
		}
		if body != 10 {
			w.t.Errorf("the body ran %d times, want 10", body)
		}
	}},
	{"mixed_expansion_returns", "mixed_expansion_returns", func(w *wire) {
		r := w.ok(w.wf)
		w.wantPixels(r, "save_dynamic", 25, 51, 76)
		w.wantPixels(r, "save_literal", 255, 255, 255)
	}},
	{"mixed_lazy_results", "mixed_lazy_results", func(w *wire) {
		w.wantPixels(w.ok(w.wf), "save", 0, 127, 255)
	}},
	{"output_reuse", "output_reuse", func(w *wire) {
		r := w.ok(w.wf)
		w.wantPixels(r, "save1", 0)
		w.wantPixels(r, "save2", 0)
	}},
	{"is_changed_with_outputs", "is_changed_with_outputs", func(w *wire) {
		r1, r2 := w.ok(w.wf), w.ok(w.wf)
		w.wantPixels(r1, "preview", 63)
		w.wantPixels(r2, "preview", 63)
		if !r1.DidRun("test") || r2.DidRun("test") == w.m.caches() {
			w.t.Errorf("test node ran %v then %v with cache %s", r1.DidRun("test"), r2.DidRun("test"), w.m.cache)
		}
	}},
	{"parallel_sleep_nodes", "parallel_sleep", func(w *wire) {
		r := w.ok(w.wf)
		w.wantRan(r, map[string]bool{"sleep1": true, "sleep2": true, "sleep3": true})
		for _, id := range []string{"preview1", "preview2", "preview3"} {
			w.wantPixels(r, id, 0)
		}
	}},
	{"parallel_sleep_expansion", "parallel_sleep_expansion", func(w *wire) {
		r := w.ok(w.wf)
		w.wantRan(r, map[string]bool{"parallel": true})
		w.wantPixels(r, "save", 170)
	}},
	{"execution_block_list_output", "execution_block_list_output", func(w *wire) {
		r := w.ok(w.wf)
		w.wantRan(r, map[string]bool{"output": true})
		w.wantPixels(r, "output", 0, 0)
	}},
	{"partial_execution_included_outputs", "partial_included", func(w *wire) {
		r := w.ok(w.wf, "output1")
		w.wantExecuted(r, "input1", "output1")
		w.wantRan(r, map[string]bool{"input2": false, "output2": false})
		w.wantPixels(r, "output1", 0)
		if n := len(r.Entry.Images("output2")); n != 0 {
			w.t.Errorf("output2 has %d images", n)
		}
	}},
	{"partial_execution_excluded_outputs", "partial_excluded", func(w *wire) {
		r := w.ok(w.wf, "output1", "output3")
		w.wantExecuted(r, "input1", "input3", "output1", "output3")
		w.wantRan(r, map[string]bool{"input2": false, "output2": false})
	}},
	{"partial_execution_dependencies", "partial_dependencies", func(w *wire) {
		r := w.ok(w.wf, "final")
		w.wantExecuted(r, "input1", "output_with_socket", "dependent", "final")
	}},
	{"partial_execution_with_lazy_nodes", "partial_lazy", func(w *wire) {
		r := w.ok(w.wf, "output1")
		w.wantExecuted(r, "input1", "mask1", "mix1", "output1")
		w.wantRan(r, map[string]bool{"input2": false, "input3": false, "mask2": false, "mix2": false, "output2": false})
	}},
	{"partial_execution_multiple_output_nodes", "partial_multiple_outputs", func(w *wire) {
		r := w.ok(w.wf, "save2")
		w.wantExecuted(r, "input1", "output_node1", "output_node2", "save2")
		w.wantRan(r, map[string]bool{"input2": false, "save1": false, "save3": false})
	}},
	{"partial_execution_empty_list", "partial_included", func(w *wire) {
		ae := rejected(w.t, w.c, w.wf, []string{}...)
		if ae.Type != "prompt_no_outputs" {
			w.t.Errorf("empty targets: error type %q, want prompt_no_outputs", ae.Type)
		}
	}},
}

// TestWireConformance runs every case under every wire mode.
func TestWireConformance(t *testing.T) {
	for _, m := range wireModes() {
		t.Run(m.String(), func(t *testing.T) {
			for _, c := range wireCases {
				t.Run(c.name, func(t *testing.T) {
					cfg := defaults()
					cfg.cache, cfg.pol.Level = m.cache, m.level
					ts := start(t, cfg)
					cl, conn := ts.client(t)
					c.run(&wire{t: t, m: m, c: cl, conn: conn, wf: loadWF(t, c.fixture)})
				})
			}
		})
	}
}
