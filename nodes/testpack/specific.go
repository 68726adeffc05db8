package testpack

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ebbgraph/ebb/engine"
)

// The classes of ComfyUI's specific_tests.py, plus TestExecutionBlocker.

func specificTypes() []*engine.NodeType {
	imageAndFloat := []engine.InputSpec{in("input1", "IMAGE,FLOAT"), in("input2", "IMAGE,FLOAT")}
	return withVariants([]*engine.NodeType{
		{
			Class: "TestLazyMixImages",
			Schema: engine.Schema{
				Inputs: []engine.InputSpec{
					{Name: "image1", Type: "IMAGE", Lazy: true},
					{Name: "image2", Type: "IMAGE", Lazy: true},
					in("mask", "MASK"),
				},
				Outputs: []engine.OutputSpec{out("IMAGE", "IMAGE")},
			},
			Runner: lazyMix{},
		},
		{
			Class: "TestVariadicAverage",
			Schema: engine.Schema{
				Inputs:  []engine.InputSpec{in("input1", "IMAGE")},
				Outputs: []engine.OutputSpec{out("IMAGE", "IMAGE")},
			},
			Runner: engine.RunFunc(variadicAverage),
		},
		{
			Class: "TestCustomIsChanged",
			Schema: engine.Schema{
				Inputs: []engine.InputSpec{
					in("image", "IMAGE"),
					{Name: "should_change", Type: "BOOL", Optional: true, Default: false},
				},
				Outputs: []engine.OutputSpec{out("IMAGE", "IMAGE")},
			},
			Runner: customIsChanged{},
		},
		{
			Class: "TestIsChangedWithConstants",
			Schema: engine.Schema{
				Inputs:  []engine.InputSpec{in("image", "IMAGE"), floatIn("value", 1, 0, 10, 0)},
				Outputs: []engine.OutputSpec{out("IMAGE", "IMAGE")},
			},
			Runner: isChangedWithConstants{},
		},
		{
			Class: "TestCustomValidation1",
			Schema: engine.Schema{
				Inputs:     imageAndFloat,
				Outputs:    []engine.OutputSpec{out("IMAGE", "IMAGE")},
				Validation: engine.CustomValidation{Inputs: []string{"input1", "input2"}},
			},
			Runner: customValidation{variant: 1},
		},
		{
			Class: "TestCustomValidation2",
			Schema: engine.Schema{
				Inputs:     imageAndFloat,
				Outputs:    []engine.OutputSpec{out("IMAGE", "IMAGE")},
				Validation: engine.CustomValidation{Inputs: []string{"input1", "input2"}, InputTypes: true},
			},
			Runner: customValidation{variant: 2},
		},
		{
			// TestCustomValidation3 is decorated with @VariantSupport in
			// ComfyUI: its only validation is the set-subset type check.
			Class: "TestCustomValidation3",
			Schema: engine.Schema{
				Inputs:     imageAndFloat,
				Outputs:    []engine.OutputSpec{out("IMAGE", "IMAGE")},
				Validation: engine.CustomValidation{InputTypes: true},
			},
			Runner: customValidation{variant: 3},
		},
		{
			Class: "TestCustomValidation4",
			Schema: engine.Schema{
				Inputs:     []engine.InputSpec{in("input1", "FLOAT"), in("input2", "FLOAT")},
				Outputs:    []engine.OutputSpec{out("IMAGE", "IMAGE")},
				Validation: engine.CustomValidation{Inputs: []string{"input1", "input2"}},
			},
			Runner: customValidation{variant: 4},
		},
		{
			Class: "TestCustomValidation5",
			Schema: engine.Schema{
				Inputs: []engine.InputSpec{
					{Name: "input1", Type: "FLOAT", Min: engine.F(0), Max: engine.F(1)},
					{Name: "input2", Type: "FLOAT", Min: engine.F(0), Max: engine.F(1)},
				},
				Outputs:    []engine.OutputSpec{out("IMAGE", "IMAGE")},
				Validation: engine.CustomValidation{AllInputs: true},
			},
			Runner: customValidation{variant: 5},
		},
		{
			Class: "TestDynamicDependencyCycle",
			Schema: engine.Schema{
				Inputs:  []engine.InputSpec{in("input1", "IMAGE"), in("input2", "IMAGE")},
				Outputs: []engine.OutputSpec{out("IMAGE", "IMAGE")},
			},
			Runner: dynamicDependencyCycle{},
		},
		{
			Class: "TestMixedExpansionReturns",
			Schema: engine.Schema{
				Inputs:  []engine.InputSpec{in("input1", "FLOAT")},
				Outputs: []engine.OutputSpec{out("IMAGE", "IMAGE"), out("IMAGE", "IMAGE")},
			},
			Runner: mixedExpansionReturns{},
		},
		{
			Class: "TestExecutionBlocker",
			Schema: engine.Schema{
				Inputs: []engine.InputSpec{
					in("input", "*"),
					in("block", "BOOLEAN"),
					{Name: "verbose", Type: "BOOLEAN", Default: false},
				},
				Outputs:    []engine.OutputSpec{out("output", "*")},
				Validation: engine.CustomValidation{InputTypes: true},
			},
			Runner: variant(engine.RunFunc(executionBlocker)),
		},
		{
			Class: "TestOutputNodeWithSocketOutput",
			Schema: engine.Schema{
				Inputs:     []engine.InputSpec{in("image", "IMAGE"), floatIn("value", 1, 0, 10, 0)},
				Outputs:    []engine.OutputSpec{out("IMAGE", "IMAGE")},
				OutputNode: true,
			},
			Runner: engine.RunFunc(scaleImage),
		},
		{
			Class: "TestSleep",
			Schema: engine.Schema{
				Inputs: []engine.InputSpec{
					in("value", "*"),
					floatIn("seconds", 1, 0, 9999, 0.01),
					uniqueID(),
				},
				Outputs: []engine.OutputSpec{out("*", "*")},
			},
			Runner: engine.RunFunc(sleep),
		},
		{
			Class: "TestParallelSleep",
			Schema: engine.Schema{
				Inputs: []engine.InputSpec{
					in("image1", "IMAGE"), in("image2", "IMAGE"), in("image3", "IMAGE"),
					floatIn("sleep1", 0.5, 0, 10, 0.01),
					floatIn("sleep2", 0.5, 0, 10, 0.01),
					floatIn("sleep3", 0.5, 0, 10, 0.01),
					uniqueID(),
				},
				Outputs:    []engine.OutputSpec{out("IMAGE", "IMAGE")},
				OutputNode: true,
			},
			Runner: parallelSleep{},
		},
	})
}

// lazyMix is TestLazyMixImages: image1*(1-mask)+image2*mask, evaluating
// image1 only when the mask is not all 1 and image2 only when it is not all
// 0.
type lazyMix struct{}

var (
	_ engine.Runner      = lazyMix{}
	_ engine.LazyChecker = lazyMix{}
)

func mixMask(c *engine.Call) (*Image, error) {
	m, ok := c.Inputs["mask"].(*Image)
	if !ok || m == nil || !m.IsMask() {
		return nil, fmt.Errorf("mask: want a MASK, got %v", describe(c.Inputs["mask"]))
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("mask: %w", err)
	}
	return m, nil
}

// missing is Python's "x is None" for an input: absent or nil.
func missing(c *engine.Call, name string) bool { return c.Inputs[name] == nil }

// CheckLazy asks for the images the mask needs.
func (lazyMix) CheckLazy(_ context.Context, c *engine.Call) ([]string, error) {
	mask, err := mixMask(c)
	if err != nil {
		return nil, err
	}
	var need []string
	if missing(c, "image1") && !mask.AllEqual(1) {
		need = append(need, "image1")
	}
	if missing(c, "image2") && !mask.AllEqual(0) {
		need = append(need, "image2")
	}
	return need, nil
}

func (lazyMix) Run(ctx context.Context, c *engine.Call) (engine.Result, error) {
	mask, err := mixMask(c)
	if err != nil {
		return engine.Result{}, err
	}
	switch {
	case mask.AllEqual(0):
		im, err := asImage(c.Inputs["image1"], "image1")
		return engine.Outputs(im), err
	case mask.AllEqual(1):
		im, err := asImage(c.Inputs["image2"], "image2")
		return engine.Outputs(im), err
	}
	a, err := asImage(c.Inputs["image1"], "image1")
	if err != nil {
		return engine.Result{}, err
	}
	b, err := asImage(c.Inputs["image2"], "image2")
	if err != nil {
		return engine.Result{}, err
	}
	m, err := mix(a, b, mask, callAlloc(ctx, c))
	if err != nil {
		return engine.Result{}, err
	}
	return engine.Outputs(m), nil
}

// variadicAverage is TestVariadicAverage: the mean of input1, input2, ...
// read while the names are consecutive (input2.. are undeclared).
func variadicAverage(ctx context.Context, c *engine.Call) (engine.Result, error) {
	var images []*Image
	for i := 1; ; i++ {
		name := "input" + strconv.Itoa(i)
		v, ok := c.Inputs[name]
		if !ok {
			break
		}
		m, err := asImage(v, name)
		if err != nil {
			return engine.Result{}, err
		}
		images = append(images, m)
	}
	avg, err := average(callAlloc(ctx, c), images...)
	if err != nil {
		return engine.Result{}, err
	}
	return engine.Outputs(avg), nil
}

// customIsChanged is TestCustomIsChanged: a passthrough whose fingerprint
// is AlwaysChanged when should_change.
type customIsChanged struct{}

var (
	_ engine.Runner        = customIsChanged{}
	_ engine.Fingerprinter = customIsChanged{}
)

func (customIsChanged) Run(_ context.Context, c *engine.Call) (engine.Result, error) {
	return engine.Outputs(c.Inputs["image"]), nil
}

// Fingerprint is AlwaysChanged (ComfyUI's NaN) when should_change, else
// false.
func (customIsChanged) Fingerprint(c *engine.Call) (any, error) {
	if pyBool(c.Inputs["should_change"]) {
		return engine.AlwaysChanged, nil
	}
	return false, nil
}

// isChangedWithConstants is TestIsChangedWithConstants: image*value, with a
// fingerprint that sees only constants (value when image is absent).
type isChangedWithConstants struct{}

var (
	_ engine.Runner        = isChangedWithConstants{}
	_ engine.Fingerprinter = isChangedWithConstants{}
)

func (isChangedWithConstants) Run(ctx context.Context, c *engine.Call) (engine.Result, error) {
	return scaleImage(ctx, c)
}

// Fingerprint is value when image is absent (linked), else mean(image)*value.
func (isChangedWithConstants) Fingerprint(c *engine.Call) (any, error) {
	v, err := c.Float("value")
	if err != nil {
		return nil, err
	}
	if m, ok := c.Inputs["image"].(*Image); ok && m != nil {
		return m.Mean() * v, nil
	}
	return v, nil
}

// scaleImage returns image*value.
func scaleImage(ctx context.Context, c *engine.Call) (engine.Result, error) {
	m, err := asImage(c.Inputs["image"], "image")
	if err != nil {
		return engine.Result{}, err
	}
	v, err := c.Float("value")
	if err != nil {
		return engine.Result{}, err
	}
	out, err := m.scale(v, callAlloc(ctx, c))
	if err != nil {
		return engine.Result{}, err
	}
	return engine.Outputs(out), nil
}

// customValidation is TestCustomValidation1..5 (see the schemas).
type customValidation struct{ variant int }

var (
	_ engine.Runner    = customValidation{}
	_ engine.Validator = customValidation{}
)

// ValidateInputs is the VALIDATE_INPUTS of each variant:
//  1. values must be images or floats;
//  2. as 1, and the received link types must be IMAGE or FLOAT;
//  3. @VariantSupport: received types must be subsets of IMAGE,FLOAT;
//  4. values must be floats;
//  5. input2 must not be 7.
func (v customValidation) ValidateInputs(in engine.ValidationInput) error {
	names := []string{"input1", "input2"}
	switch v.variant {
	case 1, 2:
		for _, k := range names {
			if x := in.Values[k]; x != nil {
				if _, img := x.(*Image); !img && !isFloat(x) {
					return fmt.Errorf("Invalid type of %s: %s", k, pyType(x))
				}
			}
		}
		if v.variant == 2 {
			for _, k := range names {
				if t, ok := in.Types[k]; ok && t != "IMAGE" && t != "FLOAT" {
					return fmt.Errorf("Invalid type of %s: %s", k, t)
				}
			}
		}
	case 3:
		return variantCheck(in, map[string]string{"input1": "IMAGE,FLOAT", "input2": "IMAGE,FLOAT"})
	case 4:
		for _, k := range names {
			if x := in.Values[k]; x != nil && !isFloat(x) {
				return fmt.Errorf("Invalid type of %s: %s", k, pyType(x))
			}
		}
	case 5:
		if f, err := engine.AsFloat(in.Values["input2"]); err == nil && f == 7 {
			return errors.New("7s are not allowed. I've never liked 7s.")
		}
	}
	return nil
}

func (v customValidation) Run(ctx context.Context, c *engine.Call) (engine.Result, error) {
	a, b := c.Inputs["input1"], c.Inputs["input2"]
	alloc := callAlloc(ctx, c)
	switch v.variant {
	case 4, 5:
		x, err := engine.AsFloat(a)
		if err != nil {
			return engine.Result{}, fmt.Errorf("input1: %w", err)
		}
		y, err := engine.AsFloat(b)
		if err != nil {
			return engine.Result{}, fmt.Errorf("input2: %w", err)
		}
		if v.variant == 4 { // ones * input1 * input2
			return constantOutputs(alloc, float32(x)*float32(y))
		}
		return constantOutputs(alloc, float32(x*y))
	}
	if isFloat(a) && isFloat(b) {
		x, _ := engine.AsFloat(a)
		y, _ := engine.AsFloat(b)
		return constantOutputs(alloc, float32(x)*float32(y))
	}
	r, err := mulValues(a, b, alloc)
	if err != nil {
		return engine.Result{}, err
	}
	return engine.Outputs(r), nil
}

// constantOutputs is the one output of a 512x512 IMAGE of value v.
func constantOutputs(alloc allocFunc, v float32) (engine.Result, error) {
	m, err := alloc(1, 512, 512, 3)
	if err != nil {
		return engine.Result{}, err
	}
	return engine.Outputs(m.fill(v)), nil
}

// mulValues multiplies images and numbers (input1 * input2).
func mulValues(a, b any, alloc allocFunc) (any, error) {
	ai, aImg := a.(*Image)
	bi, bImg := b.(*Image)
	for i, m := range []*Image{ai, bi} {
		if m != nil {
			if err := m.check(); err != nil {
				return nil, fmt.Errorf("input%d: %w", i+1, err)
			}
		}
	}
	switch {
	case aImg && bImg:
		return mul(ai, bi, alloc)
	case aImg:
		f, err := engine.AsFloat(b)
		if err != nil {
			return nil, fmt.Errorf("input2: %w", err)
		}
		return ai.scale(f, alloc)
	case bImg:
		f, err := engine.AsFloat(a)
		if err != nil {
			return nil, fmt.Errorf("input1: %w", err)
		}
		return bi.scale(f, alloc)
	}
	x, err := engine.AsFloat(a)
	if err != nil {
		return nil, fmt.Errorf("input1: %w", err)
	}
	y, err := engine.AsFloat(b)
	if err != nil {
		return nil, fmt.Errorf("input2: %w", err)
	}
	return x * y, nil
}

// pyType names v's type as Python's type() would print it.
func pyType(v any) string {
	switch v.(type) {
	case bool:
		return "<class 'bool'>"
	case int, int32, int64:
		return "<class 'int'>"
	case float32, float64:
		return "<class 'float'>"
	case string:
		return "<class 'str'>"
	case *Image:
		return "<class 'torch.Tensor'>"
	case []any:
		return "<class 'list'>"
	case map[string]any:
		return "<class 'dict'>"
	case nil:
		return "<class 'NoneType'>"
	}
	return fmt.Sprintf("<class '%T'>", v)
}

// dynamicDependencyCycle is TestDynamicDependencyCycle: it expands into two
// lazy mixes that each need the other's output, a cycle that only exists
// at run time.
type dynamicDependencyCycle struct{}

var (
	_ engine.Runner    = dynamicDependencyCycle{}
	_ engine.MayExpand = dynamicDependencyCycle{}
)

func (dynamicDependencyCycle) MayExpand() {}

func (dynamicDependencyCycle) Run(_ context.Context, c *engine.Call) (engine.Result, error) {
	p := c.NewPrefix()
	mask, mix1, mix2 := engine.NodeID(p+"mask"), engine.NodeID(p+"mix1"), engine.NodeID(p+"mix2")
	nodes := engine.Workflow{
		mask: {Class: "StubMask", Inputs: map[string]any{
			"value": 0.5, "height": int64(512), "width": int64(512), "batch_size": int64(1)}},
		mix1: {Class: "TestLazyMixImages", Inputs: map[string]any{
			"image1": c.Inputs["input1"], "image2": engine.Ref{Node: mix2}, "mask": engine.Ref{Node: mask}}},
		mix2: {Class: "TestLazyMixImages", Inputs: map[string]any{
			"image1": engine.Ref{Node: mix1}, "image2": c.Inputs["input2"], "mask": engine.Ref{Node: mask}}},
	}
	return engine.Result{Expand: &engine.Expansion{Nodes: nodes, Outputs: []any{engine.Ref{Node: mix2}}}}, nil
}

// mixedExpansionReturns is TestMixedExpansionReturns: per call, input1 <=
// 0.1 returns plain outputs, <= 0.2 returns outputs the way a ComfyUI result
// dict does, and above that expands into a lazy mix of BLACK and WHITE
// with a 0.3 mask (the second output is always a WHITE image).
type mixedExpansionReturns struct{}

var (
	_ engine.Runner    = mixedExpansionReturns{}
	_ engine.MayExpand = mixedExpansionReturns{}
)

func (mixedExpansionReturns) MayExpand() {}

func (mixedExpansionReturns) Run(ctx context.Context, c *engine.Call) (engine.Result, error) {
	v, err := c.Float("input1")
	if err != nil {
		return engine.Result{}, err
	}
	alloc := callAlloc(ctx, c)
	constant := func(v float32) (*Image, error) {
		m, err := alloc(1, 512, 512, 3)
		if err != nil {
			return nil, err
		}
		return m.fill(v), nil
	}
	white, err := constant(1)
	if err != nil {
		return engine.Result{}, err
	}
	switch {
	case v <= 0.1:
		first, err := constant(0.1)
		if err != nil {
			return engine.Result{}, err
		}
		return engine.Outputs(first, white), nil
	case v <= 0.2:
		first, err := constant(0.2)
		if err != nil {
			return engine.Result{}, err
		}
		return engine.Result{Outputs: []any{first, white}}, nil
	}
	p := c.NewPrefix()
	id := func(local string) engine.NodeID { return engine.NodeID(p + local) }
	size := func(in map[string]any) map[string]any {
		in["height"], in["width"], in["batch_size"] = int64(512), int64(512), int64(1)
		return in
	}
	nodes := engine.Workflow{
		id("mask"):  {Class: "StubMask", Inputs: size(map[string]any{"value": 0.3})},
		id("black"): {Class: "StubImage", Inputs: size(map[string]any{"content": "BLACK"})},
		id("white"): {Class: "StubImage", Inputs: size(map[string]any{"content": "WHITE"})},
		id("mix"): {Class: "TestLazyMixImages", Inputs: map[string]any{
			"image1": engine.Ref{Node: id("black")},
			"image2": engine.Ref{Node: id("white")},
			"mask":   engine.Ref{Node: id("mask")},
		}},
	}
	return engine.Result{Expand: &engine.Expansion{
		Nodes:   nodes,
		Outputs: []any{engine.Ref{Node: id("mix")}, white},
	}}, nil
}

// executionBlocker is TestExecutionBlocker: block yields a blocker (with
// the message "Blocked Execution" when verbose, else silent), otherwise
// the input passes through.
func executionBlocker(_ context.Context, c *engine.Call) (engine.Result, error) {
	if pyBool(c.Inputs["block"]) {
		msg := ""
		if pyBool(c.Inputs["verbose"]) {
			msg = "Blocked Execution"
		}
		return engine.Blocked(msg, 1), nil
	}
	return engine.Outputs(c.Inputs["input"]), nil
}

// sleep is TestSleep: it waits seconds (or until ctx is done) and returns
// value.
func sleep(ctx context.Context, c *engine.Call) (engine.Result, error) {
	s, err := c.Float("seconds")
	if err != nil {
		return engine.Result{}, err
	}
	d, err := sleepDuration(s)
	if err != nil {
		return engine.Result{}, err
	}
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		tick := time.NewTicker(sleepProgressEvery)
		defer tick.Stop()
		start := time.Now()
	wait:
		for {
			select {
			case <-ctx.Done():
				return engine.Result{}, ctx.Err()
			case <-tick.C:
				c.Progress(min(time.Since(start).Seconds(), s), s)
			case <-t.C:
				break wait
			}
		}
		c.Progress(s, s)
	}
	return engine.Outputs(c.Inputs["value"]), nil
}

// sleepProgressEvery is how often TestSleep reports its progress (as
// ComfyUI's updates its ProgressBar while it waits).
const sleepProgressEvery = 50 * time.Millisecond

// sleepDuration converts seconds to a Duration: 0 for a negative number,
// an error for NaN and for a length past a Duration's 292 years (a
// link bypasses the schema's bound, and Go's float-to-int conversion of
// such a number is undefined: it used to wrap to a negative duration and
// not sleep at all).
func sleepDuration(s float64) (time.Duration, error) {
	const most = float64(math.MaxInt64 / int64(time.Second))
	switch {
	case math.IsNaN(s):
		return 0, fmt.Errorf("seconds: sleep length is not a number")
	case s > most:
		return 0, fmt.Errorf("seconds: %w: %g seconds does not fit in a 64-bit duration (at most %g)", ErrIntOverflow, s, most)
	case s <= 0:
		return 0, nil
	}
	return time.Duration(s * float64(time.Second)), nil
}

// parallelSleep is TestParallelSleep: an output node that expands into
// three TestSleep nodes (one per image) averaged by TestVariadicAverage.
type parallelSleep struct{}

var (
	_ engine.Runner    = parallelSleep{}
	_ engine.MayExpand = parallelSleep{}
)

func (parallelSleep) MayExpand() {}

func (parallelSleep) Run(_ context.Context, c *engine.Call) (engine.Result, error) {
	p := c.NewPrefix()
	nodes := engine.Workflow{}
	blend := &engine.Node{Class: "TestVariadicAverage", Inputs: map[string]any{}}
	for i := 1; i <= 3; i++ {
		n := strconv.Itoa(i)
		s, err := c.Float("sleep" + n)
		if err != nil {
			return engine.Result{}, err
		}
		id := engine.NodeID(p + "sleep" + n)
		nodes[id] = &engine.Node{Class: "TestSleep", Inputs: map[string]any{"value": c.Inputs["image"+n], "seconds": s}}
		blend.Inputs["input"+n] = engine.Ref{Node: id}
	}
	bid := engine.NodeID(p + "blend")
	nodes[bid] = blend
	return engine.Result{Expand: &engine.Expansion{Nodes: nodes, Outputs: []any{engine.Ref{Node: bid}}}}, nil
}

// pyBool is Python's bool(v) for the values of this pack.
func pyBool(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case int:
		return x != 0
	case int32:
		return x != 0
	case int64:
		return x != 0
	case float32:
		return x != 0
	case float64:
		return x != 0
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

// smartNE is the inequality of ComfyUI's SmartType: false when either side
// is "*", else true unless every part of received is a part of expected.
func smartNE(received, expected string) bool {
	if received == "*" || expected == "*" {
		return false
	}
	want := strings.Split(expected, ",")
	for _, t := range strings.Split(received, ",") {
		if !slices.Contains(want, t) {
			return true
		}
	}
	return false
}

// variantCheck is the VALIDATE_INPUTS that @VariantSupport installs: each
// received link type must match the declared type (see smartNE).
func variantCheck(in engine.ValidationInput, declared map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(in.Types)) {
		want, ok := declared[k]
		if !ok {
			continue
		}
		if t := in.Types[k]; smartNE(t, want) {
			return fmt.Errorf("Invalid type of %s: %s (expected %s)", k, t, want)
		}
	}
	return nil
}

// variantRunner adds @VariantSupport's validation to a runner; the
// schema's Validation must set InputTypes. Only Run is promoted, so wrap
// only runners without other capabilities.
type variantRunner struct {
	engine.Runner
	declared map[string]string
}

var _ engine.Validator = (*variantRunner)(nil)

func (v *variantRunner) ValidateInputs(in engine.ValidationInput) error {
	return variantCheck(in, v.declared)
}

// variant returns r with @VariantSupport validation; the declared types are
// filled in by withVariants once the schema is known.
func variant(r engine.Runner) *variantRunner { return &variantRunner{Runner: r} }

// withVariants fills the declared types of variant runners from their
// schemas.
func withVariants(types []*engine.NodeType) []*engine.NodeType {
	for _, t := range types {
		if v, ok := t.Runner.(*variantRunner); ok {
			v.declared = map[string]string{}
			for _, in := range t.Schema.Inputs {
				if in.Hidden == engine.NotHidden {
					v.declared[in.Name] = in.Type
				}
			}
		}
	}
	return types
}

// describe names a value for error messages.
func describe(v any) string {
	if m, ok := v.(*Image); ok {
		return m.String()
	}
	return fmt.Sprintf("%T", v)
}
