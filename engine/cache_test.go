package engine

import (
	"encoding/binary"
	"testing"

	"github.com/ebbgraph/ebb/lifetime"
)

func cacheKey(i int) sigKey {
	var k sigKey
	binary.LittleEndian.PutUint64(k[:], uint64(i))
	return k
}

// TestCacheChunks checks the cache's entry store: references to removed
// entries name nothing even when their place is reused, entries survive
// the compaction that gives back chunks, and an emptied cache keeps one
// chunk.
func TestCacheChunks(t *testing.T) {
	c := newCache(CacheMode{Kind: CacheClassic}, lifetime.NewRefs())
	c.beginRun()
	const n = 10 * cacheChunk
	refs := make([]centryRef, n)
	for i := range n {
		refs[i] = c.ref(c.put(cacheKey(i), [][]any{{int64(i)}}, nil))
	}
	if got := len(c.chunks); got != 10 {
		t.Fatalf("%d chunks for %d entries, want 10", got, n)
	}
	// Remove all but every 16th entry; the places of removed ones are reused.
	for i := range n {
		if i%16 != 0 {
			c.remove(c.deref(refs[i]))
		}
	}
	reused := c.ref(c.put(cacheKey(n), [][]any{{"new"}}, nil))
	if c.deref(refs[1]) != nil || c.deref(refs[n-1]) != nil {
		t.Fatal("a reference to a removed entry names one")
	}
	if e := c.deref(reused); e == nil || e.outs[0][0] != "new" {
		t.Fatalf("the new entry: %+v", e)
	}
	// The run ends: the rest fills under a quarter of the chunks.
	c.beginRun()
	c.endRun(func(sigKey) bool { return true })
	if want := (n/16 + 1 + cacheChunk - 1) / cacheChunk; len(c.chunks) != want {
		t.Fatalf("%d chunks after compaction, want %d", len(c.chunks), want)
	}
	for i := 0; i < n; i += 16 {
		e := c.get(cacheKey(i))
		if e == nil || e.outs[0][0] != int64(i) || e.key != cacheKey(i) || e.num != c.index[cacheKey(i)] {
			t.Fatalf("entry %d after compaction: %+v", i, e)
		}
	}
	if e := c.get(cacheKey(n)); e == nil || e.outs[0][0] != "new" {
		t.Fatalf("the new entry after compaction: %+v", e)
	}
	if err := c.clear(); err != nil {
		t.Fatal(err)
	}
	if c.len() != 0 || len(c.chunks) > 1 || c.used != 0 {
		t.Fatalf("cleared: %d entries, %d chunks, %d numbers", c.len(), len(c.chunks), c.used)
	}
}
