// conformance_partial_test.go: partial execution: runs restricted to target outputs.

package testpack_test

import (
	"testing"

	"github.com/ebbgraph/ebb/engine"
)

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
