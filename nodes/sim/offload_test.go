package sim

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/policy"
)

// alternating is two 6 GiB models used in turn by four samplers: at level
// 2 its peak holds both models, so a 9 GiB card needs offload.
const alternatingProfile = `{"unit": "GiB", "classes": {
	"LoaderA": {"outputs": [["MODEL", 6]], "ms": 3000},
	"LoaderB": {"outputs": [["MODEL", 6]], "ms": 3000},
	"Empty":   {"outputs": [["LATENT", 0.01]], "ms": 1},
	"Sample":  {"outputs": [["LATENT", 0.01]], "work": 2, "ms": 4000},
	"Save":    {"outputs": [], "output_node": true, "ms": 50}}}`

func alternatingWorkflow(samplers int) engine.Workflow {
	wf := engine.Workflow{
		"a":     {Class: "LoaderA", Inputs: map[string]any{}},
		"b":     {Class: "LoaderB", Inputs: map[string]any{}},
		"empty": {Class: "Empty", Inputs: map[string]any{}},
	}
	prev := engine.Ref{Node: "empty"}
	for i := range samplers {
		id := engine.NodeID(fmt.Sprintf("s%d", i))
		model := engine.Ref{Node: "a"}
		if i%2 == 1 {
			model = engine.Ref{Node: "b"}
		}
		wf[id] = &engine.Node{Class: "Sample", Inputs: map[string]any{"model": model, "latent": prev}}
		prev = engine.Ref{Node: id}
	}
	wf["save"] = &engine.Node{Class: "Save", Inputs: map[string]any{"images": prev}}
	return wf
}

// alternatingRegistry has the classes of alternatingProfile.
func alternatingRegistry(t *testing.T) *engine.Registry {
	t.Helper()
	p, err := ParseProfile([]byte(alternatingProfile))
	if err != nil {
		t.Fatal(err)
	}
	r := engine.NewRegistry()
	if err := p.Register(r); err != nil {
		t.Fatal(err)
	}
	return r
}

func offloadEngine(t *testing.T, capacity int64, tiers device.SimTiers, par int) (*engine.Engine, *device.Sim) {
	t.Helper()
	r := alternatingRegistry(t)
	dev, err := device.NewTieredSim(capacity, tiers)
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(engine.Options{Registry: r, Device: dev, Parallelism: par, Cache: engine.CacheMode{Kind: engine.CacheNone}})
	if err != nil {
		t.Fatal(err)
	}
	return e, dev
}

func TestOffloadAlternatingModels(t *testing.T) {
	wf := alternatingWorkflow(4)
	ctx := context.Background()
	base, bdev := offloadEngine(t, 0, device.SimTiers{Host: true}, 1)
	want, err := base.Run(ctx, wf, engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkNoLeaks(t, bdev)
	if want.Stats.PeakBytes < 12*device.GiB {
		t.Fatalf("unlimited peak %s: the test wants both models live at once", device.FormatBytes(want.Stats.PeakBytes))
	}
	capacity := 9 * device.GiB
	tight, tdev := offloadEngine(t, capacity, device.SimTiers{Host: true}, 1)
	if _, err := tight.Run(ctx, wf, engine.RunOptions{}); !errors.Is(err, device.ErrOutOfMemory) {
		t.Fatalf("offload none on 9 GiB: %v, want out of memory", err)
	}
	checkNoLeaks(t, tdev)
	for _, ev := range policy.Evicts() {
		for _, par := range []int{1, 4} {
			t.Run(fmt.Sprintf("%s/par=%d", ev, par), func(t *testing.T) {
				e, dev := offloadEngine(t, capacity, device.SimTiers{Host: true}, par)
				var moves []engine.Event
				obs := engine.ObserverFunc(func(e engine.Event) {
					switch e.Type {
					case engine.EventOffloaded, engine.EventReloaded, engine.EventDropped, engine.EventRecomputed:
						moves = append(moves, e)
					}
				})
				res, err := e.Run(ctx, wf, engine.RunOptions{Offload: policy.OffloadHost, Evict: ev, Observers: []engine.Observer{obs}})
				if err != nil {
					t.Fatal(err)
				}
				if d := cmp.Diff(want.Outputs, res.Outputs); d != "" {
					t.Errorf("outputs differ (-unlimited +offload):\n%s", d)
				}
				st := res.Stats
				if st.PeakBytes > capacity || st.DevicePeakBytes > capacity {
					t.Errorf("peak %d, device peak %d above the capacity %d", st.PeakBytes, st.DevicePeakBytes, capacity)
				}
				if st.Evictions == 0 || len(moves) == 0 {
					t.Errorf("no evictions: %+v", st)
				}
				switch ev {
				case policy.EvictSwap:
					if st.Recomputes != 0 || st.OffloadedBytes == 0 || st.ReloadedBytes == 0 {
						t.Errorf("swap: %+v", st)
					}
				case policy.EvictRecompute:
					if st.OffloadedBytes != 0 || st.Recomputes == 0 {
						t.Errorf("recompute: %+v", st)
					}
				}
				if st.SimMs < want.Stats.SimMs || st.SimMs != st.ComputeMs+st.TransferMs {
					t.Errorf("sim %.1f ms (compute %.1f + transfer %.1f), unlimited %.1f", st.SimMs, st.ComputeMs, st.TransferMs, want.Stats.SimMs)
				}
				ts := dev.TierStats()
				if ts.Host.InUse != 0 || ts.Disk.InUse != 0 {
					t.Errorf("after the run, host %d and disk %d bytes in use", ts.Host.InUse, ts.Disk.InUse)
				}
				if dev.Stats().InUse != 0 {
					t.Errorf("after the run, device %d bytes in use", dev.Stats().InUse)
				}
				t.Logf("%s par %d: sim %.0f ms (unlimited %.0f), evictions %d, recomputes %d, offloaded %s", ev, par, st.SimMs, want.Stats.SimMs, st.Evictions, st.Recomputes, device.FormatBytes(st.OffloadedBytes))
				checkNoLeaks(t, dev)
			})
		}
	}
}
