package testpack_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/nodes/testpack"
	"github.com/ebbgraph/ebb/policy"
)

// forLoopWorkflow counts an INT up by one from start, n times, with
// ComfyUI's for loop. With probe, the count goes through a BenchHeapProbe
// in the loop body.
func forLoopWorkflow(n, start int64, probe bool) engine.Workflow {
	ref := func(id string, out int) engine.Ref { return engine.Ref{Node: engine.NodeID(id), Out: out} }
	wf := engine.Workflow{
		"open":  {Class: "TestForLoopOpen", Inputs: map[string]any{"remaining": n, "initial_value1": start}},
		"inc":   {Class: "TestIntMathOperation", Inputs: map[string]any{"operation": "add", "a": ref("open", 2), "b": int64(1)}},
		"close": {Class: "TestForLoopClose", Inputs: map[string]any{"flow_control": ref("open", 0), "initial_value1": ref("inc", 0)}},
		"out":   {Class: "BenchOut", Inputs: map[string]any{"value": ref("close", 0)}},
	}
	if probe {
		wf["probe"] = &engine.Node{Class: "BenchHeapProbe", Inputs: map[string]any{"value": ref("inc", 0)}}
		wf["close"].Inputs["initial_value1"] = ref("probe", 0)
	}
	return wf
}

// heapProbe samples the live heap (after GC) when the loop count it passes
// through is a multiple of every, keeping the largest sample. Nodes run on
// one worker at a time (Parallelism 1), so it needs no lock.
type heapProbe struct {
	every int64
	max   uint64
}

func (p *heapProbe) Run(_ context.Context, c *engine.Call) (engine.Result, error) {
	v := c.Inputs["value"]
	if i, ok := v.(int64); ok && p.every > 0 && i%p.every == 0 {
		p.max = max(p.max, heapAfterGC())
	}
	return engine.Outputs(v), nil
}

func loopEngine(b *testing.B, probe *heapProbe, cache engine.CacheMode) *engine.Engine {
	reg := testpack.Registry()
	reg.MustRegister(&engine.NodeType{
		Class:  "BenchOut",
		Schema: engine.Schema{Inputs: []engine.InputSpec{{Name: "value", Type: "*"}}, OutputNode: true},
		Runner: engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
			return engine.Result{UI: map[string][]any{"value": {c.Inputs["value"]}}}, nil
		}),
	})
	reg.MustRegister(&engine.NodeType{
		Class: "BenchHeapProbe",
		Schema: engine.Schema{
			Inputs:  []engine.InputSpec{{Name: "value", Type: "*"}},
			Outputs: []engine.OutputSpec{{Name: "value", Type: "*"}},
		},
		Runner: probe,
	})
	e, err := engine.New(engine.Options{Registry: reg, Parallelism: 1, Cache: cache})
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
// iterations at release levels 0, 1 and 2 (classic cache, strategy auto;
// each run counts from another start, so no run is a cache hit) and
// reports the time per iteration, the live heap after the runs (heap-B,
// after GC, with the engine alive and the results dropped) and how much of
// it the runs added (retained-B), and the largest live heap during a run
// (heap-during-B: one more run, untimed, on a fresh engine, whose loop body
// samples the heap after GC ten times). Finished iterations must not pile
// up: at level 2 both heaps at 1e5 stay within 2x of 1e3; at levels 0 and
// 1 only the kept values themselves, and the classic cache's entries, may
// grow.
func BenchmarkForLoop(b *testing.B) { benchForLoop(b, engine.CacheMode{}) }

// BenchmarkForLoopNoCache is BenchmarkForLoop with the cache off: at levels
// 0 and 1 the heap then grows by the kept values alone.
func BenchmarkForLoopNoCache(b *testing.B) {
	benchForLoop(b, engine.CacheMode{Kind: engine.CacheNone})
}

func benchForLoop(b *testing.B, cache engine.CacheMode) {
	for _, level := range []policy.Level{policy.KeepAll, policy.ReleaseUnreferenced, policy.ReleaseDead} {
		for _, n := range []int64{1_000, 100_000} {
			b.Run(fmt.Sprintf("level=%d/iterations=%d", level, n), func(b *testing.B) {
				pol := policy.Default()
				pol.Level = level
				opts := engine.RunOptions{Policy: &pol}
				e := loopEngine(b, &heapProbe{}, cache)
				base := heapAfterGC()
				start := int64(0)
				for b.Loop() {
					start++
					res, err := e.Run(context.Background(), forLoopWorkflow(n, start, false), opts)
					if err != nil || res.Outputs["out"]["value"][0] != start+n {
						b.Fatalf("%v %v", err, res.Outputs["out"])
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/iteration")
				retained := heapAfterGC()
				b.ReportMetric(float64(retained), "heap-B")
				b.ReportMetric(float64(int64(retained)-int64(base)), "retained-B")

				if err := e.Close(); err != nil {
					b.Fatal(err)
				}
				probe := &heapProbe{every: n / 10}
				pe := loopEngine(b, probe, cache)
				if res, err := pe.Run(context.Background(), forLoopWorkflow(n, 0, true), opts); err != nil || res.Outputs["out"]["value"][0] != n {
					b.Fatalf("%v %v", err, res.Outputs["out"])
				}
				if err := pe.Close(); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(probe.max), "heap-during-B")
			})
		}
	}
}
