package main

import (
	"runtime/debug"
	"testing"
)

// pauseGC nests: the collector comes back, at its old percent, when the
// last pauser resumes.
func TestPauseGC(t *testing.T) {
	orig := debug.SetGCPercent(150)
	defer debug.SetGCPercent(orig)
	r1 := pauseGC()
	r2 := pauseGC()
	r1()
	if p := debug.SetGCPercent(-1); p != -1 {
		t.Errorf("GC percent %d with one pauser left, want -1 (off)", p)
	}
	r2()
	if p := debug.SetGCPercent(150); p != 150 {
		t.Errorf("GC percent %d after the last pauser resumed, want 150", p)
	}
}
