package engine_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/internal/memdag"
	"github.com/ebbgraph/ebb/policy"
)

// peakOf runs d once at level 2, parallelism 1, with order o, and returns
// the measured peak.
func peakOf(t testing.TB, d *memdag.DAG, o policy.Order) int64 {
	t.Helper()
	e, err := engine.New(engine.Options{Registry: memdag.Registry(), Parallelism: 1, Cache: engine.CacheMode{Kind: engine.CacheNone}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	res, err := e.Run(context.Background(), d.Workflow(), engine.RunOptions{Policy: &policy.Policy{Level: policy.ReleaseDead}, Order: o})
	if err != nil || res.Status != engine.StatusSuccess {
		t.Fatalf("run: %v %v", err, res.Err)
	}
	return res.Stats.PeakBytes
}

// orderRatios runs count random DAGs of 4 to 14 nodes under o and returns
// each run's peak over the exact optimum, sorted.
func orderRatios(t testing.TB, seed uint64, count int, o policy.Order) []float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	ratios := make([]float64, 0, count)
	for range count {
		d := memdag.Random(rng, 4+rng.IntN(11))
		opt := d.Optimum()
		got := peakOf(t, d, o)
		if got < opt {
			t.Fatalf("peak %d below the optimum %d: the model and the engine disagree\n%v", got, opt, d.Workflow())
		}
		ratios = append(ratios, float64(got)/float64(max(opt, 1)))
	}
	slices.Sort(ratios)
	return ratios
}

func quantile(sorted []float64, q float64) float64 {
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

// TestOrderNearOptimum: on random DAGs of at most 14 nodes, the memory
// order's peak is within 5% of the exact optimum at the median and 30% at
// worst. The stack order (ebb's before) is reported for comparison.
func TestOrderNearOptimum(t *testing.T) {
	count := 1000
	if testing.Short() {
		count = 200
	}
	mem := orderRatios(t, 1, count, policy.Memory)
	stack := orderRatios(t, 1, count, policy.Stack)
	comfy := orderRatios(t, 1, count, policy.Comfy)
	for _, row := range []struct {
		name string
		r    []float64
	}{{"memory", mem}, {"stack", stack}, {"comfy", comfy}} {
		t.Logf("%-6s peak/optimum over %d DAGs: p50 %.3f  p90 %.3f  p99 %.3f  max %.3f  optimal %.0f%%",
			row.name, count, quantile(row.r, .5), quantile(row.r, .9), quantile(row.r, .99), row.r[len(row.r)-1],
			100*float64(countAtMost(row.r, 1))/float64(count))
	}
	if p50, worst := quantile(mem, .5), mem[len(mem)-1]; p50 > 1.05 || worst > 1.3 {
		t.Errorf("memory order: median %.3f (want <= 1.05), worst %.3f (want <= 1.3) of the optimum", p50, worst)
	}
}

func countAtMost(sorted []float64, x float64) int {
	n := 0
	for _, v := range sorted {
		if v <= x {
			n++
		}
	}
	return n
}

// TestOrderVsComfy: on realistic image workflows (several pipelines
// sharing loaders, 15 to 80 nodes), the memory order's median peak is at
// most 0.8 of ComfyUI's order's.
func TestOrderVsComfy(t *testing.T) {
	count := 300
	if testing.Short() {
		count = 60
	}
	rng := rand.New(rand.NewPCG(7, 7))
	var vsComfy, vsStack, vsLB []float64
	nodes := 0
	for range count {
		d := memdag.Realistic(rng)
		nodes += len(d.Nodes)
		m, c, s := peakOf(t, d, policy.Memory), peakOf(t, d, policy.Comfy), peakOf(t, d, policy.Stack)
		vsComfy = append(vsComfy, float64(m)/float64(c))
		vsStack = append(vsStack, float64(m)/float64(s))
		vsLB = append(vsLB, float64(m)/float64(d.LowerBound()))
	}
	slices.Sort(vsComfy)
	slices.Sort(vsStack)
	slices.Sort(vsLB)
	for _, row := range []struct {
		name string
		r    []float64
	}{{"comfy", vsComfy}, {"stack", vsStack}, {"lower bound", vsLB}} {
		t.Logf("memory/%s peak over %d workflows (%.0f nodes on average): p10 %.3f  p50 %.3f  p90 %.3f  max %.3f",
			row.name, count, float64(nodes)/float64(count), quantile(row.r, .1), quantile(row.r, .5), quantile(row.r, .9), row.r[len(row.r)-1])
	}
	if p50 := quantile(vsComfy, .5); p50 > 0.8 {
		t.Errorf("memory order: median %.3f of ComfyUI's order's peak, want <= 0.8", p50)
	}
}
