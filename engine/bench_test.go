package engine_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/policy"
)

// chain builds n no-op nodes in a line ending in an output node.
func chain(n int) engine.Workflow {
	wf := make(engine.Workflow, n+1)
	wf["0"] = &engine.Node{Class: "Nop", Inputs: map[string]any{}}
	for i := 1; i < n; i++ {
		wf[engine.NodeID(fmt.Sprint(i))] = &engine.Node{Class: "Nop", Inputs: map[string]any{"in": engine.Ref{Node: engine.NodeID(fmt.Sprint(i - 1))}}}
	}
	wf["out"] = &engine.Node{Class: "Sink", Inputs: map[string]any{"in": engine.Ref{Node: engine.NodeID(fmt.Sprint(n - 1))}}}
	return wf
}

func nopRegistry() *engine.Registry {
	nop := engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
		return engine.Outputs(c.Inputs["in"]), nil
	})
	return engine.NewRegistry().MustRegister(
		&engine.NodeType{Class: "Nop", Schema: engine.Schema{Inputs: []engine.InputSpec{{Name: "in", Type: "*", Optional: true}}, Outputs: outs("*")}, Runner: nop},
		&engine.NodeType{Class: "Sink", Schema: engine.Schema{Inputs: []engine.InputSpec{{Name: "in", Type: "*"}}, OutputNode: true},
			Runner: engine.RunFunc(func(context.Context, *engine.Call) (engine.Result, error) { return engine.Result{}, nil })},
	)
}

// BenchmarkChain reports the per-node cost of scheduling a chain of no-op
// nodes (validation included) at each level; ns/node must stay flat from
// 1e3 to 1e6 nodes.
func BenchmarkChain(b *testing.B) {
	defer engine.SetInvariantChecks(false)()
	for _, n := range []int{1_000, 100_000, 1_000_000} {
		wf := chain(n)
		for _, lvl := range []policy.Level{policy.KeepAll, policy.ReleaseDead} {
			b.Run(fmt.Sprintf("nodes=%d/level=%d", n, lvl), func(b *testing.B) {
				e, err := engine.New(engine.Options{Registry: nopRegistry(), Parallelism: 1, Cache: engine.CacheMode{Kind: engine.CacheNone}})
				if err != nil {
					b.Fatal(err)
				}
				pol := policy.Policy{Level: lvl, Strategy: policy.Auto}
				b.ResetTimer()
				for b.Loop() {
					res, err := e.Run(context.Background(), wf, engine.RunOptions{Policy: &pol})
					if err != nil || res.Stats.Executions != n+1 {
						b.Fatalf("%v (%d executions)", err, res.Stats.Executions)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n+1), "ns/node")
			})
		}
	}
}
