package engine_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/policy"
)

// linkOut1 expands into a Const of output 1 of the node named by target: a
// late edge to a slot that may have been released.
type linkOut1 struct{}

func (linkOut1) MayExpand() {}

func (linkOut1) Run(_ context.Context, c *engine.Call) (engine.Result, error) {
	target, _ := c.String("target")
	id := engine.NodeID(c.NewPrefix() + "c")
	return engine.Result{Expand: &engine.Expansion{
		Nodes:   engine.Workflow{id: {Class: "Const", Inputs: map[string]any{"value": engine.Ref{Node: engine.NodeID(target), Out: 1}}}},
		Outputs: []any{engine.Ref{Node: id}},
	}}, nil
}

// twinThenLink expands into a twin of the workflow's node p (an Alloc of
// c's output 0, size 8: the same signature), then, once the twin has run
// and stored its outputs in the cache, a linkOut1 to p's output 1.
type twinThenLink struct{}

func (twinThenLink) MayExpand() {}

func (twinThenLink) Run(_ context.Context, c *engine.Call) (engine.Result, error) {
	pre := c.NewPrefix()
	twin, link1, list := engine.NodeID(pre+"twin"), engine.NodeID(pre+"link"), engine.NodeID(pre+"list")
	return engine.Result{Expand: &engine.Expansion{
		Nodes: engine.Workflow{
			twin:  {Class: "Alloc", Inputs: map[string]any{"in": engine.Ref{Node: "c"}, "size": int64(8)}},
			link1: {Class: "Link1", Inputs: map[string]any{"after": engine.Ref{Node: twin}, "target": "p"}},
			list:  {Class: "List", Inputs: map[string]any{"a": engine.Ref{Node: twin, Out: 1}, "b": engine.Ref{Node: link1}}},
		},
		Outputs: []any{engine.Ref{Node: list}},
	}}, nil
}

// TestReexecutionServedByCache re-executes a producer whose other output
// is still live, and serves the re-execution from the cache entry a node
// with the same inputs stored meanwhile: only the released slot gets a
// value again (it used to fail with "slot produced twice").
func TestReexecutionServedByCache(t *testing.T) {
	reg := testRegistry(nil)
	reg.MustRegister(
		&engine.NodeType{Class: "Link1", Schema: engine.Schema{Inputs: []engine.InputSpec{any1("after"), {Name: "target", Type: "STRING"}}, Outputs: outs("*")}, Runner: linkOut1{}},
		&engine.NodeType{Class: "TwinLink", Schema: engine.Schema{Inputs: []engine.InputSpec{any1("after")}, Outputs: outs("*")}, Runner: twinThenLink{}},
	)
	wf := engine.Workflow{
		"c":   node("Const", "value", int64(7)),
		"p":   node("Alloc", "in", link("c", 0), "size", int64(8)),
		"a":   node("Const", "value", link("p", 1)), // p's output 1 is released after it
		"x":   node("TwinLink", "after", link("a", 0)),
		"l":   node("List", "a", link("p", 0), "b", link("x", 0)), // p's output 0 stays live until x is done
		"out": node("Out", "value", link("l", 0)),
	}
	e, err := engine.New(engine.Options{Registry: reg, Device: device.NewSim(0), Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	pol := policy.Policy{Level: policy.ReleaseDead, Strategy: policy.Reexecute}
	res, err := e.Run(context.Background(), wf, engine.RunOptions{Policy: &pol})
	if err != nil || res.Status != engine.StatusSuccess {
		t.Fatalf("%v %v", res.Status, err)
	}
	// The case itself: p ran, its output 1 was released and re-executed for
	// the late edge, and the re-execution was a cache hit.
	reexecuted := slices.ContainsFunc(res.Stats.Reexecuted, func(x engine.Reexecution) bool { return x.Node == "p" && x.Slot == 1 })
	if !slices.Contains(res.Executed, "p") || !slices.Contains(res.Cached, "p") || !reexecuted {
		t.Fatalf("not the case under test: executed %v, cached %v, reexecuted %v", res.Executed, res.Cached, res.Stats.Reexecuted)
	}
	// The same outputs as a run that releases nothing.
	e0, err := engine.New(engine.Options{Registry: reg, Device: device.NewSim(0), Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e0.Close()
	pol0 := policy.Policy{Level: policy.KeepAll, Strategy: policy.Reexecute}
	want, err := e0.Run(context.Background(), wf, engine.RunOptions{Policy: &pol0})
	if err != nil || want.Stats.Reexecutions != 0 {
		t.Fatalf("level 0: %v %v", err, want.Stats.Reexecuted)
	}
	if got, want := fmt.Sprint(res.Outputs), fmt.Sprint(want.Outputs); got != want {
		t.Errorf("outputs %s, want %s (level 0)", got, want)
	}
}
