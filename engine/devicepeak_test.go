package engine_test

import (
	"context"
	"testing"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
)

// noReset hides a Sim's ResetPeak: a device without device.PeakResetter.
type noReset struct{ device.Device }

// peakRegistry has "Alloc" (an output of "bytes" through the engine) and
// "Side" (an output node that allocates "bytes" on dev behind the engine's
// back and frees it before returning: memory someone else holds on a
// shared device).
func peakRegistry(t *testing.T, dev device.Device) *engine.Registry {
	t.Helper()
	r := engine.NewRegistry()
	for _, ty := range []*engine.NodeType{{
		Class:  "Alloc",
		Schema: engine.Schema{Inputs: []engine.InputSpec{{Name: "bytes", Type: "INT"}}, Outputs: outs("BUF")},
		Runner: engine.RunFunc(func(ctx context.Context, c *engine.Call) (engine.Result, error) {
			n, err := c.Int("bytes")
			if err != nil {
				return engine.Result{}, err
			}
			b, err := c.Alloc(ctx, n, "BUF")
			return engine.Result{Outputs: []any{b}}, err
		}),
	}, {
		Class: "Side",
		Schema: engine.Schema{OutputNode: true, Inputs: []engine.InputSpec{
			{Name: "bytes", Type: "INT"}, {Name: "after", Type: "*", Optional: true},
		}},
		Runner: engine.RunFunc(func(ctx context.Context, c *engine.Call) (engine.Result, error) {
			n, err := c.Int("bytes")
			if err != nil || n == 0 {
				return engine.Result{}, err
			}
			b, err := dev.Alloc(ctx, n)
			if err != nil {
				return engine.Result{}, err
			}
			return engine.Result{}, dev.Free(b)
		}),
	}} {
		if err := r.Register(ty); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// DevicePeakBytes is per run. With a device.PeakResetter the engine resets
// the device's peak when a run starts and reports the device's own peak,
// which also sees memory allocated outside the engine between two of its
// allocations; without one it reports the device's InUse sampled after
// each of its allocations.
func TestDevicePeakBytesPerRun(t *testing.T) {
	const (
		mine = 1 << 20
		side = 8 << 20
	)
	wf := func(sideBytes int64) engine.Workflow {
		return engine.Workflow{
			"a":    node("Alloc", "bytes", int64(mine)),
			"side": node("Side", "bytes", sideBytes, "after", link("a", 0)),
		}
	}
	for _, tc := range []struct {
		name      string
		resetter  bool
		wantFirst int64 // the run with the side allocation
	}{
		{"PeakResetter", true, mine + side},
		{"sampled", false, mine},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim := device.NewSim(0)
			var dev device.Device = sim
			if !tc.resetter {
				dev = noReset{sim}
			}
			e, err := engine.New(engine.Options{Registry: peakRegistry(t, dev), Device: dev, Parallelism: 1, Cache: engine.CacheMode{Kind: engine.CacheNone}})
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range []int64{tc.wantFirst, mine} {
				res, err := e.Run(context.Background(), wf([]int64{side, 0}[i]), engine.RunOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if st := res.Stats; st.DevicePeakBytes != want || st.PeakBytes != mine {
					t.Errorf("run %d: device peak %d, engine peak %d; want %d, %d", i+1, st.DevicePeakBytes, st.PeakBytes, want, mine)
				}
			}
			if err := sim.Close(); err != nil {
				t.Error(err)
			}
		})
	}
}
