package expand_test

import (
	"context"
	"fmt"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/expand"
)

// exampleTypes are two node types: Add(a, b) -> INT and Print(value), an
// output node.
func exampleTypes() *engine.Registry {
	return engine.NewRegistry().MustRegister(
		&engine.NodeType{
			Class: "Add",
			Schema: engine.Schema{
				Inputs:  []engine.InputSpec{{Name: "a", Type: "INT"}, {Name: "b", Type: "INT"}},
				Outputs: []engine.OutputSpec{{Name: "INT", Type: "INT"}},
			},
			Runner: engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
				a, _ := c.Int("a")
				b, _ := c.Int("b")
				return engine.Outputs(a + b), nil
			}),
		},
		&engine.NodeType{
			Class:  "Print",
			Schema: engine.Schema{Inputs: []engine.InputSpec{{Name: "value", Type: "*"}}, OutputNode: true},
			Runner: engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
				return engine.Result{UI: map[string][]any{"value": {c.Inputs["value"]}}}, nil
			}),
		},
	)
}

// repeatAdd is a node type that adds b to a, n times, by expanding into a
// chain of n Add nodes.
type repeatAdd struct{}

func (repeatAdd) MayExpand() {}

func (repeatAdd) Run(_ context.Context, c *engine.Call) (engine.Result, error) {
	n, _ := c.Int("n")
	b := expand.NewBuilder(c)
	var acc any = c.Inputs["a"]
	for range n {
		acc = b.Node("Add", "", map[string]any{"a": acc, "b": c.Inputs["b"]}).Out(0)
	}
	return b.Result(acc), nil
}

func ExampleGraphBuilder() {
	reg := exampleTypes().MustRegister(&engine.NodeType{
		Class: "RepeatAdd",
		Schema: engine.Schema{
			Inputs:  []engine.InputSpec{{Name: "a", Type: "INT"}, {Name: "b", Type: "INT"}, {Name: "n", Type: "INT"}},
			Outputs: []engine.OutputSpec{{Name: "INT", Type: "INT"}},
		},
		Runner: repeatAdd{},
	})
	e, _ := engine.New(engine.Options{Registry: reg, Parallelism: 1})
	res, err := e.Run(context.Background(), engine.Workflow{
		"r": {Class: "RepeatAdd", Inputs: map[string]any{"a": int64(1), "b": int64(10), "n": int64(3)}},
		"p": {Class: "Print", Inputs: map[string]any{"value": engine.Ref{Node: "r", Out: 0}}},
	}, engine.RunOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("value:", res.Outputs["p"]["value"][0])
	fmt.Println("executed:", res.Executed)
	// Output:
	// value: 31
	// executed: [r r.0.0.1 r.0.0.2 r.0.0.3 p]
}

func ExampleComponent() {
	// AddTwice(x, y) = (x + y) + y, as a component of two Add nodes.
	addTwice := &expand.Component{
		Class:   "AddTwice",
		Inputs:  []engine.InputSpec{{Name: "x", Type: "INT"}, {Name: "y", Type: "INT"}},
		Outputs: []engine.OutputSpec{{Name: "INT", Type: "INT"}},
		Graph: engine.Workflow{
			"first":  {Class: "Add", Inputs: map[string]any{}},
			"second": {Class: "Add", Inputs: map[string]any{"a": engine.Ref{Node: "first", Out: 0}}},
		},
		InputNodes: map[string][]expand.Port{
			"x": {{Node: "first", Input: "a"}},
			"y": {{Node: "first", Input: "b"}, {Node: "second", Input: "b"}},
		},
		Results: []engine.Ref{{Node: "second", Out: 0}},
	}
	reg := exampleTypes().MustRegister(addTwice.NodeType())
	e, _ := engine.New(engine.Options{Registry: reg, Parallelism: 1})
	// Used twice: (1 + 2) + 2 = 5, then (5 + 100) + 100 = 205.
	res, err := e.Run(context.Background(), engine.Workflow{
		"c1": {Class: "AddTwice", Inputs: map[string]any{"x": int64(1), "y": int64(2)}},
		"c2": {Class: "AddTwice", Inputs: map[string]any{"x": engine.Ref{Node: "c1", Out: 0}, "y": int64(100)}},
		"p1": {Class: "Print", Inputs: map[string]any{"value": engine.Ref{Node: "c1", Out: 0}}},
		"p2": {Class: "Print", Inputs: map[string]any{"value": engine.Ref{Node: "c2", Out: 0}}},
	}, engine.RunOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Outputs["p1"]["value"][0], res.Outputs["p2"]["value"][0])
	// Output:
	// 5 205
}
