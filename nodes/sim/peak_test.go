package sim_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/nodes/sim"
	"github.com/ebbgraph/ebb/policy"
	"github.com/ebbgraph/ebb/workflows"
)

// loaders is the workflow of the PeakBytes < DevicePeakBytes report,
// made stronger: n CheckpointLoaderSimple nodes on the seed profile whose
// VAEs, but the first, are linked nowhere (so level 2 frees each as soon
// as its loader returns, while other loaders allocate on other workers),
// and an output node that consumes everything else.
func loaders(n int) engine.Workflow {
	sink := map[string]any{"vae": engine.Ref{Node: "1", Out: 2}}
	wf := engine.Workflow{"sink": {Class: "SaveImage", Inputs: sink}}
	for i := 1; i <= n; i++ {
		id := engine.NodeID(fmt.Sprint(i))
		wf[id] = &engine.Node{Class: "CheckpointLoaderSimple", Inputs: map[string]any{"ckpt_name": fmt.Sprintf("%d.safetensors", i)}}
		sink[fmt.Sprint("model", i)] = engine.Ref{Node: id, Out: 0}
		sink[fmt.Sprint("clip", i)] = engine.Ref{Node: id, Out: 1}
	}
	return wf
}

// The engine's peak counts every byte it holds on the device, so it is
// never below the device's peak for a device only the engine uses; with
// one worker the two are equal. The reported race: a freed output left the
// engine's count before the device's, and a concurrent allocation sampled
// the device in that gap.
func TestPeakBytesCoversDevicePeak(t *testing.T) {
	if procs := runtime.GOMAXPROCS(0); procs < 4 {
		runtime.GOMAXPROCS(4) // the default parallelism is GOMAXPROCS
		t.Cleanup(func() { runtime.GOMAXPROCS(procs) })
	}
	wf := loaders(8)
	prof, err := sim.ParseProfile(workflows.SeedProfile)
	if err != nil {
		t.Fatal(err)
	}
	reg := engine.NewRegistry()
	if err := prof.Register(reg); err != nil {
		t.Fatal(err)
	}
	runs := 200
	if testing.Short() {
		runs = 20
	}
	for _, par := range []int{0, 1, 4} {
		t.Run(fmt.Sprint("parallelism ", par), func(t *testing.T) {
			dev := device.NewSim(0)
			e, err := engine.New(engine.Options{Registry: reg, Device: dev, Parallelism: par, Cache: engine.CacheMode{Kind: engine.CacheNone}})
			if err != nil {
				t.Fatal(err)
			}
			for i := range runs {
				res, err := e.Run(context.Background(), wf, engine.RunOptions{Policy: &policy.Policy{Level: policy.ReleaseDead}})
				if err != nil {
					t.Fatalf("run %d: %v", i, err)
				}
				st := res.Stats
				if st.PeakBytes < st.DevicePeakBytes {
					t.Fatalf("run %d: engine peak %d < device peak %d (%d bytes below)",
						i, st.PeakBytes, st.DevicePeakBytes, st.DevicePeakBytes-st.PeakBytes)
				}
				if par == 1 && st.PeakBytes != st.DevicePeakBytes {
					t.Fatalf("run %d: engine peak %d, device peak %d; want them equal at parallelism 1",
						i, st.PeakBytes, st.DevicePeakBytes)
				}
				if in := dev.Stats().InUse; in != 0 {
					t.Fatalf("run %d: %d bytes in use after the run", i, in)
				}
			}
			if err := dev.Close(); err != nil {
				t.Error(err)
			}
		})
	}
}
