package engine_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/policy"
)

// show is an output node that reports its input "value" in its UI result.
var show = &engine.NodeType{
	Class:  "Show",
	Schema: engine.Schema{Inputs: []engine.InputSpec{{Name: "value", Type: "*"}}, OutputNode: true},
	Runner: engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
		return engine.Result{UI: map[string][]any{"value": {c.Inputs["value"]}}}, nil
	}),
}

// runOne runs wf on a new engine (parallelism 1, no cache) and prints the
// value shown by node "show" and the nodes that ran.
func runOne(reg *engine.Registry, wf engine.Workflow) {
	e, _ := engine.New(engine.Options{Registry: reg, Parallelism: 1, Cache: engine.CacheMode{Kind: engine.CacheNone}})
	defer e.Close()
	res, err := e.Run(context.Background(), wf, engine.RunOptions{})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println("show:", res.Outputs["show"]["value"][0], "executed:", res.Executed)
}

// A node type is a class, a schema (data) and a Runner (behaviour). This one
// joins two strings.
func Example() {
	// snippet:engine-nodetype
	concat := &engine.NodeType{
		Class: "Concat",
		Schema: engine.Schema{
			Inputs: []engine.InputSpec{
				{Name: "a", Type: "STRING"},
				{Name: "b", Type: "STRING"},
				{Name: "sep", Type: "STRING", Optional: true, Default: " "},
			},
			Outputs: []engine.OutputSpec{{Name: "STRING", Type: "STRING"}},
		},
		Runner: engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
			a, err := c.String("a")
			if err != nil {
				return engine.Result{}, err
			}
			b, err := c.String("b")
			if err != nil {
				return engine.Result{}, err
			}
			sep, err := c.String("sep") // absent: the Default
			if err != nil {
				return engine.Result{}, err
			}
			return engine.Outputs(a + sep + b), nil
		}),
	}
	// end-snippet
	reg := engine.NewRegistry().MustRegister(concat, show)
	runOne(reg, engine.Workflow{
		"1":    {Class: "Concat", Inputs: map[string]any{"a": "hello", "b": "ebb"}},
		"2":    {Class: "Concat", Inputs: map[string]any{"a": engine.Ref{Node: "1"}, "b": "!", "sep": ""}},
		"show": {Class: "Show", Inputs: map[string]any{"value": engine.Ref{Node: "2"}}},
	})
	// Output:
	// show: hello ebb! executed: [1 2 show]
}

// Workflows are ComfyUI API-format JSON. Numbers keep their form: 512 is an
// int64 and 512.0 a float64 (validation then converts literals of declared
// INT and FLOAT inputs). ["1", 0] is a link; a literal list is written
// {"__value__": [...]}.
func ExampleDecodeWorkflow() {
	wf, err := engine.DecodeWorkflow([]byte(`{
		"1": {"class_type": "EmptyImage", "inputs": {"width": 512, "height": 512.0}},
		"2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "sizes": {"__value__": [1, 2]}}}
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, id := range wf.IDs() {
		n := wf[id]
		for _, name := range n.InputNames() {
			fmt.Printf("%s %s.%s = %v (%T)\n", id, n.Class, name, n.Inputs[name], n.Inputs[name])
		}
	}
	// Output:
	// 1 EmptyImage.height = 512 (float64)
	// 1 EmptyImage.width = 512 (int64)
	// 2 SaveImage.images = ["1", 0] (engine.Ref)
	// 2 SaveImage.sizes = [1 2] ([]interface {})
}

// pick outputs input a or b, whichever "first" says; both are lazy, so the
// other is never evaluated.
type pick struct{}

var _ engine.LazyChecker = pick{}

func (pick) CheckLazy(_ context.Context, c *engine.Call) ([]string, error) {
	want := "b"
	if first, _ := c.Bool("first"); first {
		want = "a"
	}
	if c.Has(want) { // evaluated inputs are present, lazy ones not yet asked for are absent
		return nil, nil
	}
	return []string{want}, nil
}

func (pick) Run(_ context.Context, c *engine.Call) (engine.Result, error) {
	if first, _ := c.Bool("first"); first {
		return engine.Outputs(c.Inputs["a"]), nil
	}
	return engine.Outputs(c.Inputs["b"]), nil
}

var pickType = &engine.NodeType{
	Class: "Pick",
	Schema: engine.Schema{
		Inputs: []engine.InputSpec{
			{Name: "first", Type: "BOOLEAN"},
			{Name: "a", Type: "*", Lazy: true},
			{Name: "b", Type: "*", Lazy: true},
		},
		Outputs: []engine.OutputSpec{{Name: "value", Type: "*"}},
	},
	Runner: pick{},
}

// constant outputs its input "value".
var constant = &engine.NodeType{
	Class: "Const",
	Schema: engine.Schema{
		Inputs:  []engine.InputSpec{{Name: "value", Type: "*"}},
		Outputs: []engine.OutputSpec{{Name: "value", Type: "*"}},
	},
	Runner: engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
		return engine.Outputs(c.Inputs["value"]), nil
	}),
}

// A LazyChecker names the lazy inputs it needs; the others never run.
func ExampleLazyChecker() {
	reg := engine.NewRegistry().MustRegister(pickType, constant, show)
	runOne(reg, engine.Workflow{
		"x":    {Class: "Const", Inputs: map[string]any{"value": "x"}},
		"y":    {Class: "Const", Inputs: map[string]any{"value": "y"}},
		"p":    {Class: "Pick", Inputs: map[string]any{"first": false, "a": engine.Ref{Node: "x"}, "b": engine.Ref{Node: "y"}}},
		"show": {Class: "Show", Inputs: map[string]any{"value": engine.Ref{Node: "p"}}},
	})
	// Output:
	// show: y executed: [y p show]
}

// snippet:engine-fingerprint
// readSetting outputs the current value of a setting that can change
// between runs without any input changing (a file, a clock, a database), so
// its inputs alone cannot say whether its cached output is still good.
type readSetting struct{ settings map[string]string }

var _ engine.Fingerprinter = (*readSetting)(nil)

// Fingerprint is ComfyUI's IS_CHANGED: the cached output is used only when
// the fingerprint equals the one it was made with. It sees literal inputs
// only. Return engine.AlwaysChanged to never use the cache.
func (r *readSetting) Fingerprint(c *engine.Call) (any, error) {
	key, err := c.String("key")
	if err != nil {
		return nil, err
	}
	return r.settings[key], nil
}

func (r *readSetting) Run(_ context.Context, c *engine.Call) (engine.Result, error) {
	key, err := c.String("key")
	if err != nil {
		return engine.Result{}, err
	}
	return engine.Outputs(r.settings[key]), nil
}

// end-snippet

// A Fingerprinter tells the cross-run cache when a node's output changed
// although its inputs did not.
func ExampleFingerprinter() {
	settings := map[string]string{"greeting": "hello"}
	reg := engine.NewRegistry().MustRegister(show, &engine.NodeType{
		Class: "ReadSetting",
		Schema: engine.Schema{
			Inputs:  []engine.InputSpec{{Name: "key", Type: "STRING"}},
			Outputs: []engine.OutputSpec{{Name: "STRING", Type: "STRING"}},
		},
		Runner: &readSetting{settings: settings},
	})
	e, _ := engine.New(engine.Options{Registry: reg, Parallelism: 1}) // classic cache
	defer e.Close()
	wf := engine.Workflow{
		"read": {Class: "ReadSetting", Inputs: map[string]any{"key": "greeting"}},
		"show": {Class: "Show", Inputs: map[string]any{"value": engine.Ref{Node: "read"}}},
	}
	for _, greeting := range []string{"hello", "hello", "bonjour"} {
		settings["greeting"] = greeting
		res, _ := e.Run(context.Background(), wf, engine.RunOptions{})
		fmt.Println(res.Outputs["show"]["value"][0], "executed:", res.Executed, "cached:", res.Cached)
	}
	// Output:
	// hello executed: [read show] cached: []
	// hello executed: [] cached: [show]
	// bonjour executed: [read show] cached: []
}

// snippet:engine-validator
// resize takes a width that must be a multiple of 8. Its Validator checks
// that before the run; Schema.Validation says the Validator takes over the
// built-in checks (min, max, choices) of "width".
type resize struct{}

var _ engine.Validator = resize{}

func (resize) ValidateInputs(v engine.ValidationInput) error {
	w, ok := v.Values["width"].(int64) // nil when width is a link
	if ok && w%8 != 0 {
		return fmt.Errorf("width %d is not a multiple of 8", w)
	}
	return nil
}

func (resize) Run(_ context.Context, c *engine.Call) (engine.Result, error) {
	w, err := c.Int("width")
	return engine.Outputs(w), err
}

var resizeType = &engine.NodeType{
	Class: "Resize",
	Schema: engine.Schema{
		Inputs:     []engine.InputSpec{{Name: "width", Type: "INT", Min: engine.F(8), Max: engine.F(8192)}},
		Outputs:    []engine.OutputSpec{{Name: "INT", Type: "INT"}},
		Validation: engine.CustomValidation{Inputs: []string{"width"}},
	},
	Runner: resize{},
}

// end-snippet

// A Validator rejects a node before anything runs; the run's NodeErrors say
// which node and why, with ComfyUI's error types.
func ExampleValidator() {
	reg := engine.NewRegistry().MustRegister(resizeType, show)
	e, _ := engine.New(engine.Options{Registry: reg})
	defer e.Close()
	res, err := e.Run(context.Background(), engine.Workflow{
		"r":    {Class: "Resize", Inputs: map[string]any{"width": int64(500)}},
		"show": {Class: "Show", Inputs: map[string]any{"value": engine.Ref{Node: "r"}}},
	}, engine.RunOptions{})
	fmt.Println(res.Status, errors.Is(err, engine.ErrInvalid))
	for _, ve := range res.NodeErrors["r"].Errors {
		fmt.Println(ve.Type+":", ve.Message)
	}
	// Output:
	// invalid true
	// custom_validation_failed: width 500 is not a multiple of 8
}

// snippet:engine-notreexecutable
// seed draws a random number: running it twice would give another value,
// so it must never be re-executed for a late edge. Under the reexecute and
// auto strategies its outputs are pinned for the run instead of released.
type seed struct{}

var (
	_ engine.NotReexecutable = seed{}
	_ engine.Fingerprinter   = seed{}
)

func (seed) NotReexecutable() {}

// Fingerprint: a new value on every run, so never from the cache.
func (seed) Fingerprint(*engine.Call) (any, error) { return engine.AlwaysChanged, nil }

func (seed) Run(context.Context, *engine.Call) (engine.Result, error) {
	return engine.Outputs(rand.Int64N(1 << 32)), nil
}

// end-snippet

// A NotReexecutable node's outputs are pinned, not released, under the
// reexecute and auto strategies: the run reports a pinned event.
func ExampleNotReexecutable() {
	reg := engine.NewRegistry().MustRegister(show, &engine.NodeType{
		Class:  "Seed",
		Schema: engine.Schema{Outputs: []engine.OutputSpec{{Name: "INT", Type: "INT"}}},
		Runner: seed{},
	})
	var events []string
	e, _ := engine.New(engine.Options{Registry: reg, Parallelism: 1, Observers: []engine.Observer{
		engine.ObserverFunc(func(ev engine.Event) {
			if ev.Type == engine.EventPinned || ev.Type == engine.EventReleased {
				events = append(events, fmt.Sprintf("%s %s", ev.Type, ev.Node))
			}
		}),
	}})
	defer e.Close()
	wf := engine.Workflow{
		"seed": {Class: "Seed", Inputs: map[string]any{}},
		"show": {Class: "Show", Inputs: map[string]any{"value": engine.Ref{Node: "seed"}}},
	}
	res, _ := e.Run(context.Background(), wf, engine.RunOptions{}) // level 2, auto
	fmt.Println(res.Status, "pins:", res.Stats.Pins, strings.Join(events, ", "))
	// Output:
	// success pins: 1 pinned seed
}

// Memory comes from the run's device through Call.Alloc; the run's policy
// decides when outputs are released. The same workflow at each level:
func ExampleRunOptions() {
	const MiB = 1 << 20
	// Alloc(in, mib, unused_mib) -> (OUT, UNUSED): two new buffers.
	alloc := &engine.NodeType{
		Class: "Alloc",
		Schema: engine.Schema{
			Inputs: []engine.InputSpec{
				{Name: "in", Type: "*", Optional: true},
				{Name: "mib", Type: "INT"},
				{Name: "unused_mib", Type: "INT", Optional: true, Default: int64(0)},
			},
			Outputs: []engine.OutputSpec{{Name: "OUT", Type: "*"}, {Name: "UNUSED", Type: "*"}},
		},
		Runner: engine.RunFunc(func(ctx context.Context, c *engine.Call) (engine.Result, error) {
			n, _ := c.Int("mib")
			u, _ := c.Int("unused_mib")
			out, err := c.Alloc(ctx, n*MiB, "out")
			if err != nil {
				return engine.Result{}, err
			}
			unused, err := c.Alloc(ctx, u*MiB, "unused")
			return engine.Outputs(out, unused), err
		}),
	}
	reg := engine.NewRegistry().MustRegister(alloc, show)
	wf := engine.Workflow{
		"a":    {Class: "Alloc", Inputs: map[string]any{"mib": int64(100), "unused_mib": int64(50)}},
		"b":    {Class: "Alloc", Inputs: map[string]any{"in": engine.Ref{Node: "a"}, "mib": int64(100)}},
		"c":    {Class: "Alloc", Inputs: map[string]any{"in": engine.Ref{Node: "b"}, "mib": int64(100)}},
		"show": {Class: "Show", Inputs: map[string]any{"value": engine.Ref{Node: "c"}}},
	}
	for _, level := range policy.Levels() {
		e, _ := engine.New(engine.Options{Registry: reg, Device: device.NewSim(0), Parallelism: 1})
		res, _ := e.Run(context.Background(), wf, engine.RunOptions{Policy: &policy.Policy{Level: level}})
		fmt.Printf("level %d: peak %s, bound %s, releases %d\n", level,
			device.FormatBytes(res.Stats.PeakBytes), device.FormatBytes(res.Stats.BoundBytes), res.Stats.Releases)
		e.Close()
	}
	// Output:
	// level 0: peak 350 MiB, bound 200 MiB, releases 0
	// level 1: peak 300 MiB, bound 200 MiB, releases 3
	// level 2: peak 200 MiB, bound 200 MiB, releases 6
}

// Blocked stops the consumers of a node's outputs (ComfyUI's
// ExecutionBlocker): they are skipped. With a message, the run reports it
// as an error event; an empty message blocks silently.
func ExampleBlocked() {
	// snippet:engine-blocked
	gate := &engine.NodeType{
		Class: "Gate",
		Schema: engine.Schema{
			Inputs:  []engine.InputSpec{{Name: "value", Type: "*"}, {Name: "open", Type: "BOOLEAN"}},
			Outputs: []engine.OutputSpec{{Name: "value", Type: "*"}},
		},
		Runner: engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
			if open, _ := c.Bool("open"); !open {
				return engine.Blocked("", 1), nil
			}
			return engine.Outputs(c.Inputs["value"]), nil
		}),
	}
	// end-snippet
	reg := engine.NewRegistry().MustRegister(gate, show)
	for _, open := range []bool{true, false} {
		e, _ := engine.New(engine.Options{Registry: reg, Parallelism: 1})
		res, err := e.Run(context.Background(), engine.Workflow{
			"gate": {Class: "Gate", Inputs: map[string]any{"value": "through", "open": open}},
			"show": {Class: "Show", Inputs: map[string]any{"value": engine.Ref{Node: "gate"}}},
		}, engine.RunOptions{})
		fmt.Println("open:", open, "err:", err, "outputs:", res.Outputs)
		e.Close()
	}
	// Output:
	// open: true err: <nil> outputs: map[show:map[value:[through]]]
	// open: false err: <nil> outputs: map[]
}
