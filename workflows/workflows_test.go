package workflows_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/nodes/sim"
	"github.com/ebbgraph/ebb/nodes/testpack"
	"github.com/ebbgraph/ebb/policy"
	"github.com/ebbgraph/ebb/workflows"
)

// The bundled files are copies of the project's shared reference files;
// the bundled seed profile adds compute times ("ms"), so it must have the
// shared profile's classes and sizes.
func TestMatchesShared(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "workflows")
	shared, err := os.ReadFile(filepath.Join(dir, "seed-offload.json"))
	if err != nil {
		t.Skipf("no ../shared to compare with: %v", err)
	}
	if !bytes.Equal(shared, workflows.SeedWorkflow) {
		t.Errorf("workflows/seed-offload.json differs from %s/seed-offload.json", dir)
	}
	sharedProf, err := sim.LoadProfile(filepath.Join(dir, "seed-offload.profile.json"))
	if err != nil {
		t.Fatal(err)
	}
	prof, err := sim.ParseProfile(workflows.SeedProfile)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range prof.Classes {
		s, ok := sharedProf.Classes[name]
		if !ok {
			t.Errorf("class %s is not in the shared profile", name)
			continue
		}
		c.Time = s.Time
		if !slices.Equal(c.Outputs, s.Outputs) || c.Work != s.Work || c.OutputNode != s.OutputNode {
			t.Errorf("class %s: %+v, the shared profile has %+v", name, c, s)
		}
	}
	if len(prof.Classes) != len(sharedProf.Classes) {
		t.Errorf("%d classes, the shared profile has %d", len(prof.Classes), len(sharedProf.Classes))
	}
}

// Every class of the bundled profiles has a compute time.
func TestProfilesHaveTimes(t *testing.T) {
	for name, data := range map[string][]byte{"seed-offload.profile.json": workflows.SeedProfile, "base-refiner.profile.json": workflows.BaseRefinerProfile} {
		prof, err := sim.ParseProfile(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for class, c := range prof.Classes {
			if c.Time <= 0 || c.Time > time.Minute {
				t.Errorf("%s: class %s: ms %v, want a realistic time", name, class, c.Time)
			}
		}
	}
}

// The base+refiner workflow: two checkpoint loaders, two samplers,
// decode and save; its profile has exactly its classes, with as many
// outputs as the workflow's links use, and it runs on a Sim at level 2.
func TestBaseRefiner(t *testing.T) {
	wf, err := engine.DecodeWorkflow(workflows.BaseRefinerWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	prof, err := sim.ParseProfile(workflows.BaseRefinerProfile)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for id, n := range wf {
		count[n.Class]++
		if _, ok := prof.Classes[n.Class]; !ok {
			t.Errorf("node %s: class %s is not in the profile", id, n.Class)
		}
		for input, v := range n.Inputs {
			ref, ok := v.(engine.Ref)
			if !ok {
				continue
			}
			from := wf[ref.Node]
			if from == nil {
				t.Errorf("node %s input %s: links to missing node %s", id, input, ref.Node)
				continue
			}
			if outs := prof.Classes[from.Class].Outputs; ref.Out >= len(outs) {
				t.Errorf("node %s input %s: output %d of %s, whose profile has %d outputs", id, input, ref.Out, from.Class, len(outs))
			}
		}
	}
	for class := range prof.Classes {
		if count[class] == 0 {
			t.Errorf("profile class %s is not used by the workflow", class)
		}
	}
	if count["CheckpointLoaderSimple"] != 2 || count["KSampler"]+count["KSamplerAdvanced"] != 2 || count["VAEDecode"] != 1 || count["SaveImage"] != 1 {
		t.Errorf("classes %v, want two loaders, two samplers, a decode and a save", count)
	}

	reg := engine.NewRegistry()
	if err := testpack.Register(reg); err != nil {
		t.Fatal(err)
	}
	if err := prof.Register(reg); err != nil {
		t.Fatal(err)
	}
	dev := device.NewSim(0)
	defer dev.Close()
	eng, err := engine.New(engine.Options{Registry: reg, Device: dev, Cache: engine.CacheMode{Kind: engine.CacheNone}, Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	pol := policy.Policy{Level: policy.ReleaseDead, Strategy: policy.Auto}
	res, err := eng.Run(t.Context(), wf, engine.RunOptions{Policy: &pol})
	if err != nil || res.Status != engine.StatusSuccess {
		t.Fatalf("run: %v %v", res.Status, err)
	}
	if res.Stats.Executions != len(wf) {
		t.Errorf("%d executions, want %d", res.Stats.Executions, len(wf))
	}
}

func TestSeedDecodes(t *testing.T) {
	wf, err := engine.DecodeWorkflow(workflows.SeedWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	if len(wf) != 14 || wf["24"].Class != "KSampler" {
		t.Errorf("seed workflow: %d nodes, node 24 is %v", len(wf), wf["24"])
	}
}
