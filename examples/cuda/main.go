//go:build cuda

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/ebbgraph/ebb/cuda"
	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/nodes/sim"
	"github.com/ebbgraph/ebb/policy"
)

func main() {
	capacity := flag.String("capacity", "2GiB", "the most VRAM ebb may hand out (a smaller card)")
	ordinal := flag.Int("gpu", 0, "the CUDA device ordinal")
	flag.Parse()
	if err := run(*ordinal, *capacity); err != nil {
		fmt.Fprintln(os.Stderr, "cuda:", err)
		os.Exit(1)
	}
}

// done is an output node that accepts anything.
var done = &engine.NodeType{
	Class:  "Done",
	Schema: engine.Schema{Inputs: []engine.InputSpec{{Name: "value", Type: "*"}}, OutputNode: true},
	Runner: engine.RunFunc(func(context.Context, *engine.Call) (engine.Result, error) {
		return engine.Result{UI: map[string][]any{"done": {true}}}, nil
	}),
}

func run(ordinal int, capacity string) error {
	capBytes, err := device.ParseBytes(capacity)
	if err != nil {
		return err
	}
	reg := engine.NewRegistry().MustRegister(done)
	if err := sim.Register(reg); err != nil { // AllocateVRAM
		return err
	}
	// Four AllocateVRAM nodes in a chain, 0.75 GiB each: each passes its
	// input through and allocates a tensor; only the last tensor is read.
	// Level 0 holds all four tensors (3 GiB) and runs out of memory under the
	// default 2 GiB cap; level 2 frees each unread tensor at once.
	wf := engine.Workflow{
		"1": {Class: "AllocateVRAM", Inputs: map[string]any{"anything": "start", "size": 0.75}},
		"2": {Class: "AllocateVRAM", Inputs: map[string]any{"anything": engine.Ref{Node: "1"}, "size": 0.75}},
		"3": {Class: "AllocateVRAM", Inputs: map[string]any{"anything": engine.Ref{Node: "2"}, "size": 0.75}},
		"4": {Class: "AllocateVRAM", Inputs: map[string]any{"anything": engine.Ref{Node: "3"}, "size": 0.75}},
		"5": {Class: "Done", Inputs: map[string]any{"value": engine.Ref{Node: "4", Out: 1}}},
	}
	dev, err := cuda.New(ordinal, cuda.WithCapacity(capBytes))
	if err != nil {
		return err // wraps device.ErrUnavailable in a build without -tags cuda
	}
	defer dev.Close()
	for _, level := range []policy.Level{policy.KeepAll, policy.ReleaseDead} {
		e, err := engine.New(engine.Options{Registry: reg, Device: dev, Parallelism: 1,
			Cache: engine.CacheMode{Kind: engine.CacheNone}})
		if err != nil {
			return err
		}
		if r, ok := dev.(device.PeakResetter); ok {
			r.ResetPeak() // so DriverPeak is this run's
		}
		res, err := e.Run(context.Background(), wf, engine.RunOptions{Policy: &policy.Policy{Level: level}})
		switch {
		case errors.Is(err, device.ErrOutOfMemory):
			fmt.Printf("level %d: out of memory: %v\n", level, err)
		case err != nil:
			return err
		default:
			fmt.Printf("level %d: peak %s, bound %s, device peak %s\n", level,
				device.FormatBytes(res.Stats.PeakBytes), device.FormatBytes(res.Stats.BoundBytes),
				device.FormatBytes(res.Stats.DevicePeakBytes))
		}
		if d, ok := dev.(interface{ DriverPeak() int64 }); ok {
			fmt.Printf("  the driver saw at most %s in use on the whole GPU\n", device.FormatBytes(d.DriverPeak()))
		}
	}
	return nil
}
