// Command late-edges shows what the three late-edge strategies do.
//
// A late edge is a link, added while the workflow runs, to an output that
// release level 2 has already freed. Two workflows make one:
//
//   - An expansion that links outside its node's upstream: a Detail node
//     expands into a Refine node that reads the model loaded by node "model",
//     which Detail does not depend on. reexecute loads the model again,
//     restrict refuses the link and fails the run, auto re-executes.
//
//   - A loop whose body reads a model from outside the loop: each iteration
//     links to the model again. reexecute pins nothing, so the model is
//     freed after each iteration and loaded again for the next one; restrict
//     and auto keep it pinned while the loop's close node is pending.
//
//     go run ./examples/late-edges
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/expand"
	"github.com/ebbgraph/ebb/nodes/testpack"
	"github.com/ebbgraph/ebb/policy"
)

const MiB = int64(1) << 20

// snippet:late-detail
// detail expands into a Refine node whose model is the output of the node
// named by its model_node input: a link the workflow does not show, to a
// node detail does not depend on.
type detail struct{}

func (detail) MayExpand() {}

var _ engine.MayExpand = detail{}

func (detail) Run(_ context.Context, c *engine.Call) (engine.Result, error) {
	model, err := c.String("model_node")
	if err != nil {
		return engine.Result{}, err
	}
	b := expand.NewBuilder(c)
	refine := b.Node("Refine", "refine", map[string]any{
		"model": engine.Ref{Node: engine.NodeID(model)},
		"image": c.Inputs["image"], // a raw link: the engine.Ref itself
	})
	return b.Result(refine.Out(0)), nil
}

// end-snippet

func types() []*engine.NodeType {
	return []*engine.NodeType{
		allocNode("LoadModel", "MODEL", 4096*MiB, 0),
		allocNode("LoadImage", "IMAGE", 64*MiB, 0),
		allocNode("Refine", "IMAGE", 64*MiB, 1024*MiB, "model", "image"),
		{
			Class: "Detail",
			Schema: engine.Schema{
				Inputs: []engine.InputSpec{
					{Name: "image", Type: "IMAGE", RawLink: true},
					{Name: "model_node", Type: "STRING"},
				},
				Outputs: []engine.OutputSpec{{Name: "IMAGE", Type: "IMAGE"}},
			},
			Runner: detail{},
		},
		{
			Class:  "Save",
			Schema: engine.Schema{Inputs: []engine.InputSpec{{Name: "image", Type: "IMAGE"}}, OutputNode: true},
			Runner: engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
				b, ok := c.Inputs["image"].(*engine.Buffer)
				if !ok {
					return engine.Result{}, fmt.Errorf("image: want a buffer, got %T", c.Inputs["image"])
				}
				return engine.Result{UI: map[string][]any{"saved": {b.Label}}}, nil
			}),
		},
	}
}

// allocNode returns a node type that reads the given inputs, needs work
// bytes while it runs and outputs a buffer of size bytes labelled with the
// id of the node that made it.
func allocNode(class, typ string, size, work int64, inputs ...string) *engine.NodeType {
	t := &engine.NodeType{
		Class:  class,
		Schema: engine.Schema{Outputs: []engine.OutputSpec{{Name: typ, Type: typ}}},
		Runner: engine.RunFunc(func(ctx context.Context, c *engine.Call) (engine.Result, error) {
			if work > 0 {
				if _, err := c.Alloc(ctx, work, "work"); err != nil {
					return engine.Result{}, err
				}
			}
			b, err := c.Alloc(ctx, size, string(c.Node))
			if err != nil {
				return engine.Result{}, err
			}
			return engine.Outputs(b), nil
		}),
	}
	for _, in := range inputs {
		t.Schema.Inputs = append(t.Schema.Inputs, engine.InputSpec{Name: in, Type: strings.ToUpper(in)})
	}
	return t
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "late-edges:", err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	reg := engine.NewRegistry()
	if err := testpack.Register(reg); err != nil { // the for loop nodes
		return err
	}
	reg.MustRegister(types()...)

	// snippet:late-outside
	// save1 runs first: its chain loads the model, and level 2 frees the
	// model once draft has read it. Then detail links to it again.
	outside := engine.Workflow{
		"model":  {Class: "LoadModel", Inputs: map[string]any{}},
		"img":    {Class: "LoadImage", Inputs: map[string]any{}},
		"draft":  {Class: "Refine", Inputs: map[string]any{"model": engine.Ref{Node: "model"}, "image": engine.Ref{Node: "img"}}},
		"save1":  {Class: "Save", Inputs: map[string]any{"image": engine.Ref{Node: "draft"}}},
		"photo":  {Class: "LoadImage", Inputs: map[string]any{}},
		"detail": {Class: "Detail", Inputs: map[string]any{"image": engine.Ref{Node: "photo"}, "model_node": "model"}},
		"save2":  {Class: "Save", Inputs: map[string]any{"image": engine.Ref{Node: "detail"}}},
	}
	// end-snippet
	fmt.Fprintln(w, "an expansion links outside its node's upstream:")
	if err := compare(w, reg, outside); err != nil {
		return err
	}

	// snippet:late-loop
	// Three iterations of a for loop (ComfyUI's testing pack) whose body
	// refines an image with a model loaded outside the loop.
	loop := engine.Workflow{
		"model": {Class: "LoadModel", Inputs: map[string]any{}},
		"img":   {Class: "LoadImage", Inputs: map[string]any{}},
		"open":  {Class: "TestForLoopOpen", Inputs: map[string]any{"remaining": int64(3), "initial_value1": engine.Ref{Node: "img"}}},
		"body":  {Class: "Refine", Inputs: map[string]any{"model": engine.Ref{Node: "model"}, "image": engine.Ref{Node: "open", Out: 2}}},
		"close": {Class: "TestForLoopClose", Inputs: map[string]any{"flow_control": engine.Ref{Node: "open"}, "initial_value1": engine.Ref{Node: "body"}}},
		"save":  {Class: "Save", Inputs: map[string]any{"image": engine.Ref{Node: "close"}}},
	}
	// end-snippet
	fmt.Fprintln(w, "\na loop body reads a model from outside the loop:")
	return compare(w, reg, loop)
}

// compare runs wf at level 2 under each strategy and prints the outcome.
func compare(w io.Writer, reg *engine.Registry, wf engine.Workflow) error {
	// snippet:late-compare
	for _, s := range policy.Strategies() {
		dev := device.NewSim(0)
		e, err := engine.New(engine.Options{Registry: reg, Device: dev, Parallelism: 1, Cache: engine.CacheMode{Kind: engine.CacheNone}})
		if err != nil {
			return err
		}
		res, _ := e.Run(context.Background(), wf, engine.RunOptions{
			Policy: &policy.Policy{Level: policy.ReleaseDead, Strategy: s},
		})
		fmt.Fprintf(w, "  %-10s ", s.String()+":")
		var restricted *engine.RestrictError
		switch {
		case errors.As(res.Err, &restricted):
			fmt.Fprintf(w, "error: %s links to %s, which it does not depend on\n", restricted.Expander, restricted.Target)
		case res.Err != nil:
			return res.Err
		default:
			fmt.Fprintf(w, "saved %v; re-executions %d, peak %s\n", savedImages(res),
				res.Stats.Reexecutions, device.FormatBytes(res.Stats.PeakBytes))
			for _, re := range res.Stats.Reexecuted {
				fmt.Fprintf(w, "    ran %s again for %s\n", re.Node, re.Cause)
			}
		}
		if err := dev.Close(); err != nil {
			return err
		}
	}
	// end-snippet
	return nil
}

// savedImages lists what the Save nodes saved, in node id order.
func savedImages(res *engine.RunResult) []any {
	var saved []any
	for _, id := range []engine.NodeID{"save", "save1", "save2"} {
		if ui, ok := res.Outputs[id]; ok {
			saved = append(saved, ui["saved"]...)
		}
	}
	return saved
}
