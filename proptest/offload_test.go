package proptest

import (
	"errors"
	"os"
	"testing"

	"pgregory.net/rapid"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/policy"
)

// TestOffloadResults is invariant 9: with offload (host or disk, every
// eviction choice), on a device of a random capacity between a third of
// the run's peak without offload and that peak, at every level and
// strategy, a run either agrees with the oracle or fails with a typed
// out_of_memory; at parallelism 1 at the peak itself the first run always
// succeeds (the second meets the cache's values too); it never reads a
// value off the device; and after it (and after the engine closes)
// nothing is left on any tier but what the cache keeps, and no disk file.
// Runs twice per engine, so the second run meets the cache's values, some
// of them offloaded.
func TestOffloadResults(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		spec := Workflows(defaultGen()).Draw(t, "workflow")
		t.Logf("workflow: %v", spec)
		orc := oracleFor(t, spec)
		cfg := drawConfig(t, "config")
		cfg.par = rapid.SampledFrom([]int{1, 1, 4}).Draw(t, "parallelism")
		base := newHarness(t, cfg)
		out := base.run(t, spec.WF, cfg.policy())
		if knownBug(out) != "" {
			return
		}
		base.close(t)
		peak := out.res.Stats.PeakBytes
		cfg.offload = rapid.SampledFrom([]policy.Offload{policy.OffloadHost, policy.OffloadDisk}).Draw(t, "offload")
		cfg.evict = rapid.SampledFrom(policy.Evicts()).Draw(t, "evict")
		atPeak := rapid.IntRange(0, 3).Draw(t, "at-peak") == 0
		cfg.capacity = peak
		if !atPeak {
			cfg.capacity = rapid.Int64Range(peak/3, peak).Draw(t, "capacity")
		}
		if cfg.capacity == 0 {
			return // nothing on the device: nothing to offload
		}
		if cfg.offload == policy.OffloadDisk {
			dir, err := os.MkdirTemp("", "ebb-offload-prop-")
			if err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(dir)
			cfg.diskDir = dir
		}
		h := newHarness(t, cfg)
		for i := range 2 {
			out := h.run(t, spec.WF, cfg.policy())
			if knownBug(out) != "" {
				return
			}
			checkNoUseAfterFree(t, h, out)
			if errors.Is(out.res.Err, engine.ErrNotResident) {
				t.Fatalf("%v: a node read a value off the device", out)
			}
			checkHeld(t, h, out)
			if cfg.diskDir != "" && out.cached == 0 {
				if ents, _ := os.ReadDir(cfg.diskDir); len(ents) > 0 {
					t.Fatalf("%v: %d files left in the disk tier's directory after the run, the cache keeps nothing", out, len(ents))
				}
			}
			if st := out.res.Stats; st.DevicePeakBytes > cfg.capacity {
				t.Fatalf("%v: device peak %d above the capacity", out, st.DevicePeakBytes)
			}
			if out.res.Status == engine.StatusError && errors.Is(out.res.Err, device.ErrOutOfMemory) {
				if engine.ErrorType(out.res.Err) != engine.TypeOutOfMemory {
					t.Fatalf("%v: out of memory typed %s", out, engine.ErrorType(out.res.Err))
				}
				if atPeak && cfg.par == 1 && i == 0 {
					t.Fatalf("%v: out of memory at the peak of the run without offload", out)
				}
				continue
			}
			checkOutcome(t, spec, orc, out)
		}
		h.close(t)
		if cfg.diskDir != "" {
			if ents, _ := os.ReadDir(cfg.diskDir); len(ents) > 0 {
				t.Fatalf("%v: %d files left in the disk tier's directory", cfg, len(ents))
			}
		}
	})
}

// TestOffloadAboveMinimum: at parallelism 1, with a host tier that holds
// anything and eviction by cost or swap, success is monotone in the
// device's capacity: once the smallest capacity a workflow completes on
// is found (by bisection), every capacity above it completes too, with
// the oracle's results.
func TestOffloadAboveMinimum(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		spec := Workflows(defaultGen()).Draw(t, "workflow")
		t.Logf("workflow: %v", spec)
		orc := oracleFor(t, spec)
		cfg := drawConfig(t, "config")
		cfg.par, cfg.cache = 1, cacheNone
		base := newHarness(t, cfg)
		out := base.run(t, spec.WF, cfg.policy())
		if knownBug(out) != "" || out.res.Status != engine.StatusSuccess {
			return
		}
		base.close(t)
		peak := out.res.Stats.PeakBytes
		cfg.offload = policy.OffloadHost
		cfg.evict = rapid.SampledFrom([]policy.Evict{policy.EvictCost, policy.EvictSwap}).Draw(t, "evict")
		runAt := func(capacity int64) *outcome {
			c := cfg
			c.capacity = capacity
			h := newHarness(t, c)
			out := h.run(t, spec.WF, c.policy())
			checkNoUseAfterFree(t, h, out)
			checkHeld(t, h, out)
			h.close(t)
			return out
		}
		lo, hi := int64(0), peak // lo fails (or is 0: unlimited), hi succeeds
		if peak == 0 {
			return
		}
		for hi-lo > 1 {
			mid := lo + (hi-lo)/2
			if runAt(mid).res.Status == engine.StatusSuccess {
				hi = mid
			} else {
				lo = mid
			}
		}
		capacity := rapid.Int64Range(hi, peak).Draw(t, "capacity")
		out = runAt(capacity)
		if out.res.Status != engine.StatusSuccess {
			t.Fatalf("minimum %d, peak %d: fails at %d: %v", hi, peak, capacity, out)
		}
		checkOutcome(t, spec, orc, out)
	})
}
