// bound_long_test.go: a trace of a million steps: Bound's cost, and BenchmarkTrace.

package lifetime

import (
	"testing"
	"time"
)

// longLoop records a loop of n iterations: each reads the previous state
// and a model kept alive by a pin, makes a new state, and uses work memory.
func longLoop(tr *Trace, n int) {
	tr.Existing(0, 1000)
	tr.Pin(0)
	s := tr.Begin("init")
	tr.Produce(s, 1, 10)
	tr.End(s)
	for i := range n {
		s := tr.Begin("body")
		tr.Read(s, 0)
		tr.Read(s, ValueID(i+1))
		tr.Produce(s, ValueID(i+2), 10)
		tr.Work(s, 5)
		tr.End(s)
	}
}

func TestBoundLongTrace(t *testing.T) {
	n := 1_000_000
	if testing.Short() {
		n = 10_000
	}
	var tr Trace
	start := time.Now()
	longLoop(&tr, n)
	b := tr.Bound()
	elapsed := time.Since(start)
	if b != 1025 {
		t.Fatalf("Bound = %d, want 1025", b)
	}
	t.Logf("%d steps recorded and bounded in %v", n, elapsed)
}

func BenchmarkTrace(b *testing.B) {
	var tr Trace
	for b.Loop() {
		tr.Reset()
		longLoop(&tr, 1_000_000)
		if tr.Bound() != 1025 {
			b.Fatal("wrong bound")
		}
	}
}
