package testpack_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/nodes/testpack"
	"github.com/ebbgraph/ebb/policy"
)

func link(id engine.NodeID, out int) engine.Ref { return engine.Ref{Node: id, Out: out} }

// showValue is an output node showing any value (UI {"value": [v]}); the
// pack has none for INT.
var showValue = &engine.NodeType{
	Class:  "ShowValue",
	Schema: engine.Schema{Inputs: []engine.InputSpec{{Name: "value", Type: "*"}}, OutputNode: true},
	Runner: engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
		return engine.Result{UI: map[string][]any{"value": {c.Inputs["value"]}}}, nil
	}),
}

func flowRegistry(t testing.TB) *engine.Registry {
	t.Helper()
	r := testpack.Registry()
	if err := r.Register(showValue); err != nil {
		t.Fatal(err)
	}
	return r
}

func policies() []policy.Policy {
	var ps []policy.Policy
	for _, l := range policy.Levels() {
		for _, s := range policy.Strategies() {
			ps = append(ps, policy.Policy{Level: l, Strategy: s})
		}
	}
	return ps
}

func newEngine(t testing.TB, par int, cache engine.CacheMode) *engine.Engine {
	t.Helper()
	e, err := engine.New(engine.Options{Registry: flowRegistry(t), Parallelism: par, Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func TestFlowControlSchemas(t *testing.T) {
	r := testpack.Registry()
	for class, outs := range map[string]int{"TestWhileLoopOpen": 6, "TestWhileLoopClose": 5, "TestForLoopOpen": 6, "TestForLoopClose": 4} {
		nt, ok := r.Lookup(class)
		if !ok {
			t.Fatalf("%s not registered", class)
		}
		if len(nt.Schema.Outputs) != outs {
			t.Errorf("%s: %d outputs, want %d", class, len(nt.Schema.Outputs), outs)
		}
		_, expands := nt.Runner.(engine.MayExpand)
		if want := class != "TestWhileLoopOpen"; expands != want {
			t.Errorf("%s: MayExpand %v, want %v", class, expands, want)
		}
	}
	wc, _ := r.Lookup("TestWhileLoopClose")
	if in, _ := wc.Schema.Input("flow_control"); !in.RawLink {
		t.Error("TestWhileLoopClose.flow_control is not a raw link")
	}
	if in, _ := wc.Schema.Input("condition"); !in.ForceInput {
		t.Error("TestWhileLoopClose.condition is not forceInput")
	}
	fc, _ := r.Lookup("TestForLoopClose")
	for _, name := range []string{"flow_control", "initial_value1", "initial_value4"} {
		if in, ok := fc.Schema.Input(name); !ok || !in.RawLink {
			t.Errorf("TestForLoopClose.%s is not a raw link", name)
		}
	}
}

// whileCountdown is TestWhileLoopOpen/Close counting value0 down from n by
// TestIntMathOperation, and carrying value1 through.
func whileCountdown(n int64) engine.Workflow {
	return engine.Workflow{
		"open": {Class: "TestWhileLoopOpen", Inputs: map[string]any{"condition": true, "initial_value0": n, "initial_value1": "carried"}},
		"dec":  {Class: "TestIntMathOperation", Inputs: map[string]any{"operation": "subtract", "a": link("open", 1), "b": int64(1)}},
		"cond": {Class: "TestIntConditions", Inputs: map[string]any{"operation": ">", "a": link("dec", 0), "b": int64(0)}},
		"close": {Class: "TestWhileLoopClose", Inputs: map[string]any{"flow_control": link("open", 0), "condition": link("cond", 0),
			"initial_value0": link("dec", 0), "initial_value1": link("open", 2)}},
		"show":  {Class: "ShowValue", Inputs: map[string]any{"value": link("close", 0)}},
		"show1": {Class: "ShowValue", Inputs: map[string]any{"value": link("close", 1)}},
	}
}

func TestWhileLoopCountdown(t *testing.T) {
	for _, par := range []int{1, 4} {
		for _, pol := range policies() {
			e := newEngine(t, par, engine.CacheMode{})
			res, err := e.Run(context.Background(), whileCountdown(10), engine.RunOptions{Policy: &pol})
			if err != nil {
				t.Fatalf("%v par %d: %v", pol, par, err)
			}
			if got := fmt.Sprint(res.Outputs["show"]["value"], res.Outputs["show1"]["value"]); got != "[0] [carried]" {
				t.Errorf("%v par %d: shows %s, want [0] [carried]", pol, par, got)
			}
			body := 0
			for _, id := range res.Executed {
				if id == "dec" || len(id) > len("dec") && id[len(id)-4:] == ".dec" {
					body++
				}
			}
			if body != 10 {
				t.Errorf("%v par %d: body ran %d times, want 10 (executed %v)", pol, par, body, res.Executed)
			}
			if pol.Strategy != policy.Reexecute && res.Stats.Reexecutions != 0 {
				t.Errorf("%v par %d: %d re-executions", pol, par, res.Stats.Reexecutions)
			}
		}
	}
}

// forImages is ComfyUI's test_for_loop: the loop averages BLACK into the
// loop value N times, starting from WHITE.
func forImages(n int64) engine.Workflow {
	stub := func(content string) *engine.Node {
		return &engine.Node{Class: "StubImage", Inputs: map[string]any{"content": content, "height": int64(32), "width": int64(32), "batch_size": int64(1)}}
	}
	return engine.Workflow{
		"in1":   stub("BLACK"),
		"in2":   stub("WHITE"),
		"ic":    {Class: "TestCustomIsChanged", Inputs: map[string]any{"should_change": true, "image": link("in2", 0)}},
		"open":  {Class: "TestForLoopOpen", Inputs: map[string]any{"remaining": n, "initial_value1": link("ic", 0)}},
		"avg":   {Class: "TestVariadicAverage", Inputs: map[string]any{"input1": link("in1", 0), "input2": link("open", 2)}},
		"close": {Class: "TestForLoopClose", Inputs: map[string]any{"flow_control": link("open", 0), "initial_value1": link("avg", 0)}},
		"save":  {Class: "SaveImage", Inputs: map[string]any{"images": link("close", 0)}},
	}
}

func TestForLoopImages(t *testing.T) {
	for _, cache := range []string{"classic", "lru:100", "none"} {
		mode, _ := engine.ParseCacheMode(cache)
		for _, pol := range policies() {
			e := newEngine(t, 1, mode)
			for n := int64(1); n <= 4; n++ {
				res, err := e.Run(context.Background(), forImages(n), engine.RunOptions{Policy: &pol})
				if err != nil {
					t.Fatalf("%s %v N=%d: %v", cache, pol, n, err)
				}
				imgs := res.Outputs["save"]["images"]
				want := 255 >> n
				if len(imgs) != 1 || imgs[0].(map[string]any)["min"] != want || imgs[0].(map[string]any)["max"] != want {
					t.Errorf("%s %v N=%d: images %v, want one with every pixel %d", cache, pol, n, imgs, want)
				}
				ran := false
				for _, id := range res.Executed {
					ran = ran || id == "ic"
				}
				if !ran {
					t.Errorf("%s %v N=%d: the fingerprint node did not run", cache, pol, n)
				}
				if pol.Strategy != policy.Reexecute && res.Stats.Reexecutions != 0 {
					t.Errorf("%s %v N=%d: %d re-executions", cache, pol, n, res.Stats.Reexecutions)
				}
			}
		}
	}
}

// forCount is a for loop adding 1 to value1 n times.
func forCount(n int64) engine.Workflow {
	return engine.Workflow{
		"open":  {Class: "TestForLoopOpen", Inputs: map[string]any{"remaining": n, "initial_value1": int64(0)}},
		"inc":   {Class: "TestIntMathOperation", Inputs: map[string]any{"operation": "add", "a": link("open", 2), "b": int64(1)}},
		"close": {Class: "TestForLoopClose", Inputs: map[string]any{"flow_control": link("open", 0), "initial_value1": link("inc", 0)}},
		"show":  {Class: "ShowValue", Inputs: map[string]any{"value": link("close", 0)}},
	}
}

func TestForLoopCount(t *testing.T) {
	for _, par := range []int{1, 4} {
		for _, pol := range policies() {
			e := newEngine(t, par, engine.CacheMode{})
			for n := int64(1); n <= 4; n++ {
				res, err := e.Run(context.Background(), forCount(n), engine.RunOptions{Policy: &pol})
				if err != nil {
					t.Fatalf("%v par %d N=%d: %v", pol, par, n, err)
				}
				if got := res.Outputs["show"]["value"]; len(got) != 1 || got[0] != n {
					t.Errorf("%v par %d N=%d: shows %v, want [%d]", pol, par, n, got, n)
				}
			}
		}
	}
}

// TestLongForLoop runs 10,000 iterations: ids stay short, and the run
// completes.
func TestLongForLoop(t *testing.T) {
	n := int64(10000)
	if testing.Short() {
		n = 1000
	}
	e := newEngine(t, 1, engine.CacheMode{Kind: engine.CacheNone})
	longest, executing := 0, 0
	obs := engine.ObserverFunc(func(ev engine.Event) {
		if ev.Type == engine.EventExecuting {
			executing++
			longest = max(longest, len(ev.Node))
		}
	})
	res, err := e.Run(context.Background(), forCount(n), engine.RunOptions{Observers: []engine.Observer{obs}})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Outputs["show"]["value"]; len(got) != 1 || got[0] != n {
		t.Fatalf("shows %v, want [%d]", got, n)
	}
	if longest > 48 {
		t.Errorf("longest executing id is %d bytes: ids grow with the iteration", longest)
	}
	t.Logf("%d iterations: %d executing events, longest id %d bytes", n, executing, longest)
}
