// validate_inputs_test.go: input coercion, unreachable nodes, a Validator's input, a nil registry, typesMatch, compareNum.

package engine

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestValidateCoercion(t *testing.T) {
	reg := vtRegistry()
	wf := Workflow{
		"int5":    vn("Int", "value", int64(5)),
		"intf":    vn("Int", "value", 5.0),
		"ints":    vn("Int", "value", "7"),
		"intgo":   vn("Int", "value", 3),
		"intlit":  vn("Int", "value", Literal{Value: int64(4)}),
		"float5":  vn("Float", "value", int64(5)),
		"floatf":  vn("Float", "value", 2.5),
		"floats":  vn("Float", "value", "0.25"),
		"multi5":  vn("Multi", "value", int64(5)),
		"multif":  vn("Multi", "value", 5.0),
		"anylist": vn("Any", "value", []any{"x", int64(0)}),
		"anylit":  vn("Any", "value", Literal{Value: []any{"x", int64(0)}}),
		"anyref":  vn("Any", "value", Literal{Value: Ref{"x", 0}}),
		"extra":   vn("Text", "text", "t", "flag", true, "undeclared", Literal{Value: []any{int64(1)}}, "n", int64(2)),
		"link":    vn("Any", "value", vl("int5", 0)),
	}
	before := cloneWorkflow(wf)
	var targets []NodeID
	for id := range wf {
		targets = append(targets, id)
	}
	v, err := validate(reg, wf, targets)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.errs) != 0 {
		t.Fatalf("unexpected errors: %v", errTypes(v.errs))
	}
	if d := cmp.Diff(before, wf); d != "" {
		t.Fatalf("caller's workflow changed (-before +after):\n%s", d)
	}
	want := map[NodeID]map[string]any{
		"int5":    {"value": int64(5)},
		"intf":    {"value": int64(5)},
		"ints":    {"value": int64(7)},
		"intgo":   {"value": int64(3)},
		"intlit":  {"value": int64(4)},
		"float5":  {"value": 5.0},
		"floatf":  {"value": 2.5},
		"floats":  {"value": 0.25},
		"multi5":  {"value": int64(5)},
		"multif":  {"value": 5.0},
		"anylist": {"value": []any{"x", int64(0)}},
		"anylit":  {"value": []any{"x", int64(0)}},
		"anyref":  {"value": Literal{Value: Ref{"x", 0}}},
		"extra":   {"text": "t", "flag": true, "undeclared": []any{int64(1)}, "n": int64(2)},
		"link":    {"value": Ref{"int5", 0}},
	}
	for id, inputs := range want {
		if d := cmp.Diff(inputs, vdef(v, id).Inputs); d != "" {
			t.Errorf("node %s inputs (-want +got):\n%s", id, d)
		}
	}
	// Untouched nodes are shared; changed ones are clones.
	for _, id := range []NodeID{"int5", "floatf", "multi5", "multif", "anylist", "link", "anyref"} {
		if vdef(v, id) != wf[id] {
			t.Errorf("node %s was cloned though nothing changed", id)
		}
	}
	for _, id := range []NodeID{"intf", "ints", "intgo", "intlit", "float5", "floats", "anylit", "extra"} {
		if vdef(v, id) == wf[id] {
			t.Errorf("node %s was changed in place", id)
		}
	}
}

func TestValidateUnreachableNodesUntouched(t *testing.T) {
	reg := vtRegistry()
	// An unreachable node is not validated (ComfyUI validates from the
	// outputs only) but stays in the validated workflow.
	wf := Workflow{"img": vtImage("WHITE"), "s": vn("Save", "images", vl("img", 0)), "bad": vn("Int", "value", "zzz")}
	v, err := validate(reg, wf, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.errs) != 0 || vdef(v, "bad") != wf["bad"] {
		t.Fatalf("errs %v; unreachable node changed: %v", errTypes(v.errs), vdef(v, "bad") != wf["bad"])
	}
}

func TestValidateValidatorInput(t *testing.T) {
	var got []ValidationInput
	record := func(types bool) *NodeType {
		s := vtSchema("IMAGE",
			InputSpec{Name: "n", Type: "INT"},
			InputSpec{Name: "image", Type: "IMAGE"},
			InputSpec{Name: "opt", Type: "FLOAT", Optional: true})
		s.Validation.InputTypes = types
		class := "Record"
		if types {
			class = "RecordTypes"
		}
		return &NodeType{Class: class, Schema: s, Runner: vtValidator{fn: func(in ValidationInput) error {
			got = append(got, in)
			return nil
		}}}
	}
	reg := vtRegistry(record(false), record(true))
	for _, class := range []string{"Record", "RecordTypes"} {
		got = nil
		wf := Workflow{"img": vtImage("WHITE"), "i": vn("Int", "value", int64(1)),
			"r": vn(class, "n", 5.0, "image", vl("img", 0), "extra", vl("i", 0), "lit", "x")}
		if _, err := validate(reg, wf, []NodeID{"r"}); err != nil {
			t.Fatalf("%s: %v", class, err)
		}
		if len(got) != 1 {
			t.Fatalf("%s: validator called %d times, want once", class, len(got))
		}
		want := ValidationInput{Values: map[string]any{"n": int64(5), "image": nil, "extra": nil, "lit": "x"}}
		if class == "RecordTypes" {
			want.Types = map[string]string{"image": "IMAGE", "extra": "INT"}
		}
		if d := cmp.Diff(want, got[0]); d != "" {
			t.Errorf("%s: validator input (-want +got):\n%s", class, d)
		}
	}
}

func TestValidateNilRegistry(t *testing.T) {
	_, err := validate(nil, Workflow{"1": vn("Save")}, nil)
	var pe *PromptError
	if !errors.As(err, &pe) || pe.Type != TypeInvalidPrompt {
		t.Fatalf("got %v; want invalid_prompt", err)
	}
}

func TestValidateTypesMatch(t *testing.T) {
	for _, tc := range []struct {
		received, expected string
		want               bool
	}{
		{"IMAGE", "IMAGE", true},
		{"INT", "IMAGE", false},
		{"*", "IMAGE", true},
		{"IMAGE", "*", true},
		{"FLOAT", "IMAGE,FLOAT", true},
		{"IMAGE, MASK", "MASK", true},
		{"INT,STRING", "IMAGE,FLOAT", false},
		{"INT,*", "IMAGE", true},
		{"", "", true},
		{"", "IMAGE", false},
	} {
		if got := typesMatch(tc.received, tc.expected); got != tc.want {
			t.Errorf("typesMatch(%q, %q) = %v, want %v", tc.received, tc.expected, got, tc.want)
		}
	}
}

func TestValidateCompareNum(t *testing.T) {
	for _, tc := range []struct {
		v    any
		b    float64
		want int
	}{
		{int64(5), 5, 0},
		{int64(5), 5.5, -1},
		{int64(6), 5.5, 1},
		{int64(-3), -2.5, -1},
		{int64(-2), -2.5, 1},
		{int64(9007199254740993), 9007199254740992, 1}, // 2^53+1 vs 2^53: exact
		{int64(9223372036854775807), 0xffffffffffffffff, -1},
		{int64(-9223372036854775808), -0xffffffffffffffff, 1},
		{0.5, 1, -1},
		{3, 2, 1},
	} {
		if got, ok := compareNum(tc.v, tc.b); !ok || got != tc.want {
			t.Errorf("compareNum(%v, %v) = %d, %v; want %d", tc.v, tc.b, got, ok, tc.want)
		}
	}
	for _, v := range []any{"5", nil, []any{}} {
		if _, ok := compareNum(v, 1); ok {
			t.Errorf("compareNum(%#v) ok; want not comparable", v)
		}
	}
}
