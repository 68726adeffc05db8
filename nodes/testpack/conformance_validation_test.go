// conformance_validation_test.go: what is rejected or skipped before anything runs: validators, missing inputs and nodes, static cycles.

package testpack_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/ebbgraph/ebb/engine"
)

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
