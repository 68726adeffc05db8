package sim

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/policy"
)

// checkTiersEmpty fails unless nothing is left on dev's host and disk
// tiers and dir (when set) holds no file.
func checkTiersEmpty(t *testing.T, dev *device.Sim, dir string) {
	t.Helper()
	if ts := dev.TierStats(); ts.Host.InUse != 0 || ts.Disk.InUse != 0 {
		t.Errorf("host %d and disk %d bytes left", ts.Host.InUse, ts.Disk.InUse)
	}
	if dir != "" {
		if ents, _ := os.ReadDir(dir); len(ents) > 0 {
			t.Errorf("%d files left in the disk directory", len(ents))
		}
	}
}

func TestOffloadOptionsTyped(t *testing.T) {
	r := alternatingRegistry(t)
	plain := device.NewSim(9 * device.GiB)
	e, err := engine.New(engine.Options{Registry: r, Device: plain})
	if err != nil {
		t.Fatal(err)
	}
	wf := alternatingWorkflow(2)
	res, err := e.Run(context.Background(), wf, engine.RunOptions{Offload: policy.OffloadHost})
	if !errors.Is(err, device.ErrNoTier) || !errors.Is(err, engine.ErrInvalid) || res.Status != engine.StatusInvalid {
		t.Errorf("offload host on a device without tiers: %v (%s), want invalid wrapping ErrNoTier", err, res.Status)
	}
	hostOnly, _ := offloadEngine(t, 9*device.GiB, device.SimTiers{Host: true}, 1)
	if _, err := hostOnly.Run(context.Background(), wf, engine.RunOptions{Offload: policy.OffloadDisk}); !errors.Is(err, device.ErrNoTier) {
		t.Errorf("offload disk without a disk tier: %v, want ErrNoTier", err)
	}
	for _, ro := range []engine.RunOptions{{Offload: 7}, {Offload: policy.OffloadHost, Evict: -1}} {
		if _, err := hostOnly.Run(context.Background(), wf, ro); !errors.Is(err, policy.ErrInvalid) {
			t.Errorf("%+v: %v, want policy.ErrInvalid", ro, err)
		}
	}
	checkNoLeaks(t, plain)
}

// TestOffloadDisk: a host tier that holds one model sends the other to
// disk; a full disk under swap is a typed out_of_memory; a disk directory
// that vanished is a typed tier failure. Nothing is left behind.
func TestOffloadDisk(t *testing.T) {
	ctx := context.Background()
	wf := alternatingWorkflow(6)
	ref, rdev := offloadEngine(t, 0, device.SimTiers{Host: true}, 1)
	want, err := ref.Run(ctx, wf, engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkNoLeaks(t, rdev)
	capacity := 9 * device.GiB
	t.Run("host then disk", func(t *testing.T) {
		dir := t.TempDir()
		e, dev := offloadEngine(t, capacity, device.SimTiers{Host: true, HostCapacity: device.GiB, DiskDir: dir}, 1)
		res, err := e.Run(ctx, wf, engine.RunOptions{Offload: policy.OffloadDisk, Evict: policy.EvictSwap})
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want.Outputs, res.Outputs); d != "" {
			t.Errorf("outputs differ:\n%s", d)
		}
		if res.Stats.DiskBytes < 6*device.GiB || res.Stats.TransferMs <= 0 {
			t.Errorf("stats %+v: want a model moved to disk", res.Stats)
		}
		checkTiersEmpty(t, dev, dir)
		checkNoLeaks(t, dev)
	})
	t.Run("disk full", func(t *testing.T) {
		dir := t.TempDir()
		e, dev := offloadEngine(t, capacity, device.SimTiers{Host: true, HostCapacity: device.GiB, DiskDir: dir, DiskCapacity: device.GiB}, 1)
		res, err := e.Run(ctx, wf, engine.RunOptions{Offload: policy.OffloadDisk, Evict: policy.EvictSwap})
		if !errors.Is(err, device.ErrOutOfMemory) || engine.ErrorType(err) != engine.TypeOutOfMemory {
			t.Fatalf("swap with a full disk: %v, want out_of_memory", err)
		}
		if len(res.Outputs) != 0 {
			t.Errorf("a failed run reported outputs %v", res.Outputs)
		}
		// Recomputing needs no room: the same budget runs under cost.
		if _, err := e.Run(ctx, wf, engine.RunOptions{Offload: policy.OffloadDisk}); err != nil {
			t.Errorf("cost with a full disk: %v", err)
		}
		checkTiersEmpty(t, dev, dir)
		checkNoLeaks(t, dev)
	})
	t.Run("disk gone", func(t *testing.T) {
		dir := t.TempDir()
		e, dev := offloadEngine(t, capacity, device.SimTiers{Host: true, HostCapacity: device.GiB, DiskDir: dir}, 1)
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		_, err := e.Run(ctx, wf, engine.RunOptions{Offload: policy.OffloadDisk, Evict: policy.EvictSwap})
		if !errors.Is(err, device.ErrTierIO) {
			t.Fatalf("disk directory gone: %v, want ErrTierIO", err)
		}
		checkTiersEmpty(t, dev, "")
		checkNoLeaks(t, dev)
	})
}

// TestOffloadCancelled: a run cancelled while it offloads ends
// interrupted with nothing left on any tier.
func TestOffloadCancelled(t *testing.T) {
	for _, ev := range []engine.EventType{engine.EventOffloaded, engine.EventReloaded} {
		t.Run(string(ev), func(t *testing.T) {
			dir := t.TempDir()
			e, dev := offloadEngine(t, 9*device.GiB, device.SimTiers{Host: true, HostCapacity: device.GiB, DiskDir: dir}, 1)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			obs := engine.ObserverFunc(func(e engine.Event) {
				if e.Type == ev {
					cancel()
				}
			})
			res, err := e.Run(ctx, alternatingWorkflow(6), engine.RunOptions{Offload: policy.OffloadDisk, Evict: policy.EvictSwap, Observers: []engine.Observer{obs}})
			if !errors.Is(err, engine.ErrInterrupted) || res.Status != engine.StatusInterrupted {
				t.Fatalf("cancelled at the first %s: %v (%s), want interrupted", ev, err, res.Status)
			}
			checkTiersEmpty(t, dev, dir)
			checkNoLeaks(t, dev)
		})
	}
}

// TestOffloadAcrossRuns: the cache keeps values a run offloaded; the next
// run (with offload or without) brings them back before reading them, and
// Close empties every tier.
func TestOffloadAcrossRuns(t *testing.T) {
	ctx := context.Background()
	r := alternatingRegistry(t)
	dev, err := device.NewTieredSim(13*device.GiB, device.SimTiers{Host: true})
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(engine.Options{Registry: r, Device: dev, Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	keep := &policy.Policy{Level: policy.KeepAll} // the cache keeps every value
	first, err := e.Run(ctx, alternatingWorkflow(4), engine.RunOptions{Policy: keep, Offload: policy.OffloadHost, Evict: policy.EvictSwap})
	if err != nil {
		t.Fatal(err)
	}
	if first.Stats.OffloadedBytes == 0 || dev.TierStats().Host.InUse == 0 {
		t.Fatalf("the first run left nothing offloaded: %+v", first.Stats)
	}
	// The next run has two more samplers, which read both models from the
	// cache, one of them off the device.
	res, err := e.Run(ctx, alternatingWorkflow(6), engine.RunOptions{Policy: keep, Offload: policy.OffloadHost, Evict: policy.EvictSwap})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.CacheHits == 0 || res.Stats.ReloadedBytes == 0 || res.Outputs["save"] == nil {
		t.Errorf("second run: %+v: want cache hits and values brought back", res.Stats)
	}
	// A run without offload brings offloaded values back too, but cannot
	// make room for them: here both models and a sampler's work do not fit.
	res, err = e.Run(ctx, alternatingWorkflow(8), engine.RunOptions{Policy: keep})
	if engine.ErrorType(err) != engine.TypeOutOfMemory || res.Stats.Evictions != 0 {
		t.Errorf("third run, no offload: %v, %+v: want out_of_memory without evictions", err, res.Stats)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	checkTiersEmpty(t, dev, "")
	checkNoLeaks(t, dev)
}

// TestOffloadUndeclaredParallel: loaders that declare no estimate (real
// nodes, the first time an engine meets them) allocate more than
// admission reserved for them; at parallelism 4 their workers ask the run
// goroutine for room, which evicts the other model, so the run completes
// on a card that holds one model.
func TestOffloadUndeclaredParallel(t *testing.T) {
	r := alternatingRegistry(t)
	for _, class := range []string{"LoaderA", "LoaderB"} {
		r.Replace(&engine.NodeType{
			Class:  class,
			Schema: engine.Schema{Outputs: []engine.OutputSpec{{Name: "MODEL", Type: "MODEL"}}},
			Runner: engine.RunFunc(func(ctx context.Context, c *engine.Call) (engine.Result, error) {
				b, err := c.Alloc(ctx, 6*device.GiB, "MODEL")
				if err != nil {
					return engine.Result{}, err
				}
				return engine.Outputs(b), nil
			}),
		})
	}
	for _, off := range []policy.Offload{policy.OffloadNone, policy.OffloadHost} {
		dev, err := device.NewTieredSim(9*device.GiB, device.SimTiers{Host: true})
		if err != nil {
			t.Fatal(err)
		}
		e, err := engine.New(engine.Options{Registry: r, Device: dev, Parallelism: 4, Cache: engine.CacheMode{Kind: engine.CacheNone}})
		if err != nil {
			t.Fatal(err)
		}
		res, err := e.Run(context.Background(), alternatingWorkflow(4), engine.RunOptions{Offload: off})
		switch {
		case off == policy.OffloadNone && engine.ErrorType(err) != engine.TypeOutOfMemory:
			t.Errorf("offload none: %v, want out_of_memory", err)
		case off == policy.OffloadHost && (err != nil || res.Stats.Evictions == 0):
			t.Errorf("offload host: %v, %+v: want success with evictions", err, res.Stats)
		}
		checkTiersEmpty(t, dev, "")
		checkNoLeaks(t, dev)
	}
}
