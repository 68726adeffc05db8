// conformance_cache_test.go: the cross-run cache: full and partial reuse, IS_CHANGED fingerprints.

package testpack_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/policy"
)

// test_full_cache: a second run of the same workflow runs nothing.
func TestConformanceFullCache(t *testing.T) {
	wf := load(t, "full_cache")
	eachMode(t, func(t *testing.T, h *harness) {
		r1 := h.run(wf).ok(t)
		r2 := h.run(wf).ok(t)
		for _, id := range wf.IDs() {
			if !r1.ran(id) {
				t.Errorf("run 1: %s did not run", id)
			}
			if r2.ran(id) != !h.caches() {
				t.Errorf("run 2: %s ran = %v with cache %s", id, r2.ran(id), h.cache)
			}
		}
		if h.caches() && !r2.cached("save") {
			t.Errorf("run 2: save is not a cache hit (cached %v)", r2.Cached)
		}
		if got, want := r2.images(t, "save"), r1.images(t, "save"); len(got) != 1 || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("run 2 images %v, run 1 %v", got, want)
		}
	})
}

// test_partial_cache: changing the mask does not re-run the images.
//
// Except at level 2: it releases the images as soon as the mix has read
// them, and a released output leaves the cross-run cache too (design.md
// §5: "classic + level 2 re-runs exactly the released part"), so there the
// images run again.
func TestConformancePartialCache(t *testing.T) {
	wf := load(t, "full_cache")
	eachMode(t, func(t *testing.T, h *harness) {
		h.run(wf).ok(t)
		r2 := h.run(set(wf, "mask", "value", 0.4)).ok(t)
		again := !h.caches() || h.pol.Level == policy.ReleaseDead
		r2.wantRan(t, map[engine.NodeID]bool{"black": again, "noise": again, "mask": true, "mix": true, "save": true})
	})
}

// test_custom_is_changed: should_change=false caches; true always runs.
func TestConformanceCustomFingerprint(t *testing.T) {
	wf := load(t, "custom_is_changed")
	eachMode(t, func(t *testing.T, h *harness) {
		r1, r2 := h.run(wf).ok(t), h.run(wf).ok(t)
		changing := set(wf, "is_changed", "should_change", true)
		r3, r4 := h.run(changing).ok(t), h.run(changing).ok(t)
		if !r1.ran("is_changed") {
			t.Error("run 1: is_changed did not run")
		}
		if r2.ran("is_changed") == h.caches() {
			t.Errorf("run 2: is_changed ran = %v with cache %s", r2.ran("is_changed"), h.cache)
		}
		if !r3.ran("is_changed") || !r4.ran("is_changed") {
			t.Errorf("runs 3 and 4: is_changed ran %v, %v; want always", r3.ran("is_changed"), r4.ran("is_changed"))
		}
		for i, r := range []*result{r1, r2, r3, r4} {
			if px := r.pixels(t, "save"); !slices.Equal(px, []int{0}) {
				t.Errorf("run %d: pixels %v", i+1, px)
			}
		}
	})
}

// test_is_changed_with_outputs: the fingerprint sees constants only, so
// the second run is cached.
func TestConformanceFingerprintWithOutputs(t *testing.T) {
	wf := load(t, "is_changed_with_outputs")
	eachMode(t, func(t *testing.T, h *harness) {
		r1 := h.run(wf).ok(t)
		r2 := h.run(wf).ok(t)
		r1.wantPixels(t, "preview", 63)
		r2.wantPixels(t, "preview", 63)
		if !r1.ran("test") {
			t.Error("run 1: the test node did not run")
		}
		if r2.ran("test") == h.caches() {
			t.Errorf("run 2: the test node ran = %v with cache %s", r2.ran("test"), h.cache)
		}
	})
}
