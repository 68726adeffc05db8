package expand_test

// Integration tests: the expand package's nodes running on the engine.

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/expand"
	"github.com/ebbgraph/ebb/policy"
)

// mathRuns counts the calls of the Math test node.
var mathRuns atomic.Int64

func intOut(name string) []engine.OutputSpec { return []engine.OutputSpec{{Name: name, Type: "INT"}} }

// testTypes are small node types for the integration tests:
//
//	Int(value) -> INT; Math(a, b, operation) -> INT; ToBool(value) -> BOOLEAN;
//	MakeList(a, b, c) -> list of the present values; Show(value) -> output node, UI {"value": [...]};
//	WOpen/WClose: a two-value while loop built on expand.WhileClose.
func testTypes() []*engine.NodeType {
	return []*engine.NodeType{
		{
			Class:  "Int",
			Schema: engine.Schema{Inputs: []engine.InputSpec{{Name: "value", Type: "INT"}}, Outputs: intOut("INT")},
			Runner: engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
				v, err := c.Int("value")
				return engine.Outputs(v), err
			}),
		},
		{
			Class: "Math",
			Schema: engine.Schema{
				Inputs: []engine.InputSpec{
					{Name: "a", Type: "INT"}, {Name: "b", Type: "INT"},
					{Name: "operation", Type: "COMBO", Choices: []string{"add", "subtract", "multiply"}},
				},
				Outputs: intOut("INT"),
			},
			Runner: engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
				mathRuns.Add(1)
				a, err := c.Int("a")
				if err != nil {
					return engine.Result{}, err
				}
				b, err := c.Int("b")
				if err != nil {
					return engine.Result{}, err
				}
				switch op, _ := c.String("operation"); op {
				case "add":
					return engine.Outputs(a + b), nil
				case "subtract":
					return engine.Outputs(a - b), nil
				case "multiply":
					return engine.Outputs(a * b), nil
				default:
					return engine.Result{}, fmt.Errorf("operation %q", op)
				}
			}),
		},
		{
			Class:  "ToBool",
			Schema: engine.Schema{Inputs: []engine.InputSpec{{Name: "value", Type: "*"}}, Outputs: []engine.OutputSpec{{Name: "BOOLEAN", Type: "BOOLEAN"}}},
			Runner: engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
				v, err := c.Int("value")
				return engine.Outputs(v != 0), err
			}),
		},
		{
			Class: "MakeList",
			Schema: engine.Schema{
				Inputs:  []engine.InputSpec{{Name: "a", Type: "*"}, {Name: "b", Type: "*", Optional: true}, {Name: "c", Type: "*", Optional: true}},
				Outputs: []engine.OutputSpec{{Name: "list", Type: "*", IsList: true}},
			},
			Runner: engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
				var l []any
				for _, k := range []string{"a", "b", "c"} {
					if v, ok := c.Inputs[k]; ok {
						l = append(l, v)
					}
				}
				return engine.Outputs(l), nil
			}),
		},
		{
			Class:  "Show",
			Schema: engine.Schema{Inputs: []engine.InputSpec{{Name: "value", Type: "*"}}, OutputNode: true},
			Runner: engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
				return engine.Result{UI: map[string][]any{"value": {c.Inputs["value"]}}}, nil
			}),
		},
		{
			Class: "WOpen",
			Schema: engine.Schema{
				Inputs: []engine.InputSpec{{Name: "initial_value0", Type: "*", Optional: true}, {Name: "initial_value1", Type: "*", Optional: true}},
				Outputs: []engine.OutputSpec{{Name: "FLOW_CONTROL", Type: "FLOW_CONTROL"},
					{Name: "value0", Type: "*"}, {Name: "value1", Type: "*"}},
			},
			Runner: engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
				return engine.Outputs("stub", c.Inputs["initial_value0"], c.Inputs["initial_value1"]), nil
			}),
		},
		{
			Class: "WClose",
			Schema: engine.Schema{
				Inputs: []engine.InputSpec{
					{Name: "flow_control", Type: "FLOW_CONTROL", RawLink: true},
					{Name: "condition", Type: "BOOLEAN", ForceInput: true},
					{Name: "initial_value0", Type: "*", Optional: true},
					{Name: "initial_value1", Type: "*", Optional: true},
					{Name: "dynprompt", Type: "DYNPROMPT", Hidden: engine.HiddenDynPrompt},
					{Name: "unique_id", Type: "UNIQUE_ID", Hidden: engine.HiddenUniqueID},
				},
				Outputs: []engine.OutputSpec{{Name: "value0", Type: "*"}, {Name: "value1", Type: "*"}},
			},
			Runner: testWhileClose{},
		},
	}
}

type testWhileClose struct{}

var _ engine.MayExpand = testWhileClose{}

func (testWhileClose) MayExpand() {}

func (testWhileClose) Run(_ context.Context, c *engine.Call) (engine.Result, error) {
	flow := c.Inputs["flow_control"].(engine.Ref)
	cond, _ := c.Inputs["condition"].(bool)
	return expand.WhileClose(c, flow.Node, []any{c.Inputs["initial_value0"], c.Inputs["initial_value1"]}, cond)
}

func policyDefault() policy.Policy { return policy.Default() }

func testRegistry(t testing.TB, extra ...*engine.NodeType) *engine.Registry {
	t.Helper()
	r := engine.NewRegistry()
	for _, nt := range append(testTypes(), extra...) {
		if err := r.Register(nt); err != nil {
			t.Fatal(err)
		}
	}
	if err := expand.Register(r); err != nil {
		t.Fatal(err)
	}
	return r
}

// policies lists every level and strategy.
func policies() []policy.Policy {
	var ps []policy.Policy
	for _, l := range policy.Levels() {
		for _, s := range policy.Strategies() {
			ps = append(ps, policy.Policy{Level: l, Strategy: s})
		}
	}
	return ps
}

// run runs wf on a fresh engine and returns the result; on a run error it
// reports it and returns nil.
func run(t testing.TB, reg *engine.Registry, wf engine.Workflow, par int, pol policy.Policy) *engine.RunResult {
	t.Helper()
	e, err := engine.New(engine.Options{Registry: reg, Parallelism: par})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	res, err := e.Run(context.Background(), wf, engine.RunOptions{Policy: &pol})
	if err != nil {
		t.Errorf("run (%v, parallelism %d): %v", pol, par, err)
		return nil
	}
	return res
}

func shown(t testing.TB, res *engine.RunResult, id engine.NodeID) []any {
	t.Helper()
	ui, ok := res.Outputs[id]
	if !ok {
		t.Fatalf("no output for %s (outputs %v)", id, res.Outputs)
	}
	return ui["value"]
}

// countdown is a while loop counting value0 down from n to 0 and carrying
// value1 = "tag" along.
func countdown(n int64) engine.Workflow {
	return engine.Workflow{
		"open":  {Class: "WOpen", Inputs: map[string]any{"initial_value0": n, "initial_value1": "tag"}},
		"dec":   {Class: "Math", Inputs: map[string]any{"operation": "subtract", "a": ref("open", 1), "b": int64(1)}},
		"cond":  {Class: "ToBool", Inputs: map[string]any{"value": ref("dec", 0)}},
		"close": {Class: "WClose", Inputs: map[string]any{"flow_control": ref("open", 0), "condition": ref("cond", 0), "initial_value0": ref("dec", 0), "initial_value1": ref("open", 2)}},
		"show":  {Class: "Show", Inputs: map[string]any{"value": ref("close", 0)}},
		"tag":   {Class: "Show", Inputs: map[string]any{"value": ref("close", 1)}},
	}
}

func TestRunWhileLoop(t *testing.T) {
	reg := testRegistry(t)
	for _, par := range []int{1, 4} {
		for _, pol := range policies() {
			mathRuns.Store(0)
			res := run(t, reg, countdown(10), par, pol)
			if res == nil {
				continue
			}
			if got := shown(t, res, "show"); len(got) != 1 || got[0] != int64(0) {
				t.Errorf("%v par %d: final value %v, want [0]", pol, par, got)
			}
			if got := shown(t, res, "tag"); len(got) != 1 || got[0] != "tag" {
				t.Errorf("%v par %d: carried value %v, want [tag]", pol, par, got)
			}
			if n := mathRuns.Load(); n != 10 {
				t.Errorf("%v par %d: body ran %d times, want 10", pol, par, n)
			}
			for _, id := range res.Executed {
				if len(id) > 40 {
					t.Errorf("%v: executed id %q is long", pol, id)
				}
			}
			if res.Stats.Reexecutions != 0 && pol.Strategy != policy.Reexecute {
				t.Errorf("%v par %d: %d re-executions, want 0", pol, par, res.Stats.Reexecutions)
			}
		}
	}
}

// TestRunWhileLoopCached runs the loop twice on one engine: the second run
// is all cache hits.
func TestRunWhileLoopCached(t *testing.T) {
	e, err := engine.New(engine.Options{Registry: testRegistry(t), Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for i := range 2 {
		mathRuns.Store(0)
		res, err := e.Run(context.Background(), countdown(5), engine.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := shown(t, res, "show"); len(got) != 1 || got[0] != int64(0) {
			t.Fatalf("run %d: final %v", i, got)
		}
		if want := []int64{5, 0}[i]; mathRuns.Load() != want {
			t.Errorf("run %d: body ran %d times, want %d", i, mathRuns.Load(), want)
		}
	}
}

func TestRunLongWhileLoop(t *testing.T) {
	n := int64(10000)
	if testing.Short() {
		n = 1000
	}
	mathRuns.Store(0)
	var longest int
	e, err := engine.New(engine.Options{Registry: testRegistry(t), Parallelism: 1, Cache: engine.CacheMode{Kind: engine.CacheNone}})
	if err != nil {
		t.Fatal(err)
	}
	obs := engine.ObserverFunc(func(ev engine.Event) {
		if ev.Type == engine.EventExecuting {
			longest = max(longest, len(ev.Node))
		}
	})
	res, err := e.Run(context.Background(), countdown(n), engine.RunOptions{Observers: []engine.Observer{obs}})
	if err != nil {
		t.Fatal(err)
	}
	if got := shown(t, res, "show"); got[0] != int64(0) || mathRuns.Load() != n {
		t.Fatalf("final %v after %d body runs, want 0 after %d", got, mathRuns.Load(), n)
	}
	if longest > 40 {
		t.Fatalf("longest executing id is %d bytes", longest)
	}
}

func TestRunComponentTwice(t *testing.T) {
	m := scaleAdd()
	m.Graph["mul"].Class, m.Graph["add"].Class = "Math", "Math"
	reg := testRegistry(t, m.NodeType())
	wf := engine.Workflow{
		"x":  {Class: "Int", Inputs: map[string]any{"value": int64(5)}},
		"c1": {Class: "ScaleAdd", Inputs: map[string]any{"x": ref("x", 0)}},
		"c2": {Class: "ScaleAdd", Inputs: map[string]any{"x": ref("c1", 0), "y": int64(1)}},
		"c3": {Class: "ScaleAdd", Inputs: map[string]any{"x": int64(2)}},
		"s1": {Class: "Show", Inputs: map[string]any{"value": ref("c1", 0)}},
		"s2": {Class: "Show", Inputs: map[string]any{"value": ref("c2", 0)}},
		"s3": {Class: "Show", Inputs: map[string]any{"value": ref("c3", 0)}},
	}
	for _, par := range []int{1, 4} {
		for _, pol := range policies() {
			res := run(t, reg, wf, par, pol)
			if res == nil {
				continue
			}
			for id, want := range map[engine.NodeID]int64{"s1": 115, "s2": 346, "s3": 106} {
				if got := shown(t, res, id); len(got) != 1 || got[0] != want {
					t.Errorf("%v par %d: %s shows %v, want [%d]", pol, par, id, got, want)
				}
			}
			if res.Stats.Reexecutions != 0 && pol.Strategy != policy.Reexecute {
				t.Errorf("%v: %d re-executions", pol, res.Stats.Reexecutions)
			}
		}
	}
}

// TestRunComponentOverList feeds a component a list: the inner nodes are
// called once per element, as if the subgraph were inlined.
func TestRunComponentOverList(t *testing.T) {
	m := scaleAdd()
	m.Graph["mul"].Class, m.Graph["add"].Class = "Math", "Math"
	reg := testRegistry(t, m.NodeType(), expand.MapType("MapScaleAdd", m))
	wf := engine.Workflow{
		"l":  {Class: "MakeList", Inputs: map[string]any{"a": int64(1), "b": int64(2), "c": int64(3)}},
		"c":  {Class: "ScaleAdd", Inputs: map[string]any{"x": ref("l", 0)}},
		"m":  {Class: "MapScaleAdd", Inputs: map[string]any{"x": ref("l", 0)}},
		"s1": {Class: "Show", Inputs: map[string]any{"value": ref("c", 0)}},
		"s2": {Class: "Show", Inputs: map[string]any{"value": ref("m", 0)}},
	}
	for _, pol := range policies() {
		res := run(t, reg, wf, 2, pol)
		if res == nil {
			continue
		}
		for _, id := range []engine.NodeID{"s1", "s2"} {
			got := shown(t, res, id)
			if fmt.Sprint(got) != "[103 106 109]" {
				t.Errorf("%v: %s shows %v, want [103 106 109]", pol, id, got)
			}
		}
	}
}

// TestRunLoopInComponent puts a whole while loop inside a component and
// uses it twice.
func TestRunLoopInComponent(t *testing.T) {
	loop := countdown(0)
	delete(loop, "show")
	delete(loop, "tag")
	m := &expand.Component{
		Class:      "Countdown",
		Inputs:     []engine.InputSpec{{Name: "from", Type: "INT"}},
		Outputs:    intOut("INT"),
		Graph:      loop,
		InputNodes: map[string][]expand.Port{"from": {{Node: "open", Input: "initial_value0"}}},
		Results:    []engine.Ref{ref("close", 0)},
	}
	reg := testRegistry(t, m.NodeType())
	wf := engine.Workflow{
		"a":  {Class: "Countdown", Inputs: map[string]any{"from": int64(3)}},
		"b":  {Class: "Countdown", Inputs: map[string]any{"from": int64(4)}},
		"sa": {Class: "Show", Inputs: map[string]any{"value": ref("a", 0)}},
		"sb": {Class: "Show", Inputs: map[string]any{"value": ref("b", 0)}},
	}
	mathRuns.Store(0)
	res := run(t, reg, wf, 1, policy.Default())
	if res == nil {
		return
	}
	if fmt.Sprint(shown(t, res, "sa"), shown(t, res, "sb")) != "[0] [0]" || mathRuns.Load() != 7 {
		t.Fatalf("results %v %v after %d body runs, want [0] [0] after 7", shown(t, res, "sa"), shown(t, res, "sb"), mathRuns.Load())
	}
}
