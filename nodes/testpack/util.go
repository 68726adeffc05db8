package testpack

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/ebbgraph/ebb/engine"
)

// The classes of ComfyUI's util.py except the for loop (flow_control.go),
// and the schema helpers of the pack.

// Accumulation is the ACCUMULATION value (ComfyUI's {"accum": [...]}). It
// is never modified once made: Items is read-only.
//
// Accumulations made by appending to one another share a backing array
// (see Append), so a loop that accumulates n values allocates and keeps
// O(n) memory, not O(n^2) (a copy per iteration, all of them kept at
// release level 0).
type Accumulation struct {
	Items []any
	tail  *accArray // the array Items may be extended in place, if any
}

// Elements are the accumulated values: the engine holds the device
// values among them (images) as long as the accumulation is held.
func (a Accumulation) Elements() []any { return a.Items }

// accArray is the backing array of a chain of accumulations. buf's length
// is the part of the array claimed by some accumulation; an accumulation
// whose Items are exactly buf claims one more element to append, any other
// copies. A claimed element is never written again, and each Items has
// cap == len, so no accumulation ever sees another's append.
type accArray struct {
	mu  sync.Mutex
	buf []any
}

// Append returns a new accumulation of a's items and v. a is unchanged.
func (a Accumulation) Append(v any) Accumulation {
	n := len(a.Items)
	if t := a.tail; t != nil {
		t.mu.Lock()
		if len(t.buf) == n && (n == 0 || &t.buf[0] == &a.Items[0]) {
			t.buf = append(t.buf, v)
			items := t.buf[: n+1 : n+1]
			t.mu.Unlock()
			return Accumulation{Items: items, tail: t}
		}
		t.mu.Unlock()
	}
	buf := make([]any, n+1, max(2*n, 4))
	copy(buf, a.Items)
	buf[n] = v
	return Accumulation{Items: buf[: n+1 : n+1], tail: &accArray{buf: buf}}
}

// numListSockets is the number of value inputs of TestMakeListNode
// (ComfyUI's NUM_LIST_SOCKETS).
const numListSockets = 10

func utilTypes() []*engine.NodeType {
	accumIn := in("accumulation", "ACCUMULATION")
	accumOut := out("ACCUMULATION", "ACCUMULATION")
	makeList := []engine.InputSpec{in("value1", "*")}
	for i := 2; i < numListSockets; i++ {
		makeList = append(makeList, engine.InputSpec{Name: "value" + strconv.Itoa(i), Type: "*", Optional: true})
	}
	return withVariants([]*engine.NodeType{
		{
			Class: "TestAccumulateNode",
			Schema: engine.Schema{
				Inputs:     []engine.InputSpec{in("to_add", "*"), {Name: "accumulation", Type: "ACCUMULATION", Optional: true}},
				Outputs:    []engine.OutputSpec{accumOut},
				Validation: engine.CustomValidation{InputTypes: true},
			},
			Runner: variant(engine.RunFunc(accumulate)),
		},
		{
			Class: "TestAccumulationHeadNode",
			Schema: engine.Schema{
				Inputs:     []engine.InputSpec{accumIn},
				Outputs:    []engine.OutputSpec{accumOut, out("*", "*")},
				Validation: engine.CustomValidation{InputTypes: true},
			},
			Runner: variant(engine.RunFunc(accumulationHead)),
		},
		{
			// Not @VariantSupport in ComfyUI: the built-in type check applies.
			Class: "TestAccumulationTailNode",
			Schema: engine.Schema{
				Inputs:  []engine.InputSpec{accumIn},
				Outputs: []engine.OutputSpec{accumOut, out("*", "*")},
			},
			Runner: engine.RunFunc(accumulationTail),
		},
		{
			Class: "TestAccumulationToListNode",
			Schema: engine.Schema{
				Inputs:     []engine.InputSpec{accumIn},
				Outputs:    []engine.OutputSpec{{Name: "*", Type: "*", IsList: true}},
				Validation: engine.CustomValidation{InputTypes: true},
			},
			Runner: variant(engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
				acc, err := accumulation(c)
				if err != nil {
					return engine.Result{}, err
				}
				return engine.Outputs(slices.Clone(acc.Items)), nil
			})),
		},
		{
			Class: "TestListToAccumulationNode",
			Schema: engine.Schema{
				Inputs:      []engine.InputSpec{in("list", "*")},
				Outputs:     []engine.OutputSpec{accumOut},
				InputIsList: true,
				Validation:  engine.CustomValidation{InputTypes: true},
			},
			Runner: variant(engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
				list, ok := c.Inputs["list"].([]any)
				if !ok {
					return engine.Result{}, fmt.Errorf("list: want a list, got %T", c.Inputs["list"])
				}
				return engine.Outputs(Accumulation{Items: slices.Clone(list)}), nil
			})),
		},
		{
			Class: "TestAccumulationGetLengthNode",
			Schema: engine.Schema{
				Inputs:     []engine.InputSpec{accumIn},
				Outputs:    []engine.OutputSpec{out("INT", "INT")},
				Validation: engine.CustomValidation{InputTypes: true},
			},
			Runner: variant(engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
				acc, err := accumulation(c)
				if err != nil {
					return engine.Result{}, err
				}
				return engine.Outputs(int64(len(acc.Items))), nil
			})),
		},
		{
			Class: "TestAccumulationGetItemNode",
			Schema: engine.Schema{
				Inputs:     []engine.InputSpec{accumIn, {Name: "index", Type: "INT", Default: int64(0), Step: 1}},
				Outputs:    []engine.OutputSpec{out("*", "*")},
				Validation: engine.CustomValidation{InputTypes: true},
			},
			Runner: variant(engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
				acc, i, err := accumulationIndex(c)
				if err != nil {
					return engine.Result{}, err
				}
				return engine.Outputs(acc.Items[i]), nil
			})),
		},
		{
			Class: "TestAccumulationSetItemNode",
			Schema: engine.Schema{
				Inputs:     []engine.InputSpec{accumIn, {Name: "index", Type: "INT", Default: int64(0), Step: 1}, in("value", "*")},
				Outputs:    []engine.OutputSpec{accumOut},
				Validation: engine.CustomValidation{InputTypes: true},
			},
			Runner: variant(engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
				acc, i, err := accumulationIndex(c)
				if err != nil {
					return engine.Result{}, err
				}
				items := slices.Clone(acc.Items)
				items[i] = c.Inputs["value"]
				return engine.Outputs(Accumulation{Items: items}), nil
			})),
		},
		{
			Class: "TestIntMathOperation",
			Schema: engine.Schema{
				Inputs: []engine.InputSpec{
					intIn("a", 0, -0xffffffffffffffff, 0xffffffffffffffff),
					intIn("b", 0, -0xffffffffffffffff, 0xffffffffffffffff),
					combo("operation", "add", "subtract", "multiply", "divide", "modulo", "power"),
				},
				Outputs: []engine.OutputSpec{out("INT", "INT")},
			},
			Runner: engine.RunFunc(intMath),
		},
		{
			Class: "TestMakeListNode",
			Schema: engine.Schema{
				Inputs:     makeList,
				Outputs:    []engine.OutputSpec{{Name: "*", Type: "*", IsList: true}},
				Validation: engine.CustomValidation{InputTypes: true},
			},
			Runner: variant(engine.RunFunc(makeListNode)),
		},
	})
}

// accumulation reads the accumulation input.
func accumulation(c *engine.Call) (Accumulation, error) {
	acc, ok := c.Inputs["accumulation"].(Accumulation)
	if !ok {
		return Accumulation{}, fmt.Errorf("accumulation: want an ACCUMULATION, got %T", c.Inputs["accumulation"])
	}
	return acc, nil
}

// accumulationIndex reads the accumulation and a Python-style index into it
// (negative counts from the end).
func accumulationIndex(c *engine.Call) (Accumulation, int, error) {
	acc, err := accumulation(c)
	if err != nil {
		return acc, 0, err
	}
	i, err := c.Int("index")
	if err != nil {
		return acc, 0, fmt.Errorf("index: %w", err)
	}
	n := int64(len(acc.Items))
	if i < 0 {
		i += n
	}
	if i < 0 || i >= n {
		return acc, 0, fmt.Errorf("list index out of range: %d (length %d)", i, n)
	}
	return acc, int(i), nil
}

// accumulate is TestAccumulateNode: the accumulation plus to_add.
func accumulate(_ context.Context, c *engine.Call) (engine.Result, error) {
	var acc Accumulation
	if v, ok := c.Inputs["accumulation"]; ok && v != nil {
		var err error
		if acc, err = accumulation(c); err != nil {
			return engine.Result{}, err
		}
	}
	return engine.Outputs(acc.Append(c.Inputs["to_add"])), nil
}

// accumulationHead is TestAccumulationHeadNode: (rest, first), or
// (accumulation, nil) when it is empty.
func accumulationHead(_ context.Context, c *engine.Call) (engine.Result, error) {
	acc, err := accumulation(c)
	if err != nil {
		return engine.Result{}, err
	}
	if len(acc.Items) == 0 {
		return engine.Outputs(acc, nil), nil
	}
	n := len(acc.Items)
	return engine.Outputs(Accumulation{Items: acc.Items[1:n:n]}, acc.Items[0]), nil // shared: never written
}

// accumulationTail is TestAccumulationTailNode: (all but last, last), or
// ComfyUI's (nil, accumulation) when it is empty.
func accumulationTail(_ context.Context, c *engine.Call) (engine.Result, error) {
	acc, err := accumulation(c)
	if err != nil {
		return engine.Result{}, err
	}
	n := len(acc.Items)
	if n == 0 {
		return engine.Outputs(nil, acc), nil
	}
	return engine.Outputs(Accumulation{Items: acc.Items[: n-1 : n-1]}, acc.Items[n-1]), nil // shared: never written
}

// intMath is TestIntMathOperation with Python's integer semantics
// (floor division and modulo).
func intMath(_ context.Context, c *engine.Call) (engine.Result, error) {
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
	r, err := IntMath(a, b, op)
	if err != nil {
		return engine.Result{}, err
	}
	return engine.Outputs(r), nil
}

// IntMath computes a op b with Python's integer semantics: divide is floor
// division, modulo takes the sign of b, power needs b >= 0. A result that
// Python would give but an int64 cannot hold is an *IntOverflowError
// (wrapping ErrIntOverflow), never a wrapped value.
func IntMath(a, b int64, op string) (int64, error) {
	switch op {
	case "add":
		return addInt(a, b)
	case "subtract":
		return subInt(a, b)
	case "multiply":
		return mulInt(a, b)
	case "divide", "modulo":
		if b == 0 {
			return 0, fmt.Errorf("integer division or modulo by zero")
		}
		if op == "modulo" && b == -1 {
			return 0, nil // exact, also for MinInt64 (whose quotient overflows)
		}
		q, r, err := floorDivMod(a, b)
		if op == "divide" {
			return q, err
		}
		return r, err
	case "power":
		if b < 0 {
			return 0, fmt.Errorf("negative exponent %d: the result is not an integer", b)
		}
		return powInt(a, b)
	}
	return 0, fmt.Errorf("unknown operation %q", op)
}

// makeListNode is TestMakeListNode: the values value0..value9 present, in
// order, as one list output.
func makeListNode(_ context.Context, c *engine.Call) (engine.Result, error) {
	list := []any{}
	for i := range numListSockets {
		if v, ok := c.Inputs["value"+strconv.Itoa(i)]; ok {
			list = append(list, v)
		}
	}
	return engine.Outputs(list), nil
}

// Schema helpers.

// in is a required input.
func in(name, typ string) engine.InputSpec { return engine.InputSpec{Name: name, Type: typ} }

// out is an output.
func out(name, typ string) engine.OutputSpec { return engine.OutputSpec{Name: name, Type: typ} }

// intIn is a required INT input with a default and bounds.
func intIn(name string, def int64, lo, hi float64) engine.InputSpec {
	return engine.InputSpec{Name: name, Type: "INT", Default: def, Min: engine.F(lo), Max: engine.F(hi), Step: 1}
}

// floatIn is a required FLOAT input with a default, bounds and a step.
func floatIn(name string, def, lo, hi, step float64) engine.InputSpec {
	return engine.InputSpec{Name: name, Type: "FLOAT", Default: def, Min: engine.F(lo), Max: engine.F(hi), Step: step}
}

// combo is a required COMBO input.
func combo(name string, choices ...string) engine.InputSpec {
	return engine.InputSpec{Name: name, Type: "COMBO", Choices: choices}
}

// uniqueID is the hidden unique_id input.
func uniqueID() engine.InputSpec {
	return engine.InputSpec{Name: "unique_id", Type: "UNIQUE_ID", Hidden: engine.HiddenUniqueID}
}
