package engine_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/policy"
)

// countdown is a loop by tail expansion: while n > 0 it expands into
// Add(x, 1), an Alloc of 16 bytes passing the sum through, and a countdown
// of n-1 reading the sum, and forwards its output to that countdown's.
// Every iteration leaves a forwarded node and values (kept at level 0), as
// ComfyUI's loops do.
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
	add, alloc, next := engine.NodeID(p+"add"), engine.NodeID(p+"alloc"), engine.NodeID(p+"next")
	return engine.Result{Expand: &engine.Expansion{
		Nodes: engine.Workflow{
			add:   {Class: "Add", Inputs: map[string]any{"a": c.Inputs["x"], "b": int64(1)}},
			alloc: {Class: "Alloc", Inputs: map[string]any{"in": engine.Ref{Node: add}, "size": int64(16)}},
			next:  {Class: "Countdown", Inputs: map[string]any{"n": n - 1, "x": engine.Ref{Node: alloc}}},
		},
		Outputs: []any{engine.Ref{Node: next}},
	}}, nil
}

// TestLoopBooks runs a 1,000-iteration tail-expansion loop at every level
// and strategy, then links to the loop's first node from a node after it
// (through the whole forward chain), and checks the run's books:
//   - forwarding did O(1) work per forward and lookup: a forwarder's
//     outputs are not redirected one by one each time the loop goes on
//     (that made loops at levels 0 and 1, which keep every iteration's
//     values, take quadratic time);
//   - finished iterations were forgotten at every level: the run knows a
//     few expanded nodes at the end, not thousands;
//   - level 0 kept every iteration's buffer to the end all the same.
func TestLoopBooks(t *testing.T) {
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
			books := engine.Books(func() {
				res, err = e.Run(context.Background(), wf, engine.RunOptions{Policy: &pol})
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Outputs["out"]["value"]; len(got) != 1 || got[0] != int64(2*n) {
				t.Errorf("out shows %v, want [%d]", got, 2*n)
			}
			b := books[0]
			if b.FwdOps < n || b.FwdSteps > 4*b.FwdOps {
				t.Errorf("%d forwards and lookups took %d cell steps: want at least %d, and at most 4 steps each", b.FwdOps, b.FwdSteps, n)
			}
			if b.Nodes > 20 || b.Defs > 20 {
				t.Errorf("the run still knows %d expanded nodes and %d definitions after %d iterations", b.Nodes, b.Defs, n)
			}
			if pol.Level == policy.KeepAll && res.Stats.PeakBytes < 16*n {
				t.Errorf("level 0 peaked at %d bytes: the %d buffers of %d bytes were not all kept", res.Stats.PeakBytes, n, 16)
			}
			t.Logf("%+v, peak %d bytes", b, res.Stats.PeakBytes)
		})
	}
}
