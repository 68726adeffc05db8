// conformance_loops_test.go: for and while loops, and a loop of 10,000 iterations.

package testpack_test

import (
	"testing"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/policy"
)

// test_for_loop: averaging with BLACK N times halves WHITE N times; the
// always-changed input runs every time.
func TestConformanceForLoop(t *testing.T) {
	needFlowControl(t)
	wf := load(t, "for_loop")
	eachMode(t, func(t *testing.T, h *harness) {
		for n := 1; n <= 4; n++ {
			r := h.run(set(wf, "for_open", "remaining", int64(n))).ok(t)
			r.wantPixels(t, "save", 255>>n)
			if !r.ran("is_changed") {
				t.Errorf("N=%d: is_changed did not run", n)
			}
		}
	})
}

// The while loop counts an INT down from 10: the body runs 10 times and the
// final value is 0 (the preview shows its image only then).
func TestConformanceWhileLoop(t *testing.T) {
	needFlowControl(t)
	wf := load(t, "while_loop")
	eachMode(t, func(t *testing.T, h *harness) {
		r := h.run(wf).ok(t)
		r.wantPixels(t, "preview", 0)
		body := 0
		for _, ev := range r.events {
			if ev.Type == engine.EventExecuting && ev.Class == "TestIntMathOperation" {
				body++
			}
		}
		if body != 10 {
			t.Errorf("the body ran %d times, want 10", body)
		}
	})
}

// A for loop of 10,000 iterations completes, with ids that do not grow
// with the iteration count. The full 10,000 iterations run under the
// default policy (classic cache, level 2, auto) and each other cache mode
// at level 2 auto; every other mode runs 300 (each full run takes seconds
// under -race). -short runs 300 everywhere.
func TestConformanceLongLoop(t *testing.T) {
	needFlowControl(t)
	wf := load(t, "long_loop")
	eachMode(t, func(t *testing.T, h *harness) {
		n := int64(10000)
		if testing.Short() || h.pol != (policy.Policy{Level: policy.ReleaseDead, Strategy: policy.Auto}) {
			n = 300
		}
		w := set(set(wf, "for_open", "remaining", n), "wrong", "b", n)
		r := h.run(w).ok(t)
		r.wantPixels(t, "preview", 0)
		longest := ""
		for _, id := range r.Executed {
			if len(id) > len(longest) {
				longest = string(id)
			}
		}
		if len(longest) > 64 {
			t.Errorf("id %q (%d bytes) grows with the iterations", longest, len(longest))
		}
		if got := int64(len(r.Executed)); got < n {
			t.Errorf("%d executions for %d iterations", got, n)
		}
	})
}
