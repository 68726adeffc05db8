// Command comfy-workflow loads a ComfyUI API-format workflow and a nodes/sim
// profile that gives its classes memory sizes, simulates it on a 22 GiB
// card at every release level and late-edge strategy, and prints the plan:
// whether each run fits, its peak, the bound and the re-executions. It is
// what "ebb plan" does, with the library.
//
// Without arguments it plans the seed workflow of ComfyUI's "node smart
// offload" pull request (workflows/seed-offload*.json, bundled by package workflows).
// To simulate your own workflow, export it with ComfyUI's "Save (API
// Format)", write a profile for its classes and run:
//
//	go run ./examples/comfy-workflow WORKFLOW.json PROFILE.json [CAPACITY]
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/nodes/sim"
	"github.com/ebbgraph/ebb/nodes/testpack"
	"github.com/ebbgraph/ebb/policy"
	"github.com/ebbgraph/ebb/workflows"
)

var (
	seedWorkflow = workflows.SeedWorkflow
	seedProfile  = workflows.SeedProfile
)

func main() {
	var err error
	switch args := os.Args[1:]; len(args) {
	case 0:
		err = run(os.Stdout)
	case 2, 3:
		err = runFiles(os.Stdout, args)
	default:
		fmt.Fprintln(os.Stderr, "usage: comfy-workflow [WORKFLOW.json PROFILE.json [CAPACITY]]")
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "comfy-workflow:", err)
		os.Exit(1)
	}
}

// run plans the embedded seed workflow on a 22 GiB card.
func run(w io.Writer) error {
	return plan(w, seedWorkflow, seedProfile, 22*device.GiB)
}

// runFiles plans the workflow and profile files named by args, on a card of
// args[2] ("22GiB" by default).
func runFiles(w io.Writer, args []string) error {
	wfJSON, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	profJSON, err := os.ReadFile(args[1])
	if err != nil {
		return err
	}
	capacity := 22 * device.GiB
	if len(args) == 3 {
		if capacity, err = device.ParseBytes(args[2]); err != nil {
			return err
		}
	}
	return plan(w, wfJSON, profJSON, capacity)
}

func plan(w io.Writer, wfJSON, profJSON []byte, capacity int64) error {
	// snippet:comfy-load
	wf, err := engine.DecodeWorkflow(wfJSON) // ComfyUI's API format
	if err != nil {
		return err
	}
	profile, err := sim.ParseProfile(profJSON)
	if err != nil {
		return err
	}
	// The classes: ComfyUI's testing pack, AllocateVRAM, then the profile's,
	// which replace built-in classes of the same name.
	reg := engine.NewRegistry()
	if err := testpack.Register(reg); err != nil {
		return err
	}
	if err := sim.Register(reg); err != nil {
		return err
	}
	if err := profile.Register(reg); err != nil {
		return err
	}
	// end-snippet

	fmt.Fprintf(w, "device: Sim, %s\n", device.FormatBytes(capacity))
	fmt.Fprintf(w, "%-6s %-10s %-25s %-11s %-11s %s\n", "level", "strategy", "status", "peak", "bound", "re-executions")
	// snippet:comfy-plan
	for _, level := range policy.Levels() {
		for _, strategy := range policy.Strategies() {
			dev := device.NewSim(capacity)
			e, err := engine.New(engine.Options{
				Registry:    reg,
				Device:      dev,
				Cache:       engine.CacheMode{Kind: engine.CacheNone},
				Parallelism: 1,
			})
			if err != nil {
				return err
			}
			res, _ := e.Run(context.Background(), wf, engine.RunOptions{
				Policy: &policy.Policy{Level: level, Strategy: strategy},
			})
			if res.Status == engine.StatusInvalid {
				return res.Err // a validation error is the same for every row
			}
			fmt.Fprintf(w, "%-6d %-10s %-25s %-11s %-11s %d\n", level, strategy, status(res),
				device.FormatBytes(res.Stats.PeakBytes), device.FormatBytes(res.Stats.BoundBytes),
				res.Stats.Reexecutions)
			if err := dev.Close(); err != nil { // nothing may be left with cache none
				return err
			}
		}
	}
	// end-snippet
	return nil
}

// snippet:comfy-status
// status says how a run ended: "ok", "out of memory at node ID", or the
// error's type and node.
func status(res *engine.RunResult) string {
	var ne *engine.NodeError
	switch {
	case res.Err == nil:
		return "ok"
	case errors.As(res.Err, &ne) && errors.Is(res.Err, device.ErrOutOfMemory):
		return "out of memory at node " + string(ne.Node)
	case errors.As(res.Err, &ne):
		return ne.Type + " at node " + string(ne.Node)
	}
	return string(res.Status)
}

// end-snippet
