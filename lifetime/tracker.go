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
	// dead: live and unread, but kept by the level or a pin; its values
	// are held as dead holders (Refs.MarkDead). A Keep slot is never dead.
	dead  bool
	kept  bool // made by Keep, or Retain'd
	vals  []any
	owner any
	out   int32
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
	sl.state, sl.vals, sl.pins, sl.kept = Live, vals, 1, true
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
func (t *Tracker) AddReader(s SlotID) {
	t.revive(s)
	t.slots[s].readers++
}

// DoneReader removes a consumer link of s. At level 2 a live slot with no
// readers and no pins is released.
func (t *Tracker) DoneReader(s SlotID) {
	sl := &t.slots[s]
	if sl.readers <= 0 {
		t.fail(sl.owner, fmt.Errorf("lifetime: slot %d: reader count below zero", s))
		return
	}
	sl.readers--
	t.settle(s, policy.ReleaseDead)
}

// Readers returns the pending consumer count of s.
func (t *Tracker) Readers(s SlotID) int { return int(t.slots[s].readers) }

// Pin keeps s from being released until a matching Unpin.
func (t *Tracker) Pin(s SlotID) {
	t.slots[s].pins++
	t.stats.Pins++
}

// Retain pins s for the rest of its life, as a result that is needed
// (an output node's outputs): unlike a Pin's, its values never count as
// dead (see Refs).
func (t *Tracker) Retain(s SlotID) {
	t.revive(s)
	sl := &t.slots[s]
	sl.pins++
	sl.kept = true
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
	t.settle(s, policy.ReleaseDead)
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
	t.settle(s, policy.ReleaseUnreferenced)
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
		t.drop(sl.owner, sl.vals, sl.dead)
	}
	t.slots[s] = slot{}
	t.free = append(t.free, s)
}

// DiscardAll discards every slot, as Discard would one by one, and
// forgets them: slot ids start again from zero.
func (t *Tracker) DiscardAll() {
	for i := range t.slots {
		if sl := &t.slots[i]; sl.state == Live {
			t.drop(sl.owner, sl.vals, sl.dead)
		}
	}
	clear(t.slots)
	t.slots, t.free = t.slots[:0], t.free[:0]
}

// settle releases s when it is live with no reader and no pin and the
// level is at least release. Otherwise a live slot with no reader is kept
// but marked dead, so Refs know what no policy had to keep: a release at
// level 2 with no pins (a pin is a guess that a late edge may come).
func (t *Tracker) settle(s SlotID, release policy.Level) {
	sl := &t.slots[s]
	if sl.state != Live || sl.readers > 0 || sl.kept {
		return
	}
	if sl.pins > 0 || t.level < release {
		if !sl.dead {
			sl.dead = true
			for _, v := range sl.vals {
				t.refs.MarkDead(v)
			}
		}
		return
	}
	vals, owner, out, dead := sl.vals, sl.owner, int(sl.out), sl.dead
	sl.state, sl.vals, sl.dead = Released, nil, false
	t.stats.Releases++
	before := t.refs.live
	t.drop(owner, vals, dead)
	if t.OnRelease != nil {
		t.OnRelease(owner, out, before-t.refs.live)
	}
}

// revive turns a dead slot live again: it is about to be read or pinned.
func (t *Tracker) revive(s SlotID) {
	if sl := &t.slots[s]; sl.dead {
		sl.dead = false
		for _, v := range sl.vals {
			t.refs.MarkLive(v)
		}
	}
}

func (t *Tracker) drop(owner any, vals []any, dead bool) {
	for _, v := range vals {
		if err := t.refs.drop(v, dead); err != nil {
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
