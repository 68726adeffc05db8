// Command release-levels runs one image workflow at release levels 0, 1 and
// 2 on a simulated 12 GiB card and prints, per level, whether it fits, the
// peak live memory, the bound (the least any release policy could have used
// for the same order) and the releases, then the live memory after each
// node.
//
// The nodes are simulated with a nodes/sim profile: each class allocates
// outputs and working memory of given sizes, so no model is needed.
//
//	go run ./examples/release-levels
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
	"github.com/ebbgraph/ebb/nodes/sim"
	"github.com/ebbgraph/ebb/policy"
)

const GiB = device.GiB

// profileJSON gives each class the sizes of its outputs and its working
// memory (nodes/sim's profile format; sim.Profile is the same in Go).
const profileJSON = `{
  "unit": "MiB",
  "classes": {
    "CheckpointLoader": {"outputs": [["MODEL", 5120], ["CLIP", 1536], ["VAE", 160], ["CLIP_VISION", 1536]]},
    "TextEncode":       {"outputs": [["CONDITIONING", 2]], "work": 512},
    "EmptyLatent":      {"outputs": [["LATENT", 16]]},
    "Sampler":          {"outputs": [["LATENT", 16]], "work": 4096},
    "VAEDecode":        {"outputs": [["IMAGE", 96]], "work": 3072},
    "Upscale":          {"outputs": [["IMAGE", 384]], "work": 4096},
    "SaveImage":        {"outputs": [], "output_node": true}
  }
}`

// workflow is text to image, then an upscale: a ComfyUI API-format prompt.
// The loader's CLIP_VISION output (3) is not used. Profile nodes accept any
// inputs, so the literals are only for show.
const workflow = `{
  "1": {"class_type": "CheckpointLoader", "inputs": {"ckpt_name": "model.safetensors"}},
  "2": {"class_type": "TextEncode", "inputs": {"clip": ["1", 1], "text": "a lighthouse at dusk"}},
  "3": {"class_type": "TextEncode", "inputs": {"clip": ["1", 1], "text": "blurry"}},
  "4": {"class_type": "EmptyLatent", "inputs": {"width": 1024, "height": 1024}},
  "5": {"class_type": "Sampler", "inputs": {"model": ["1", 0], "positive": ["2", 0], "negative": ["3", 0], "latent": ["4", 0]}},
  "6": {"class_type": "VAEDecode", "inputs": {"samples": ["5", 0], "vae": ["1", 2]}},
  "7": {"class_type": "Upscale", "inputs": {"image": ["6", 0]}},
  "8": {"class_type": "SaveImage", "inputs": {"images": ["7", 0]}}
}`

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "release-levels:", err)
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

	// snippet:release-run
	const capacity = 12 * GiB
	results := map[policy.Level]*engine.RunResult{}
	fmt.Fprintf(w, "device: Sim, %s\n", device.FormatBytes(capacity))
	fmt.Fprintln(w, "level  status                   peak       bound      releases")
	for _, level := range policy.Levels() {
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
			Policy:   &policy.Policy{Level: level},
			Timeline: true, // record the live bytes after each node
		})
		status := "ok"
		var ne *engine.NodeError
		switch {
		case errors.As(res.Err, &ne) && errors.Is(res.Err, device.ErrOutOfMemory):
			status = "out of memory at node " + string(ne.Node)
		case res.Err != nil:
			return res.Err
		}
		fmt.Fprintf(w, "%-6d %-24s %-10s %-10s %d\n", level, status,
			device.FormatBytes(res.Stats.PeakBytes), device.FormatBytes(res.Stats.BoundBytes), res.Stats.Releases)
		results[level] = res
		if err := dev.Close(); err != nil { // cache none: nothing may be left
			return err
		}
	}
	// end-snippet

	fmt.Fprintln(w, "\nlive memory after each node")
	fmt.Fprintln(w, "node  class             level 0     level 1     level 2")
	for _, tp := range results[policy.ReleaseDead].Stats.Timeline {
		row := fmt.Sprintf("%-5s %-17s", tp.Node, tp.Class)
		for _, level := range policy.Levels() {
			row += fmt.Sprintf(" %-11s", liveAfter(results[level], tp.Node))
		}
		fmt.Fprintln(w, strings.TrimRight(row, " "))
	}
	return nil
}

// liveAfter returns the live memory after node id ran, or "-" when it did
// not run.
func liveAfter(res *engine.RunResult, id engine.NodeID) string {
	for _, tp := range res.Stats.Timeline {
		if tp.Node == id {
			return device.FormatBytes(tp.Live)
		}
	}
	return "-"
}
