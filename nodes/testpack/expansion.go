// expansion.go: TestDynamicDependencyCycle and TestMixedExpansionReturns: nodes that expand.

package testpack

import (
	"context"

	"github.com/ebbgraph/ebb/engine"
)

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
