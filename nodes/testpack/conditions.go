package testpack

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/ebbgraph/ebb/engine"
)

// The classes of ComfyUI's conditions.py.

var compareOps = []string{"==", "!=", "<", ">", "<=", ">="}

func conditionTypes() []*engine.NodeType {
	boolOut := []engine.OutputSpec{out("BOOLEAN", "BOOLEAN")}
	return withVariants([]*engine.NodeType{
		{
			Class: "TestIntConditions",
			Schema: engine.Schema{
				Inputs: []engine.InputSpec{
					intIn("a", 0, -0xffffffffffffffff, 0xffffffffffffffff),
					intIn("b", 0, -0xffffffffffffffff, 0xffffffffffffffff),
					combo("operation", compareOps...),
				},
				Outputs: boolOut,
			},
			Runner: engine.RunFunc(intCondition),
		},
		{
			Class: "TestFloatConditions",
			Schema: engine.Schema{
				Inputs: []engine.InputSpec{
					floatIn("a", 0, -999999999999, 999999999999, 1),
					floatIn("b", 0, -999999999999, 999999999999, 1),
					combo("operation", compareOps...),
				},
				Outputs: boolOut,
			},
			Runner: engine.RunFunc(floatCondition),
		},
		{
			Class: "TestStringConditions",
			Schema: engine.Schema{
				Inputs: []engine.InputSpec{
					in("a", "STRING"),
					in("b", "STRING"),
					combo("operation", "a == b", "a != b", "a IN b", "a MATCH REGEX(b)", "a BEGINSWITH b", "a ENDSWITH b"),
					{Name: "case_sensitive", Type: "BOOLEAN", Default: true},
				},
				Outputs: boolOut,
			},
			Runner: engine.RunFunc(stringCondition),
		},
		{
			Class: "TestToBoolNode",
			Schema: engine.Schema{
				Inputs: []engine.InputSpec{
					in("value", "*"),
					{Name: "invert", Type: "BOOLEAN", Optional: true, Default: false},
				},
				Outputs: boolOut,
			},
			Runner: engine.RunFunc(toBool),
		},
		{
			Class: "TestBoolOperationNode",
			Schema: engine.Schema{
				Inputs: []engine.InputSpec{
					in("a", "BOOLEAN"),
					in("b", "BOOLEAN"),
					combo("op", "a AND b", "a OR b", "a XOR b", "NOT a"),
				},
				Outputs: boolOut,
			},
			Runner: engine.RunFunc(boolOperation),
		},
	})
}

// compare applies a comparison operator.
func compare[T int64 | float64](a, b T, op string) (bool, error) {
	switch op {
	case "==":
		return a == b, nil
	case "!=":
		return a != b, nil
	case "<":
		return a < b, nil
	case ">":
		return a > b, nil
	case "<=":
		return a <= b, nil
	case ">=":
		return a >= b, nil
	}
	return false, fmt.Errorf("unknown operation %q", op)
}

func intCondition(_ context.Context, c *engine.Call) (engine.Result, error) {
	a, err := c.Int("a")
	if err != nil {
		return engine.Result{}, fmt.Errorf("a: %w", err)
	}
	b, err := c.Int("b")
	if err != nil {
		return engine.Result{}, fmt.Errorf("b: %w", err)
	}
	op, err := c.String("operation")
	if err != nil {
		return engine.Result{}, err
	}
	r, err := compare(a, b, op)
	return engine.Outputs(r), err
}

func floatCondition(_ context.Context, c *engine.Call) (engine.Result, error) {
	a, err := c.Float("a")
	if err != nil {
		return engine.Result{}, fmt.Errorf("a: %w", err)
	}
	b, err := c.Float("b")
	if err != nil {
		return engine.Result{}, fmt.Errorf("b: %w", err)
	}
	op, err := c.String("operation")
	if err != nil {
		return engine.Result{}, err
	}
	r, err := compare(a, b, op)
	return engine.Outputs(r), err
}

func stringCondition(_ context.Context, c *engine.Call) (engine.Result, error) {
	var s [3]string
	for i, name := range []string{"a", "b", "operation"} {
		v, err := c.String(name)
		if err != nil {
			return engine.Result{}, err
		}
		s[i] = v
	}
	a, b, op := s[0], s[1], s[2]
	if !pyBool(valueOr(c, "case_sensitive", true)) {
		a, b = strings.ToLower(a), strings.ToLower(b)
	}
	var r bool
	switch op {
	case "a == b":
		r = a == b
	case "a != b":
		r = a != b
	case "a IN b":
		r = strings.Contains(b, a)
	case "a MATCH REGEX(b)":
		// Python's re.match: anchored at the start only; a bad pattern
		// is no match.
		if re, err := regexp.Compile(`^(?:` + b + `)`); err == nil {
			r = re.MatchString(a)
		}
	case "a BEGINSWITH b":
		r = strings.HasPrefix(a, b)
	case "a ENDSWITH b":
		r = strings.HasSuffix(a, b)
	default:
		return engine.Result{}, fmt.Errorf("unknown operation %q", op)
	}
	return engine.Outputs(r), nil
}

// toBool is TestToBoolNode: an image is false iff all its values are 0,
// anything else follows Python's bool(); invert negates.
func toBool(_ context.Context, c *engine.Call) (engine.Result, error) {
	var r bool
	if m, ok := c.Inputs["value"].(*Image); ok && m != nil {
		r = !m.AllEqual(0)
	} else {
		r = pyBool(c.Inputs["value"])
	}
	if pyBool(c.Inputs["invert"]) {
		r = !r
	}
	return engine.Outputs(r), nil
}

func boolOperation(_ context.Context, c *engine.Call) (engine.Result, error) {
	a, b := pyBool(c.Inputs["a"]), pyBool(c.Inputs["b"])
	op, err := c.String("op")
	if err != nil {
		return engine.Result{}, err
	}
	switch op {
	case "a AND b":
		return engine.Outputs(a && b), nil
	case "a OR b":
		return engine.Outputs(a || b), nil
	case "a XOR b":
		return engine.Outputs(a != b), nil
	case "NOT a":
		return engine.Outputs(!a), nil
	}
	return engine.Result{}, fmt.Errorf("unknown op %q", op)
}

// valueOr returns the input, or def when it is absent.
func valueOr(c *engine.Call, name string, def any) any {
	if v, ok := c.Inputs[name]; ok {
		return v
	}
	return def
}
