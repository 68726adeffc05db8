// Command hello defines three node types in Go, wires them into a
// workflow, prints the workflow as ComfyUI API-format JSON and runs it twice:
// the second run is answered from the cross-run cache.
//
//	go run ./examples/hello
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/policy"
)

// snippet:hello-number
// number outputs its literal input "value".
var number = &engine.NodeType{
	Class: "Number",
	Schema: engine.Schema{
		Inputs:  []engine.InputSpec{{Name: "value", Type: "INT"}},
		Outputs: []engine.OutputSpec{{Name: "INT", Type: "INT"}},
	},
	Runner: engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
		v, err := c.Int("value")
		if err != nil {
			return engine.Result{}, err
		}
		return engine.Outputs(v), nil
	}),
}

// end-snippet

// multiply outputs a*b.
var multiply = &engine.NodeType{
	Class: "Multiply",
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
		return engine.Outputs(a * b), nil
	}),
}

// snippet:hello-show
// show is an output node: execution starts from it, and what it returns in
// Result.UI is the run's result.
var show = &engine.NodeType{
	Class: "Show",
	Schema: engine.Schema{
		Inputs:     []engine.InputSpec{{Name: "value", Type: "*"}},
		OutputNode: true,
	},
	Runner: engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
		return engine.Result{UI: map[string][]any{"text": {fmt.Sprint(c.Inputs["value"])}}}, nil
	}),
}

// end-snippet

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "hello:", err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	// snippet:hello-run
	reg := engine.NewRegistry().MustRegister(number, multiply, show)
	e, err := engine.New(engine.Options{Registry: reg, Parallelism: 1})
	if err != nil {
		return err
	}
	defer e.Close()

	// Node ids are strings; engine.Ref{Node, Out} links to output Out of a node.
	wf := engine.Workflow{
		"1": {Class: "Number", Inputs: map[string]any{"value": int64(6)}},
		"2": {Class: "Number", Inputs: map[string]any{"value": int64(7)}},
		"3": {Class: "Multiply", Inputs: map[string]any{"a": engine.Ref{Node: "1"}, "b": engine.Ref{Node: "2"}}},
		"4": {Class: "Show", Inputs: map[string]any{"value": engine.Ref{Node: "3"}}},
	}
	res, err := e.Run(context.Background(), wf, engine.RunOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "result:", res.Outputs["4"]["text"][0])
	fmt.Fprintln(w, "executed:", res.Executed)
	// end-snippet

	fmt.Fprintln(w, "\nthe workflow in ComfyUI's API format:")
	if err := engine.WriteWorkflow(w, wf); err != nil {
		return err
	}

	// snippet:hello-cache
	// The engine's cache (classic by default) keeps the last run's outputs,
	// so the same workflow again runs nothing.
	rerun := func(value int64, pol *policy.Policy) error {
		wf["2"] = &engine.Node{Class: "Number", Inputs: map[string]any{"value": value}}
		res, err := e.Run(context.Background(), wf, engine.RunOptions{Policy: pol})
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "node 2 = %d, %v: result %s, executed %v, cached %v\n",
			value, pol, res.Outputs["4"]["text"][0], res.Executed, res.Cached)
		return nil
	}
	fmt.Fprintln(w)
	level2 := &policy.Policy{Level: policy.ReleaseDead} // the default
	if err := rerun(7, level2); err != nil {
		return err
	}
	// Node 1 runs again after an edit of node 2: at level 2 an output is
	// released as soon as its last reader is done, and a released output
	// leaves the cache.
	if err := rerun(8, level2); err != nil {
		return err
	}
	// Level 0 keeps every output until the run ends, and the cache with it:
	// after an edit of node 2, node 1 comes from the cache. A run answered
	// from the cache at node 4 does not reach nodes 1 to 3, but the classic
	// cache keeps every node of the last workflow, so after the next edit
	// node 1 still comes from the cache.
	keep := &policy.Policy{Level: policy.KeepAll}
	for _, v := range []int64{9, 10, 10, 11} {
		if err := rerun(v, keep); err != nil {
			return err
		}
	}
	// end-snippet
	return nil
}
