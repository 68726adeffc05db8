package sim

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/policy"
)

// seedEngine returns an engine with AllocateVRAM and the seed profile on a
// Sim device of capacity bytes, plus the seed workflow.
func seedEngine(t *testing.T, capacity int64, parallelism int, extra ...*engine.NodeType) (*engine.Engine, *device.Sim, engine.Workflow) {
	t.Helper()
	data, err := os.ReadFile(seedWorkflow)
	if err != nil {
		t.Fatal(err)
	}
	wf, err := engine.DecodeWorkflow(data)
	if err != nil {
		t.Fatal(err)
	}
	p, err := LoadProfile(seedProfile)
	if err != nil {
		t.Fatal(err)
	}
	r := engine.NewRegistry()
	if err := Register(r); err != nil {
		t.Fatal(err)
	}
	if err := p.Register(r); err != nil {
		t.Fatal(err)
	}
	for _, ty := range extra {
		if err := r.Register(ty); err != nil {
			t.Fatal(err)
		}
	}
	dev := device.NewSim(capacity)
	e, err := engine.New(engine.Options{Registry: r, Device: dev, Parallelism: parallelism, Cache: engine.CacheMode{Kind: engine.CacheNone}})
	if err != nil {
		t.Fatal(err)
	}
	return e, dev, wf
}

func checkNoLeaks(t *testing.T, dev *device.Sim) {
	t.Helper()
	if err := dev.Close(); err != nil {
		t.Errorf("device: %v", err)
	}
}

// The seed PR's claim: the workflow runs on a 22 GiB card at level 2 and
// runs out of memory at the KSampler (node 24) otherwise.
func TestSeedWorkflow(t *testing.T) {
	for _, par := range []int{1, 4} {
		for _, level := range []policy.Level{0, 1, 2} {
			t.Run(fmt.Sprintf("parallelism %d level %d", par, level), func(t *testing.T) {
				e, dev, wf := seedEngine(t, 22*device.GiB, par)
				res, err := e.Run(context.Background(), wf, engine.RunOptions{Policy: &policy.Policy{Level: level}})
				st := res.Stats
				t.Logf("status %s: peak %s, bound %s, device peak %s, releases %d",
					res.Status, device.FormatBytes(st.PeakBytes), device.FormatBytes(st.BoundBytes),
					device.FormatBytes(st.DevicePeakBytes), st.Releases)
				if level < 2 {
					var ne *engine.NodeError
					if !errors.Is(err, device.ErrOutOfMemory) || !errors.As(err, &ne) || ne.Node != "24" || ne.Class != "KSampler" {
						t.Fatalf("err = %v, want out of memory at node 24 (KSampler)", err)
					}
					if res.Status != engine.StatusError {
						t.Errorf("status %s, want error", res.Status)
					}
				} else {
					if err != nil {
						t.Fatal(err)
					}
					if st.PeakBytes >= 19*device.GiB || st.PeakBytes != st.BoundBytes {
						t.Errorf("peak %d, bound %d: want peak == bound < 19 GiB", st.PeakBytes, st.BoundBytes)
					}
					// MODEL + VAE + 2 CONDITIONING + 2 LATENT + KSampler's work.
					const want = 5153960755 + 171798692 + 2*1073742 + 2*1073742 + 27<<29
					if st.PeakBytes != want {
						t.Errorf("peak %d, want %d", st.PeakBytes, want)
					}
					if d := cmp.Diff(map[engine.NodeID]map[string][]any{"26": {"simulated": {"SaveImage"}}}, res.Outputs); d != "" {
						t.Errorf("outputs (-want +got):\n%s", d)
					}
				}
				if in := dev.Stats().InUse; in != 0 {
					t.Errorf("%d bytes in use after the run", in)
				}
				checkNoLeaks(t, dev)
			})
		}
	}
}

// capture is an output node that records the values it receives.
type capture struct {
	mu  sync.Mutex
	got []map[string]any
}

func (c *capture) nodeType() *engine.NodeType {
	return &engine.NodeType{
		Class: "Capture",
		Schema: engine.Schema{OutputNode: true, Inputs: []engine.InputSpec{
			{Name: "a", Type: "*"}, {Name: "b", Type: "*", Optional: true},
		}},
		Runner: engine.RunFunc(func(_ context.Context, call *engine.Call) (engine.Result, error) {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.got = append(c.got, maps.Clone(call.Inputs)) // a Call is reused after Run
			return engine.Result{}, nil
		}),
	}
}

// A model passed through a chain of AllocateVRAM is the same value all
// along: counted once, freed once. The unread tensors are freed as soon as
// their node completes from level 1 on.
func TestAllocateVRAMChain(t *testing.T) {
	wfJSON := `{
	  "1": {"class_type": "Yoloworld_ModelLoader_Zho", "inputs": {"yolo_world_model": "yolo_world/l"}},
	  "2": {"class_type": "AllocateVRAM", "inputs": {"anything": ["1", 0], "size": 0.5}},
	  "3": {"class_type": "AllocateVRAM", "inputs": {"anything": ["2", 0], "size": 0.25}},
	  "4": {"class_type": "Capture", "inputs": {"a": ["3", 0], "b": ["1", 0]}}
	}`
	wf, err := engine.DecodeWorkflow([]byte(wfJSON))
	if err != nil {
		t.Fatal(err)
	}
	const model = 1610612736 // 1.5 GiB, the output of node 1
	for level, want := range map[policy.Level]int64{
		0: model + 3<<28, // everything kept
		1: model + 1<<29, // the 0.5 GiB tensor, while node 2 runs
		2: model + 1<<29,
	} {
		t.Run(fmt.Sprint("level ", level), func(t *testing.T) {
			c := &capture{}
			e, dev, _ := seedEngine(t, 22*device.GiB, 1, c.nodeType())
			res, err := e.Run(context.Background(), wf, engine.RunOptions{Policy: &policy.Policy{Level: level}})
			if err != nil {
				t.Fatal(err)
			}
			if len(c.got) != 1 {
				t.Fatalf("Capture ran %d times", len(c.got))
			}
			a, ok := c.got[0]["a"].(*engine.Buffer)
			if !ok || a != c.got[0]["b"] || a.Label != "YOLOWORLDMODEL" {
				t.Errorf("passed through %v, loaded %v: want the same YOLOWORLDMODEL buffer", c.got[0]["a"], c.got[0]["b"])
			}
			if st := res.Stats; st.PeakBytes != want {
				t.Errorf("peak %s, want %s", device.FormatBytes(st.PeakBytes), device.FormatBytes(want))
			}
			if level == 2 && res.Stats.BoundBytes != want {
				t.Errorf("bound %s, want %s", device.FormatBytes(res.Stats.BoundBytes), device.FormatBytes(want))
			}
			checkNoLeaks(t, dev)
		})
	}
}

// A profile node's working memory is freed when it returns, and an
// allocation failure names the node.
func TestProfileNodeWorkAndOOM(t *testing.T) {
	p, err := ParseProfile([]byte(`{"unit": "MiB", "classes": {
	  "Src":  {"outputs": [["A", 10]]},
	  "Big":  {"outputs": [["B", 1]], "work": 50},
	  "Sink": {"output_node": true}
	}}`))
	if err != nil {
		t.Fatal(err)
	}
	wf, err := engine.DecodeWorkflow([]byte(`{
	  "s": {"class_type": "Src", "inputs": {}},
	  "b": {"class_type": "Big", "inputs": {"x": ["s", 0], "literal": 5}},
	  "k": {"class_type": "Sink", "inputs": {"y": ["b", 0], "z": ["s", 0]}}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		capacity int64
		scale    float64
		wantErr  bool
	}{
		{capacity: 61 << 20, scale: 1},
		{capacity: 60 << 20, scale: 1, wantErr: true}, // 10 + 50 + 1
		{capacity: 31 << 20, scale: 0.5},
	} {
		r := engine.NewRegistry()
		if err := p.Scale(tc.scale).Register(r); err != nil {
			t.Fatal(err)
		}
		dev := device.NewSim(tc.capacity)
		e, err := engine.New(engine.Options{Registry: r, Device: dev, Parallelism: 1, Cache: engine.CacheMode{Kind: engine.CacheNone}})
		if err != nil {
			t.Fatal(err)
		}
		res, err := e.Run(context.Background(), wf, engine.RunOptions{})
		if tc.wantErr {
			var ne *engine.NodeError
			if !errors.Is(err, device.ErrOutOfMemory) || !errors.As(err, &ne) || ne.Node != "b" {
				t.Errorf("capacity %d: err = %v, want out of memory at node b", tc.capacity, err)
			}
		} else {
			if err != nil {
				t.Fatalf("capacity %d scale %v: %v", tc.capacity, tc.scale, err)
			}
			if want := int64(61<<20) * int64(tc.scale*2) / 2; res.Stats.PeakBytes != want || res.Stats.BoundBytes != want {
				t.Errorf("scale %v: peak %d bound %d, want %d", tc.scale, res.Stats.PeakBytes, res.Stats.BoundBytes, want)
			}
			if d := cmp.Diff(map[engine.NodeID]map[string][]any{"k": {"simulated": {"Sink"}}}, res.Outputs); d != "" {
				t.Errorf("outputs (-want +got):\n%s", d)
			}
		}
		checkNoLeaks(t, dev)
	}
}
