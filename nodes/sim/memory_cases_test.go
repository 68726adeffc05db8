package sim_test

import (
	"context"
	"testing"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/nodes/sim"
	"github.com/ebbgraph/ebb/nodes/testpack"
	"github.com/ebbgraph/ebb/policy"
)

// loopProfile: a 4 GiB loader whose model a for-loop body reads every
// iteration (conformance.md, memory case "loop over a big input").
const loopProfile = `{"unit": "GiB", "classes": {
	"Loader": {"outputs": [["MODEL", 4]]},
	"Seed":   {"outputs": [["LATENT", 0.01]]},
	"Step":   {"outputs": [["LATENT", 0.01]], "work": 1},
	"Sink":   {"outputs": [], "output_node": true}
}}`

func loopOverBigInput(iterations int64) engine.Workflow {
	ref := func(id string, out int) engine.Ref { return engine.Ref{Node: engine.NodeID(id), Out: out} }
	return engine.Workflow{
		"loader": {Class: "Loader", Inputs: map[string]any{}},
		"seed":   {Class: "Seed", Inputs: map[string]any{}},
		"open":   {Class: "TestForLoopOpen", Inputs: map[string]any{"remaining": iterations, "initial_value1": ref("seed", 0)}},
		"step":   {Class: "Step", Inputs: map[string]any{"model": ref("loader", 0), "latent": ref("open", 2)}},
		"close":  {Class: "TestForLoopClose", Inputs: map[string]any{"flow_control": ref("open", 0), "initial_value1": ref("step", 0)}},
		"sink":   {Class: "Sink", Inputs: map[string]any{"latent": ref("close", 0)}},
	}
}

func TestMemoryCaseLoopOverBigInput(t *testing.T) {
	prof, err := sim.ParseProfile([]byte(loopProfile))
	if err != nil {
		t.Fatal(err)
	}
	for _, strat := range policy.Strategies() {
		t.Run(strat.String(), func(t *testing.T) {
			reg := testpack.Registry()
			if err := prof.Register(reg); err != nil {
				t.Fatal(err)
			}
			dev := device.NewSim(8 * device.GiB)
			e, err := engine.New(engine.Options{Registry: reg, Device: dev, Parallelism: 1, Cache: engine.CacheMode{Kind: engine.CacheNone}})
			if err != nil {
				t.Fatal(err)
			}
			pol := policy.Policy{Level: policy.ReleaseDead, Strategy: strat}
			var loaderRuns, steps int
			obs := engine.ObserverFunc(func(ev engine.Event) {
				if ev.Type != engine.EventExecuting {
					return
				}
				switch ev.Class {
				case "Loader":
					loaderRuns++
				case "Step":
					steps++
				}
			})
			res, err := e.Run(context.Background(), loopOverBigInput(5), engine.RunOptions{Policy: &pol, Observers: []engine.Observer{obs}})
			if err != nil {
				t.Fatalf("run failed: %v", err)
			}
			if steps != 5 {
				t.Errorf("the body ran %d times, want 5", steps)
			}
			wantRe := 0
			if strat == policy.Reexecute {
				wantRe = 4 // pure reexecute pins nothing: the loader runs again for iterations 2..5
			}
			if res.Stats.Reexecutions != wantRe || loaderRuns != wantRe+1 {
				t.Errorf("re-executions %d (loader ran %d times), want %d", res.Stats.Reexecutions, loaderRuns, wantRe)
			}
			for _, re := range res.Stats.Reexecuted {
				if re.Node != "loader" {
					t.Errorf("re-executed %s, want only the loader", re.Node)
				}
			}
			if got := dev.Stats().InUse; got != 0 {
				t.Errorf("%d bytes left on the device", got)
			}
			// The loader's 4 GiB plus one step's work and latents: never two
			// models at once, and under reexecute never more than that either.
			if res.Stats.PeakBytes > 5*device.GiB+device.GiB/10 {
				t.Errorf("peak %s", device.FormatBytes(res.Stats.PeakBytes))
			}
		})
	}
}
