// Command offload runs two 6 GiB models used in turn by a loop on a
// simulated 9 GiB card, which holds one of them: without offload the run
// runs out of memory at every release level; with offload the engine
// moves the model not in use to host memory (or disk), or drops it to be
// loaded again, whichever costs less, and brings it back before the next
// pass reads it. It prints, per mode and eviction choice, what moved and
// the simulated time against the time on an unlimited card.
//
// The nodes are simulated with a nodes/sim profile (sizes and times per
// class); the loop is an expander that links each pass to the models.
//
//	go run ./examples/offload
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/expand"
	"github.com/ebbgraph/ebb/nodes/sim"
	"github.com/ebbgraph/ebb/policy"
)

const GiB = device.GiB

// profileJSON: two checkpoints of 6 GiB that take 3 s to load, a sampler
// pass with 2 GiB of working memory that takes 4 s.
const profileJSON = `{
  "unit": "MiB",
  "classes": {
    "LoadBase":    {"outputs": [["MODEL", 6144]], "ms": 3000},
    "LoadRefiner": {"outputs": [["MODEL", 6144]], "ms": 3000},
    "EmptyLatent": {"outputs": [["LATENT", 16]], "ms": 1},
    "Sample":      {"outputs": [["LATENT", 16]], "work": 2048, "ms": 4000},
    "SaveImage":   {"outputs": [], "output_node": true, "ms": 50}
  }
}`

// workflow alternates the base and the refiner model three times.
const workflow = `{
  "1": {"class_type": "LoadBase", "inputs": {}},
  "2": {"class_type": "LoadRefiner", "inputs": {}},
  "3": {"class_type": "EmptyLatent", "inputs": {}},
  "4": {"class_type": "Alternate", "inputs": {"base": ["1", 0], "refiner": ["2", 0], "latent": ["3", 0], "passes": 3}},
  "5": {"class_type": "SaveImage", "inputs": {"images": ["4", 0]}}
}`

// snippet:offload-alternate
// alternate is a loop: it expands into passes of base then refiner
// sampling. Its inputs are raw links, so each pass links to the models'
// outputs and the engine sees every edge.
type alternate struct{}

func (alternate) MayExpand() {}

var _ engine.MayExpand = alternate{}

func (alternate) Run(_ context.Context, c *engine.Call) (engine.Result, error) {
	passes, err := c.Int("passes")
	if err != nil {
		return engine.Result{}, err
	}
	latent := c.Inputs["latent"]
	b := expand.NewBuilder(c)
	for range passes {
		latent = b.Node("Sample", "", map[string]any{"model": c.Inputs["base"], "latent": latent}).Out(0)
		latent = b.Node("Sample", "", map[string]any{"model": c.Inputs["refiner"], "latent": latent}).Out(0)
	}
	return b.Result(latent), nil
}

// end-snippet

var alternateType = &engine.NodeType{
	Class: "Alternate",
	Schema: engine.Schema{
		Inputs: []engine.InputSpec{
			{Name: "base", Type: "MODEL", RawLink: true},
			{Name: "refiner", Type: "MODEL", RawLink: true},
			{Name: "latent", Type: "LATENT", RawLink: true},
			{Name: "passes", Type: "INT", Min: engine.F(1), Max: engine.F(100)},
		},
		Outputs: []engine.OutputSpec{{Name: "LATENT", Type: "LATENT"}},
	},
	Runner: alternate{},
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "offload:", err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	wf, err := engine.DecodeWorkflow([]byte(workflow))
	if err != nil {
		return err
	}
	profile, err := sim.ParseProfile([]byte(profileJSON))
	if err != nil {
		return err
	}
	reg := engine.NewRegistry()
	if err := profile.Register(reg); err != nil {
		return err
	}
	if err := reg.Register(alternateType); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "ebb-offload-example-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	free, err := runOnce(reg, wf, 0, device.SimTiers{Host: true}, engine.RunOptions{}, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "unlimited card: peak %s, simulated time %.1f s\n\n", device.FormatBytes(free.Stats.PeakBytes), free.Stats.SimMs/1000)
	fmt.Fprintf(w, "9 GiB card:\n%-8s %-10s %-10s %-14s %-10s %10s %10s %8s %10s %6s\n", "offload", "evict", "strategy", "status", "peak", "offloaded", "reloaded", "to disk", "recomputes", "time")
	reexecute := policy.Policy{Level: policy.ReleaseDead, Strategy: policy.Reexecute}
	cases := []struct {
		tiers device.SimTiers
		ro    engine.RunOptions
	}{
		{device.SimTiers{Host: true}, engine.RunOptions{}},
		{device.SimTiers{Host: true}, engine.RunOptions{Offload: policy.OffloadHost, Evict: policy.EvictCost}},
		{device.SimTiers{Host: true}, engine.RunOptions{Offload: policy.OffloadHost, Evict: policy.EvictSwap}},
		// Under auto (and restrict) the pending loop pins the models: they
		// may move, never be dropped. Reexecute pins nothing.
		{device.SimTiers{Host: true}, engine.RunOptions{Offload: policy.OffloadHost, Evict: policy.EvictRecompute}},
		{device.SimTiers{Host: true}, engine.RunOptions{Offload: policy.OffloadHost, Evict: policy.EvictRecompute, Policy: &reexecute}},
		// 4 GiB of host memory holds neither model: the disk takes them.
		{device.SimTiers{Host: true, HostCapacity: 4 * GiB, DiskDir: dir}, engine.RunOptions{Offload: policy.OffloadDisk, Evict: policy.EvictSwap}},
	}
	for _, c := range cases {
		strategy := policy.Default().Strategy
		if c.ro.Policy != nil {
			strategy = c.ro.Policy.Strategy
		}
		res, err := runOnce(reg, wf, 9*GiB, c.tiers, c.ro, nil)
		if err != nil {
			return err
		}
		st := res.Stats
		status := string(res.Status)
		if res.Err != nil {
			status = engine.ErrorType(res.Err)
		}
		time := "-"
		if res.Status == engine.StatusSuccess {
			time = fmt.Sprintf("%.2fx", st.SimMs/free.Stats.SimMs)
		}
		evict := c.ro.Evict.String()
		if c.ro.Offload == policy.OffloadNone {
			evict = "-"
		}
		fmt.Fprintf(w, "%-8s %-10s %-10s %-14s %-10s %10s %10s %8s %10d %6s\n", c.ro.Offload, evict, strategy, status, device.FormatBytes(st.PeakBytes),
			device.FormatBytes(st.OffloadedBytes), device.FormatBytes(st.ReloadedBytes), device.FormatBytes(st.DiskBytes), st.Recomputes, time)
	}

	// snippet:offload-events
	fmt.Fprintln(w, "\nwhat moved, offload host with evict cost:")
	show := engine.ObserverFunc(func(ev engine.Event) {
		switch ev.Type {
		case engine.EventOffloaded, engine.EventReloaded:
			fmt.Fprintf(w, "  %-9s %s of node %s (%s) %s, for node %s\n", ev.Type, device.FormatBytes(ev.Bytes), ev.Node, ev.Class, ev.Tier, ev.Cause)
		case engine.EventDropped, engine.EventRecomputed:
			fmt.Fprintf(w, "  %-9s %s of node %s (%s), for node %s\n", ev.Type, device.FormatBytes(ev.Bytes), ev.Node, ev.Class, ev.Cause)
		}
	})
	_, err = runOnce(reg, wf, 9*GiB, device.SimTiers{Host: true}, engine.RunOptions{Offload: policy.OffloadHost}, show)
	// end-snippet
	return err
}

// runOnce runs wf on a fresh engine over a tiered Sim of capacity bytes
// (0: unlimited), at parallelism 1, and checks nothing is left on any tier.
func runOnce(reg *engine.Registry, wf engine.Workflow, capacity int64, tiers device.SimTiers, ro engine.RunOptions, obs engine.Observer) (*engine.RunResult, error) {
	dev, err := device.NewTieredSim(capacity, tiers)
	if err != nil {
		return nil, err
	}
	e, err := engine.New(engine.Options{Registry: reg, Device: dev, Parallelism: 1, Cache: engine.CacheMode{Kind: engine.CacheNone}})
	if err != nil {
		return nil, err
	}
	if obs != nil {
		ro.Observers = []engine.Observer{obs}
	}
	res, _ := e.Run(context.Background(), wf, ro)
	if ts := dev.TierStats(); ts.Host.InUse != 0 || ts.Disk.InUse != 0 {
		return nil, fmt.Errorf("%d bytes left on host, %d on disk", ts.Host.InUse, ts.Disk.InUse)
	}
	return res, dev.Close()
}
