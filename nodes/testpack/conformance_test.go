package testpack_test

// The conformance suite: every case of ComfyUI's execution tests
// (tests/execution/test_execution.py, see /work/shared/conformance.md) run
// against ebb's engine with the Go node pack, under every cache mode
// (classic, lru:100, none) and every memory policy (levels 0, 1, 2 with the
// reexecute, restrict and auto strategies).
//
// Workflows are ComfyUI API JSON fixtures in testdata/conformance (run one
// with `ebb run --json FILE`); a case changes the decoded workflow in Go
// only where ComfyUI's test changes it between runs or is parametrized.
//
// "ran" means the node id is in RunResult.Executed; "cached" means it is in
// RunResult.Cached. Under cache none, "not run again" becomes "ran again".

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/nodes/testpack"
	"github.com/ebbgraph/ebb/policy"
)

// mode is one cache mode and memory policy.
type mode struct {
	cache engine.CacheMode
	pol   policy.Policy
}

func (m mode) String() string { return fmt.Sprintf("%s/L%d/%s", m.cache, m.pol.Level, m.pol.Strategy) }

// caches reports whether results are kept between runs.
func (m mode) caches() bool { return m.cache.Kind != engine.CacheNone }

func allModes() []mode {
	var ms []mode
	for _, c := range []engine.CacheMode{{Kind: engine.CacheClassic}, {Kind: engine.CacheLRU, Size: 100}, {Kind: engine.CacheNone}} {
		for _, l := range []policy.Level{policy.KeepAll, policy.ReleaseUnreferenced, policy.ReleaseDead} {
			for _, s := range []policy.Strategy{policy.Reexecute, policy.Restrict, policy.Auto} {
				ms = append(ms, mode{cache: c, pol: policy.Policy{Level: l, Strategy: s}})
			}
		}
	}
	return ms
}

// eachMode runs f as a subtest per mode.
func eachMode(t *testing.T, f func(t *testing.T, h *harness)) {
	t.Helper()
	for _, m := range allModes() {
		t.Run(m.String(), func(t *testing.T) {
			f(t, &harness{t: t, mode: m})
		})
	}
}

// eachModeOverlapped runs wf once per mode, the runs of one cache mode at
// the same time (sleeps overlap, so the whole case takes about three
// sleeps), then checks each result in a subtest per mode.
func eachModeOverlapped(t *testing.T, wf engine.Workflow, parallelism int, check func(t *testing.T, h *harness, r *result)) {
	t.Helper()
	ms := allModes()
	results := make([]*result, len(ms))
	for group := 0; group < len(ms); group += 9 {
		var wg sync.WaitGroup
		for i := group; i < min(group+9, len(ms)); i++ {
			wg.Go(func() { results[i] = runOnce(ms[i], wf, parallelism) })
		}
		wg.Wait()
	}
	for i, m := range ms {
		t.Run(m.String(), func(t *testing.T) {
			r := results[i]
			if r.setupErr != nil {
				t.Fatal(r.setupErr)
			}
			if (r.err == nil) != (r.Status == engine.StatusSuccess) {
				t.Errorf("Run returned error %v with status %s", r.err, r.Status)
			}
			check(t, &harness{t: t, mode: m}, r)
		})
	}
}

// runOnce runs wf on a new engine without a *testing.T (for concurrent
// runs); setup errors are in the result.
func runOnce(m mode, wf engine.Workflow, parallelism int) *result {
	e, err := engine.New(engine.Options{Registry: testpack.Registry(), Cache: m.cache, Parallelism: parallelism})
	if err != nil {
		return &result{setupErr: err}
	}
	defer e.Close()
	pol := m.pol
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	res, err := e.Run(ctx, wf, engine.RunOptions{Policy: &pol})
	r := &result{RunResult: res, err: err, wall: time.Since(start)}
	if res == nil {
		r.setupErr = fmt.Errorf("Run returned a nil result (err %v)", err)
	}
	return r
}

// harness runs workflows of one case on one engine.
type harness struct {
	t *testing.T
	mode
	e *engine.Engine
}

func (h *harness) engine() *engine.Engine {
	h.t.Helper()
	if h.e == nil {
		e, err := engine.New(engine.Options{Registry: testpack.Registry(), Cache: h.cache})
		if err != nil {
			h.t.Fatal(err)
		}
		h.e = e
		h.t.Cleanup(func() { e.Close() })
	}
	return h.e
}

// result is one run's result and events.
type result struct {
	*engine.RunResult
	err    error
	events []engine.Event
	wall   time.Duration
	// setupErr is an error making the engine (runOnce only).
	setupErr error
}

// run runs wf (restricted to targets when non-nil) under h's policy.
func (h *harness) run(wf engine.Workflow, targets ...engine.NodeID) *result {
	h.t.Helper()
	return h.runTargets(wf, targets)
}

func (h *harness) runTargets(wf engine.Workflow, targets []engine.NodeID) *result {
	h.t.Helper()
	e := h.engine()
	var mu sync.Mutex
	r := &result{}
	pol := h.pol
	opts := engine.RunOptions{
		Targets: targets,
		Policy:  &pol,
		Observers: []engine.Observer{engine.ObserverFunc(func(ev engine.Event) {
			mu.Lock()
			r.events = append(r.events, ev)
			mu.Unlock()
		})},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	res, err := e.Run(ctx, wf, opts)
	r.wall = time.Since(start)
	if res == nil {
		h.t.Fatalf("Run returned a nil result (err %v)", err)
	}
	r.RunResult, r.err = res, err
	if (err == nil) != (res.Status == engine.StatusSuccess) {
		h.t.Errorf("Run returned error %v with status %s", err, res.Status)
	}
	executing := map[engine.NodeID]bool{}
	for _, ev := range r.events {
		if ev.Type == engine.EventExecuting {
			executing[ev.Node] = true
		}
	}
	for _, id := range res.Executed {
		if !executing[id] {
			h.t.Errorf("node %s is in Executed without an executing event", id)
		}
	}
	return r
}

// ok fails the test unless the run succeeded.
func (r *result) ok(t *testing.T) *result {
	t.Helper()
	if r.Status != engine.StatusSuccess {
		t.Fatalf("run failed: status %s: %v (node errors %s)", r.Status, r.err, nodeErrors(r.NodeErrors))
	}
	return r
}

func nodeErrors(errs map[engine.NodeID]*engine.NodeValidation) string {
	var b strings.Builder
	for _, id := range slices.Sorted(maps.Keys(errs)) {
		fmt.Fprintf(&b, "%s: %+v; ", id, *errs[id])
	}
	return b.String()
}

// ran reports whether id's body ran.
func (r *result) ran(id engine.NodeID) bool { return slices.Contains(r.Executed, id) }

// cached reports whether id was a cache hit.
func (r *result) cached(id engine.NodeID) bool { return slices.Contains(r.Cached, id) }

// executed reports whether id ran or was a cache hit.
func (r *result) executed(id engine.NodeID) bool { return r.ran(id) || r.cached(id) }

// images returns the UI "images" entries of output node id.
func (r *result) images(t *testing.T, id engine.NodeID) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, e := range r.Outputs[id]["images"] {
		m, ok := e.(map[string]any)
		if !ok {
			t.Fatalf("node %s: image entry %T", id, e)
		}
		out = append(out, m)
	}
	return out
}

// pixels returns, per image of output node id, its stored value, failing
// the test unless every image is constant.
func (r *result) pixels(t *testing.T, id engine.NodeID) []int {
	t.Helper()
	var px []int
	for i, im := range r.images(t, id) {
		if im["min"] != im["max"] {
			t.Fatalf("node %s image %d is not constant: %v", id, i, im)
		}
		px = append(px, im["min"].(int))
	}
	return px
}

// wantPixels checks the constant images of output node id.
func (r *result) wantPixels(t *testing.T, id engine.NodeID, want ...int) {
	t.Helper()
	if got := r.pixels(t, id); !slices.Equal(got, want) {
		t.Errorf("node %s: pixels %v, want %v", id, got, want)
	}
}

// wantRan checks which nodes ran (true) or did not run (false).
func (r *result) wantRan(t *testing.T, want map[engine.NodeID]bool) {
	t.Helper()
	for _, id := range slices.Sorted(maps.Keys(want)) {
		if got := r.ran(id); got != want[id] {
			t.Errorf("node %s ran = %v, want %v (executed %v, cached %v)", id, got, want[id], r.Executed, r.Cached)
		}
	}
}

// validationTypes returns the error types reported for node id.
func (r *result) validationTypes(id engine.NodeID) []string {
	var types []string
	if nv := r.NodeErrors[id]; nv != nil {
		for _, e := range nv.Errors {
			types = append(types, e.Type)
		}
	}
	return types
}

// wantInvalid checks that the run was rejected before running anything,
// with an error of one of types on node id.
func (r *result) wantInvalid(t *testing.T, id engine.NodeID, types ...string) {
	t.Helper()
	if r.Status != engine.StatusInvalid {
		t.Fatalf("status %s (%v), want %s", r.Status, r.err, engine.StatusInvalid)
	}
	if !errors.Is(r.err, engine.ErrInvalid) {
		t.Errorf("error %v does not wrap ErrInvalid", r.err)
	}
	if len(r.Executed) != 0 || len(r.Cached) != 0 {
		t.Errorf("an invalid run executed %v, cached %v", r.Executed, r.Cached)
	}
	got := r.validationTypes(id)
	for _, typ := range types {
		if slices.Contains(got, typ) {
			return
		}
	}
	t.Errorf("node %s errors %v, want one of %v (all: %s)", id, got, types, nodeErrors(r.NodeErrors))
}

// load decodes testdata/conformance/name.json.
func load(t *testing.T, name string) engine.Workflow {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "conformance", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	wf, err := engine.DecodeWorkflow(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return wf
}

// set returns a copy of wf whose node id has the input name set to v.
func set(wf engine.Workflow, id engine.NodeID, name string, v any) engine.Workflow {
	out := make(engine.Workflow, len(wf))
	for k, n := range wf {
		out[k] = n
	}
	n := wf[id].Clone()
	n.Inputs[name] = v
	out[id] = n
	return out
}

// needFlowControl skips the test when the pack lacks the loops.
func needFlowControl(t *testing.T) {
	t.Helper()
	if _, ok := testpack.Registry().Lookup("TestForLoopOpen"); !ok {
		t.Skip("the pack has no flow-control nodes")
	}
}

// test_lazy_input: WHITE is never evaluated for a mask of 0.
func TestConformanceLazyInput(t *testing.T) {
	wf := load(t, "lazy_input")
	eachMode(t, func(t *testing.T, h *harness) {
		r := h.run(wf).ok(t)
		r.wantPixels(t, "save", 0)
		r.wantRan(t, map[engine.NodeID]bool{"black": true, "white": false, "mask": true, "mix": true, "save": true})
	})
}

// test_full_cache: a second run of the same workflow runs nothing.
func TestConformanceFullCache(t *testing.T) {
	wf := load(t, "full_cache")
	eachMode(t, func(t *testing.T, h *harness) {
		r1 := h.run(wf).ok(t)
		r2 := h.run(wf).ok(t)
		for _, id := range wf.IDs() {
			if !r1.ran(id) {
				t.Errorf("run 1: %s did not run", id)
			}
			if r2.ran(id) != !h.caches() {
				t.Errorf("run 2: %s ran = %v with cache %s", id, r2.ran(id), h.cache)
			}
		}
		if h.caches() && !r2.cached("save") {
			t.Errorf("run 2: save is not a cache hit (cached %v)", r2.Cached)
		}
		if got, want := r2.images(t, "save"), r1.images(t, "save"); len(got) != 1 || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("run 2 images %v, run 1 %v", got, want)
		}
	})
}

// test_partial_cache: changing the mask does not re-run the images.
//
// Except at level 2: it releases the images as soon as the mix has read
// them, and a released output leaves the cross-run cache too (design.md
// §5: "classic + level 2 re-runs exactly the released part"), so there the
// images run again.
func TestConformancePartialCache(t *testing.T) {
	wf := load(t, "full_cache")
	eachMode(t, func(t *testing.T, h *harness) {
		h.run(wf).ok(t)
		r2 := h.run(set(wf, "mask", "value", 0.4)).ok(t)
		again := !h.caches() || h.pol.Level == policy.ReleaseDead
		r2.wantRan(t, map[engine.NodeID]bool{"black": again, "noise": again, "mask": true, "mix": true, "save": true})
	})
}

// test_error: a shape mismatch in the mix fails the run, naming the mix.
func TestConformanceRuntimeError(t *testing.T) {
	wf := load(t, "runtime_error")
	eachMode(t, func(t *testing.T, h *harness) {
		r := h.run(wf)
		if r.Status != engine.StatusError {
			t.Fatalf("status %s (%v), want error", r.Status, r.err)
		}
		var ne *engine.NodeError
		if !errors.As(r.err, &ne) {
			t.Fatalf("error %v (%T) is not a *engine.NodeError", r.err, r.err)
		}
		if ne.Node != "mix" || ne.Class != "TestLazyMixImages" || ne.Err == nil || ne.Err.Error() == "" {
			t.Errorf("node error %+v, want one naming mix with a message", ne)
		}
		if r.ran("save") {
			t.Error("save ran after its input failed")
		}
	})
}

// test_validation_error_literal: TestCustomValidation1's validator rejects
// the literals 5 and "foo" before anything runs; 5.0 runs.
func TestConformanceValidationLiteral(t *testing.T) {
	wf := load(t, "validation_literal")
	eachMode(t, func(t *testing.T, h *harness) {
		for _, v := range []any{int64(5), "foo"} {
			h.run(set(wf, "validation", "input1", v)).wantInvalid(t, "validation", "custom_validation_failed")
		}
		r := h.run(wf).ok(t)
		r.wantPixels(t, "save", 255) // 5.0 * 3.0, clipped
	})
}

// test_validation_error_edge1..4: an INT link is rejected (by the built-in
// type check, or by the custom validator where it takes over the types), a
// FLOAT link runs.
func TestConformanceValidationLinkTypes(t *testing.T) {
	wf := load(t, "validation_link")
	// The error each class reports for an INT link.
	intErr := map[string]string{
		"TestCustomValidation1": "return_type_mismatch",     // built-in check
		"TestCustomValidation2": "custom_validation_failed", // takes input_types
		"TestCustomValidation3": "custom_validation_failed", // @VariantSupport
		"TestCustomValidation4": "return_type_mismatch",     // built-in check
	}
	eachMode(t, func(t *testing.T, h *harness) {
		for _, class := range slices.Sorted(maps.Keys(intErr)) {
			v := wf["validation"].Clone()
			v.Class = class
			w := replace(wf, "validation", v)
			h.run(w).ok(t).wantPixels(t, "save", 255) // StubFloat 5.0 * 3.0
			i := &engine.Node{Class: "StubInt", Inputs: map[string]any{"value": int64(5)}}
			h.run(replace(w, "stub", i)).wantInvalid(t, "validation", intErr[class], "return_type_mismatch", "custom_validation_failed")
		}
		// edge1 with a StubMask missing its sizes: a MASK is not IMAGE,FLOAT.
		m := &engine.Node{Class: "StubMask", Inputs: map[string]any{"value": 5.0}}
		w := replace(replace(wf, "stub", m), "validation", &engine.Node{Class: "TestCustomValidation1", Inputs: wf["validation"].Inputs})
		r := h.run(w)
		r.wantInvalid(t, "validation", "return_type_mismatch")
		if !slices.Contains(r.validationTypes("stub"), "required_input_missing") {
			t.Errorf("StubMask without sizes: errors %v", r.validationTypes("stub"))
		}
	})
}

// replace returns a copy of wf with node id replaced by n.
func replace(wf engine.Workflow, id engine.NodeID, n *engine.Node) engine.Workflow {
	out := make(engine.Workflow, len(wf))
	for k, v := range wf {
		out[k] = v
	}
	out[id] = n
	return out
}

// test_validation_error_kwargs: TestCustomValidation5 validates all its
// inputs itself (so 5.0 is not above its max), and rejects 7.
func TestConformanceValidationKwargs(t *testing.T) {
	wf := load(t, "validation_kwargs")
	eachMode(t, func(t *testing.T, h *harness) {
		h.run(wf).ok(t).wantPixels(t, "save", 0)
		h.run(set(wf, "validation", "input2", 5.0)).ok(t).wantPixels(t, "save", 0)
		r := h.run(set(wf, "validation", "input2", 7.0))
		r.wantInvalid(t, "validation", "custom_validation_failed")
		if nv := r.NodeErrors["validation"]; nv == nil || !strings.Contains(fmt.Sprint(nv.Errors), "7s are not allowed") {
			t.Errorf("errors %+v do not say why", nv)
		}
	})
}

// test_cycle_error: a lazy mix without its required image2 is rejected.
func TestConformanceMissingInput(t *testing.T) {
	wf := load(t, "missing_input")
	eachMode(t, func(t *testing.T, h *harness) {
		r := h.run(wf)
		r.wantInvalid(t, "mix1", "required_input_missing")
		for _, e := range r.NodeErrors["mix1"].Errors {
			if e.Type == "required_input_missing" && e.Input != "image2" {
				t.Errorf("missing input %q, want image2", e.Input)
			}
		}
	})
}

// A static cycle is rejected before anything runs, naming the cycle.
func TestConformanceStaticCycle(t *testing.T) {
	wf := load(t, "static_cycle")
	eachMode(t, func(t *testing.T, h *harness) {
		r := h.run(wf)
		r.wantInvalid(t, "avg1", "dependency_cycle")
		for _, id := range []engine.NodeID{"avg1", "avg2"} {
			if !slices.Contains(r.validationTypes(id), "dependency_cycle") {
				t.Errorf("%s errors %v, want dependency_cycle", id, r.validationTypes(id))
			}
		}
		details := fmt.Sprint(r.NodeErrors["avg1"].Errors)
		if !strings.Contains(details, "avg1") || !strings.Contains(details, "avg2") {
			t.Errorf("cycle error %s does not name both nodes", details)
		}
	})
}

// test_missing_node_error: the output behind a link to a missing node is
// skipped and reported; the valid output still runs. With the node back,
// both run.
func TestConformanceMissingNode(t *testing.T) {
	wf := load(t, "missing_node")
	eachMode(t, func(t *testing.T, h *harness) {
		r := h.run(wf).ok(t)
		nv := r.NodeErrors["mix1"]
		if nv == nil || !slices.Contains(nv.DependentOutputs, "save1") {
			t.Fatalf("mix1 not reported with its output save1: %s", nodeErrors(r.NodeErrors))
		}
		if r.ran("save1") || r.ran("mix1") || len(r.images(t, "save1")) != 0 {
			t.Error("the invalid output ran")
		}
		r.wantPixels(t, "save2", 127)
		white := &engine.Node{Class: "StubImage", Inputs: map[string]any{"content": "WHITE", "height": int64(64), "width": int64(64), "batch_size": int64(1)}}
		r = h.run(replace(wf, "removeme", white)).ok(t)
		if len(r.NodeErrors) != 0 {
			t.Errorf("errors after the node came back: %s", nodeErrors(r.NodeErrors))
		}
		r.wantPixels(t, "save1", 127)
		r.wantPixels(t, "save2", 127)
	})
}

// test_custom_is_changed: should_change=false caches; true always runs.
func TestConformanceCustomFingerprint(t *testing.T) {
	wf := load(t, "custom_is_changed")
	eachMode(t, func(t *testing.T, h *harness) {
		r1, r2 := h.run(wf).ok(t), h.run(wf).ok(t)
		changing := set(wf, "is_changed", "should_change", true)
		r3, r4 := h.run(changing).ok(t), h.run(changing).ok(t)
		if !r1.ran("is_changed") {
			t.Error("run 1: is_changed did not run")
		}
		if r2.ran("is_changed") == h.caches() {
			t.Errorf("run 2: is_changed ran = %v with cache %s", r2.ran("is_changed"), h.cache)
		}
		if !r3.ran("is_changed") || !r4.ran("is_changed") {
			t.Errorf("runs 3 and 4: is_changed ran %v, %v; want always", r3.ran("is_changed"), r4.ran("is_changed"))
		}
		for i, r := range []*result{r1, r2, r3, r4} {
			if px := r.pixels(t, "save"); !slices.Equal(px, []int{0}) {
				t.Errorf("run %d: pixels %v", i+1, px)
			}
		}
	})
}

// test_undeclared_inputs: undeclared linked inputs are delivered.
func TestConformanceUndeclaredInputs(t *testing.T) {
	wf := load(t, "undeclared_inputs")
	eachMode(t, func(t *testing.T, h *harness) {
		h.run(wf).ok(t).wantPixels(t, "save", 63)
	})
}

// test_for_loop: averaging with BLACK N times halves WHITE N times; the
// always-changed input runs every time.
func TestConformanceForLoop(t *testing.T) {
	needFlowControl(t)
	wf := load(t, "for_loop")
	eachMode(t, func(t *testing.T, h *harness) {
		for n := 1; n <= 4; n++ {
			r := h.run(set(wf, "for_open", "remaining", int64(n))).ok(t)
			r.wantPixels(t, "save", 255>>n)
			if !r.ran("is_changed") {
				t.Errorf("N=%d: is_changed did not run", n)
			}
		}
	})
}

// test_mixed_expansion_returns: per list element a plain result, a result
// dict and an expansion.
func TestConformanceMixedExpansionReturns(t *testing.T) {
	wf := load(t, "mixed_expansion_returns")
	eachMode(t, func(t *testing.T, h *harness) {
		r := h.run(wf).ok(t)
		r.wantPixels(t, "save_dynamic", 25, 51, 76)
		r.wantPixels(t, "save_literal", 255, 255, 255)
	})
}

// test_mixed_lazy_results: one lazy mix over a list of three masks.
func TestConformanceMixedLazyResults(t *testing.T) {
	wf := load(t, "mixed_lazy_results")
	eachMode(t, func(t *testing.T, h *harness) {
		h.run(wf).ok(t).wantPixels(t, "save", 0, 127, 255)
	})
}

// test_output_reuse: one image read by two outputs.
func TestConformanceOutputReuse(t *testing.T) {
	wf := load(t, "output_reuse")
	eachMode(t, func(t *testing.T, h *harness) {
		r := h.run(wf).ok(t)
		r.wantPixels(t, "save1", 0)
		r.wantPixels(t, "save2", 0)
	})
}

// test_is_changed_with_outputs: the fingerprint sees constants only, so
// the second run is cached.
func TestConformanceFingerprintWithOutputs(t *testing.T) {
	wf := load(t, "is_changed_with_outputs")
	eachMode(t, func(t *testing.T, h *harness) {
		r1 := h.run(wf).ok(t)
		r2 := h.run(wf).ok(t)
		r1.wantPixels(t, "preview", 63)
		r2.wantPixels(t, "preview", 63)
		if !r1.ran("test") {
			t.Error("run 1: the test node did not run")
		}
		if r2.ran("test") == h.caches() {
			t.Errorf("run 2: the test node ran = %v with cache %s", r2.ran("test"), h.cache)
		}
	})
}

// maxSleepWall is the wall time the parallel sleep cases must beat: well
// under the 0.91 s the three sleeps take one after another.
const maxSleepWall = 750 * time.Millisecond

// test_parallel_sleep_nodes: three sleeps overlap.
func TestConformanceParallelSleeps(t *testing.T) {
	eachModeOverlapped(t, load(t, "parallel_sleep"), 4, func(t *testing.T, h *harness, r *result) {
		r.ok(t)
		for _, id := range []engine.NodeID{"sleep1", "sleep2", "sleep3"} {
			if !r.ran(id) {
				t.Errorf("%s did not run", id)
			}
		}
		for _, id := range []engine.NodeID{"preview1", "preview2", "preview3"} {
			r.wantPixels(t, id, 0)
		}
		if r.wall >= maxSleepWall {
			t.Errorf("wall time %v: the sleeps did not overlap (limit %v)", r.wall, maxSleepWall)
		}
	})
}

// test_parallel_sleep_expansion: the sleeps of an expansion overlap.
func TestConformanceParallelSleepExpansion(t *testing.T) {
	eachModeOverlapped(t, load(t, "parallel_sleep_expansion"), 4, func(t *testing.T, h *harness, r *result) {
		r.ok(t)
		if !r.ran("parallel") {
			t.Error("the parallel sleep node did not run")
		}
		im := r.images(t, "save")
		if len(im) != 1 || im[0]["mean"] != 170.0 {
			t.Errorf("images %v, want one with mean 170", im)
		}
		if r.wall >= maxSleepWall {
			t.Errorf("wall time %v: the sleeps did not overlap (limit %v)", r.wall, maxSleepWall)
		}
	})
}

// test_execution_block_list_output: only the blocked list element is
// dropped.
func TestConformanceExecutionBlockListOutput(t *testing.T) {
	wf := load(t, "execution_block_list_output")
	eachMode(t, func(t *testing.T, h *harness) {
		r := h.run(wf).ok(t)
		if !r.ran("output") {
			t.Error("the output did not run")
		}
		r.wantPixels(t, "output", 0, 0)
	})
}

// test_partial_execution_included_outputs.
func TestConformancePartialIncluded(t *testing.T) {
	wf := load(t, "partial_included")
	eachMode(t, func(t *testing.T, h *harness) {
		r := h.run(wf, "output1").ok(t)
		for _, id := range []engine.NodeID{"input1", "output1"} {
			if !r.executed(id) {
				t.Errorf("%s was not executed", id)
			}
		}
		r.wantRan(t, map[engine.NodeID]bool{"input2": false, "output2": false})
		r.wantPixels(t, "output1", 0)
		if n := len(r.images(t, "output2")); n != 0 {
			t.Errorf("output2 has %d images", n)
		}
	})
}

// test_partial_execution_excluded_outputs.
func TestConformancePartialExcluded(t *testing.T) {
	wf := load(t, "partial_excluded")
	eachMode(t, func(t *testing.T, h *harness) {
		r := h.run(wf, "output1", "output3").ok(t)
		for _, id := range []engine.NodeID{"input1", "input3", "output1", "output3"} {
			if !r.executed(id) {
				t.Errorf("%s was not executed", id)
			}
		}
		r.wantRan(t, map[engine.NodeID]bool{"input2": false, "output2": false})
	})
}

// test_partial_execution_dependencies: an output node a target needs runs.
func TestConformancePartialDependencies(t *testing.T) {
	wf := load(t, "partial_dependencies")
	eachMode(t, func(t *testing.T, h *harness) {
		r := h.run(wf, "final").ok(t)
		for _, id := range []engine.NodeID{"input1", "output_with_socket", "dependent", "final"} {
			if !r.executed(id) {
				t.Errorf("%s was not executed", id)
			}
		}
		r.wantPixels(t, "final", 0)
	})
}

// test_partial_execution_with_lazy_nodes.
func TestConformancePartialLazy(t *testing.T) {
	wf := load(t, "partial_lazy")
	eachMode(t, func(t *testing.T, h *harness) {
		r := h.run(wf, "output1").ok(t)
		for _, id := range []engine.NodeID{"input1", "mask1", "mix1", "output1"} {
			if !r.executed(id) {
				t.Errorf("%s was not executed", id)
			}
		}
		r.wantRan(t, map[engine.NodeID]bool{"input2": false, "input3": false, "mask2": false, "mix2": false, "output2": false})
	})
}

// test_partial_execution_multiple_output_nodes.
func TestConformancePartialMultipleOutputs(t *testing.T) {
	wf := load(t, "partial_multiple_outputs")
	eachMode(t, func(t *testing.T, h *harness) {
		r := h.run(wf, "save2").ok(t)
		for _, id := range []engine.NodeID{"input1", "output_node1", "output_node2", "save2"} {
			if !r.executed(id) {
				t.Errorf("%s was not executed", id)
			}
		}
		r.wantRan(t, map[engine.NodeID]bool{"input2": false, "save1": false, "save3": false})
	})
}

// test_partial_execution_empty_list: no targets is rejected.
func TestConformancePartialEmptyTargets(t *testing.T) {
	wf := load(t, "partial_included")
	eachMode(t, func(t *testing.T, h *harness) {
		r := h.runTargets(wf, []engine.NodeID{})
		if r.Status != engine.StatusInvalid || len(r.Executed) != 0 {
			t.Errorf("empty targets: status %s, executed %v", r.Status, r.Executed)
		}
	})
}

// test_dynamic_cycle_error: a cycle among expanded nodes fails the run and
// is blamed on the expanding node.
func TestConformanceDynamicCycle(t *testing.T) {
	wf := load(t, "dynamic_cycle")
	eachMode(t, func(t *testing.T, h *harness) {
		r := h.run(wf)
		if r.Status != engine.StatusError {
			t.Fatalf("status %s (%v), want error", r.Status, r.err)
		}
		var ne *engine.NodeError
		if !errors.As(r.err, &ne) || ne.Node != "generator" {
			t.Errorf("error %v (%+v), want one on generator", r.err, ne)
		}
		if !errors.Is(r.err, engine.ErrCycle) {
			t.Errorf("error %v does not wrap ErrCycle", r.err)
		}
	})
}

// The while loop counts an INT down from 10: the body runs 10 times and the
// final value is 0 (the preview shows its image only then).
func TestConformanceWhileLoop(t *testing.T) {
	needFlowControl(t)
	wf := load(t, "while_loop")
	eachMode(t, func(t *testing.T, h *harness) {
		r := h.run(wf).ok(t)
		r.wantPixels(t, "preview", 0)
		body := 0
		for _, ev := range r.events {
			if ev.Type == engine.EventExecuting && ev.Class == "TestIntMathOperation" {
				body++
			}
		}
		if body != 10 {
			t.Errorf("the body ran %d times, want 10", body)
		}
	})
}

// A for loop of 10,000 iterations completes, with ids that do not grow
// with the iteration count. The full 10,000 iterations run under the
// default policy (classic cache, level 2, auto) and each other cache mode
// at level 2 auto; every other mode runs 300 (each full run takes seconds
// under -race). -short runs 300 everywhere.
func TestConformanceLongLoop(t *testing.T) {
	needFlowControl(t)
	wf := load(t, "long_loop")
	eachMode(t, func(t *testing.T, h *harness) {
		n := int64(10000)
		if testing.Short() || h.pol != (policy.Policy{Level: policy.ReleaseDead, Strategy: policy.Auto}) {
			n = 300
		}
		w := set(set(wf, "for_open", "remaining", n), "wrong", "b", n)
		r := h.run(w).ok(t)
		r.wantPixels(t, "preview", 0)
		longest := ""
		for _, id := range r.Executed {
			if len(id) > len(longest) {
				longest = string(id)
			}
		}
		if len(longest) > 64 {
			t.Errorf("id %q (%d bytes) grows with the iterations", longest, len(longest))
		}
		if got := int64(len(r.Executed)); got < n {
			t.Errorf("%d executions for %d iterations", got, n)
		}
	})
}
