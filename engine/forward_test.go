package engine_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/ebbgraph/ebb/engine"
)

// countdown is a loop by tail expansion: while n > 0 it expands into
// Add(x, 1) and a countdown of n-1 reading it, and forwards its output to
// that countdown's. Every iteration leaves a forwarded node and a value
// (kept at levels 0 and 1), as ComfyUI's loops do.
type countdown struct{}

func (countdown) MayExpand() {}

func (countdown) Run(_ context.Context, c *engine.Call) (engine.Result, error) {
	n, err := c.Int("n")
	if err != nil {
		return engine.Result{}, err
	}
	if n == 0 {
		return engine.Outputs(c.Inputs["x"]), nil
	}
	p := c.NewPrefix()
	add, next := engine.NodeID(p+"add"), engine.NodeID(p+"next")
	return engine.Result{Expand: &engine.Expansion{
		Nodes: engine.Workflow{
			add:  {Class: "Add", Inputs: map[string]any{"a": c.Inputs["x"], "b": int64(1)}},
			next: {Class: "Countdown", Inputs: map[string]any{"n": n - 1, "x": engine.Ref{Node: add}}},
		},
		Outputs: []any{engine.Ref{Node: next}},
	}}, nil
}

// TestForwardChainLinear runs a 1,000-iteration tail-expansion loop at
// every level and strategy and checks that forwarding did O(1) work per
// forward and lookup: a forwarder's outputs are not redirected one by one
// each time the loop goes on (that made loops at levels 0 and 1, which
// keep every iteration's forwarder, take quadratic time). A node after the
// loop then links to the loop's first node, through the whole chain.
func TestForwardChainLinear(t *testing.T) {
	const n = 1000
	reg := testRegistry(nil)
	reg.MustRegister(&engine.NodeType{
		Class:  "Countdown",
		Schema: engine.Schema{Inputs: []engine.InputSpec{{Name: "n", Type: "INT"}, {Name: "x", Type: "INT"}}, Outputs: outs("INT")},
		Runner: countdown{},
	})
	e, err := engine.New(engine.Options{Registry: reg, Parallelism: 1, Cache: engine.CacheMode{Kind: engine.CacheNone}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	wf := engine.Workflow{
		"loop": node("Countdown", "n", int64(n), "x", int64(0)),
		"late": node("Link", "x", link("loop", 0), "target", "loop"),
		"out":  node("Out", "value", link("late", 0)),
	}
	for _, pol := range allPolicies {
		t.Run(fmt.Sprint(pol), func(t *testing.T) {
			var res *engine.RunResult
			ops, steps := engine.ForwardWork(func() {
				res, err = e.Run(context.Background(), wf, engine.RunOptions{Policy: &pol})
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Outputs["out"]["value"]; len(got) != 1 || got[0] != int64(2*n) {
				t.Errorf("out shows %v, want [%d]", got, 2*n)
			}
			if ops < n || steps > 4*ops {
				t.Errorf("%d forwards and lookups took %d cell steps: want at least %d, and at most 4 steps each", ops, steps, n)
			}
			t.Logf("%d forwards and lookups, %d cell steps", ops, steps)
		})
	}
}
