package testpack_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
)

// endlessWhile is a while loop whose condition is always true.
func endlessWhile() engine.Workflow {
	return engine.Workflow{
		"start": {Class: "StubInt", Inputs: map[string]any{"value": int64(1)}},
		"open":  {Class: "TestWhileLoopOpen", Inputs: map[string]any{"condition": true, "initial_value0": link("start", 0)}},
		"sub":   {Class: "TestIntMathOperation", Inputs: map[string]any{"a": link("open", 1), "b": int64(1), "operation": "subtract"}},
		"close": {Class: "TestWhileLoopClose", Inputs: map[string]any{"flow_control": link("open", 0), "condition": true, "initial_value0": link("sub", 0)}},
		"out":   {Class: "ShowValue", Inputs: map[string]any{"value": link("close", 0)}},
	}
}

// doublingFor is a for loop of 40 iterations whose carried list doubles
// each time: 2^40 values at the end.
func doublingFor() engine.Workflow {
	return engine.Workflow{
		"one":   {Class: "StubInt", Inputs: map[string]any{"value": int64(1)}},
		"open":  {Class: "TestForLoopOpen", Inputs: map[string]any{"remaining": int64(40), "initial_value1": link("one", 0)}},
		"dbl":   {Class: "TestMakeListNode", Inputs: map[string]any{"value1": link("open", 2), "value2": link("open", 2)}},
		"close": {Class: "TestForLoopClose", Inputs: map[string]any{"flow_control": link("open", 0), "initial_value1": link("dbl", 0)}},
		"out":   {Class: "ShowValue", Inputs: map[string]any{"value": link("close", 0)}},
	}
}

// runWithLimits runs wf on a fresh engine and returns the result and the
// device, which must hold nothing after the run.
func runWithLimits(t *testing.T, wf engine.Workflow, lim engine.Limits, par int) *engine.RunResult {
	t.Helper()
	dev := device.NewSim(0)
	e, err := engine.New(engine.Options{Registry: flowRegistry(t), Device: dev, Parallelism: par, Cache: engine.CacheMode{Kind: engine.CacheNone}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, _ := e.Run(ctx, wf, engine.RunOptions{Limits: lim})
	if ctx.Err() != nil {
		t.Fatalf("the run did not stop on its own: %v", res.Err)
	}
	if in := dev.Stats().InUse; in != 0 {
		t.Errorf("%d bytes left on the device", in)
	}
	return res
}

func wantLimit(t *testing.T, res *engine.RunResult, limit string) {
	t.Helper()
	var le *engine.LimitError
	var ne *engine.NodeError
	if res.Status != engine.StatusError || !errors.As(res.Err, &le) || le.Limit != limit || !errors.As(res.Err, &ne) || ne.Type != engine.TypeLimit {
		t.Fatalf("status %s, error %v, want %s exceeded", res.Status, res.Err, limit)
	}
}

// An always-true while loop stops at the expansion depth (or the wall
// time), with memory that does not grow with the iterations.
func TestEndlessWhileLoop(t *testing.T) {
	for _, par := range []int{1, 4} {
		res := runWithLimits(t, endlessWhile(), engine.Limits{MaxExpansionDepth: 2_000}, par)
		wantLimit(t, res, "max-expansion-depth")
		if len(res.Executed) > engine.DefaultKeepExecuted {
			t.Errorf("%d executed ids kept", len(res.Executed))
		}
		wantLimit(t, runWithLimits(t, endlessWhile(), engine.Limits{Timeout: 300 * time.Millisecond, MaxExpansionDepth: -1}, par), "timeout")
		wantLimit(t, runWithLimits(t, endlessWhile(), engine.Limits{MaxExecutions: 3_000}, par), "max-executions")
	}
	// The heap after a loop ten times longer is about the same: the run
	// keeps counts and the last ids, not every iteration.
	heap := func(depth int) uint64 {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		res := runWithLimits(t, endlessWhile(), engine.Limits{MaxExpansionDepth: depth}, 1)
		wantLimit(t, res, "max-expansion-depth")
		var after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&after)
		return after.HeapAlloc - min(after.HeapAlloc, before.HeapAlloc)
	}
	if small, big := heap(1_000), heap(10_000); big > 4*small+1<<20 {
		t.Errorf("heap kept after the run: %d B for 1,000 iterations, %d B for 10,000", small, big)
	}
}

// A for loop over a list that doubles each iteration branches: the close
// node is called once per element, so the loop runs 2^40 ways. The limits
// on expanded nodes and executions stop it, long before.
func TestDoublingForLoop(t *testing.T) {
	for _, par := range []int{1, 4} {
		wantLimit(t, runWithLimits(t, doublingFor(), engine.Limits{MaxExpansionNodes: 5_000}, par), "max-expansion-nodes")
		wantLimit(t, runWithLimits(t, doublingFor(), engine.Limits{MaxExecutions: 5_000}, par), "max-executions")
	}
}
