package engine_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/policy"
)

// Test node types: small, deterministic, counting their runs.

func any1(name string) engine.InputSpec { return engine.InputSpec{Name: name, Type: "*"} }

func outs(types ...string) []engine.OutputSpec {
	o := make([]engine.OutputSpec, len(types))
	for i, t := range types {
		o[i] = engine.OutputSpec{Name: fmt.Sprint("out", i), Type: t}
	}
	return o
}

// lazyPick needs a when sel is true, else b.
type lazyPick struct{}

var _ engine.LazyChecker = lazyPick{}

func (lazyPick) CheckLazy(_ context.Context, c *engine.Call) ([]string, error) {
	sel, _ := c.Bool("sel")
	want := "b"
	if sel {
		want = "a"
	}
	if !c.Has(want) {
		return []string{want}, nil
	}
	return nil, nil
}

func (lazyPick) Run(_ context.Context, c *engine.Call) (engine.Result, error) {
	if sel, _ := c.Bool("sel"); sel {
		return engine.Outputs(c.Inputs["a"]), nil
	}
	return engine.Outputs(c.Inputs["b"]), nil
}

// incExpander expands into Add(x, 1) and returns its output.
type incExpander struct{}

func (incExpander) MayExpand() {}

func (incExpander) Run(_ context.Context, c *engine.Call) (engine.Result, error) {
	p := engine.NodeID(c.NewPrefix())
	add := p + "add"
	one := p + "one"
	return engine.Result{Expand: &engine.Expansion{
		Nodes: engine.Workflow{
			one: {Class: "Const", Inputs: map[string]any{"value": int64(1)}},
			add: {Class: "Add", Inputs: map[string]any{"a": c.Inputs["x"], "b": engine.Ref{Node: one}}},
		},
		Outputs: []any{engine.Ref{Node: add}},
	}}, nil
}

// linker expands into Add(x, <output 0 of the node named by target>).
type linker struct{}

func (linker) MayExpand() {}

func (linker) Run(_ context.Context, c *engine.Call) (engine.Result, error) {
	target, _ := c.String("target")
	p := engine.NodeID(c.NewPrefix())
	return engine.Result{Expand: &engine.Expansion{
		Nodes: engine.Workflow{
			p + "add": {Class: "Add", Inputs: map[string]any{"a": c.Inputs["x"], "b": engine.Ref{Node: engine.NodeID(target)}}},
		},
		Outputs: []any{engine.Ref{Node: p + "add"}},
	}}, nil
}

// notReexec is a Const that may not run twice.
type notReexec struct{ engine.RunFunc }

func (notReexec) NotReexecutable() {}

func testRegistry(counts map[string]*atomic.Int64) *engine.Registry {
	count := func(class string) {
		if c := counts[class]; c != nil {
			c.Add(1)
		}
	}
	constRun := engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
		count("Const")
		return engine.Outputs(c.Inputs["value"]), nil
	})
	r := engine.NewRegistry()
	r.MustRegister(
		&engine.NodeType{Class: "Const", Schema: engine.Schema{Inputs: []engine.InputSpec{any1("value")}, Outputs: outs("*")}, Runner: constRun},
		&engine.NodeType{Class: "NoReexec", Schema: engine.Schema{Inputs: []engine.InputSpec{any1("value")}, Outputs: outs("*")}, Runner: notReexec{constRun}},
		&engine.NodeType{Class: "Add", Schema: engine.Schema{Inputs: []engine.InputSpec{{Name: "a", Type: "INT"}, {Name: "b", Type: "INT"}}, Outputs: outs("INT")},
			Runner: engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
				count("Add")
				a, err := c.Int("a")
				if err != nil {
					return engine.Result{}, err
				}
				b, err := c.Int("b")
				if err != nil {
					return engine.Result{}, err
				}
				return engine.Outputs(a + b), nil
			})},
		&engine.NodeType{Class: "Out", Schema: engine.Schema{Inputs: []engine.InputSpec{any1("value")}, OutputNode: true},
			Runner: engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
				count("Out")
				v := c.Inputs["value"]
				if b, ok := v.(*engine.Buffer); ok {
					v = b.Bytes()
				}
				return engine.Result{UI: map[string][]any{"value": {v}}}, nil
			})},
		&engine.NodeType{Class: "Alloc", Schema: engine.Schema{Inputs: []engine.InputSpec{{Name: "in", Type: "*", Optional: true}, {Name: "size", Type: "INT"}, {Name: "work", Type: "INT", Optional: true}}, Outputs: outs("*", "TENSOR")},
			Runner: engine.RunFunc(func(ctx context.Context, c *engine.Call) (engine.Result, error) {
				count("Alloc")
				size, _ := c.Int("size")
				if w, err := c.Int("work"); err == nil && w > 0 {
					if _, err := c.Alloc(ctx, w, "work"); err != nil {
						return engine.Result{}, err
					}
				}
				b, err := c.Alloc(ctx, size, "TENSOR")
				if err != nil {
					return engine.Result{}, err
				}
				return engine.Outputs(c.Inputs["in"], b), nil
			})},
		&engine.NodeType{Class: "Pick", Schema: engine.Schema{Inputs: []engine.InputSpec{{Name: "a", Type: "*", Lazy: true}, {Name: "b", Type: "*", Lazy: true}, {Name: "sel", Type: "BOOLEAN"}}, Outputs: outs("*")}, Runner: lazyPick{}},
		&engine.NodeType{Class: "Inc", Schema: engine.Schema{Inputs: []engine.InputSpec{{Name: "x", Type: "INT"}}, Outputs: outs("INT")}, Runner: incExpander{}},
		&engine.NodeType{Class: "Link", Schema: engine.Schema{Inputs: []engine.InputSpec{{Name: "x", Type: "INT"}, {Name: "target", Type: "STRING"}}, Outputs: outs("INT")}, Runner: linker{}},
		&engine.NodeType{Class: "Boom", Schema: engine.Schema{Inputs: []engine.InputSpec{any1("value")}, Outputs: outs("*")},
			Runner: engine.RunFunc(func(context.Context, *engine.Call) (engine.Result, error) { panic("kaboom") })},
		&engine.NodeType{Class: "Fail", Schema: engine.Schema{Inputs: []engine.InputSpec{any1("value")}, Outputs: outs("*")},
			Runner: engine.RunFunc(func(context.Context, *engine.Call) (engine.Result, error) {
				return engine.Result{}, errors.New("it broke")
			})},
		&engine.NodeType{Class: "Sleep", Schema: engine.Schema{Inputs: []engine.InputSpec{any1("value"), {Name: "ms", Type: "INT"}}, Outputs: outs("*")},
			Runner: engine.RunFunc(func(ctx context.Context, c *engine.Call) (engine.Result, error) {
				ms, _ := c.Int("ms")
				select {
				case <-time.After(time.Duration(ms) * time.Millisecond):
					return engine.Outputs(c.Inputs["value"]), nil
				case <-ctx.Done():
					return engine.Result{}, ctx.Err()
				}
			})},
		&engine.NodeType{Class: "List", Schema: engine.Schema{Inputs: []engine.InputSpec{any1("a"), {Name: "b", Type: "*", Optional: true}, {Name: "c", Type: "*", Optional: true}}, Outputs: []engine.OutputSpec{{Name: "list", Type: "*", IsList: true}}},
			Runner: engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
				var l []any
				for _, k := range []string{"a", "b", "c"} {
					if v, ok := c.Inputs[k]; ok {
						l = append(l, v)
					}
				}
				return engine.Outputs(l), nil
			})},
	)
	return r
}

func counters(classes ...string) map[string]*atomic.Int64 {
	m := map[string]*atomic.Int64{}
	for _, c := range classes {
		m[c] = new(atomic.Int64)
	}
	return m
}

type harness struct {
	t      *testing.T
	e      *engine.Engine
	dev    *device.Sim
	counts map[string]*atomic.Int64
}

func newHarness(t *testing.T, cache string, par int, capacity int64) *harness {
	t.Helper()
	mode, err := engine.ParseCacheMode(cache)
	if err != nil {
		t.Fatal(err)
	}
	counts := counters("Const", "Add", "Out", "Alloc")
	dev := device.NewSim(capacity)
	e, err := engine.New(engine.Options{Registry: testRegistry(counts), Device: dev, Cache: mode, Parallelism: par})
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, e: e, dev: dev, counts: counts}
}

func (h *harness) run(wf engine.Workflow, pol policy.Policy, targets ...engine.NodeID) *engine.RunResult {
	h.t.Helper()
	res, _ := h.e.Run(context.Background(), wf, engine.RunOptions{Policy: &pol, Targets: targets})
	return res
}

func link(id string, out int) engine.Ref { return engine.Ref{Node: engine.NodeID(id), Out: out} }

func node(class string, kv ...any) *engine.Node {
	n := &engine.Node{Class: class, Inputs: map[string]any{}}
	for i := 0; i+1 < len(kv); i += 2 {
		n.Inputs[kv[i].(string)] = kv[i+1]
	}
	return n
}

var allPolicies = func() []policy.Policy {
	var ps []policy.Policy
	for _, l := range policy.Levels() {
		for _, s := range policy.Strategies() {
			ps = append(ps, policy.Policy{Level: l, Strategy: s})
		}
	}
	return ps
}()
