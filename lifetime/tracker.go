package lifetime

import (
	"errors"
	"fmt"
	"iter"
	"slices"

	"github.com/ebbgraph/ebb/policy"
)

// Resource is a value that holds memory and must be released exactly once.
type Resource interface {
	Bytes() int64
	Release() error
}

// Refs counts the holders of each Resource by identity. It outlives runs:
// the engine's cross-run cache holds values through the same Refs.
type Refs struct {
	count map[Resource]int32
	live  int64
}

// NewRefs returns an empty Refs.
func NewRefs() *Refs { return &Refs{count: map[Resource]int32{}} }

// Hold adds one holder to every Resource in v (v itself, or the elements
// of a []any or a Container, recursively, and the Resource of a Holder).
func (r *Refs) Hold(v any) {
	walk(v, func(x Resource) {
		if r.count[x] == 0 {
			r.live += x.Bytes()
		}
		r.count[x]++
	})
}

// Drop removes one holder from every Resource in v, releasing those that
// reach zero. Dropping a value that is not held is an error.
func (r *Refs) Drop(v any) error {
	var errs []error
	walk(v, func(x Resource) {
		n, ok := r.count[x]
		if !ok {
			errs = append(errs, fmt.Errorf("lifetime: drop of a value that is not held: %v", x))
			return
		}
		if n > 1 {
			r.count[x] = n - 1
			return
		}
		delete(r.count, x)
		r.live -= x.Bytes()
		if err := x.Release(); err != nil {
			errs = append(errs, err)
		}
	})
	return errors.Join(errs...)
}

// Holders returns how many holders x has.
func (r *Refs) Holders(x Resource) int { return int(r.count[x]) }

// Live is the total size of held resources.
func (r *Refs) Live() int64 { return r.live }

// Len is the number of distinct held resources.
func (r *Refs) Len() int { return len(r.count) }

// Container is a value that holds other values (a node pack's own list
// type): Resources in its Elements are held, counted and released as if
// it were a []any.
type Container interface {
	Elements() []any
}

// Holder is a value that owns one Resource (an image holding its device
// reservation): walks visit that Resource, so it is held, counted and
// released as if it were the value. HeldResource returns nil when the
// value owns none.
type Holder interface {
	HeldResource() Resource
}

func walk(v any, f func(Resource)) {
	switch x := v.(type) {
	case Resource:
		f(x)
	case Holder:
		if r := x.HeldResource(); r != nil {
			f(r)
		}
	case []any:
		w := walker{f: f}
		w.list(x)
	case Container:
		w := walker{f: f}
		w.list(x.Elements())
	}
}

// walker visits the lists of one value. Past walkFree lists it remembers
// each list it enters and enters none twice, so a list that contains
// itself ends, and a DAG of shared lists costs its distinct lists, not its
// paths; every walk of the same value visits the same resources, so Hold
// and Drop stay paired.
type walker struct {
	f    func(Resource)
	n    int
	seen map[listID]bool
}

type listID struct {
	first *any
	n     int
}

const walkFree = 64

func (w *walker) list(x []any) {
	// An explicit stack, not recursion: a list nested millions deep is a
	// value a caller can build.
	var buf [8][]any
	stack := append(buf[:0], x)
	for len(stack) > 0 {
		l := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if len(l) == 0 {
			continue
		}
		if w.n++; w.n > walkFree {
			if w.seen == nil {
				w.seen = map[listID]bool{}
			}
			id := listID{&l[0], len(l)}
			if w.seen[id] {
				continue
			}
			w.seen[id] = true
		}
		for _, e := range l {
			switch y := e.(type) {
			case Resource:
				w.f(y)
			case Holder:
				if r := y.HeldResource(); r != nil {
					w.f(r)
				}
			case []any:
				stack = append(stack, y)
			case Container:
				stack = append(stack, y.Elements())
			}
		}
	}
}

// Resources calls f for every Resource in v.
func Resources(v any, f func(Resource)) { walk(v, f) }

// SlotID names a slot of a Tracker. Ids are recycled after Discard.
type SlotID int32

// SlotState is the life stage of a slot.
type SlotState uint8

const (
	Empty    SlotState = iota // not produced yet
	Live                      // holds values
	Released                  // produced, then released
)

type slot struct {
	readers int32
	pins    int32
	state   SlotState
	vals    []any
	owner   any
	out     int32
}

// Stats counts what a Tracker did.
type Stats struct {
	Releases int // slots released during the run
	Pins     int // pin operations
}

// Tracker holds the slots of one run. See the package doc.
type Tracker struct {
	level policy.Level
	refs  *Refs
	slots []slot
	free  []SlotID
	stats Stats
	errs  []error
	// OnRelease, if set, is called after a slot is released by the policy
	// (not by Discard), with the owner and output index given to NewSlot
	// and the bytes the release freed (0 when its values are still held
	// elsewhere).
	OnRelease func(owner any, out int, freed int64)
	// OnError, if set, receives every bookkeeping or release error with
	// the owner of the slot it concerns, instead of Err collecting it.
	OnError func(owner any, err error)
}

// NewTracker returns a tracker for a run at level, holding values in refs.
func NewTracker(level policy.Level, refs *Refs) *Tracker {
	return &Tracker{level: level, refs: refs}
}

// Grow reserves room for n more slots.
func (t *Tracker) Grow(n int) { t.slots = slices.Grow(t.slots, n) }

// NewSlot makes an empty slot for owner (not nil); owner and out are
// handed back to OnRelease and OnError.
func (t *Tracker) NewSlot(owner any, out int) SlotID {
	var id SlotID
	if n := len(t.free); n > 0 {
		id = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		t.slots = append(t.slots, slot{})
		id = SlotID(len(t.slots) - 1)
	}
	t.slots[id] = slot{owner: owner, out: int32(out)}
	return id
}

// Keep makes a slot that holds vals for its owner until Discard: produced
// at once and pinned by the owner (a pin Stats does not count), so no level
// releases it. It is how a run holds values that are not node outputs (a
// generation's literals, a forwarded literal output).
func (t *Tracker) Keep(owner any, vals []any) SlotID {
	s := t.NewSlot(owner, -1)
	sl := &t.slots[s]
	sl.state, sl.vals, sl.pins = Live, vals, 1
	for _, v := range vals {
		t.refs.Hold(v)
	}
	return s
}

// SlotInfo is what Slots reports of one slot.
type SlotInfo struct {
	Owner   any
	Out     int // the output index given to NewSlot; -1 for Keep
	Readers int
	Pins    int
	State   SlotState
}

// Slots yields every slot in use (made and not discarded), for checks.
func (t *Tracker) Slots() iter.Seq2[SlotID, SlotInfo] {
	return func(yield func(SlotID, SlotInfo) bool) {
		for i := range t.slots {
			sl := &t.slots[i]
			if sl.owner == nil {
				continue
			}
			if !yield(SlotID(i), SlotInfo{Owner: sl.owner, Out: int(sl.out), Readers: int(sl.readers), Pins: int(sl.pins), State: sl.state}) {
				return
			}
		}
	}
}

// AddReader counts one more pending consumer link of s.
func (t *Tracker) AddReader(s SlotID) { t.slots[s].readers++ }

// DoneReader removes a consumer link of s. At level 2 a live slot with no
// readers and no pins is released.
func (t *Tracker) DoneReader(s SlotID) {
	sl := &t.slots[s]
	if sl.readers <= 0 {
		t.fail(sl.owner, fmt.Errorf("lifetime: slot %d: reader count below zero", s))
		return
	}
	sl.readers--
	if t.level >= policy.ReleaseDead {
		t.maybeRelease(s)
	}
}

// Readers returns the pending consumer count of s.
func (t *Tracker) Readers(s SlotID) int { return int(t.slots[s].readers) }

// Pin keeps s from being released until a matching Unpin.
func (t *Tracker) Pin(s SlotID) {
	t.slots[s].pins++
	t.stats.Pins++
}

// Unpin undoes one Pin. At level 2 the slot may be released at once.
func (t *Tracker) Unpin(s SlotID) {
	sl := &t.slots[s]
	if sl.pins <= 0 {
		t.fail(sl.owner, fmt.Errorf("lifetime: slot %d: unpin without pin", s))
		return
	}
	sl.pins--
	if t.level >= policy.ReleaseDead {
		t.maybeRelease(s)
	}
}

// Pinned reports whether s has pins.
func (t *Tracker) Pinned(s SlotID) bool { return t.slots[s].pins > 0 }

// Produce stores vals in s and holds their resources. At level 1 and 2 a
// slot nobody reads (and nobody pins) is released at once.
func (t *Tracker) Produce(s SlotID, vals []any) {
	sl := &t.slots[s]
	if sl.state == Live {
		t.fail(sl.owner, fmt.Errorf("lifetime: slot %d produced twice", s))
		return
	}
	sl.state = Live
	sl.vals = vals
	for _, v := range vals { // element by element: boxing vals would allocate
		t.refs.Hold(v)
	}
	if t.level >= policy.ReleaseUnreferenced {
		t.maybeRelease(s)
	}
}

// State returns the life stage of s.
func (t *Tracker) State(s SlotID) SlotState { return t.slots[s].state }

// Values returns the values of a live slot.
func (t *Tracker) Values(s SlotID) ([]any, bool) {
	sl := &t.slots[s]
	return sl.vals, sl.state == Live
}

// Reset turns a released slot back to empty, so its producer can run again.
func (t *Tracker) Reset(s SlotID) {
	if sl := &t.slots[s]; sl.state == Released {
		sl.state = Empty
	}
}

// Discard drops s's values (without counting a release) and recycles s.
func (t *Tracker) Discard(s SlotID) {
	sl := &t.slots[s]
	if sl.state == Live {
		t.drop(sl.owner, sl.vals)
	}
	t.slots[s] = slot{}
	t.free = append(t.free, s)
}

// DiscardAll discards every slot, as Discard would one by one, and
// forgets them: slot ids start again from zero.
func (t *Tracker) DiscardAll() {
	for i := range t.slots {
		if sl := &t.slots[i]; sl.state == Live {
			t.drop(sl.owner, sl.vals)
		}
	}
	clear(t.slots)
	t.slots, t.free = t.slots[:0], t.free[:0]
}

func (t *Tracker) maybeRelease(s SlotID) {
	sl := &t.slots[s]
	if sl.state != Live || sl.readers > 0 || sl.pins > 0 {
		return
	}
	vals, owner, out := sl.vals, sl.owner, int(sl.out)
	sl.state, sl.vals = Released, nil
	t.stats.Releases++
	before := t.refs.live
	t.drop(owner, vals)
	if t.OnRelease != nil {
		t.OnRelease(owner, out, before-t.refs.live)
	}
}

func (t *Tracker) drop(owner any, vals []any) {
	for _, v := range vals {
		if err := t.refs.Drop(v); err != nil {
			t.fail(owner, err)
		}
	}
}

// fail hands err to OnError, or keeps it for Err.
func (t *Tracker) fail(owner any, err error) {
	if t.OnError != nil {
		t.OnError(owner, err)
		return
	}
	t.errs = append(t.errs, err)
}

// Stats returns the counts so far.
func (t *Tracker) Stats() Stats { return t.stats }

// Err reports every bookkeeping or release error seen so far.
func (t *Tracker) Err() error { return errors.Join(t.errs...) }
