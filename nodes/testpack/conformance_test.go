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

// replace returns a copy of wf with node id replaced by n.
func replace(wf engine.Workflow, id engine.NodeID, n *engine.Node) engine.Workflow {
	out := make(engine.Workflow, len(wf))
	for k, v := range wf {
		out[k] = v
	}
	out[id] = n
	return out
}
