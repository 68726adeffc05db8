package testpack

import (
	"slices"
	"testing"

	"github.com/ebbgraph/ebb/engine"
)

func TestIntMath(t *testing.T) {
	for _, c := range []struct {
		a, b int64
		op   string
		want int64
	}{
		{7, 2, "add", 9}, {7, 2, "subtract", 5}, {7, 2, "multiply", 14}, {7, 2, "divide", 3},
		{-7, 2, "divide", -4}, {7, -2, "divide", -4}, {-7, -2, "divide", 3}, {7, 2, "modulo", 1},
		{-7, 2, "modulo", 1}, {7, -2, "modulo", -1}, {-7, -2, "modulo", -1}, {6, 3, "modulo", 0},
		{3, 4, "power", 81}, {2, 0, "power", 1}, {-2, 3, "power", -8},
	} {
		r := mustCall(t, "TestIntMathOperation", map[string]any{"a": c.a, "b": c.b, "operation": c.op})
		if r.Outputs[0] != c.want {
			t.Errorf("%d %s %d = %v, want %d", c.a, c.op, c.b, r.Outputs[0], c.want)
		}
	}
	for _, c := range []struct {
		b  int64
		op string
	}{{0, "divide"}, {0, "modulo"}, {-1, "power"}, {1, "root"}} {
		if _, err := call(t, "TestIntMathOperation", map[string]any{"a": int64(1), "b": c.b, "operation": c.op}); err == nil {
			t.Errorf("1 %s %d succeeded", c.op, c.b)
		}
	}
	// An integral float from a link is an integer.
	if r := mustCall(t, "TestIntMathOperation", map[string]any{"a": 3.0, "b": int64(1), "operation": "subtract"}); r.Outputs[0] != int64(2) {
		t.Errorf("3.0 - 1 = %#v", r.Outputs[0])
	}
}

func TestMakeListNode(t *testing.T) {
	nt := nodeType(t, "TestMakeListNode")
	if !nt.Schema.Outputs[0].IsList || nt.Schema.InputIsList {
		t.Error("want an output list from per-element calls")
	}
	if in, _ := nt.Schema.Input("value1"); in.Optional {
		t.Error("value1 must be required")
	}
	if in, ok := nt.Schema.Input("value9"); !ok || !in.Optional {
		t.Error("value9 must be optional")
	}
	r := mustCall(t, "TestMakeListNode", map[string]any{"value1": 0.1, "value3": 0.3, "value2": 0.2, "value0": "zero"})
	if got := r.Outputs[0].([]any); !slices.Equal(got, []any{"zero", 0.1, 0.2, 0.3}) {
		t.Errorf("list %v", got)
	}
	if err := validate(t, "TestMakeListNode", nil, map[string]string{"value1": "IMAGE"}); err != nil {
		t.Error(err)
	}
}

func TestAccumulationNodes(t *testing.T) {
	acc := func(items ...any) Accumulation { return Accumulation{Items: items} }
	r := mustCall(t, "TestAccumulateNode", map[string]any{"to_add": 1})
	a1 := r.Outputs[0].(Accumulation)
	r = mustCall(t, "TestAccumulateNode", map[string]any{"to_add": 2, "accumulation": a1})
	a2 := r.Outputs[0].(Accumulation)
	if !slices.Equal(a1.Items, []any{1}) || !slices.Equal(a2.Items, []any{1, 2}) {
		t.Errorf("accumulate: %v %v", a1, a2)
	}

	r = mustCall(t, "TestAccumulationHeadNode", map[string]any{"accumulation": acc(1, 2, 3)})
	if rest := r.Outputs[0].(Accumulation); !slices.Equal(rest.Items, []any{2, 3}) || r.Outputs[1] != 1 {
		t.Errorf("head: %v", r.Outputs)
	}
	r = mustCall(t, "TestAccumulationHeadNode", map[string]any{"accumulation": acc()})
	if r.Outputs[1] != nil || len(r.Outputs[0].(Accumulation).Items) != 0 {
		t.Errorf("head of empty: %v", r.Outputs)
	}
	r = mustCall(t, "TestAccumulationTailNode", map[string]any{"accumulation": acc(1, 2, 3)})
	if rest := r.Outputs[0].(Accumulation); !slices.Equal(rest.Items, []any{1, 2}) || r.Outputs[1] != 3 {
		t.Errorf("tail: %v", r.Outputs)
	}
	r = mustCall(t, "TestAccumulationTailNode", map[string]any{"accumulation": acc()})
	if r.Outputs[0] != nil { // ComfyUI's (None, accumulation)
		t.Errorf("tail of empty: %v", r.Outputs)
	}

	r = mustCall(t, "TestAccumulationToListNode", map[string]any{"accumulation": acc(1, 2)})
	if !slices.Equal(r.Outputs[0].([]any), []any{1, 2}) {
		t.Errorf("to list: %v", r.Outputs)
	}
	if !nodeType(t, "TestAccumulationToListNode").Schema.Outputs[0].IsList {
		t.Error("to list: output is not a list")
	}
	if !nodeType(t, "TestListToAccumulationNode").Schema.InputIsList {
		t.Error("list to accumulation: input is not a list")
	}
	r = mustCall(t, "TestListToAccumulationNode", map[string]any{"list": []any{1, 2}})
	if !slices.Equal(r.Outputs[0].(Accumulation).Items, []any{1, 2}) {
		t.Errorf("list to accumulation: %v", r.Outputs)
	}
	if _, err := call(t, "TestListToAccumulationNode", map[string]any{"list": 1}); err == nil {
		t.Error("a non-list accepted")
	}
	r = mustCall(t, "TestAccumulationGetLengthNode", map[string]any{"accumulation": acc(1, 2)})
	if r.Outputs[0] != int64(2) {
		t.Errorf("length: %v", r.Outputs)
	}
	for idx, want := range map[int64]any{0: "a", 2: "c", -1: "c", -3: "a"} {
		r = mustCall(t, "TestAccumulationGetItemNode", map[string]any{"accumulation": acc("a", "b", "c"), "index": idx})
		if r.Outputs[0] != want {
			t.Errorf("item %d = %v", idx, r.Outputs[0])
		}
	}
	for _, idx := range []int64{3, -4} {
		if _, err := call(t, "TestAccumulationGetItemNode", map[string]any{"accumulation": acc("a", "b", "c"), "index": idx}); err == nil {
			t.Errorf("index %d accepted", idx)
		}
	}
	orig := acc("a", "b")
	r = mustCall(t, "TestAccumulationSetItemNode", map[string]any{"accumulation": orig, "index": int64(1), "value": "x"})
	if !slices.Equal(r.Outputs[0].(Accumulation).Items, []any{"a", "x"}) || orig.Items[1] != "b" {
		t.Errorf("set item: %v (original %v)", r.Outputs, orig)
	}
	if _, err := call(t, "TestAccumulationGetLengthNode", map[string]any{"accumulation": 1}); err == nil {
		t.Error("a non-accumulation accepted")
	}
	// @VariantSupport types: "*" matches, ACCUMULATION must be ACCUMULATION.
	if err := validate(t, "TestAccumulationGetItemNode", nil, map[string]string{"accumulation": "*", "index": "INT"}); err != nil {
		t.Error(err)
	}
	if err := validate(t, "TestAccumulationGetItemNode", nil, map[string]string{"accumulation": "IMAGE"}); err == nil {
		t.Error("IMAGE as accumulation accepted")
	}
	if _, ok := nodeType(t, "TestAccumulationTailNode").Runner.(engine.Validator); ok {
		t.Error("TestAccumulationTailNode is not @VariantSupport in ComfyUI")
	}
}

func TestPackRegisters(t *testing.T) {
	r := engine.NewRegistry()
	if err := Register(r); err != nil {
		t.Fatal(err)
	}
	for _, class := range []string{
		"StubImage", "StubConstantImage", "StubMask", "StubInt", "StubFloat", "SaveImage", "PreviewImage",
		"RebatchImages", "TestLazyMixImages", "TestVariadicAverage", "TestCustomIsChanged",
		"TestIsChangedWithConstants", "TestCustomValidation1", "TestCustomValidation2", "TestCustomValidation3",
		"TestCustomValidation4", "TestCustomValidation5", "TestDynamicDependencyCycle",
		"TestMixedExpansionReturns", "TestExecutionBlocker", "TestOutputNodeWithSocketOutput", "TestSleep",
		"TestParallelSleep", "TestIntConditions", "TestFloatConditions", "TestStringConditions",
		"TestToBoolNode", "TestBoolOperationNode", "TestIntMathOperation", "TestMakeListNode",
		"TestAccumulateNode", "TestAccumulationHeadNode", "TestAccumulationTailNode",
		"TestAccumulationToListNode", "TestListToAccumulationNode", "TestAccumulationGetLengthNode",
		"TestAccumulationGetItemNode", "TestAccumulationSetItemNode",
	} {
		if _, ok := r.Lookup(class); !ok {
			t.Errorf("%s is not registered", class)
		}
	}
	// Every variant runner knows its declared types.
	for _, nt := range Types() {
		if v, ok := nt.Runner.(*variantRunner); ok && (v.declared == nil || !nt.Schema.Validation.InputTypes) {
			t.Errorf("%s: @VariantSupport without declared types or InputTypes", nt.Class)
		}
	}
}
