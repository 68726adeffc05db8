package testpack

import (
	"context"
	"fmt"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/expand"
)

// NumFlowSockets is the number of loop values a while loop carries
// (ComfyUI's NUM_FLOW_SOCKETS); the for loop carries one fewer, its value 0
// being the remaining count.
const NumFlowSockets = 5

// flowControlTypes returns ComfyUI's flow_control.py loops and the for loop
// of util.py.
func flowControlTypes() []*engine.NodeType {
	return []*engine.NodeType{whileLoopOpen(), whileLoopClose(), forLoopOpen(), forLoopClose()}
}

// loopValues declares the optional "*" inputs initial_value<from>.. of a
// loop node, RawLink if raw.
func loopValues(from int, raw bool) []engine.InputSpec {
	var in []engine.InputSpec
	for i := from; i < NumFlowSockets; i++ {
		in = append(in, engine.InputSpec{Name: expand.ValueInput(i), Type: "*", Optional: true, RawLink: raw})
	}
	return in
}

// valueOutputs declares the "*" outputs value<from>.. of a loop node.
func valueOutputs(from int) []engine.OutputSpec {
	var out []engine.OutputSpec
	for i := from; i < NumFlowSockets; i++ {
		out = append(out, engine.OutputSpec{Name: fmt.Sprintf("value%d", i), Type: "*"})
	}
	return out
}

// inputValues returns the call's inputs initial_value<from>.. (nil where
// absent).
func inputValues(c *engine.Call, from int) []any {
	vals := make([]any, 0, NumFlowSockets-from)
	for i := from; i < NumFlowSockets; i++ {
		vals = append(vals, c.Inputs[expand.ValueInput(i)])
	}
	return vals
}

// flowLink returns the raw FLOW_CONTROL link of a close node.
func flowLink(c *engine.Call) (engine.Ref, error) {
	r, ok := c.Inputs["flow_control"].(engine.Ref)
	if !ok {
		return engine.Ref{}, fmt.Errorf("flow_control: want a link to a loop open node, got %T", c.Inputs["flow_control"])
	}
	return r, nil
}

// TestWhileLoopOpen(condition BOOLEAN = true, initial_value0..4 "*"
// optional) -> (FLOW_CONTROL "stub", value0..4): passes its values through;
// condition is unused.
func whileLoopOpen() *engine.NodeType {
	return &engine.NodeType{
		Class: "TestWhileLoopOpen",
		Schema: engine.Schema{
			Inputs: append([]engine.InputSpec{{Name: "condition", Type: "BOOLEAN", Default: true}},
				loopValues(0, false)...),
			Outputs: append([]engine.OutputSpec{{Name: "FLOW_CONTROL", Type: "FLOW_CONTROL"}}, valueOutputs(0)...),
		},
		Runner: engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
			return engine.Outputs(append([]any{"stub"}, inputValues(c, 0)...)...), nil
		}),
	}
}

// TestWhileLoopClose(flow_control FLOW_CONTROL raw link, condition BOOLEAN
// link, initial_value0..4 "*" optional; hidden dynprompt, unique_id) ->
// value0..4: while condition holds, re-expands the loop body by tail
// recursion (expand.WhileClose); then returns its values.
func whileLoopClose() *engine.NodeType {
	return &engine.NodeType{
		Class: "TestWhileLoopClose",
		Schema: engine.Schema{
			Inputs: append([]engine.InputSpec{
				{Name: "flow_control", Type: "FLOW_CONTROL", RawLink: true},
				{Name: "condition", Type: "BOOLEAN", ForceInput: true},
				{Name: "dynprompt", Type: "DYNPROMPT", Hidden: engine.HiddenDynPrompt},
				{Name: "unique_id", Type: "UNIQUE_ID", Hidden: engine.HiddenUniqueID},
			}, loopValues(0, false)...),
			Outputs: valueOutputs(0),
		},
		Runner: whileClose{},
	}
}

type whileClose struct{}

var _ engine.MayExpand = whileClose{}

func (whileClose) MayExpand() {}

func (whileClose) Run(_ context.Context, c *engine.Call) (engine.Result, error) {
	flow, err := flowLink(c)
	if err != nil {
		return engine.Result{}, err
	}
	return expand.WhileClose(c, flow.Node, inputValues(c, 0), truthy(c.Inputs["condition"]))
}

// truthy is Python's bool() for the values a condition link may carry.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	}
	if f, err := engine.AsFloat(v); err == nil {
		return f != 0
	}
	return true
}

// TestForLoopOpen(remaining INT = 1 in [0, 100000], initial_value1..4 "*"
// optional; initial_value0 "*" set by the loop itself) -> (FLOW_CONTROL,
// remaining INT, value1..4). initial_value0, when present, overrides
// remaining (the count left after an iteration). It expands into a
// TestWhileLoopOpen that nothing links to, so it never runs (ComfyUI does
// the same), and returns its values as literals.
//
// ComfyUI declares initial_value0 as a hidden input; ebb has no plain
// hidden inputs, so it is an optional one.
func forLoopOpen() *engine.NodeType {
	inputs := []engine.InputSpec{{Name: "remaining", Type: "INT", Default: int64(1), Min: engine.F(0), Max: engine.F(100000), Step: 1}}
	inputs = append(inputs, loopValues(1, false)...)
	inputs = append(inputs, engine.InputSpec{Name: expand.ValueInput(0), Type: "*", Optional: true})
	outputs := []engine.OutputSpec{{Name: "flow_control", Type: "FLOW_CONTROL"}, {Name: "remaining", Type: "INT"}}
	return &engine.NodeType{
		Class:  "TestForLoopOpen",
		Schema: engine.Schema{Inputs: inputs, Outputs: append(outputs, valueOutputs(1)...)},
		Runner: forOpen{},
	}
}

type forOpen struct{}

var _ engine.MayExpand = forOpen{}

func (forOpen) MayExpand() {}

func (forOpen) Run(_ context.Context, c *engine.Call) (engine.Result, error) {
	remaining := c.Inputs["remaining"]
	if v, ok := c.Inputs[expand.ValueInput(0)]; ok {
		remaining = v
	}
	vals := inputValues(c, 1)
	b := expand.NewBuilder(c)
	open := b.Node("TestWhileLoopOpen", "", map[string]any{
		"condition":          expand.Value(remaining),
		expand.ValueInput(0): expand.Value(remaining),
	})
	for i, v := range vals {
		open.Set(expand.ValueInput(i+1), expand.Value(v))
	}
	return b.Result(append([]any{"stub", remaining}, vals...)...), nil
}

// TestForLoopClose(flow_control FLOW_CONTROL raw link, initial_value1..4
// "*" optional raw links) -> value1..4. It expands into
// TestIntMathOperation(subtract, a = open's remaining, b = 1) ->
// TestToBoolNode -> TestWhileLoopClose(flow_control, condition,
// initial_value0 = remaining-1, initial_value1..4 = its own inputs), so the
// while loop treats the TestForLoopOpen as its open node and clones it with
// initial_value0 = remaining-1 each iteration, until that is 0.
func forLoopClose() *engine.NodeType {
	return &engine.NodeType{
		Class: "TestForLoopClose",
		Schema: engine.Schema{
			Inputs:  append([]engine.InputSpec{{Name: "flow_control", Type: "FLOW_CONTROL", RawLink: true}}, loopValues(1, true)...),
			Outputs: valueOutputs(1),
		},
		Runner: forClose{},
	}
}

type forClose struct{}

var _ engine.MayExpand = forClose{}

func (forClose) MayExpand() {}

func (forClose) Run(_ context.Context, c *engine.Call) (engine.Result, error) {
	flow, err := flowLink(c)
	if err != nil {
		return engine.Result{}, err
	}
	b := expand.NewBuilder(c)
	sub := b.Node("TestIntMathOperation", "", map[string]any{
		"operation": "subtract",
		"a":         engine.Ref{Node: flow.Node, Out: 1},
		"b":         int64(1),
	})
	cond := b.Node("TestToBoolNode", "", map[string]any{"value": sub.Out(0)})
	close := b.Node("TestWhileLoopClose", "", map[string]any{
		"flow_control":       flow,
		"condition":          cond.Out(0),
		expand.ValueInput(0): sub.Out(0),
	})
	for i := 1; i < NumFlowSockets; i++ {
		// Raw links stay links; literals stay literals.
		close.Set(expand.ValueInput(i), c.Inputs[expand.ValueInput(i)])
	}
	outs := make([]any, 0, NumFlowSockets-1)
	for i := 1; i < NumFlowSockets; i++ {
		outs = append(outs, close.Out(i))
	}
	return b.Result(outs...), nil
}
