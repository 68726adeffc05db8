// Command lazy shows lazy inputs: a Switch node asks only for the branch its
// condition picks, so the expensive branch (an upscaler that needs 4 GiB of
// working memory) runs only when it is wanted. It runs the workflow with
// each condition on a simulated device and prints which nodes ran and the
// peak memory.
//
//	go run ./examples/lazy
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
)

const MiB = int64(1) << 20

// snippet:lazy-switch
// switchNode outputs on_true or on_false. Both are lazy: the engine
// evaluates neither until CheckLazy asks for it, so the branch not taken
// never runs.
type switchNode struct{}

var _ engine.LazyChecker = switchNode{}

// CheckLazy is called with the inputs available so far (a lazy input not
// evaluated yet is absent) and names the lazy inputs it still needs. It is
// asked again once those are there, until it needs nothing more.
func (switchNode) CheckLazy(_ context.Context, c *engine.Call) ([]string, error) {
	want, err := branch(c)
	if err != nil || c.Has(want) {
		return nil, err
	}
	return []string{want}, nil
}

func (switchNode) Run(_ context.Context, c *engine.Call) (engine.Result, error) {
	want, err := branch(c)
	if err != nil {
		return engine.Result{}, err
	}
	return engine.Outputs(c.Inputs[want]), nil
}

func branch(c *engine.Call) (string, error) {
	cond, err := c.Bool("condition")
	if cond {
		return "on_true", err
	}
	return "on_false", err
}

var switchType = &engine.NodeType{
	Class: "Switch",
	Schema: engine.Schema{
		Inputs: []engine.InputSpec{
			{Name: "condition", Type: "BOOLEAN"},
			{Name: "on_true", Type: "IMAGE", Lazy: true},
			{Name: "on_false", Type: "IMAGE", Lazy: true},
		},
		Outputs: []engine.OutputSpec{{Name: "IMAGE", Type: "IMAGE"}},
	},
	Runner: switchNode{},
}

// end-snippet

// imageNode returns a node type that reads an optional IMAGE, needs work
// bytes of working memory while it runs and outputs a new IMAGE of size
// bytes (a device buffer labelled with its class).
func imageNode(class string, size, work int64) *engine.NodeType {
	return &engine.NodeType{
		Class: class,
		Schema: engine.Schema{
			Inputs:  []engine.InputSpec{{Name: "image", Type: "IMAGE", Optional: true}},
			Outputs: []engine.OutputSpec{{Name: "IMAGE", Type: "IMAGE"}},
		},
		Runner: engine.RunFunc(func(ctx context.Context, c *engine.Call) (engine.Result, error) {
			if work > 0 {
				// Memory a call allocates and does not return is freed
				// when the call returns.
				if _, err := c.Alloc(ctx, work, "work"); err != nil {
					return engine.Result{}, err
				}
			}
			img, err := c.Alloc(ctx, size, class)
			if err != nil {
				return engine.Result{}, err
			}
			return engine.Outputs(img), nil
		}),
	}
}

// save is the output node: it reports which image it got.
var save = &engine.NodeType{
	Class:  "Save",
	Schema: engine.Schema{Inputs: []engine.InputSpec{{Name: "image", Type: "IMAGE"}}, OutputNode: true},
	Runner: engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
		img, ok := c.Inputs["image"].(*engine.Buffer)
		if !ok {
			return engine.Result{}, fmt.Errorf("image: want a buffer, got %T", c.Inputs["image"])
		}
		return engine.Result{UI: map[string][]any{"saved": {img.Label + ", " + device.FormatBytes(img.Bytes())}}}, nil
	}),
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "lazy:", err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	reg := engine.NewRegistry().MustRegister(
		imageNode("LoadImage", 64*MiB, 0),
		imageNode("Upscale", 1024*MiB, 4096*MiB), // the expensive branch
		imageNode("Thumbnail", 4*MiB, 0),
		switchType,
		save,
	)
	for _, cond := range []bool{false, true} {
		wf := engine.Workflow{
			"load":  {Class: "LoadImage", Inputs: map[string]any{}},
			"big":   {Class: "Upscale", Inputs: map[string]any{"image": engine.Ref{Node: "load"}}},
			"small": {Class: "Thumbnail", Inputs: map[string]any{"image": engine.Ref{Node: "load"}}},
			"pick": {Class: "Switch", Inputs: map[string]any{
				"condition": cond,
				"on_true":   engine.Ref{Node: "big"},
				"on_false":  engine.Ref{Node: "small"},
			}},
			"save": {Class: "Save", Inputs: map[string]any{"image": engine.Ref{Node: "pick"}}},
		}
		e, err := engine.New(engine.Options{Registry: reg, Parallelism: 1})
		if err != nil {
			return err
		}
		res, err := e.Run(context.Background(), wf, engine.RunOptions{})
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "condition %v: saved %s\n", cond, res.Outputs["save"]["saved"][0])
		fmt.Fprintf(w, "  executed %v, peak %s\n", res.Executed, device.FormatBytes(res.Stats.PeakBytes))
		if err := e.Close(); err != nil {
			return err
		}
	}
	return nil
}
