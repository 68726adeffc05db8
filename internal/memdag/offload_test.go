package memdag

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/policy"
)

// offloadRun runs d once with offload host on a tiered Sim of capacity
// bytes (0: unlimited) and host tier hostCap (0: unlimited), at level 2
// and parallelism 1.
func offloadRun(t testing.TB, d *DAG, capacity, hostCap int64, ev policy.Evict) *engine.RunResult {
	t.Helper()
	dev, err := device.NewTieredSim(capacity, device.SimTiers{Host: true, HostCapacity: hostCap})
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(engine.Options{Registry: Registry(), Device: dev, Parallelism: 1, Cache: engine.CacheMode{Kind: engine.CacheNone}})
	if err != nil {
		t.Fatal(err)
	}
	res, _ := e.Run(context.Background(), d.Workflow(), engine.RunOptions{Offload: policy.OffloadHost, Evict: ev})
	if err := dev.Close(); err != nil {
		t.Fatalf("device: %v", err)
	}
	if res.Status != engine.StatusSuccess && engine.ErrorType(res.Err) != engine.TypeOutOfMemory {
		t.Fatalf("run failed with %v", res.Err)
	}
	return res
}

// costRatios runs count workflows from gen at the budget max(largest
// working set, half the level-2 peak) under each eviction choice and
// returns, per workflow, cost's simulated time over the better of swap's
// and recompute's (+Inf when cost failed and another did not), sorted.
func costRatios(t testing.TB, gen func() *DAG, count int, hostCap int64) (ratios, slowdown []float64, none int, only map[policy.Evict]int) {
	only = map[policy.Evict]int{} // runs where swap or recompute failed and cost did not
	for range count {
		d := gen()
		free := offloadRun(t, d, 0, 0, policy.EvictCost)
		if free.Status != engine.StatusSuccess {
			t.Fatalf("unlimited run: %v", free.Err)
		}
		budget := max(free.Stats.WorkingSetBytes, free.Stats.PeakBytes/2)
		sim := map[policy.Evict]float64{}
		for _, ev := range policy.Evicts() {
			res := offloadRun(t, d, budget, hostCap, ev)
			sim[ev] = math.Inf(1)
			if res.Status == engine.StatusSuccess {
				sim[ev] = res.Stats.SimMs
			}
		}
		best := min(sim[policy.EvictSwap], sim[policy.EvictRecompute])
		for _, ev := range []policy.Evict{policy.EvictSwap, policy.EvictRecompute} {
			if math.IsInf(sim[ev], 1) && !math.IsInf(sim[policy.EvictCost], 1) {
				only[ev]++
			}
		}
		switch {
		case math.IsInf(best, 1) && math.IsInf(sim[policy.EvictCost], 1):
			none++ // the host tier is too small for what must leave the device
			continue
		case math.IsInf(best, 1):
			ratios = append(ratios, 0) // only cost runs
		default:
			ratios = append(ratios, sim[policy.EvictCost]/best)
		}
		slowdown = append(slowdown, sim[policy.EvictCost]/free.Stats.SimMs)
	}
	slices.Sort(ratios)
	slices.Sort(slowdown)
	return ratios, slowdown, none, only
}

func quantile(sorted []float64, q float64) float64 {
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

func summary(sorted []float64) string {
	return fmt.Sprintf("p50 %.3f, p90 %.3f, p95 %.3f, p99 %.3f, max %.3f", quantile(sorted, .5), quantile(sorted, .9), quantile(sorted, .95), quantile(sorted, .99), sorted[len(sorted)-1])
}

// timedRandom returns a Random DAG of 8 to 40 nodes with times: loaders
// read from a 2 GiB/s disk, compute nodes take 1 ms to 3 s, small ones
// 1 to 20 ms.
func timedRandom(rng *rand.Rand) *DAG {
	d := Random(rng, 8+rng.IntN(33))
	for i := range d.Nodes {
		n := &d.Nodes[i]
		switch n.Name {
		case "loader":
			n.Ms = max(1, n.Out>>21)
		case "compute":
			n.Ms = 1 + rng.Int64N(3000)
		default:
			n.Ms = 1 + rng.Int64N(20)
		}
	}
	return d
}

// TestOffloadCostCorpus: on 500 realistic workflows and 500 random ones,
// all with sizes and times, each at the budget max(largest working set,
// half its level-2 peak), eviction by cost is within 5% of the better of
// swap and recompute on at least 95% of those some choice runs (cost
// failing where another runs counts against it), with host memory unlimited
// and with a small host tier (8 GiB for the realistic ones, 2 GiB for
// the random ones, whose values are smaller), where cost has to mix moves
// and recomputation.
func TestOffloadCostCorpus(t *testing.T) {
	count := 500
	if testing.Short() || raceEnabled {
		count = 100 // the numbers in docs/offload.md are from 500, without -race
	}
	for _, c := range []struct {
		name string
		gen  func(*rand.Rand) *DAG
		host int64
	}{
		{"realistic/host unlimited", Realistic, 0},
		{"realistic/host 8 GiB", Realistic, 8 * device.GiB},
		{"random/host unlimited", timedRandom, 0},
		{"random/host 2 GiB", timedRandom, 2 * device.GiB},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(11, 0))
			ratios, slowdown, none, only := costRatios(t, func() *DAG { return c.gen(rng) }, count, c.host)
			if none > count/4 {
				t.Fatalf("%d of %d workflows ran under no eviction choice", none, count)
			}
			within := 0
			for _, r := range ratios {
				if r <= 1.05 {
					within++
				}
			}
			t.Logf("%d workflows, %d of which no choice runs at the budget; cost runs where swap fails on %d, where recompute fails on %d",
				count, none, only[policy.EvictSwap], only[policy.EvictRecompute])
			t.Logf("%d workflows: cost / best of swap and recompute: %s; %d (%.1f%%) within 5%%", len(ratios), summary(ratios), within, 100*float64(within)/float64(len(ratios)))
			t.Logf("cost at the budget / unlimited memory: %s", summary(slowdown))
			if float64(within) < 0.95*float64(len(ratios)) {
				t.Errorf("cost within 5%% of the best on %d of %d workflows, want 95%%", within, len(ratios))
			}
		})
	}
}
