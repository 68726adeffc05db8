// idindex.go: a flat open-addressing index of node ids, for validation.

package engine

import "hash/maphash"

// idIndex maps node ids to dense indexes 0, 1, 2, ... in the order they are
// added. It is an open-addressing table of 8-byte slots (a hash tag and the
// index), so a big workflow's table is a fraction of a Go map's and a
// lookup that misses touches one slot: validation looks up every linked id
// before it knows whether the node is new.
type idIndex struct {
	slots []uint64 // high 32 bits: hash tag; low 32: index + 1 (0: empty)
	ids   []NodeID // ids[i] is the id of index i
	mask  int
	seed  maphash.Seed
}

// newIDIndex returns an index sized for n ids.
func newIDIndex(n int) *idIndex {
	size := 16
	for size < 2*n { // load factor at most 1/2
		size *= 2
	}
	return &idIndex{slots: make([]uint64, size), ids: make([]NodeID, 0, n), mask: size - 1, seed: maphash.MakeSeed()}
}

// get returns the index of id.
func (x *idIndex) get(id NodeID) (int32, bool) {
	i, _, ok := x.find(id)
	return i, ok
}

// probe is where find stopped: the empty slot id would take.
type probe struct {
	pos int
	tag uint64
}

// find returns id's index, or the probe to insert it with.
func (x *idIndex) find(id NodeID) (i int32, p probe, ok bool) {
	h := maphash.String(x.seed, string(id))
	p.tag = h >> 32
	for p.pos = int(h) & x.mask; ; p.pos = (p.pos + 1) & x.mask {
		s := x.slots[p.pos]
		if s == 0 {
			return -1, p, false
		}
		if s>>32 == p.tag && x.ids[uint32(s)-1] == id {
			return int32(uint32(s) - 1), p, true
		}
	}
}

// insert adds id, which find did not find, where p says, and returns its
// index: the next one.
func (x *idIndex) insert(p probe, id NodeID) int32 {
	if 2*(len(x.ids)+1) > len(x.slots) {
		x.grow()
		_, p, _ = x.find(id)
	}
	i := int32(len(x.ids))
	x.ids = append(x.ids, id)
	x.slots[p.pos] = p.tag<<32 | uint64(i+1)
	return i
}

// grow doubles the table and reinserts every id.
func (x *idIndex) grow() {
	x.slots = make([]uint64, 2*len(x.slots))
	x.mask = len(x.slots) - 1
	for i, id := range x.ids {
		h := maphash.String(x.seed, string(id))
		pos := int(h) & x.mask
		for x.slots[pos] != 0 {
			pos = (pos + 1) & x.mask
		}
		x.slots[pos] = (h>>32)<<32 | uint64(i+1)
	}
}
