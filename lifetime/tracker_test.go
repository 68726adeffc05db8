package lifetime_test

import (
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
