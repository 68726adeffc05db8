package engine

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCoerceLiterals: CoerceLiterals converts what validation would, so
// that validation of the converted workflow copies no node and sees the
// same definitions as validation of the original.
func TestCoerceLiterals(t *testing.T) {
	reg := vtRegistry()
	wf := Workflow{
		"f":    vn("Float", "value", int64(1)),                           // FLOAT written 1
		"i":    vn("Int", "value", "5"),                                  // INT written "5"
		"ok":   vn("Int", "value", int64(7)),                             // already an INT
		"bad":  vn("Float", "value", "x"),                                // does not convert: left for validation
		"img":  vn("Image", "content", Literal{"WHITE"}, "height", 64.0), // a wrapper; 64.0 for an INT
		"u":    vn("Preview", "value", vl("f", 0), "extra", Literal{[]any{int64(1)}}),
		"ref":  vn("Preview", "value", Literal{vl("f", 0)}), // a wrapped link stays wrapped
		"save": vn("Save", "images", vl("img", 0), "id", Literal{"x"}),
	}
	before := cloneWorkflow(wf)
	ref, refErr := validate(reg, before, []NodeID{"u", "save", "ref"})
	CoerceLiterals(reg, wf)
	want := map[NodeID]map[string]any{
		"f":    {"value": 1.0},
		"i":    {"value": int64(5)},
		"ok":   {"value": int64(7)},
		"bad":  {"value": "x"},
		"img":  {"content": "WHITE", "height": int64(64)},
		"u":    {"value": vl("f", 0), "extra": []any{int64(1)}},
		"ref":  {"value": Literal{vl("f", 0)}},
		"save": {"images": vl("img", 0), "id": "x"},
	}
	for id, in := range want {
		if d := cmp.Diff(in, wf[id].Inputs); d != "" {
			t.Errorf("node %s (-want +got):\n%s", id, d)
		}
	}
	got, err := validate(reg, wf, []NodeID{"u", "save", "ref"})
	if err != nil || refErr != nil {
		t.Fatalf("validation: %v, before CoerceLiterals %v", err, refErr)
	}
	for i := range got.vnodes {
		vn := &got.vnodes[i]
		if vn.out != vn.def {
			t.Errorf("node %s copied by validation after CoerceLiterals", vn.id)
		}
		if d := cmp.Diff(vdef(ref, vn.id).Inputs, vn.out.Inputs); d != "" {
			t.Errorf("node %s validated differently (-before +after):\n%s", vn.id, d)
		}
	}
}

// TestCoerceLiteralsUnknownClass: nodes of unknown classes and nil nodes
// are left as they are.
func TestCoerceLiteralsUnknownClass(t *testing.T) {
	wf := Workflow{"odd": vn("NoSuchClass", "value", Literal{int64(1)}), "nil": nil}
	CoerceLiterals(vtRegistry(), wf)
	if d := cmp.Diff(map[string]any{"value": Literal{int64(1)}}, wf["odd"].Inputs); d != "" {
		t.Error(d)
	}
}

// TestDecodeWorkflowFor: decoding with a registry converts what
// CoerceLiterals converts, node by node.
func TestDecodeWorkflowFor(t *testing.T) {
	reg := vtRegistry()
	data := []byte(`{
		"f": {"inputs": {"value": 1}, "class_type": "Float"},
		"i": {"class_type": "Int", "inputs": {"value": "5"}},
		"bad": {"class_type": "Float", "inputs": {"value": "x"}},
		"img": {"class_type": "Image", "inputs": {"content": "WHITE", "height": 64.0}},
		"u": {"class_type": "Preview", "inputs": {"value": ["f", 0], "extra": {"__value__": [1]}}},
		"odd": {"class_type": "NoSuchClass", "inputs": {"value": 1}}
	}`)
	got, err := DecodeWorkflowFor(reg, data)
	if err != nil {
		t.Fatal(err)
	}
	want, err := DecodeWorkflow(data)
	if err != nil {
		t.Fatal(err)
	}
	CoerceLiterals(reg, want)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-CoerceLiterals +DecodeWorkflowFor):\n%s", d)
	}
	if got["f"].Inputs["value"] != 1.0 || got["odd"].Inputs["value"] != int64(1) {
		t.Errorf("f %v, odd %v", got["f"].Inputs, got["odd"].Inputs)
	}
}
