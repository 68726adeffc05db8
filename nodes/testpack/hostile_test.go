package testpack

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
)

// hostileValues are what a link may deliver to an input of any type: the
// engine checks literals against the schema, not linked values.
func hostileValues() []any {
	return []any{
		nil, true, int64(0), int64(-1), int64(math.MaxInt64), int64(math.MinInt64), int64(1 << 40),
		math.NaN(), math.Inf(1), math.Inf(-1), -1e300, 1e300, 0.5, "", "NOT a", `(a*)*$`,
		[]any{}, []any{nil}, map[string]any{}, Accumulation{}, Accumulation{Items: []any{int64(1)}},
		ConstantMask(1, 8, 8, 1), ConstantImage(2, 8, 8, 0.5), ConstantImage(1, 4, 8, 0),
		&Image{B: 1 << 30, H: 0, W: 8, C: 3}, &Image{B: 1, H: 8, W: 8, C: 3, Data: make([]float32, 3)},
		engine.Ref{Node: "nowhere"},
	}
}

// hostileRegistry is the pack plus Hostile (output pick's hostile value)
// and Sink (an output node taking anything).
func hostileRegistry() *engine.Registry {
	reg := Registry()
	vals := hostileValues()
	reg.MustRegister(&engine.NodeType{
		Class:  "Hostile",
		Schema: engine.Schema{Inputs: []engine.InputSpec{{Name: "pick", Type: "INT"}}, Outputs: []engine.OutputSpec{out("*", "*")}},
		Runner: engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
			i, err := c.Int("pick")
			if err != nil {
				return engine.Result{}, err
			}
			return engine.Outputs(vals[i]), nil
		}),
	})
	var sink []engine.InputSpec
	for i := range 5 {
		sink = append(sink, engine.InputSpec{Name: fmt.Sprint("v", i), Type: "*", Optional: true})
	}
	reg.MustRegister(&engine.NodeType{
		Class:  "Sink",
		Schema: engine.Schema{Inputs: sink, OutputNode: true},
		Runner: engine.RunFunc(func(context.Context, *engine.Call) (engine.Result, error) { return engine.Result{}, nil }),
	})
	return reg
}

// saneInput returns a value or link for an input of spec, adding the
// nodes it needs to wf.
func saneInput(wf engine.Workflow, in engine.InputSpec) any {
	link := func(id string, n *engine.Node, out int) any {
		wf[engine.NodeID(id)] = n
		return engine.Ref{Node: engine.NodeID(id), Out: out}
	}
	size := func(m map[string]any) map[string]any {
		m["height"], m["width"], m["batch_size"] = int64(8), int64(8), int64(1)
		return m
	}
	switch in.Type {
	case "IMAGE", "IMAGE,FLOAT":
		return link("sane_image", &engine.Node{Class: "StubImage", Inputs: size(map[string]any{"content": "NOISE"})}, 0)
	case "MASK":
		return link("sane_mask", &engine.Node{Class: "StubMask", Inputs: size(map[string]any{"value": 0.5})}, 0)
	case "INT":
		return int64(1)
	case "FLOAT":
		return 0.0 // no sleep
	case "BOOLEAN", "BOOL":
		if in.ForceInput {
			return link("sane_bool", &engine.Node{Class: "TestToBoolNode", Inputs: map[string]any{"value": int64(0)}}, 0)
		}
		return false
	case "STRING":
		return "a"
	case "COMBO":
		return in.Choices[0]
	case "ACCUMULATION":
		return link("sane_acc", &engine.Node{Class: "TestAccumulateNode", Inputs: map[string]any{"to_add": int64(1)}}, 0)
	case "FLOW_CONTROL":
		return link("sane_open", &engine.Node{Class: "TestWhileLoopOpen", Inputs: map[string]any{"condition": true}}, 0)
	}
	return int64(1)
}

// TestHostileLinkedValues feeds every input of every class of the pack
// each hostile value through a link (which validation does not check) and
// runs it on a small device: the run may fail, with a typed error, but
// never panics, never reports an internal error and leaves nothing on the
// device.
func TestHostileLinkedValues(t *testing.T) {
	reg := hostileRegistry()
	nvals := len(hostileValues())
	runs := 0
	for _, nt := range Types() {
		for _, target := range nt.Schema.Inputs {
			if target.Hidden != engine.NotHidden || target.RawLink {
				continue
			}
			for pick := range nvals {
				wf := engine.Workflow{"h": {Class: "Hostile", Inputs: map[string]any{"pick": int64(pick)}}}
				inputs := map[string]any{}
				for _, in := range nt.Schema.Inputs {
					if in.Hidden != engine.NotHidden {
						continue
					}
					if in.Name == target.Name {
						inputs[in.Name] = engine.Ref{Node: "h"}
					} else if !in.Optional || in.RawLink {
						inputs[in.Name] = saneInput(wf, in)
					}
				}
				wf["n"] = &engine.Node{Class: nt.Class, Inputs: inputs}
				sink := map[string]any{}
				for i := range min(len(nt.Schema.Outputs), 5) {
					sink[fmt.Sprint("v", i)] = engine.Ref{Node: "n", Out: i}
				}
				if len(sink) == 0 {
					sink["v0"] = engine.Ref{Node: "h"} // n is an output node itself
				}
				wf["sink"] = &engine.Node{Class: "Sink", Inputs: sink}

				dev := device.NewSim(64 << 20)
				e, err := engine.New(engine.Options{Registry: reg, Device: dev, Parallelism: 1, Cache: engine.CacheMode{Kind: engine.CacheNone}})
				if err != nil {
					t.Fatal(err)
				}
				// A hostile sleep length sleeps until the run is interrupted.
				ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
				res, _ := e.Run(ctx, wf, engine.RunOptions{Limits: engine.Limits{MaxExecutions: 1000}})
				cancel()
				what := fmt.Sprintf("%s.%s = %#v", nt.Class, target.Name, hostileValues()[pick])
				var ne *engine.NodeError
				switch {
				case res == nil:
					t.Fatalf("%s: no result", what)
				case errors.Is(res.Err, engine.ErrPanic), errors.Is(res.Err, engine.ErrInternal):
					t.Errorf("%s: %v", what, res.Err)
				case errors.As(res.Err, &ne) && (ne.Type == engine.TypePanic || ne.Type == engine.TypeInternal):
					t.Errorf("%s: %s: %v", what, ne.Type, res.Err)
				}
				if err := e.Close(); err != nil {
					t.Errorf("%s: close: %v", what, err)
				}
				if in := dev.Stats().InUse; in != 0 {
					t.Errorf("%s: %d bytes left on the device", what, in)
				}
				runs++
			}
		}
	}
	t.Logf("%d runs", runs)
}
