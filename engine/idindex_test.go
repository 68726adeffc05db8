package engine

import (
	"fmt"
	"testing"

	"pgregory.net/rapid"
)

// idIndex numbers ids like a map from id to insertion order would, also
// across growth (it starts small here) and with colliding short ids.
func TestIDIndexMatchesMap(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		x := newIDIndex(rapid.IntRange(0, 4).Draw(t, "hint"))
		want := map[NodeID]int32{}
		ids := rapid.SliceOf(rapid.StringMatching(`[a-c0-9.]{0,4}`)).Draw(t, "ids")
		for _, s := range ids {
			id := NodeID(s)
			i, p, ok := x.find(id)
			w, wok := want[id]
			if ok != wok || (ok && i != w) {
				t.Fatalf("find(%q) = %d, %v; want %d, %v", id, i, ok, w, wok)
			}
			if !ok {
				want[id] = x.insert(p, id)
				if want[id] != int32(len(want)-1) {
					t.Fatalf("insert(%q) = %d, want %d", id, want[id], len(want)-1)
				}
			}
		}
		for id, w := range want {
			if i, ok := x.get(id); !ok || i != w {
				t.Fatalf("get(%q) = %d, %v; want %d", id, i, ok, w)
			}
		}
		if _, ok := x.get("absent-id"); ok {
			t.Fatal("get of an absent id succeeded")
		}
		if len(x.ids) != len(want) {
			t.Fatalf("len %d, want %d", len(x.ids), len(want))
		}
	})
}

func TestIDIndexGrows(t *testing.T) {
	x := newIDIndex(0)
	for i := range 10_000 {
		id := NodeID(fmt.Sprint(i))
		if _, p, ok := x.find(id); ok {
			t.Fatalf("%s found before insert", id)
		} else if got := x.insert(p, id); got != int32(i) {
			t.Fatalf("insert %s = %d", id, got)
		}
	}
	for i := range 10_000 {
		if got, ok := x.get(NodeID(fmt.Sprint(i))); !ok || got != int32(i) {
			t.Fatalf("get %d = %d, %v", i, got, ok)
		}
	}
	if 2*len(x.ids) > len(x.slots) {
		t.Errorf("%d ids in %d slots: load over 1/2", len(x.ids), len(x.slots))
	}
}
