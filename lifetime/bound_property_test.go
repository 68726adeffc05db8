// bound_property_test.go: TestBoundProperty, random traces against a brute-force oracle.

package lifetime

import (
	"fmt"
	"math"
	"testing"

	"pgregory.net/rapid"
)

// The property test replays random traces into Trace and into oracle, a
// brute-force recomputation of the same semantics.

type op struct {
	kind  byte // 'B' Begin, 'E' End, 'P' Produce, 'R' Read, 'W' Work, 'X' Existing, 'N' Pin
	step  int  // index into the steps begun so far
	v     ValueID
	bytes int64
}

type oracle struct {
	steps []*oStep
	lives []*oLife
	cur   map[ValueID]*oLife
	pos   int // index of the current op
}

type oStep struct {
	node       string
	begin, end int // op positions; end = MaxInt while running
	work       int64
}

type oLife struct {
	bytes    int64
	start    int // op position of the producer's Begin; -1 for Existing
	existing bool
	pending  bool // pinned before it appeared
	pinned   bool
	holders  []*oStep
}

func (o *oracle) apply(x op) {
	switch x.kind {
	case 'B':
		o.steps = append(o.steps, &oStep{node: fmt.Sprint("n", len(o.steps)), begin: o.pos, end: math.MaxInt})
	case 'E':
		o.steps[x.step].end = o.pos
	case 'W':
		o.steps[x.step].work += x.bytes
	case 'P':
		s := o.steps[x.step]
		if l := o.cur[x.v]; l != nil {
			if l.pending {
				l.pending, l.bytes, l.start = false, x.bytes, s.begin
				l.holders = append(l.holders, s)
				break
			}
			alive := l.pinned
			for _, h := range l.holders {
				alive = alive || h.end == math.MaxInt
			}
			if alive {
				l.holders = append(l.holders, s)
				break
			}
		}
		l := &oLife{bytes: x.bytes, start: s.begin, holders: []*oStep{s}}
		o.lives = append(o.lives, l)
		o.cur[x.v] = l
	case 'R':
		if l := o.cur[x.v]; l != nil && !l.pending {
			l.holders = append(l.holders, o.steps[x.step])
		}
	case 'X':
		if l := o.cur[x.v]; l != nil {
			if l.pending {
				l.pending, l.bytes, l.start, l.existing = false, x.bytes, -1, true
			}
			break
		}
		l := &oLife{bytes: x.bytes, start: -1, existing: true}
		o.lives = append(o.lives, l)
		o.cur[x.v] = l
	case 'N':
		if l := o.cur[x.v]; l != nil {
			l.pinned = true
			break
		}
		l := &oLife{pending: true, pinned: true}
		o.lives = append(o.lives, l)
		o.cur[x.v] = l
	}
	o.pos++
}

func (o *oracle) bound() (int64, string) {
	death := func(l *oLife) int {
		if l.pinned {
			return math.MaxInt
		}
		d := -1
		for _, h := range l.holders {
			d = max(d, h.end)
		}
		return d
	}
	var best int64
	node := ""
	for _, l := range o.lives {
		if l.existing {
			best += l.bytes
		}
	}
	for _, s := range o.steps {
		t := s.begin
		var live int64
		for _, l := range o.lives {
			if !l.pending && l.start <= t && t < death(l) {
				live += l.bytes
			}
		}
		for _, w := range o.steps {
			if w.begin <= t && t < w.end {
				live += w.work
			}
		}
		if live > best {
			best, node = live, s.node
		}
	}
	return best, node
}

// propIDs mixes ids near each other with ids far apart, so that both the
// dense window and the map of Trace's index are used.
var propIDs = []ValueID{0, 1, 2, 3, 4, 5, 20, 4000, 5000, 9000, 1 << 40, 1<<40 + 1}

func TestBoundProperty(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		var tr Trace
		o := &oracle{cur: map[ValueID]*oLife{}}
		var ids []StepID
		var running []int
		n := rapid.IntRange(0, 60).Draw(rt, "ops")
		for range n {
			var x op
			kinds := "BXN"
			if len(running) > 0 {
				kinds = "BXNEEPPPRRRW"
			}
			x.kind = kinds[rapid.IntRange(0, len(kinds)-1).Draw(rt, "kind")]
			x.v = rapid.SampledFrom(propIDs).Draw(rt, "value")
			x.bytes = rapid.Int64Range(0, 100).Draw(rt, "bytes")
			if x.kind == 'E' || x.kind == 'P' || x.kind == 'R' || x.kind == 'W' {
				k := rapid.IntRange(0, len(running)-1).Draw(rt, "running")
				x.step = running[k]
				if x.kind == 'E' {
					running = append(running[:k], running[k+1:]...)
				}
			}
			switch x.kind {
			case 'B':
				ids = append(ids, tr.Begin(fmt.Sprint("n", len(ids))))
				running = append(running, len(ids)-1)
			case 'E':
				tr.End(ids[x.step])
			case 'P':
				tr.Produce(ids[x.step], x.v, x.bytes)
			case 'R':
				tr.Read(ids[x.step], x.v)
			case 'W':
				tr.Work(ids[x.step], x.bytes)
			case 'X':
				tr.Existing(x.v, x.bytes)
			case 'N':
				tr.Pin(x.v)
			}
			o.apply(x)
		}
		gotB, gotN := tr.Peak()
		wantB, wantN := o.bound()
		if gotB != wantB || gotN != wantN {
			rt.Fatalf("Peak = %d at %q, oracle says %d at %q", gotB, gotN, wantB, wantN)
		}
		if tr.Bound() != gotB {
			rt.Fatalf("Bound %d != Peak %d", tr.Bound(), gotB)
		}
	})
}
