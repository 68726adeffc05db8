package engine

import (
	"context"
	"fmt"
	"testing"

	"github.com/ebbgraph/ebb/policy"
)

// BenchmarkSchedule is BenchmarkChain without validation: the scheduler's
// own per-node cost on a chain of no-op nodes (validated once, outside the
// timer; each iteration is a whole run: run state, binding, execution,
// release and the end of the run).
func BenchmarkSchedule(b *testing.B) {
	defer SetInvariantChecks(false)()
	nop := RunFunc(func(_ context.Context, c *Call) (Result, error) { return Outputs(c.Inputs["in"]), nil })
	reg := NewRegistry().MustRegister(
		&NodeType{Class: "Nop", Schema: Schema{Inputs: []InputSpec{{Name: "in", Type: "*", Optional: true}}, Outputs: []OutputSpec{{Type: "*"}}}, Runner: nop},
		&NodeType{Class: "Sink", Schema: Schema{Inputs: []InputSpec{{Name: "in", Type: "*"}}, OutputNode: true},
			Runner: RunFunc(func(context.Context, *Call) (Result, error) { return Result{}, nil })},
	)
	for _, n := range []int{1_000, 100_000, 1_000_000} {
		wf := make(Workflow, n+1)
		wf["0"] = &Node{Class: "Nop", Inputs: map[string]any{}}
		for i := 1; i < n; i++ {
			wf[NodeID(fmt.Sprint(i))] = &Node{Class: "Nop", Inputs: map[string]any{"in": Ref{Node: NodeID(fmt.Sprint(i - 1))}}}
		}
		wf["out"] = &Node{Class: "Sink", Inputs: map[string]any{"in": Ref{Node: NodeID(fmt.Sprint(n - 1))}}}
		v, err := validate(reg, wf, nil)
		if err != nil {
			b.Fatal(err)
		}
		for _, lvl := range []policy.Level{policy.KeepAll, policy.ReleaseDead} {
			b.Run(fmt.Sprintf("nodes=%d/level=%d", n, lvl), func(b *testing.B) {
				e, err := New(Options{Registry: reg, Parallelism: 1, Cache: CacheMode{Kind: CacheNone}})
				if err != nil {
					b.Fatal(err)
				}
				pol := policy.Policy{Level: lvl, Strategy: policy.Auto}
				for b.Loop() {
					res := &RunResult{Outputs: map[NodeID]map[string][]any{}}
					e.execute(context.Background(), v, RunOptions{}, pol, &emitter{}, res)
					if res.Err != nil || res.Stats.Executions != n+1 {
						b.Fatalf("%v (%d executions)", res.Err, res.Stats.Executions)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n+1), "ns/node")
			})
		}
	}
}
