package testpack

import (
	"runtime"
	"slices"
	"sync"
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

// TestAccumulationAppend: appends share one array where they can, and no
// accumulation ever sees another's items.
func TestAccumulationAppend(t *testing.T) {
	var empty Accumulation
	a1 := empty.Append(1)
	a2 := a1.Append(2)
	a3 := a1.Append(3) // a branch: copies
	a4 := a2.Append(4)
	a5 := a2.Append(5)
	u := Accumulation{Items: make([]any, 1, 8)}
	u1, u2 := u.Append(6), u.Append(7) // made by hand, spare capacity: copies
	for _, c := range []struct {
		got  Accumulation
		want []any
	}{
		{empty, nil}, {a1, []any{1}}, {a2, []any{1, 2}}, {a3, []any{1, 3}}, {a4, []any{1, 2, 4}}, {a5, []any{1, 2, 5}},
		{u, []any{nil}}, {u1, []any{nil, 6}}, {u2, []any{nil, 7}},
	} {
		if !slices.Equal(c.got.Items, c.want) || c.got.tail != nil && cap(c.got.Items) != len(c.got.Items) {
			t.Errorf("items %v (cap %d), want %v", c.got.Items, cap(c.got.Items), c.want)
		}
	}
	if &a2.Items[0] != &a4.Items[0] {
		t.Error("a linear append copied")
	}
	// A chain of n appends, every version kept (release level 0): linear
	// memory, where a copy per append would take n^2/2 items.
	const n = 20000
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	chain := make([]Accumulation, n+1)
	for i := range n {
		chain[i+1] = chain[i].Append(i)
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 16<<20 {
		t.Errorf("%d appends allocated %d bytes", n, got)
	}
	for i, a := range chain {
		if len(a.Items) != i || i > 0 && a.Items[i-1] != i-1 {
			t.Fatalf("version %d: %d items", i, len(a.Items))
		}
	}
	// Concurrent appends to one accumulation: one extends, the others copy.
	var wg sync.WaitGroup
	res := make([]Accumulation, 8)
	for g := range res {
		wg.Go(func() { res[g] = a2.Append(g) })
	}
	wg.Wait()
	for g, a := range res {
		if !slices.Equal(a.Items, []any{1, 2, g}) {
			t.Errorf("goroutine %d: %v", g, a.Items)
		}
	}
	// Head and tail share their input's array and copy nothing.
	r := mustCall(t, "TestAccumulationHeadNode", map[string]any{"accumulation": a4})
	if rest := r.Outputs[0].(Accumulation); !slices.Equal(rest.Append(9).Items, []any{2, 4, 9}) || !slices.Equal(a4.Items, []any{1, 2, 4}) {
		t.Errorf("head then append: %v, input %v", rest.Append(9).Items, a4.Items)
	}
	r = mustCall(t, "TestAccumulationTailNode", map[string]any{"accumulation": a4})
	if rest := r.Outputs[0].(Accumulation); !slices.Equal(rest.Append(9).Items, []any{1, 2, 9}) || !slices.Equal(a4.Items, []any{1, 2, 4}) {
		t.Errorf("tail then append: %v, input %v", rest.Append(9).Items, a4.Items)
	}
}
