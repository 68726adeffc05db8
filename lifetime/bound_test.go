package lifetime

import (
	"fmt"
	"strings"
	"testing"
)

// run is a sequential step: Begin, reads, produces, work, End.
func run(t *Trace, node string, reads []ValueID, outs map[ValueID]int64, work int64) {
	s := t.Begin(node)
	for _, v := range reads {
		t.Read(s, v)
	}
	for v, b := range outs {
		t.Produce(s, v, b)
	}
	t.Work(s, work)
	t.End(s)
}

func TestBoundEmpty(t *testing.T) {
	var tr Trace
	if b := tr.Bound(); b != 0 {
		t.Fatalf("Bound = %d, want 0", b)
	}
}

func TestBoundChain(t *testing.T) {
	// a(10) -> b(20) -> c(5): at b, a and b are alive (30); at c, b and c (25).
	var tr Trace
	run(&tr, "a", nil, map[ValueID]int64{1: 10}, 0)
	run(&tr, "b", []ValueID{1}, map[ValueID]int64{2: 20}, 0)
	run(&tr, "c", []ValueID{2}, map[ValueID]int64{3: 5}, 0)
	if b, n := tr.Peak(); b != 30 || n != "b" {
		t.Fatalf("Peak = %d at %q, want 30 at b", b, n)
	}
}

func TestBoundDiamond(t *testing.T) {
	// a(100) feeds b(1) and c(2); d reads b and c.
	// At b: a+b = 101. At c: a+b+c = 103 (a still needed by c). At d: b+c+d(4) = 7.
	var tr Trace
	run(&tr, "a", nil, map[ValueID]int64{1: 100}, 0)
	run(&tr, "b", []ValueID{1}, map[ValueID]int64{2: 1}, 0)
	run(&tr, "c", []ValueID{1}, map[ValueID]int64{3: 2}, 0)
	run(&tr, "d", []ValueID{2, 3}, map[ValueID]int64{4: 4}, 0)
	if b, n := tr.Peak(); b != 103 || n != "c" {
		t.Fatalf("Peak = %d at %q, want 103 at c", b, n)
	}
}

func TestBoundPassThrough(t *testing.T) {
	// AllocateVRAM chain: m(7) is passed through p1 and p2, each also making
	// a tensor of 2 that nobody reads; then r reads m.
	// At p1: m+t1 = 9. At p2: m+t2 = 9 (t1 died when p1 ended). At r: m = 7.
	// Counting m once per Produce would give 16 or more.
	var tr Trace
	run(&tr, "m", nil, map[ValueID]int64{1: 7}, 0)
	run(&tr, "p1", []ValueID{1}, map[ValueID]int64{1: 7, 2: 2}, 0)
	run(&tr, "p2", []ValueID{1}, map[ValueID]int64{1: 7, 3: 2}, 0)
	run(&tr, "r", []ValueID{1}, nil, 1)
	if b := tr.Bound(); b != 9 {
		t.Fatalf("Bound = %d, want 9", b)
	}
}

func TestBoundPassThroughReadBySeveral(t *testing.T) {
	// m(10) passed through by p; x and y read p's output (the same value m);
	// x also makes 3, y makes 4. m lives until y ends.
	var tr Trace
	run(&tr, "m", nil, map[ValueID]int64{1: 10}, 0)
	run(&tr, "p", []ValueID{1}, map[ValueID]int64{1: 10}, 0)
	run(&tr, "x", []ValueID{1}, map[ValueID]int64{2: 3}, 0)
	run(&tr, "y", []ValueID{1}, map[ValueID]int64{3: 4}, 0)
	run(&tr, "z", []ValueID{2, 3}, nil, 0)
	// At y: m + x's 3 (read later by z) + 4 = 17.
	if b, n := tr.Peak(); b != 17 || n != "y" {
		t.Fatalf("Peak = %d at %q, want 17 at y", b, n)
	}
}

func TestBoundNeverRead(t *testing.T) {
	// A never-read output lives only during its producer.
	var tr Trace
	run(&tr, "a", nil, map[ValueID]int64{1: 50, 2: 1}, 0)
	run(&tr, "b", []ValueID{2}, map[ValueID]int64{3: 1}, 0)
	run(&tr, "c", []ValueID{3}, map[ValueID]int64{4: 1}, 0)
	if b, n := tr.Peak(); b != 51 || n != "a" {
		t.Fatalf("Peak = %d at %q, want 51 at a", b, n)
	}
}

func TestBoundPinned(t *testing.T) {
	// Pinned outputs stay alive to the end: a(50) pinned, then b(20), c(30).
	var tr Trace
	run(&tr, "a", nil, map[ValueID]int64{1: 50}, 0)
	tr.Pin(1)
	run(&tr, "b", nil, map[ValueID]int64{2: 20}, 0)
	run(&tr, "c", nil, map[ValueID]int64{3: 30}, 0)
	if b, n := tr.Peak(); b != 80 || n != "c" {
		t.Fatalf("Peak = %d at %q, want 80 at c", b, n)
	}

	// Pinning before the value appears applies to its first life.
	tr.Reset()
	tr.Pin(9)
	run(&tr, "a", nil, map[ValueID]int64{9: 5}, 0)
	run(&tr, "b", nil, map[ValueID]int64{2: 6}, 0)
	if b := tr.Bound(); b != 11 {
		t.Fatalf("pin before produce: Bound = %d, want 11", b)
	}

	// A pin that is never produced counts nothing.
	tr.Reset()
	tr.Pin(9)
	run(&tr, "a", nil, map[ValueID]int64{1: 5}, 0)
	if b := tr.Bound(); b != 5 {
		t.Fatalf("pin of nothing: Bound = %d, want 5", b)
	}
}

func TestBoundExisting(t *testing.T) {
	// Cached c(40) read by the second step; unread cached u(7) counts only
	// at the start of the run.
	var tr Trace
	tr.Existing(1, 40)
	tr.Existing(2, 7)
	run(&tr, "a", nil, map[ValueID]int64{3: 5}, 0)
	run(&tr, "b", []ValueID{1, 3}, map[ValueID]int64{4: 1}, 0)
	run(&tr, "c", []ValueID{4}, nil, 3)
	// start: 47. a: 40+5. b: 40+5+1 = 46. c: 1+3.
	if b, n := tr.Peak(); b != 47 || n != "" {
		t.Fatalf("Peak = %d at %q, want 47 at the start", b, n)
	}

	// Pinned existing values count everywhere.
	tr.Reset()
	tr.Existing(1, 40)
	tr.Pin(1)
	run(&tr, "a", nil, map[ValueID]int64{3: 5}, 0)
	if b, n := tr.Peak(); b != 45 || n != "a" {
		t.Fatalf("pinned existing: Peak = %d at %q, want 45 at a", b, n)
	}

	// Existing of a known value changes nothing.
	tr.Reset()
	run(&tr, "a", nil, map[ValueID]int64{1: 5}, 0)
	tr.Existing(1, 100)
	if b := tr.Bound(); b != 5 {
		t.Fatalf("existing of a known value: Bound = %d, want 5", b)
	}
}

func TestBoundParallel(t *testing.T) {
	// Two loaders overlap, then a consumer of both.
	//   Begin a, Begin b, a makes 10, b makes 20, End b, End a, c reads both.
	var tr Trace
	a := tr.Begin("a")
	b := tr.Begin("b")
	tr.Work(a, 1)
	tr.Produce(b, 2, 20)
	tr.Produce(a, 1, 10) // counted from a's Begin, before b began
	tr.End(b)
	tr.End(a)
	// At a: 10+1 (Produce and Work are counted from a's Begin). At b: 31.
	c := tr.Begin("c")
	tr.Read(c, 1)
	tr.Read(c, 2)
	tr.End(c)
	if got, n := tr.Peak(); got != 31 || n != "b" {
		t.Fatalf("Peak = %d at %q, want 31 at b", got, n)
	}

	// A value read by a long step that began before a short one ended
	// lives until the long step ends.
	tr.Reset()
	p := tr.Begin("p")
	tr.Produce(p, 1, 8)
	tr.End(p)
	long := tr.Begin("long")
	tr.Read(long, 1)
	short := tr.Begin("short")
	tr.Read(short, 1)
	tr.End(short)
	x := tr.Begin("x")
	tr.Work(x, 4)
	tr.End(x)
	tr.End(long)
	if got := tr.Bound(); got != 12 {
		t.Fatalf("Bound = %d, want 12 (value 8 alive while x runs)", got)
	}
}

func TestBoundWork(t *testing.T) {
	// Work is alive only while its step runs, and adds up across Work calls.
	var tr Trace
	run(&tr, "a", nil, map[ValueID]int64{1: 3}, 10)
	s := tr.Begin("b")
	tr.Read(s, 1)
	tr.Work(s, 4)
	tr.Work(s, 5)
	tr.End(s)
	run(&tr, "c", nil, nil, 2)
	if b, n := tr.Peak(); b != 13 || n != "a" {
		t.Fatalf("Peak = %d at %q, want 13 at a", b, n)
	}

	// Work of a step that never ends lives to the end of the trace.
	tr.Reset()
	r := tr.Begin("r")
	tr.Work(r, 6)
	run(&tr, "q", nil, nil, 1)
	if b := tr.Bound(); b != 7 {
		t.Fatalf("running step: Bound = %d, want 7", b)
	}
}

func TestBoundRelife(t *testing.T) {
	// Value 1 dies after b, then comes back (same id) from d: a new life,
	// not an extension of the first one.
	var tr Trace
	run(&tr, "a", nil, map[ValueID]int64{1: 10}, 0)
	run(&tr, "b", []ValueID{1}, nil, 0)
	run(&tr, "c", nil, map[ValueID]int64{2: 50}, 0)
	run(&tr, "d", nil, map[ValueID]int64{1: 10}, 0)
	run(&tr, "e", []ValueID{1}, nil, 0)
	if b, n := tr.Peak(); b != 50 || n != "c" {
		t.Fatalf("Peak = %d at %q, want 50 at c", b, n)
	}
}

func TestBoundReadUnknown(t *testing.T) {
	var tr Trace
	s := tr.Begin("a")
	tr.Read(s, 42)
	tr.End(s)
	if b := tr.Bound(); b != 0 {
		t.Fatalf("Bound = %d, want 0", b)
	}
}

func TestBoundMisuse(t *testing.T) {
	for name, f := range map[string]func(*Trace){
		"unknown step":  func(tr *Trace) { tr.Read(3, 1) },
		"end twice":     func(tr *Trace) { s := tr.Begin("a"); tr.End(s); tr.End(s) },
		"negative size": func(tr *Trace) { s := tr.Begin("a"); tr.Produce(s, 1, -1) },
		"negative work": func(tr *Trace) { s := tr.Begin("a"); tr.Work(s, -1) },
		"after end":     func(tr *Trace) { s := tr.Begin("a"); tr.End(s); tr.Produce(s, 1, 1) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil || !strings.HasPrefix(fmt.Sprint(r), "lifetime: ") {
					t.Fatalf("recovered %v, want a lifetime panic", r)
				}
			}()
			var tr Trace
			f(&tr)
		})
	}
}

func TestBoundReset(t *testing.T) {
	var tr Trace
	tr.Existing(1, 100)
	run(&tr, "a", []ValueID{1}, map[ValueID]int64{2: 1}, 0)
	tr.Reset()
	run(&tr, "a", nil, map[ValueID]int64{1: 3}, 0)
	if b, n := tr.Peak(); b != 3 || n != "a" {
		t.Fatalf("after Reset: Peak = %d at %q, want 3 at a", b, n)
	}
}
