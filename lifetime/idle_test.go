package lifetime_test

import (
	"slices"
	"testing"

	"github.com/ebbgraph/ebb/lifetime"
	"github.com/ebbgraph/ebb/policy"
)

// idleLog records Refs.OnIdle calls.
type idleLog struct {
	refs  *lifetime.Refs
	calls []bool
}

func newIdleLog() *idleLog {
	l := &idleLog{refs: lifetime.NewRefs()}
	l.refs.OnIdle = func(_ lifetime.Resource, idle bool) { l.calls = append(l.calls, idle) }
	return l
}

// At levels 0 and 1 a slot kept past its last reader holds its values as
// dead; a value is idle while every holder is dead, live again when one
// is read, and ends idle with its release. Level 2 releases instead.
func TestIdleByLevel(t *testing.T) {
	for _, level := range policy.Levels() {
		l := newIdleLog()
		tr := lifetime.NewTracker(level, l.refs)
		v := &counted{}
		s := tr.NewSlot("a", 0)
		tr.AddReader(s)
		tr.Produce(s, []any{v})
		if l.refs.Idle() != 0 {
			t.Fatalf("level %d: idle %d while a reader is pending", level, l.refs.Idle())
		}
		tr.DoneReader(s)
		if level == policy.ReleaseDead {
			if v.freed != 1 || l.refs.Idle() != 0 || len(l.calls) != 0 {
				t.Errorf("level 2: freed %d, idle %d, calls %v; want a release and no idle", v.freed, l.refs.Idle(), l.calls)
			}
			continue
		}
		if v.freed != 0 || l.refs.Idle() != 8 {
			t.Fatalf("level %d: freed %d, idle %d after the last reader; want kept and idle", level, v.freed, l.refs.Idle())
		}
		tr.AddReader(s) // a late edge reads it again
		if l.refs.Idle() != 0 {
			t.Errorf("level %d: idle %d after a new reader", level, l.refs.Idle())
		}
		tr.DoneReader(s)
		tr.Discard(s)
		if v.freed != 1 || l.refs.Idle() != 0 || l.refs.Live() != 0 || tr.Err() != nil {
			t.Errorf("level %d: after Discard freed %d, idle %d, live %d, err %v", level, v.freed, l.refs.Idle(), l.refs.Live(), tr.Err())
		}
		if want := []bool{true, false, true}; !slices.Equal(l.calls, want) {
			t.Errorf("level %d: OnIdle calls %v, want %v", level, l.calls, want)
		}
	}
}

// A value is idle only when every holder is dead: a live slot or a Hold
// sharing it keeps it live; HoldDead (a cache) does not; Pin does not
// count as a reader, Retain does.
func TestIdleHolders(t *testing.T) {
	l := newIdleLog()
	tr := lifetime.NewTracker(policy.KeepAll, l.refs)
	v := &counted{}
	a, b := tr.NewSlot("a", 0), tr.NewSlot("b", 0)
	tr.AddReader(b)
	tr.Produce(a, []any{v}) // no reader: dead at once
	tr.Produce(b, []any{v})
	if l.refs.Idle() != 0 {
		t.Fatalf("idle %d while b is read", l.refs.Idle())
	}
	l.refs.HoldDead(v) // a cache entry
	tr.Pin(b)
	tr.DoneReader(b) // pinned but unread: dead
	if l.refs.Idle() != 8 {
		t.Fatalf("idle %d with only dead holders (a, pinned b, cache)", l.refs.Idle())
	}
	tr.Unpin(b)
	tr.Discard(a)
	tr.Discard(b)
	if v.freed != 0 || l.refs.Idle() != 8 {
		t.Fatalf("the cache alone: freed %d, idle %d", v.freed, l.refs.Idle())
	}
	l.refs.Hold(v)
	if l.refs.Idle() != 0 {
		t.Errorf("idle %d after a live Hold", l.refs.Idle())
	}
	if err := l.refs.Drop(v); err != nil {
		t.Fatal(err)
	}
	if err := l.refs.DropDead(v); err != nil || v.freed != 1 || l.refs.Idle() != 0 {
		t.Errorf("DropDead: err %v, freed %d, idle %d", err, v.freed, l.refs.Idle())
	}
	if err := l.refs.DropDead(v); err == nil {
		t.Error("DropDead of a value not held: no error")
	}

	r := tr.NewSlot("r", 0)
	w := &counted{}
	tr.Retain(r) // an output node's result
	tr.Produce(r, []any{w})
	if l.refs.Idle() != 0 {
		t.Errorf("a retained slot's value is idle (%d)", l.refs.Idle())
	}
	tr.DiscardAll()
	if w.freed != 1 || tr.Err() != nil {
		t.Errorf("retained value freed %d times, err %v", w.freed, tr.Err())
	}
}
