package testpack_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/nodes/testpack"
)

// forLoopWorkflow counts an INT up by one, n times, with ComfyUI's for loop.
func forLoopWorkflow(n int64) engine.Workflow {
	ref := func(id string, out int) engine.Ref { return engine.Ref{Node: engine.NodeID(id), Out: out} }
	return engine.Workflow{
		"open":  {Class: "TestForLoopOpen", Inputs: map[string]any{"remaining": n, "initial_value1": int64(0)}},
		"inc":   {Class: "TestIntMathOperation", Inputs: map[string]any{"operation": "add", "a": ref("open", 2), "b": int64(1)}},
		"close": {Class: "TestForLoopClose", Inputs: map[string]any{"flow_control": ref("open", 0), "initial_value1": ref("inc", 0)}},
		"out":   {Class: "BenchOut", Inputs: map[string]any{"value": ref("close", 0)}},
	}
}

func loopEngine(b *testing.B) *engine.Engine {
	reg := testpack.Registry()
	reg.MustRegister(&engine.NodeType{
		Class:  "BenchOut",
		Schema: engine.Schema{Inputs: []engine.InputSpec{{Name: "value", Type: "*"}}, OutputNode: true},
		Runner: engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
			return engine.Result{UI: map[string][]any{"value": {c.Inputs["value"]}}}, nil
		}),
	})
	e, err := engine.New(engine.Options{Registry: reg, Parallelism: 1})
	if err != nil {
		b.Fatal(err)
	}
	return e
}

func heapAfterGC() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkForLoop runs ComfyUI's for loop for 1,000 and 100,000
// iterations with the default options (classic cache, level 2, auto) and
// reports the live heap after the run (heap-B, after GC, with the engine
// alive and the result dropped), how much of it the run added (retained-B)
// and the time per iteration. Finished iterations must not pile up: heap-B
// at 1e5 stays within 2x of 1e3.
func BenchmarkForLoop(b *testing.B) {
	for _, n := range []int64{1_000, 100_000} {
		b.Run(fmt.Sprintf("iterations=%d", n), func(b *testing.B) {
			wf := forLoopWorkflow(n)
			e := loopEngine(b)
			base := heapAfterGC()
			var retained uint64
			for b.Loop() {
				res, err := e.Run(context.Background(), wf, engine.RunOptions{})
				if err != nil || res.Outputs["out"]["value"][0] != n {
					b.Fatalf("%v %v", err, res.Outputs["out"])
				}
				res = nil
				retained = heapAfterGC()
			}
			b.ReportMetric(float64(retained), "heap-B")
			b.ReportMetric(float64(int64(retained)-int64(base)), "retained-B")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/iteration")
		})
	}
}
