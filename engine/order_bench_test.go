package engine_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/internal/memdag"
	"github.com/ebbgraph/ebb/policy"
)

// BenchmarkOrder runs 50 realistic image workflows (memdag.Realistic,
// about 40 nodes each, sizes from profiles) at level 2, parallelism 1,
// under each order, and reports the time per node and the mean peak: what
// the memory order's look-ahead and rollouts cost against the stack order.
func BenchmarkOrder(b *testing.B) {
	defer engine.SetInvariantChecks(false)()
	rng := rand.New(rand.NewPCG(11, 11))
	var wfs []engine.Workflow
	nodes := 0
	for range 50 {
		d := memdag.Realistic(rng)
		wfs = append(wfs, d.Workflow())
		nodes += len(d.Nodes)
	}
	for _, o := range policy.Orders() {
		b.Run(fmt.Sprintf("order=%v", o), func(b *testing.B) {
			e, err := engine.New(engine.Options{Registry: memdag.Registry(), Parallelism: 1, Cache: engine.CacheMode{Kind: engine.CacheNone}})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			pol := policy.Policy{Level: policy.ReleaseDead}
			var peak int64
			for b.Loop() {
				peak = 0
				for _, wf := range wfs {
					res, err := e.Run(context.Background(), wf, engine.RunOptions{Policy: &pol, Order: o})
					if err != nil || res.Status != engine.StatusSuccess {
						b.Fatal(err)
					}
					peak += res.Stats.PeakBytes
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(nodes), "ns/node")
			b.ReportMetric(float64(peak)/float64(len(wfs))/(1<<30), "GiB-peak")
		})
	}
}
