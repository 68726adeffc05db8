// conformance_exec_test.go: lazy inputs, runtime errors, expansions, lists and output reuse.

package testpack_test

import (
	"errors"
	"testing"

	"github.com/ebbgraph/ebb/engine"
)

// test_lazy_input: WHITE is never evaluated for a mask of 0.
func TestConformanceLazyInput(t *testing.T) {
	wf := load(t, "lazy_input")
	eachMode(t, func(t *testing.T, h *harness) {
		r := h.run(wf).ok(t)
		r.wantPixels(t, "save", 0)
		r.wantRan(t, map[engine.NodeID]bool{"black": true, "white": false, "mask": true, "mix": true, "save": true})
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

// test_undeclared_inputs: undeclared linked inputs are delivered.
func TestConformanceUndeclaredInputs(t *testing.T) {
	wf := load(t, "undeclared_inputs")
	eachMode(t, func(t *testing.T, h *harness) {
		h.run(wf).ok(t).wantPixels(t, "save", 63)
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
