package testpack

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ebbgraph/ebb/engine"
)

func TestLazyMixImagesCheckLazy(t *testing.T) {
	lc, ok := nodeType(t, "TestLazyMixImages").Runner.(engine.LazyChecker)
	if !ok {
		t.Fatal("TestLazyMixImages is not a LazyChecker")
	}
	img := NewImage(1, 2, 2)
	for _, c := range []struct {
		mask   float32
		inputs map[string]any
		want   []string
	}{
		{0, map[string]any{}, []string{"image1"}},
		{1, map[string]any{}, []string{"image2"}},
		{0.5, map[string]any{}, []string{"image1", "image2"}},
		{0.5, map[string]any{"image1": img}, []string{"image2"}},
		{0.5, map[string]any{"image1": img, "image2": img}, nil},
		{0, map[string]any{"image1": img}, nil},
		{0.5, map[string]any{"image1": nil}, []string{"image1", "image2"}}, // None is missing
	} {
		c.inputs["mask"] = ConstantMask(1, 2, 2, c.mask)
		got, err := lc.CheckLazy(context.Background(), &engine.Call{Inputs: c.inputs})
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("mask %v, inputs %v: need %v (%v), want %v", c.mask, c.inputs, got, err, c.want)
		}
	}
	// A mask that is neither all 0 nor all 1 needs both.
	mixed := ConstantMask(1, 2, 2, 0)
	mixed.Data[3] = 1
	if got, _ := lc.CheckLazy(context.Background(), &engine.Call{Inputs: map[string]any{"mask": mixed}}); len(got) != 2 {
		t.Errorf("mixed mask needs %v", got)
	}
	if _, err := lc.CheckLazy(context.Background(), &engine.Call{Inputs: map[string]any{"mask": img}}); err == nil {
		t.Error("an image as mask was accepted")
	}
}

func TestLazyMixImagesRun(t *testing.T) {
	black, white := NewImage(1, 4, 4), ConstantImage(1, 4, 4, 1)
	// Mask 0 returns image1 without needing image2.
	r := mustCall(t, "TestLazyMixImages", map[string]any{"image1": black, "mask": ConstantMask(1, 4, 4, 0)})
	if image(t, r, 0) != black {
		t.Error("mask 0 did not pass image1 through")
	}
	r = mustCall(t, "TestLazyMixImages", map[string]any{"image2": white, "mask": ConstantMask(1, 4, 4, 1)})
	if image(t, r, 0) != white {
		t.Error("mask 1 did not pass image2 through")
	}
	r = mustCall(t, "TestLazyMixImages", map[string]any{"image1": black, "image2": white, "mask": ConstantMask(1, 4, 4, 0.5)})
	if pixel(t, image(t, r, 0)) != 127 {
		t.Error("mask 0.5 of black and white is not 127")
	}
	_, err := call(t, "TestLazyMixImages", map[string]any{"image1": black, "image2": ConstantImage(1, 2, 2, 1), "mask": ConstantMask(1, 4, 4, 0.5)})
	if err == nil || !strings.Contains(err.Error(), "size") {
		t.Errorf("shape mismatch: %v", err)
	}
	if _, err := call(t, "TestLazyMixImages", map[string]any{"image2": white, "mask": ConstantMask(1, 4, 4, 0)}); err == nil {
		t.Error("mask 0 without image1 succeeded")
	}
}

func TestVariadicAverage(t *testing.T) {
	black, white := NewImage(1, 4, 4), ConstantImage(1, 4, 4, 1)
	r := mustCall(t, "TestVariadicAverage", map[string]any{"input1": black, "input2": white, "input3": black, "input4": black})
	if pixel(t, image(t, r, 0)) != 63 {
		t.Error("average of BLACK, WHITE, BLACK, BLACK is not 63")
	}
	// Only consecutive inputs count: input4 without input3 is ignored.
	r = mustCall(t, "TestVariadicAverage", map[string]any{"input1": black, "input2": white, "input4": white})
	if pixel(t, image(t, r, 0)) != 127 {
		t.Error("input4 without input3 was averaged")
	}
	if _, err := call(t, "TestVariadicAverage", map[string]any{"input1": black, "input2": 1.0}); err == nil {
		t.Error("a float was averaged")
	}
}

func fingerprint(t *testing.T, class string, inputs map[string]any) any {
	t.Helper()
	f, ok := nodeType(t, class).Runner.(engine.Fingerprinter)
	if !ok {
		t.Fatalf("%s is not a Fingerprinter", class)
	}
	v, err := f.Fingerprint(&engine.Call{Node: "n1", Class: class, Inputs: inputs})
	if err != nil {
		t.Fatalf("%s fingerprint: %v", class, err)
	}
	return v
}

func TestCustomIsChanged(t *testing.T) {
	img := NewImage(1, 1, 1)
	if r := mustCall(t, "TestCustomIsChanged", map[string]any{"image": img, "should_change": true}); image(t, r, 0) != img {
		t.Error("not a passthrough")
	}
	if fp := fingerprint(t, "TestCustomIsChanged", map[string]any{"should_change": true}); fp != engine.AlwaysChanged {
		t.Errorf("should_change fingerprint %v", fp)
	}
	for _, in := range []map[string]any{{"should_change": false}, {}} {
		if fp := fingerprint(t, "TestCustomIsChanged", in); fp != false {
			t.Errorf("fingerprint of %v = %v, want false", in, fp)
		}
	}
}

func TestIsChangedWithConstants(t *testing.T) {
	r := mustCall(t, "TestIsChangedWithConstants", map[string]any{"image": ConstantImage(1, 2, 2, 0.5), "value": 0.5})
	if pixel(t, image(t, r, 0)) != 63 {
		t.Error("0.5 * 0.5 is not 63")
	}
	if fp := fingerprint(t, "TestIsChangedWithConstants", map[string]any{"value": 0.5}); fp != 0.5 {
		t.Errorf("constant fingerprint %v, want 0.5", fp)
	}
	if fp := fingerprint(t, "TestIsChangedWithConstants", map[string]any{"image": ConstantImage(1, 2, 2, 0.5), "value": 0.5}); fp != 0.25 {
		t.Errorf("image fingerprint %v, want 0.25", fp)
	}
}

func validate(t *testing.T, class string, values map[string]any, types map[string]string) error {
	t.Helper()
	v, ok := nodeType(t, class).Runner.(engine.Validator)
	if !ok {
		t.Fatalf("%s is not a Validator", class)
	}
	return v.ValidateInputs(engine.ValidationInput{Values: values, Types: types})
}

func TestCustomValidation(t *testing.T) {
	img := NewImage(1, 1, 1)
	for _, c := range []struct {
		class  string
		values map[string]any
		types  map[string]string
		errHas string // "" = valid
	}{
		{"TestCustomValidation1", map[string]any{"input1": int64(5), "input2": 3.0}, nil, "Invalid type of input1: <class 'int'>"},
		{"TestCustomValidation1", map[string]any{"input1": "foo", "input2": 3.0}, nil, "<class 'str'>"},
		{"TestCustomValidation1", map[string]any{"input1": 5.0, "input2": 3.0}, nil, ""},
		{"TestCustomValidation1", map[string]any{"input1": nil, "input2": img}, map[string]string{"input1": "INT"}, ""},
		{"TestCustomValidation2", map[string]any{"input1": nil, "input2": 3.0}, map[string]string{"input1": "INT"}, "Invalid type of input1: INT"},
		{"TestCustomValidation2", map[string]any{"input1": nil, "input2": 3.0}, map[string]string{"input1": "FLOAT"}, ""},
		{"TestCustomValidation2", map[string]any{"input1": true, "input2": 3.0}, nil, "<class 'bool'>"},
		{"TestCustomValidation3", map[string]any{"input1": nil, "input2": 3.0}, map[string]string{"input1": "INT"}, "Invalid type of input1: INT (expected IMAGE,FLOAT)"},
		{"TestCustomValidation3", map[string]any{"input1": nil, "input2": 3.0}, map[string]string{"input1": "FLOAT"}, ""},
		{"TestCustomValidation3", map[string]any{}, map[string]string{"input1": "*", "input2": "IMAGE,FLOAT"}, ""},
		{"TestCustomValidation3", map[string]any{}, map[string]string{"input2": "IMAGE,INT"}, "input2"},
		{"TestCustomValidation4", map[string]any{"input1": int64(5), "input2": 3.0}, nil, "<class 'int'>"},
		{"TestCustomValidation4", map[string]any{"input1": nil, "input2": 3.0}, map[string]string{"input1": "INT"}, ""},
		{"TestCustomValidation5", map[string]any{"input1": 0.0, "input2": 5.0}, nil, ""},
		{"TestCustomValidation5", map[string]any{"input1": 0.0, "input2": 7.0}, nil, "7s are not allowed"},
		{"TestCustomValidation5", map[string]any{"input1": 0.0, "input2": int64(7)}, nil, "7s are not allowed"},
		{"TestCustomValidation5", map[string]any{"input1": 0.0, "input2": nil}, nil, ""},
	} {
		err := validate(t, c.class, c.values, c.types)
		switch {
		case c.errHas == "" && err != nil:
			t.Errorf("%s %v %v: %v", c.class, c.values, c.types, err)
		case c.errHas != "" && (err == nil || !strings.Contains(err.Error(), c.errHas)):
			t.Errorf("%s %v %v: error %v, want one with %q", c.class, c.values, c.types, err, c.errHas)
		}
	}
	// The schemas map VALIDATE_INPUTS' signatures.
	for class, want := range map[string]engine.CustomValidation{
		"TestCustomValidation1": {Inputs: []string{"input1", "input2"}},
		"TestCustomValidation2": {Inputs: []string{"input1", "input2"}, InputTypes: true},
		"TestCustomValidation3": {InputTypes: true},
		"TestCustomValidation4": {Inputs: []string{"input1", "input2"}},
		"TestCustomValidation5": {AllInputs: true},
	} {
		got := nodeType(t, class).Schema.Validation
		if !slices.Equal(got.Inputs, want.Inputs) || got.AllInputs != want.AllInputs || got.InputTypes != want.InputTypes {
			t.Errorf("%s validation %+v, want %+v", class, got, want)
		}
	}
}

func TestCustomValidationRun(t *testing.T) {
	for _, class := range []string{"TestCustomValidation1", "TestCustomValidation2", "TestCustomValidation3", "TestCustomValidation4", "TestCustomValidation5"} {
		r := mustCall(t, class, map[string]any{"input1": 0.5, "input2": 0.5})
		m := image(t, r, 0)
		if !slices.Equal(m.Shape(), []int{1, 512, 512, 3}) || !m.AllEqual(0.25) {
			t.Errorf("%s(0.5, 0.5) = %v", class, m)
		}
	}
	r := mustCall(t, "TestCustomValidation1", map[string]any{"input1": ConstantImage(1, 2, 2, 0.5), "input2": 0.5})
	if pixel(t, image(t, r, 0)) != 63 {
		t.Error("image * float")
	}
	r = mustCall(t, "TestCustomValidation2", map[string]any{"input1": 0.5, "input2": ConstantImage(1, 2, 2, 0.5)})
	if pixel(t, image(t, r, 0)) != 63 {
		t.Error("float * image")
	}
	r = mustCall(t, "TestCustomValidation3", map[string]any{"input1": ConstantImage(1, 2, 2, 0.5), "input2": ConstantImage(1, 2, 2, 0.5)})
	if pixel(t, image(t, r, 0)) != 63 {
		t.Error("image * image")
	}
	if _, err := call(t, "TestCustomValidation1", map[string]any{"input1": "foo", "input2": NewImage(1, 1, 1)}); err == nil {
		t.Error("string * image succeeded")
	}
}

func TestDynamicDependencyCycleExpands(t *testing.T) {
	in1, in2 := NewImage(1, 2, 2), ConstantImage(1, 2, 2, 1)
	r := mustCall(t, "TestDynamicDependencyCycle", map[string]any{"input1": in1, "input2": in2})
	if r.Expand == nil || len(r.Expand.Nodes) != 3 || len(r.Expand.Outputs) != 1 {
		t.Fatalf("expansion %+v", r.Expand)
	}
	out, ok := r.Expand.Outputs[0].(engine.Ref)
	if !ok {
		t.Fatalf("output %v is not a link", r.Expand.Outputs[0])
	}
	mix2 := r.Expand.Nodes[out.Node]
	l1, _ := mix2.Link("image1")
	mix1 := r.Expand.Nodes[l1.Node]
	if mix1 == nil || mix2.Class != "TestLazyMixImages" || mix1.Class != "TestLazyMixImages" {
		t.Fatalf("nodes %v", r.Expand.Nodes)
	}
	if l2, _ := mix1.Link("image2"); l2.Node != out.Node {
		t.Error("mix1 does not need mix2: no cycle")
	}
	if mix1.Inputs["image1"] != in1 || mix2.Inputs["image2"] != in2 {
		t.Error("input values are not passed into the expansion")
	}
	if _, ok := nodeType(t, "TestDynamicDependencyCycle").Runner.(engine.MayExpand); !ok {
		t.Error("not MayExpand")
	}
}

func TestMixedExpansionReturns(t *testing.T) {
	nt := nodeType(t, "TestMixedExpansionReturns")
	if _, ok := nt.Runner.(engine.MayExpand); !ok {
		t.Error("not MayExpand")
	}
	for v, want := range map[float64]int{0.1: 25, 0.2: 51} {
		r := mustCall(t, "TestMixedExpansionReturns", map[string]any{"input1": v})
		if r.Expand != nil || pixel(t, image(t, r, 0)) != want || pixel(t, image(t, r, 1)) != 255 {
			t.Errorf("%v: %+v", v, r)
		}
	}
	r := mustCall(t, "TestMixedExpansionReturns", map[string]any{"input1": 0.3})
	if r.Expand == nil || len(r.Expand.Nodes) != 4 || len(r.Expand.Outputs) != 2 {
		t.Fatalf("0.3: %+v", r)
	}
	ref, ok := r.Expand.Outputs[0].(engine.Ref)
	if !ok || r.Expand.Nodes[ref.Node] == nil || r.Expand.Nodes[ref.Node].Class != "TestLazyMixImages" {
		t.Errorf("output 0 = %v", r.Expand.Outputs[0])
	}
	if m, ok := r.Expand.Outputs[1].(*Image); !ok || pixel(t, m) != 255 {
		t.Errorf("output 1 = %v", r.Expand.Outputs[1])
	}
	// Ids come from the call's prefixes: two graphs never share an id.
	c := &engine.Call{Node: "n1", Inputs: map[string]any{"input1": 0.3}}
	r1, _ := nt.Runner.Run(context.Background(), c)
	r2, _ := nt.Runner.Run(context.Background(), c)
	for id := range r1.Expand.Nodes {
		if r2.Expand.Nodes[id] != nil {
			t.Errorf("id %s made twice", id)
		}
	}
}

func TestExecutionBlocker(t *testing.T) {
	img := NewImage(1, 1, 1)
	r := mustCall(t, "TestExecutionBlocker", map[string]any{"input": img, "block": false, "verbose": false})
	if r.Outputs[0] != img {
		t.Error("not blocked, but not passed through")
	}
	for verbose, msg := range map[bool]string{false: "", true: "Blocked Execution"} {
		r := mustCall(t, "TestExecutionBlocker", map[string]any{"input": img, "block": true, "verbose": verbose})
		b, ok := r.Outputs[0].(*engine.Blocker)
		if !ok || b.Message != msg {
			t.Errorf("verbose %v: %#v", verbose, r.Outputs[0])
		}
	}
	if err := validate(t, "TestExecutionBlocker", nil, map[string]string{"input": "IMAGE", "block": "BOOLEAN"}); err != nil {
		t.Error(err)
	}
	if err := validate(t, "TestExecutionBlocker", nil, map[string]string{"block": "INT"}); err == nil {
		t.Error("INT as block accepted")
	}
}

func TestOutputNodeWithSocketOutput(t *testing.T) {
	nt := nodeType(t, "TestOutputNodeWithSocketOutput")
	if !nt.Schema.OutputNode || len(nt.Schema.Outputs) != 1 {
		t.Error("want an output node with one output")
	}
	r := mustCall(t, "TestOutputNodeWithSocketOutput", map[string]any{"image": ConstantImage(1, 1, 1, 0.25), "value": 2.0})
	if pixel(t, image(t, r, 0)) != 127 {
		t.Error("0.25 * 2 is not 127")
	}
}

func TestSleep(t *testing.T) {
	start := time.Now()
	r := mustCall(t, "TestSleep", map[string]any{"value": "v", "seconds": 0.05})
	if r.Outputs[0] != "v" || time.Since(start) < 50*time.Millisecond {
		t.Errorf("sleep returned %v after %v", r.Outputs, time.Since(start))
	}
	if r := mustCall(t, "TestSleep", map[string]any{"value": 1, "seconds": 0.0}); r.Outputs[0] != 1 {
		t.Error("zero sleep")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err := nodeType(t, "TestSleep").Runner.Run(ctx, &engine.Call{Inputs: map[string]any{"value": 1, "seconds": 100.0}})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("cancelled sleep: %v after %v", err, time.Since(start))
	}
}

func TestParallelSleepExpands(t *testing.T) {
	nt := nodeType(t, "TestParallelSleep")
	if !nt.Schema.OutputNode {
		t.Error("not an output node")
	}
	imgs := []*Image{NewImage(1, 1, 1), ConstantImage(1, 1, 1, 1), ConstantImage(1, 1, 1, 1)}
	r := mustCall(t, "TestParallelSleep", map[string]any{
		"image1": imgs[0], "image2": imgs[1], "image3": imgs[2], "sleep1": 0.1, "sleep2": 0.2, "sleep3": 0.3})
	if r.Expand == nil || len(r.Expand.Nodes) != 4 {
		t.Fatalf("expansion %+v", r.Expand)
	}
	blend := r.Expand.Nodes[r.Expand.Outputs[0].(engine.Ref).Node]
	if blend.Class != "TestVariadicAverage" {
		t.Fatalf("result node %v", blend)
	}
	for i, name := range []string{"input1", "input2", "input3"} {
		l, ok := blend.Link(name)
		s := r.Expand.Nodes[l.Node]
		if !ok || s == nil || s.Class != "TestSleep" || s.Inputs["value"] != imgs[i] || s.Inputs["seconds"] != []float64{0.1, 0.2, 0.3}[i] {
			t.Errorf("%s <- %v %v", name, l, s)
		}
	}
}

func TestPyType(t *testing.T) {
	for v, want := range map[any]string{nil: "NoneType", true: "bool", int64(1): "int", 1.5: "float", "s": "str"} {
		if got := pyType(v); got != "<class '"+want+"'>" {
			t.Errorf("pyType(%v) = %s", v, got)
		}
	}
	if pyType(NewImage(1, 1, 1)) != "<class 'torch.Tensor'>" || pyType([]any{}) != "<class 'list'>" {
		t.Error("pyType of image or list")
	}
}

func TestSmartType(t *testing.T) {
	for _, c := range []struct {
		received, expected string
		ne                 bool
	}{
		{"INT", "IMAGE,FLOAT", true}, {"FLOAT", "IMAGE,FLOAT", false}, {"IMAGE,FLOAT", "IMAGE,FLOAT", false},
		{"*", "INT", false}, {"INT", "*", false}, {"IMAGE,INT", "IMAGE,FLOAT", true}, {"IMAGE,FLOAT", "FLOAT", true},
	} {
		if got := smartNE(c.received, c.expected); got != c.ne {
			t.Errorf("smartNE(%q, %q) = %v", c.received, c.expected, got)
		}
	}
}

// TestSleep reports its progress while it waits, ending at its length.
func TestSleepReportsProgress(t *testing.T) {
	var mu sync.Mutex
	var values []float64
	obs := engine.ObserverFunc(func(ev engine.Event) {
		if ev.Type == engine.EventProgress && ev.Node == "sleep" {
			mu.Lock()
			values = append(values, ev.Value, ev.Max)
			mu.Unlock()
		}
	})
	e, err := engine.New(engine.Options{Registry: Registry(), Observers: []engine.Observer{obs}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	wf := engine.Workflow{
		"img":   {Class: "StubImage", Inputs: map[string]any{"content": "BLACK", "height": int64(1), "width": int64(1), "batch_size": int64(1)}},
		"sleep": {Class: "TestSleep", Inputs: map[string]any{"value": engine.Ref{Node: "img"}, "seconds": 0.12}},
		"out":   {Class: "PreviewImage", Inputs: map[string]any{"images": engine.Ref{Node: "sleep"}}},
	}
	if _, err := e.Run(context.Background(), wf, engine.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(values) < 4 || values[len(values)-2] != 0.12 || values[len(values)-1] != 0.12 {
		t.Errorf("progress (value, max) pairs %v: want ticks ending at 0.12 of 0.12", values)
	}
}
