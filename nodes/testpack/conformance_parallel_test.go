// conformance_parallel_test.go: sleeps that must overlap, as nodes and inside an expansion.

package testpack_test

import (
	"testing"
	"time"

	"github.com/ebbgraph/ebb/engine"
)

// maxSleepWall is the wall time the parallel sleep cases must beat: well
// under the 0.91 s the three sleeps take one after another.
const maxSleepWall = 750 * time.Millisecond

// test_parallel_sleep_nodes: three sleeps overlap.
func TestConformanceParallelSleeps(t *testing.T) {
	eachModeOverlapped(t, load(t, "parallel_sleep"), 4, func(t *testing.T, h *harness, r *result) {
		r.ok(t)
		for _, id := range []engine.NodeID{"sleep1", "sleep2", "sleep3"} {
			if !r.ran(id) {
				t.Errorf("%s did not run", id)
			}
		}
		for _, id := range []engine.NodeID{"preview1", "preview2", "preview3"} {
			r.wantPixels(t, id, 0)
		}
		if r.wall >= maxSleepWall {
			t.Errorf("wall time %v: the sleeps did not overlap (limit %v)", r.wall, maxSleepWall)
		}
	})
}

// test_parallel_sleep_expansion: the sleeps of an expansion overlap.
func TestConformanceParallelSleepExpansion(t *testing.T) {
	eachModeOverlapped(t, load(t, "parallel_sleep_expansion"), 4, func(t *testing.T, h *harness, r *result) {
		r.ok(t)
		if !r.ran("parallel") {
			t.Error("the parallel sleep node did not run")
		}
		im := r.images(t, "save")
		if len(im) != 1 || im[0]["mean"] != 170.0 {
			t.Errorf("images %v, want one with mean 170", im)
		}
		if r.wall >= maxSleepWall {
			t.Errorf("wall time %v: the sleeps did not overlap (limit %v)", r.wall, maxSleepWall)
		}
	})
}
