// Command loop builds two loops with the expand package and runs them.
//
// The for loop is a Sampler node that expands into a chain of denoising
// steps; it runs at release levels 0, 1 and 2 to show what level 2 saves.
// The while loop has ComfyUI's shape: an open node, a body and a close node
// that re-expands the body while its condition holds (expand.WhileClose).
// Last, the for loop written as tail recursion through links shows what the
// restrict and auto strategies pin.
//
//	go run ./examples/loop
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/expand"
	"github.com/ebbgraph/ebb/policy"
)

const MiB = int64(1) << 20

// snippet:loop-denoise
// denoise is one step of a sampler: it reads a latent, needs 512 MiB of
// working memory while it runs, and outputs a new 256 MiB latent. The
// memory is a device buffer from c.Alloc; the engine frees it when no node
// will read it again.
var denoise = &engine.NodeType{
	Class: "Denoise",
	Schema: engine.Schema{
		Inputs: []engine.InputSpec{
			{Name: "latent", Type: "LATENT"},
			{Name: "step", Type: "INT"},
		},
		Outputs: []engine.OutputSpec{{Name: "LATENT", Type: "LATENT"}},
	},
	Runner: engine.RunFunc(func(ctx context.Context, c *engine.Call) (engine.Result, error) {
		step, err := c.Int("step")
		if err != nil {
			return engine.Result{}, err
		}
		// Working memory: allocated, not returned, freed when Run returns.
		if _, err := c.Alloc(ctx, 512*MiB, "work"); err != nil {
			return engine.Result{}, err
		}
		latent, err := c.Alloc(ctx, 256*MiB, fmt.Sprintf("latent after step %d", step))
		if err != nil {
			return engine.Result{}, err
		}
		return engine.Outputs(latent), nil
	}),
}

// end-snippet

// snippet:loop-sampler
// sampler is a for loop over denoising steps: it expands into a chain of
// Denoise nodes, one per step, and its output becomes the last one's.
type sampler struct{}

// MayExpand tells the engine this node may return an expansion (the
// restrict and auto strategies pin its upstream outputs while it waits).
func (sampler) MayExpand() {}

var _ engine.MayExpand = sampler{}

func (sampler) Run(_ context.Context, c *engine.Call) (engine.Result, error) {
	steps, err := c.Int("steps")
	if err != nil {
		return engine.Result{}, err
	}
	// latent is a raw link (an engine.Ref, see the schema below), so the
	// first step links to the same output and the engine tracks the edge.
	latent := c.Inputs["latent"]
	b := expand.NewBuilder(c)
	for step := int64(1); step <= steps; step++ {
		latent = b.Node("Denoise", "", map[string]any{"latent": latent, "step": step}).Out(0)
	}
	return b.Result(latent), nil
}

var samplerType = &engine.NodeType{
	Class: "Sampler",
	Schema: engine.Schema{
		Inputs: []engine.InputSpec{
			{Name: "latent", Type: "LATENT", RawLink: true},
			{Name: "steps", Type: "INT", Min: engine.F(1), Max: engine.F(1000)},
		},
		Outputs: []engine.OutputSpec{{Name: "LATENT", Type: "LATENT"}},
	},
	Runner: sampler{},
}

// end-snippet

// snippet:loop-recursive
// recursiveSampler is the same for loop written as tail recursion through
// links: one Denoise node plus, while steps remain, a copy of itself that
// links to that node's output. Each pending copy depends on every earlier
// step, so the restrict and auto strategies pin every latent until the
// loop ends; reexecute pins nothing. Prefer one expansion (sampler above),
// or, for a loop whose length is not known in advance, a while loop that
// hands its values to the next iteration as literals (expand.WhileClose).
type recursiveSampler struct{}

func (recursiveSampler) MayExpand() {}

var _ engine.MayExpand = recursiveSampler{}

func (recursiveSampler) Run(_ context.Context, c *engine.Call) (engine.Result, error) {
	steps, err := c.Int("steps")
	if err != nil {
		return engine.Result{}, err
	}
	step, err := c.Int("step")
	if err != nil {
		return engine.Result{}, err
	}
	b := expand.NewBuilder(c)
	out := b.Node("Denoise", "denoise", map[string]any{"latent": c.Inputs["latent"], "step": step}).Out(0)
	if step < steps {
		out = b.Node("RecursiveSampler", "rest", map[string]any{"latent": out, "steps": steps, "step": step + 1}).Out(0)
	}
	return b.Result(out), nil
}

// end-snippet

var recursiveSamplerType = &engine.NodeType{
	Class: "RecursiveSampler",
	Schema: engine.Schema{
		Inputs: []engine.InputSpec{
			{Name: "latent", Type: "LATENT", RawLink: true},
			{Name: "steps", Type: "INT", Min: engine.F(1), Max: engine.F(1000)},
			{Name: "step", Type: "INT", Optional: true, Default: int64(1)},
		},
		Outputs: []engine.OutputSpec{{Name: "LATENT", Type: "LATENT"}},
	},
	Runner: recursiveSampler{},
}

// emptyLatent outputs the first latent.
var emptyLatent = &engine.NodeType{
	Class:  "EmptyLatent",
	Schema: engine.Schema{Outputs: []engine.OutputSpec{{Name: "LATENT", Type: "LATENT"}}},
	Runner: engine.RunFunc(func(ctx context.Context, c *engine.Call) (engine.Result, error) {
		latent, err := c.Alloc(ctx, 256*MiB, "empty latent")
		if err != nil {
			return engine.Result{}, err
		}
		return engine.Outputs(latent), nil
	}),
}

// show is the output node: it reports its value (a buffer by its label).
var show = &engine.NodeType{
	Class:  "Show",
	Schema: engine.Schema{Inputs: []engine.InputSpec{{Name: "value", Type: "*"}}, OutputNode: true},
	Runner: engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
		v := c.Inputs["value"]
		if b, ok := v.(*engine.Buffer); ok {
			v = b.Label
		}
		return engine.Result{UI: map[string][]any{"value": {v}}}, nil
	}),
}

// snippet:loop-while
// whileOpen starts a while loop: it passes its loop values through, after a
// FLOW_CONTROL output that the close node links to.
var whileOpen = &engine.NodeType{
	Class: "WhileOpen",
	Schema: engine.Schema{
		Inputs: []engine.InputSpec{
			{Name: "initial_value0", Type: "*", Optional: true},
			{Name: "initial_value1", Type: "*", Optional: true},
		},
		Outputs: []engine.OutputSpec{
			{Name: "FLOW_CONTROL", Type: "FLOW_CONTROL"},
			{Name: "value0", Type: "*"},
			{Name: "value1", Type: "*"},
		},
	},
	Runner: engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
		return engine.Outputs("open", c.Inputs["initial_value0"], c.Inputs["initial_value1"]), nil
	}),
}

// whileClose ends the loop. While condition holds, expand.WhileClose clones
// the loop body (the nodes between the open node and this one) with the new
// values and expands into the clone, which ends in a copy of this node.
type whileClose struct{}

func (whileClose) MayExpand() {}

var _ engine.MayExpand = whileClose{}

func (whileClose) Run(_ context.Context, c *engine.Call) (engine.Result, error) {
	open, ok := c.Inputs["flow_control"].(engine.Ref)
	if !ok {
		return engine.Result{}, fmt.Errorf("flow_control: want a link, got %T", c.Inputs["flow_control"])
	}
	cond, err := c.Bool("condition")
	if err != nil {
		return engine.Result{}, err
	}
	values := []any{c.Inputs["initial_value0"], c.Inputs["initial_value1"]}
	return expand.WhileClose(c, open.Node, values, cond)
}

var whileCloseType = &engine.NodeType{
	Class: "WhileClose",
	Schema: engine.Schema{
		Inputs: []engine.InputSpec{
			{Name: "flow_control", Type: "FLOW_CONTROL", RawLink: true},
			{Name: "condition", Type: "BOOLEAN"},
			{Name: "initial_value0", Type: "*", Optional: true},
			{Name: "initial_value1", Type: "*", Optional: true},
			// WhileClose reads the run's graph to find the loop body.
			{Name: "dynprompt", Type: "DYNPROMPT", Hidden: engine.HiddenDynPrompt},
		},
		Outputs: []engine.OutputSpec{{Name: "value0", Type: "*"}, {Name: "value1", Type: "*"}},
	},
	Runner: whileClose{},
}

// end-snippet

// collatz is the while loop's body: n -> n/2 or 3n+1, counting steps, and
// going on while n is not 1.
var collatz = &engine.NodeType{
	Class: "CollatzStep",
	Schema: engine.Schema{
		Inputs: []engine.InputSpec{{Name: "n", Type: "INT"}, {Name: "count", Type: "INT"}},
		Outputs: []engine.OutputSpec{
			{Name: "n", Type: "INT"}, {Name: "count", Type: "INT"}, {Name: "again", Type: "BOOLEAN"},
		},
	},
	Runner: engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
		n, err := c.Int("n")
		if err != nil {
			return engine.Result{}, err
		}
		count, err := c.Int("count")
		if err != nil {
			return engine.Result{}, err
		}
		if n%2 == 0 {
			n /= 2
		} else {
			n = 3*n + 1
		}
		return engine.Outputs(n, count+1, n != 1), nil
	}),
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loop:", err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	reg := engine.NewRegistry().MustRegister(denoise, samplerType, recursiveSamplerType,
		emptyLatent, show, whileOpen, whileCloseType, collatz)
	if err := forLoop(w, reg); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if err := whileLoop(w, reg); err != nil {
		return err
	}
	fmt.Fprintln(w)
	return recursiveLoop(w, reg)
}

func forLoop(w io.Writer, reg *engine.Registry) error {
	// snippet:loop-for-run
	const steps = 8
	wf := engine.Workflow{
		"latent":  {Class: "EmptyLatent", Inputs: map[string]any{}},
		"sampler": {Class: "Sampler", Inputs: map[string]any{"latent": engine.Ref{Node: "latent"}, "steps": int64(steps)}},
		"show":    {Class: "Show", Inputs: map[string]any{"value": engine.Ref{Node: "sampler"}}},
	}
	fmt.Fprintf(w, "for loop: %d denoising steps, 256 MiB latents, 512 MiB of working memory per step\n", steps)
	var executed []engine.NodeID
	for _, level := range policy.Levels() {
		res, err := runOnSim(reg, wf, policy.Policy{Level: level})
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "level %d: %v; %d nodes ran, peak %s, bound %s, %d releases\n",
			level, res.Outputs["show"]["value"][0], res.Stats.Executions,
			device.FormatBytes(res.Stats.PeakBytes), device.FormatBytes(res.Stats.BoundBytes), res.Stats.Releases)
		executed = res.Executed
	}
	// end-snippet
	fmt.Fprintln(w, "nodes that ran:", executed)
	return nil
}

// snippet:loop-run-on-sim
// runOnSim runs wf with pol on a fresh engine and an unlimited simulated
// device (exact accounting, no real memory), and checks that nothing leaked.
func runOnSim(reg *engine.Registry, wf engine.Workflow, pol policy.Policy) (*engine.RunResult, error) {
	dev := device.NewSim(0)
	e, err := engine.New(engine.Options{Registry: reg, Device: dev, Parallelism: 1})
	if err != nil {
		return nil, err
	}
	res, err := e.Run(context.Background(), wf, engine.RunOptions{Policy: &pol})
	if err != nil {
		return nil, err
	}
	if err := e.Close(); err != nil { // empties the cross-run cache
		return nil, err
	}
	return res, dev.Close() // reports buffers never freed
}

// end-snippet

func recursiveLoop(w io.Writer, reg *engine.Registry) error {
	wf := engine.Workflow{
		"latent":  {Class: "EmptyLatent", Inputs: map[string]any{}},
		"sampler": {Class: "RecursiveSampler", Inputs: map[string]any{"latent": engine.Ref{Node: "latent"}, "steps": int64(8)}},
		"show":    {Class: "Show", Inputs: map[string]any{"value": engine.Ref{Node: "sampler"}}},
	}
	fmt.Fprintln(w, "the for loop as tail recursion through links, level 2:")
	for _, s := range policy.Strategies() {
		res, err := runOnSim(reg, wf, policy.Policy{Level: policy.ReleaseDead, Strategy: s})
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%-10s %v; peak %s, bound %s, %d re-executions\n", s.String()+":",
			res.Outputs["show"]["value"][0], device.FormatBytes(res.Stats.PeakBytes),
			device.FormatBytes(res.Stats.BoundBytes), res.Stats.Reexecutions)
	}
	return nil
}

func whileLoop(w io.Writer, reg *engine.Registry) error {
	// snippet:loop-while-run
	// while n != 1: n = collatz(n); count++
	wf := engine.Workflow{
		"open": {Class: "WhileOpen", Inputs: map[string]any{"initial_value0": int64(27), "initial_value1": int64(0)}},
		"step": {Class: "CollatzStep", Inputs: map[string]any{"n": engine.Ref{Node: "open", Out: 1}, "count": engine.Ref{Node: "open", Out: 2}}},
		"close": {Class: "WhileClose", Inputs: map[string]any{
			"flow_control":   engine.Ref{Node: "open", Out: 0},
			"condition":      engine.Ref{Node: "step", Out: 2},
			"initial_value0": engine.Ref{Node: "step", Out: 0},
			"initial_value1": engine.Ref{Node: "step", Out: 1},
		}},
		"steps": {Class: "Show", Inputs: map[string]any{"value": engine.Ref{Node: "close", Out: 1}}},
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
	fmt.Fprintf(w, "while loop: 27 reaches 1 after %v steps\n", res.Outputs["steps"]["value"][0])
	fmt.Fprintf(w, "%d nodes ran; the first: %v\n", len(res.Executed), res.Executed[:6])
	fmt.Fprintf(w, "the last: %v\n", res.Executed[len(res.Executed)-4:])
	// end-snippet
	return nil
}
