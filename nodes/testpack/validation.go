// validation.go: TestCustomValidation1..5 and @VariantSupport's validation (variant, withVariants).

package testpack

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ebbgraph/ebb/engine"
)

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
