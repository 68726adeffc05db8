// Command component defines a reusable subgraph, Affine(x, scale, offset)
// = x*scale + offset, as an expand.Component of two nodes and uses it twice
// in one workflow. Each use expands, when it runs, into its own copy of the
// subgraph. The same component is then read from affine.json.
//
//	go run ./examples/component
package main

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"maps"
	"os"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/expand"
	"github.com/ebbgraph/ebb/policy"
)

// snippet:component-define
// affine is x*scale + offset: a Multiply node feeding an Add node.
var affine = &expand.Component{
	Class: "Affine",
	Inputs: []engine.InputSpec{
		{Name: "x", Type: "INT"},
		{Name: "scale", Type: "INT", Optional: true, Default: int64(2)},
		{Name: "offset", Type: "INT", Optional: true, Default: int64(1)},
	},
	Outputs: []engine.OutputSpec{{Name: "INT", Type: "INT"}},
	// The subgraph, with local ids. Inputs fed by the component are left
	// out here; InputNodes says where each component input goes.
	Graph: engine.Workflow{
		"mul": {Class: "Multiply", Inputs: map[string]any{}},
		"add": {Class: "Add", Inputs: map[string]any{"a": engine.Ref{Node: "mul"}}},
	},
	InputNodes: map[string][]expand.Port{
		"x":      {{Node: "mul", Input: "a"}},
		"scale":  {{Node: "mul", Input: "b"}},
		"offset": {{Node: "add", Input: "b"}},
	},
	Results: []engine.Ref{{Node: "add"}}, // one per output
}

// end-snippet

//go:embed affine.json
var affineJSON []byte

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "component:", err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	// snippet:component-use
	reg := engine.NewRegistry().MustRegister(number, add, multiply, show, affine.NodeType())
	// 5*2 + 1 = 11, then 11*10 + 0 = 110.
	wf := engine.Workflow{
		"n":     {Class: "Number", Inputs: map[string]any{"value": int64(5)}},
		"first": {Class: "Affine", Inputs: map[string]any{"x": engine.Ref{Node: "n"}}},
		"second": {Class: "Affine", Inputs: map[string]any{
			"x": engine.Ref{Node: "first"}, "scale": int64(10), "offset": int64(0),
		}},
		"show1": {Class: "Show", Inputs: map[string]any{"value": engine.Ref{Node: "first"}}},
		"show2": {Class: "Show", Inputs: map[string]any{"value": engine.Ref{Node: "second"}}},
	}
	e, err := engine.New(engine.Options{Registry: reg, Parallelism: 1})
	if err != nil {
		return err
	}
	defer e.Close()
	res, err := e.Run(context.Background(), wf, engine.RunOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "first:", res.Outputs["show1"]["value"][0], "second:", res.Outputs["show2"]["value"][0])
	fmt.Fprintln(w, "executed:", res.Executed)
	// end-snippet

	// snippet:component-rerun
	// Run at level 0, so that the cache keeps every output, then edit the
	// second use: the first use expands again (a node that expands is not
	// cached itself), and the nodes of its copy come from the cache.
	keep := &policy.Policy{Level: policy.KeepAll}
	e0, err := engine.New(engine.Options{Registry: reg, Parallelism: 1})
	if err != nil {
		return err
	}
	defer e0.Close()
	if _, err := e0.Run(context.Background(), wf, engine.RunOptions{Policy: keep}); err != nil {
		return err
	}
	edited := maps.Clone(wf)
	edited["second"] = &engine.Node{Class: "Affine", Inputs: map[string]any{
		"x": engine.Ref{Node: "first"}, "scale": int64(10), "offset": int64(5),
	}}
	res, err = e0.Run(context.Background(), edited, engine.RunOptions{Policy: keep})
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "offset 5: second:", res.Outputs["show2"]["value"][0])
	fmt.Fprintln(w, "  executed:", res.Executed)
	fmt.Fprintln(w, "  cached:", res.Cached)
	// end-snippet

	// snippet:component-json
	fromJSON, err := expand.DecodeComponent(affineJSON)
	if err != nil {
		return err
	}
	reg = engine.NewRegistry().MustRegister(number, add, multiply, show, fromJSON.NodeType())
	// end-snippet
	e2, err := engine.New(engine.Options{Registry: reg, Parallelism: 1})
	if err != nil {
		return err
	}
	defer e2.Close()
	res, err = e2.Run(context.Background(), wf, engine.RunOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "from affine.json: first:", res.Outputs["show1"]["value"][0], "second:", res.Outputs["show2"]["value"][0])
	return nil
}

// The plain nodes the component is made of.

var number = &engine.NodeType{
	Class: "Number",
	Schema: engine.Schema{
		Inputs:  []engine.InputSpec{{Name: "value", Type: "INT"}},
		Outputs: []engine.OutputSpec{{Name: "INT", Type: "INT"}},
	},
	Runner: engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
		v, err := c.Int("value")
		return engine.Outputs(v), err
	}),
}

// binary returns a node type computing f(a, b) on INTs.
func binary(class string, f func(a, b int64) int64) *engine.NodeType {
	return &engine.NodeType{
		Class: class,
		Schema: engine.Schema{
			Inputs:  []engine.InputSpec{{Name: "a", Type: "INT"}, {Name: "b", Type: "INT"}},
			Outputs: []engine.OutputSpec{{Name: "INT", Type: "INT"}},
		},
		Runner: engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
			a, err := c.Int("a")
			if err != nil {
				return engine.Result{}, err
			}
			b, err := c.Int("b")
			if err != nil {
				return engine.Result{}, err
			}
			return engine.Outputs(f(a, b)), nil
		}),
	}
}

var (
	add      = binary("Add", func(a, b int64) int64 { return a + b })
	multiply = binary("Multiply", func(a, b int64) int64 { return a * b })
)

var show = &engine.NodeType{
	Class:  "Show",
	Schema: engine.Schema{Inputs: []engine.InputSpec{{Name: "value", Type: "*"}}, OutputNode: true},
	Runner: engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
		return engine.Result{UI: map[string][]any{"value": {c.Inputs["value"]}}}, nil
	}),
}
