package lifetime

import (
	"fmt"
	"math"
	"slices"
)

// ValueID is the identity of a value in a Trace (a device buffer's id).
// Values are counted by identity: the same id held by several output slots
// is one value.
type ValueID uint64

// StepID names one step (one node call) of a Trace, as returned by Begin.
type StepID int

// Trace records a realized execution as it happens and computes its bound:
// the exact peak live set of that order of steps.
//
// Time is the sequence of calls. A value is alive from the Begin of the
// step that produced it (from the start of the run for Existing values)
// until the End of the last step that produced or read it, or until the
// end of the run when it is pinned or one of those steps never ended. A
// step's working memory is alive from its Begin to its End. Live bytes are
// highest right after a Begin, so the bound is the maximum of the live bytes
// at the start of the run (the Existing values) and right after each Begin,
// counting what Produce and Work later attribute to the steps already
// begun.
//
// Recording and Bound are linear in the number of calls (a million steps
// take well under a second); the Trace keeps about 40 bytes per step and
// 30 per value. The zero value is an empty Trace.
// A Trace is not safe for concurrent use.
type Trace struct {
	lives []life
	steps []step
	// holds is a pool of (life, next) links: each running step's list of
	// the lives it produced or read. Links of ended steps are recycled.
	holds   []hold
	free    int32 // first free link + 1; 0: none
	current index // value -> its current life
	begins  int32 // Begin calls so far
	initial int64 // bytes of the Existing values
}

// life is one life of a value: from a Produce (or Existing) to its death.
type life struct {
	bytes int64 // -1: pinned but not produced yet
	start int32 // first Begin index at which it counts
	// death is the first Begin index at which it no longer counts, when no
	// holder is running and it is not pinned.
	death   int32
	holders int32 // steps holding it that have not ended
	pinned  bool
}

type step struct {
	node  string
	work  int64
	begin int32 // its Begin index
	end   int32 // Begin calls made before its End; -1 while running
	holds int32 // first link of its holds list + 1; 0: none
}

type hold struct {
	life int32
	next int32 // next link + 1; 0: none
}

// Grow reserves room for n more steps, so a run that knows its size does
// not pay for repeated growth.
func (t *Trace) Grow(n int) { t.steps = slices.Grow(t.steps, n) }

// Begin records that a call of node starts and returns its step. Steps may
// overlap (parallel workers).
func (t *Trace) Begin(node string) StepID {
	if t.begins == math.MaxInt32 {
		panic("lifetime: trace too long")
	}
	t.steps = append(t.steps, step{node: node, begin: t.begins, end: -1})
	t.begins++
	return StepID(len(t.steps) - 1)
}

// Produce records that v appears as an output of s; it counts from s's
// Begin. A value that is already alive (an input passed through, or a
// pinned value) keeps its life, and s holds it as if s had read it. A
// value whose life is over (every step that held it ended, and it is not
// pinned) starts a new life, so a step that passes a value through must
// Read it before producing it.
func (t *Trace) Produce(s StepID, v ValueID, bytes int64) {
	st := t.running(s, "Produce")
	if bytes < 0 {
		panic(fmt.Sprintf("lifetime: Produce of value %d with negative size %d", v, bytes))
	}
	if i, ok := t.lookup(v); ok {
		l := &t.lives[i]
		switch {
		case l.bytes < 0: // pinned before it appeared
			l.bytes, l.start = bytes, st.begin
			t.hold(st, i)
			return
		case l.pinned || l.holders > 0:
			t.hold(st, i)
			return
		}
	}
	t.hold(st, t.newLife(v, life{bytes: bytes, start: st.begin}, true))
}

// Read records that s reads v, which keeps v alive until s ends. Reads of
// values the trace does not know (never produced nor existing) are ignored.
func (t *Trace) Read(s StepID, v ValueID) {
	st := t.running(s, "Read")
	if i, ok := t.lookup(v); ok && t.lives[i].bytes >= 0 {
		t.hold(st, i)
	}
}

// Work adds bytes of transient memory to s, alive from its Begin to its End.
func (t *Trace) Work(s StepID, bytes int64) {
	st := t.running(s, "Work")
	if bytes < 0 {
		panic(fmt.Sprintf("lifetime: Work of step %d with negative size %d", s, bytes))
	}
	st.work += bytes
}

// End records that s finished.
func (t *Trace) End(s StepID) {
	st := t.running(s, "End")
	st.end = t.begins
	for h := st.holds; h != 0; {
		k := h - 1
		l := &t.lives[t.holds[k].life]
		l.holders--
		l.death = t.begins // Ends come in time order: the last one wins
		h = t.holds[k].next
		t.holds[k].next = t.free
		t.free = k + 1
	}
	st.holds = 0
}

// Existing records that v, of the given size, is alive at the start of the
// run (a cached output). It stays alive until the End of the last step that
// reads it; one that is never read nor pinned counts only at the start. A
// value the trace already knows is left as it is.
func (t *Trace) Existing(v ValueID, bytes int64) {
	if bytes < 0 {
		panic(fmt.Sprintf("lifetime: Existing value %d with negative size %d", v, bytes))
	}
	if i, ok := t.lookup(v); ok {
		if l := &t.lives[i]; l.bytes < 0 {
			l.bytes = bytes
			t.initial += bytes
		}
		return
	}
	t.newLife(v, life{bytes: bytes}, false)
	t.initial += bytes
}

// Pin keeps v's current life alive until the end of the run; a value not
// produced yet is pinned from its first Produce or Existing.
func (t *Trace) Pin(v ValueID) {
	if i, ok := t.lookup(v); ok {
		t.lives[i].pinned = true
		return
	}
	t.newLife(v, life{bytes: -1, pinned: true}, false)
}

// Bound returns the highest live bytes of the trace so far.
func (t *Trace) Bound() int64 {
	b, _ := t.Peak()
	return b
}

// Peak returns Bound and the node whose Begin reaches it first ("" when the
// highest point is the start of the run).
func (t *Trace) Peak() (bytes int64, node string) {
	n := t.begins
	diff := make([]int64, n+1) // diff[k]: change of live bytes at Begin k
	for i := range t.lives {
		l := &t.lives[i]
		if l.bytes <= 0 {
			continue
		}
		diff[l.start] += l.bytes
		if !l.pinned && l.holders == 0 {
			diff[l.death] -= l.bytes
		}
	}
	for i := range t.steps {
		st := &t.steps[i]
		diff[st.begin] += st.work
		if st.end >= 0 {
			diff[st.end] -= st.work
		}
	}
	bytes, at := t.initial, int32(-1)
	var live int64
	for k := range n {
		live += diff[k]
		if live > bytes {
			bytes, at = live, k
		}
	}
	if at >= 0 {
		node = t.steps[at].node // Begin index k made step k
	}
	return bytes, node
}

// Reset empties the trace, keeping its memory for the next run.
func (t *Trace) Reset() {
	clear(t.steps) // drop node names
	t.lives, t.steps, t.holds = t.lives[:0], t.steps[:0], t.holds[:0]
	t.free, t.begins, t.initial = 0, 0, 0
	t.current.reset()
}

func (t *Trace) running(s StepID, op string) *step {
	if s < 0 || int(s) >= len(t.steps) {
		panic(fmt.Sprintf("lifetime: %s on unknown step %d", op, s))
	}
	st := &t.steps[s]
	if st.end >= 0 {
		panic(fmt.Sprintf("lifetime: %s on step %d (%s) after its End", op, s, st.node))
	}
	return st
}

func (t *Trace) lookup(v ValueID) (int32, bool) {
	i := t.current.get(v)
	return i - 1, i != 0
}

// newLife adds l as v's current life. fresh says v was just made (a
// Produce), so it may start the dense window of t.current.
func (t *Trace) newLife(v ValueID, l life, fresh bool) int32 {
	if len(t.lives) == math.MaxInt32-1 {
		panic("lifetime: trace too long")
	}
	t.lives = append(t.lives, l)
	i := int32(len(t.lives) - 1)
	t.current.set(v, i+1, fresh)
	return i
}

// hold links life i to st until st ends.
func (t *Trace) hold(st *step, i int32) {
	t.lives[i].holders++
	k := t.free - 1
	if k >= 0 {
		t.free = t.holds[k].next
		t.holds[k] = hold{life: i, next: st.holds}
	} else {
		t.holds = append(t.holds, hold{life: i, next: st.holds})
		k = int32(len(t.holds) - 1)
	}
	st.holds = k + 1
}

// index maps value ids to int32s (0: absent). Device buffer ids grow with
// each allocation, so the values made in one run mostly fall in a window
// [base, base+len(dense)) kept as a slice; the others (cached values from
// earlier runs, far-off ids) go to a map.
type index struct {
	base   ValueID
	dense  []int32
	sparse map[ValueID]int32
}

// slack is how far past the dense window an id may be and still grow it.
const slack = 4096

func (x *index) get(v ValueID) int32 {
	if k := v - x.base; v >= x.base && k < ValueID(len(x.dense)) {
		if i := x.dense[k]; i != 0 {
			return i
		}
	}
	return x.sparse[v]
}

// set maps v to i. The dense entry, when there is one, shadows a stale
// sparse one.
func (x *index) set(v ValueID, i int32, fresh bool) {
	if len(x.dense) == 0 && fresh {
		x.base = v
	}
	if k := v - x.base; v >= x.base && (len(x.dense) > 0 || fresh) {
		n := len(x.dense)
		if k < ValueID(n) {
			x.dense[k] = i
			return
		}
		if k < ValueID(2*n+slack) {
			x.dense = slices.Grow(x.dense, int(k)+1-n)[:k+1]
			clear(x.dense[n:])
			x.dense[k] = i
			return
		}
	}
	if x.sparse == nil {
		x.sparse = map[ValueID]int32{}
	}
	x.sparse[v] = i
}

func (x *index) reset() {
	x.base, x.dense = 0, x.dense[:0]
	clear(x.sparse)
}
