package lifetime_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/ebbgraph/ebb/lifetime"
	"github.com/ebbgraph/ebb/policy"
)

// counted is a Resource that counts its releases.
type counted struct{ freed int }

func (c *counted) Bytes() int64 { return 8 }

func (c *counted) Release() error { c.freed++; return nil }

// DiscardAll drops every live slot's values once, counts no release, and
// leaves released, discarded and empty slots alone.
func TestDiscardAll(t *testing.T) {
	refs := lifetime.NewRefs()
	tr := lifetime.NewTracker(policy.KeepAll, refs)
	shared, own, gone := &counted{}, &counted{}, &counted{}
	a, b, c, d := tr.NewSlot("a", 0), tr.NewSlot("b", 0), tr.NewSlot("c", 0), tr.NewSlot("d", 0)
	tr.Produce(a, []any{shared, []any{own}}) // nested lists hold too
	tr.Produce(b, []any{shared})
	tr.Produce(c, []any{gone})
	tr.Discard(c)
	_ = d // never produced
	if gone.freed != 1 || refs.Live() != 16 {
		t.Fatalf("after Discard: freed %d, live %d", gone.freed, refs.Live())
	}
	tr.DiscardAll()
	if shared.freed != 1 || own.freed != 1 || gone.freed != 1 {
		t.Errorf("freed shared %d, own %d, discarded %d times; want 1 each", shared.freed, own.freed, gone.freed)
	}
	if refs.Live() != 0 || refs.Len() != 0 || tr.Stats().Releases != 0 || tr.Err() != nil {
		t.Errorf("live %d, held %d, releases %d, err %v", refs.Live(), refs.Len(), tr.Stats().Releases, tr.Err())
	}
	if s := tr.NewSlot("e", 0); s != 0 {
		t.Errorf("first slot after DiscardAll is %d, want 0", s)
	}
}

// Keep holds values no level releases, uncounted in Stats.Pins, until
// Discard; Slots lists it with its owner and pin.
func TestKeep(t *testing.T) {
	refs := lifetime.NewRefs()
	tr := lifetime.NewTracker(policy.ReleaseDead, refs)
	v := &counted{}
	k := tr.Keep("gen", []any{v})
	out := tr.NewSlot("node", 0)
	tr.AddReader(out)
	tr.Produce(out, []any{v})
	tr.DoneReader(out) // released at level 2; v is still kept
	if v.freed != 0 || tr.State(k) != lifetime.Live || tr.Stats().Pins != 0 || tr.Stats().Releases != 1 {
		t.Fatalf("freed %d, kept slot %v, pins %d, releases %d", v.freed, tr.State(k), tr.Stats().Pins, tr.Stats().Releases)
	}
	got := map[lifetime.SlotID]lifetime.SlotInfo{}
	for s, info := range tr.Slots() {
		got[s] = info
	}
	if len(got) != 2 || got[k] != (lifetime.SlotInfo{Owner: "gen", Out: -1, Pins: 1, State: lifetime.Live}) ||
		got[out] != (lifetime.SlotInfo{Owner: "node", Out: 0, State: lifetime.Released}) {
		t.Errorf("slots %+v", got)
	}
	tr.Discard(k)
	if v.freed != 1 || refs.Live() != 0 {
		t.Errorf("after Discard: freed %d, live %d", v.freed, refs.Live())
	}
	for s := range tr.Slots() {
		if s == k {
			t.Errorf("discarded slot %d still listed", s)
		}
	}
}

// failing is a Resource whose Release fails.
type failing struct{}

func (failing) Bytes() int64   { return 4 }
func (failing) Release() error { return errors.New("refused") }

// OnError gets every error with the owner of its slot; OnRelease gets the
// bytes a release freed.
func TestTrackerCallbacks(t *testing.T) {
	tr := lifetime.NewTracker(policy.ReleaseDead, lifetime.NewRefs())
	var owners []any
	var freed []int64
	tr.OnError = func(owner any, err error) { owners = append(owners, owner) }
	tr.OnRelease = func(owner any, out int, bytes int64) { freed = append(freed, bytes) }
	a := tr.NewSlot("a", 0)
	tr.AddReader(a)
	tr.Produce(a, []any{failing{}, &counted{}})
	tr.DoneReader(a) // released: failing's Release errs
	tr.DoneReader(a) // below zero
	b := tr.NewSlot("b", 0)
	tr.Unpin(b) // unpin without pin
	if !slices.Equal(owners, []any{"a", "a", "b"}) || tr.Err() != nil {
		t.Errorf("errors for owners %v (Err %v), want a, a, b and nothing kept", owners, tr.Err())
	}
	if !slices.Equal(freed, []int64{12}) {
		t.Errorf("freed %v, want [12]", freed)
	}
}
