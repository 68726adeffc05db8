package engine_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/internal/memdag"
	"github.com/ebbgraph/ebb/policy"
)

// runDAG runs d on a fresh engine with a Sim of capacity (0: unlimited).
func runDAG(t interface{ Fatal(...any) }, d *memdag.DAG, par int, capacity int64, pol policy.Policy, order policy.Order) (*engine.RunResult, *device.Sim) {
	dev := device.NewSim(capacity)
	e, err := engine.New(engine.Options{Registry: memdag.Registry(), Device: dev, Parallelism: par, Cache: engine.CacheMode{Kind: engine.CacheNone}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	res, err := e.Run(context.Background(), d.Workflow(), engine.RunOptions{Policy: &pol, Order: order})
	if res == nil {
		t.Fatal(err)
	}
	return res, dev
}

// TestAdmission: a run plans its need at its parallelism (a run on an
// unlimited device); on a device of exactly that capacity, at the same
// parallelism, it starts the same nodes in the same order, never runs out
// of memory, and neither the engine's nor the device's peak exceeds it.
// Random and realistic workflows, parallelism 1-8, every level and order.
func TestAdmission(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		rng := rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "seed"), 0))
		d := memdag.Random(rng, 2+rng.IntN(30))
		if rapid.Bool().Draw(t, "realistic") {
			d = memdag.Realistic(rng)
		}
		par := rapid.IntRange(1, 8).Draw(t, "parallelism")
		pol := policy.Policy{Level: rapid.SampledFrom(policy.Levels()).Draw(t, "level")}
		order := rapid.SampledFrom(policy.Orders()).Draw(t, "order")
		plan, _ := runDAG(t, d, par, 0, pol, order)
		if plan.Status != engine.StatusSuccess {
			t.Fatalf("unlimited: %v", plan.Err)
		}
		need := plan.Stats.NeedBytes
		if need < plan.Stats.PeakBytes {
			t.Fatalf("need %d below the unlimited run's peak %d", need, plan.Stats.PeakBytes)
		}
		res, dev := runDAG(t, d, par, need, pol, order)
		if res.Status != engine.StatusSuccess {
			t.Fatalf("at the planned need %d, parallelism %d: %v", need, par, res.Err)
		}
		if !slices.Equal(res.Executed, plan.Executed) {
			t.Fatalf("order at the need %v differs from the plan's %v", res.Executed, plan.Executed)
		}
		if res.Stats.PeakBytes > need || dev.Stats().Peak > need || res.Stats.NeedBytes != need {
			t.Fatalf("peak %d, device peak %d, need %d: want both peaks <= need %d", res.Stats.PeakBytes, dev.Stats().Peak, res.Stats.NeedBytes, need)
		}
	})
}

// A node whose declared estimate cannot fit even alone fails with
// out_of_memory before it starts: it allocates nothing.
func TestAdmissionTooBig(t *testing.T) {
	d := &memdag.DAG{Nodes: []memdag.Node{
		{Out: 1 << 20},
		{In: []int{0}, Work: 64 << 20, Sink: true},
	}}
	res, dev := runDAG(t, d, 2, 32<<20, policy.Default(), policy.Memory)
	var ne *engine.NodeError
	if res.Status != engine.StatusError || !errors.Is(res.Err, device.ErrOutOfMemory) || !errors.As(res.Err, &ne) ||
		ne.Node != memdag.ID(1) || ne.Type != engine.TypeOutOfMemory {
		t.Fatalf("status %v, err %v: want out_of_memory at node 2", res.Status, res.Err)
	}
	if p := dev.Stats().Peak; p != 1<<20 {
		t.Errorf("device peak %d: the node that did not fit allocated", p)
	}
}
