// order.go: which ready node starts next (policy.Order): by predicted memory, as a stack, or as ComfyUI picks.

package engine

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/ebbgraph/ebb/lifetime"
	"github.com/ebbgraph/ebb/policy"
)

// orderWindow is how many of the most recently readied nodes the memory
// order compares, so a pick costs the same however wide the graph is.
const orderWindow = 64

// segDepth is how far the memory order looks past a candidate: the chain
// of nodes it alone would make ready.
const segDepth = 4

// takeReady removes and returns the ready node to start next, or nil when
// none is ready.
func (r *run) takeReady() *rnode {
	for len(r.ready) > 0 && r.ready[len(r.ready)-1].state != stReady {
		r.ready = r.ready[:len(r.ready)-1] // stale: moved on since it was queued
	}
	if len(r.ready) == 0 {
		return nil
	}
	i := len(r.ready) - 1
	if len(r.ready) > 1 {
		switch r.pol.Order {
		case policy.Memory:
			i = r.pickMemory()
		case policy.Comfy:
			i = r.pickComfy()
		}
	}
	n := r.ready[i]
	r.ready = slices.Delete(r.ready, i, i+1)
	return n
}

// est returns n's estimate, computing it once.
func (r *run) est(n *rnode) Estimate {
	if !n.estSet {
		e, declared := r.estimate(n)
		n.estOut, n.estWork, n.estSet, n.declared = e.Out, e.Work, true, declared
	}
	return Estimate{Out: n.estOut, Work: n.estWork}
}

// segKey is what running a candidate (and the chain it alone makes
// ready) does to live memory: hill is the highest it adds while running,
// valley the lowest it leaves afterwards (negative: it frees memory),
// both relative to now and cut at the valley.
type segKey struct{ hill, valley int64 }

// before orders segments as for jobs that each need hill and leave
// valley, to keep the highest running total least: those that free
// memory first, smallest hill first; then those that grow it, largest
// hill-valley first (loaders, with nothing to give back, come last).
func (a segKey) before(b segKey) bool {
	af, bf := a.valley <= 0, b.valley <= 0
	switch {
	case af != bf:
		return af
	case af && a.hill != b.hill:
		return a.hill < b.hill
	case !af && a.hill-a.valley != b.hill-b.valley:
		return a.hill-a.valley > b.hill-b.valley
	}
	return a.valley < b.valley
}

// pickMemory returns the index in r.ready of the ready node whose segment
// goes first. Among equal segments the most recently readied one wins
// when they are empty (no memory at stake: depth first), else the node
// first by id, so the order does not follow input names.
func (r *run) pickMemory() int {
	best := -1
	var bk segKey
	for i := len(r.ready) - 1; i >= max(0, len(r.ready)-orderWindow); i-- {
		n := r.ready[i]
		if n.state != stReady {
			continue
		}
		k := r.segment(n)
		switch {
		case best < 0 || k.before(bk):
		case k == bk && k != (segKey{}) && compareIDs(n.id, r.ready[best].id) < 0:
		default:
			continue
		}
		best, bk = i, k
	}
	return best
}

// segment simulates c and then, up to segDepth, the consumer that c's
// step alone makes ready (the smallest by estimate).
func (r *run) segment(c *rnode) segKey {
	var cum, hill int64
	k := segKey{valley: math.MaxInt64}
	var prev *rnode
	for n, d := c, 0; n != nil && d < segDepth; d++ {
		e := r.est(n)
		hill = max(hill, cum+e.Out+e.Work)
		cum += e.Out - r.freed(n, prev)
		if cum < k.valley {
			k = segKey{hill: hill, valley: cum}
		}
		prev, n = n, r.unblocked(n)
	}
	return k
}

// unblocked returns the pending consumer of n that waits on n alone, the
// smallest by estimate, or nil.
func (r *run) unblocked(n *rnode) *rnode {
	var best *rnode
	var bt int64
	for _, w := range n.waiters {
		if w.state != stPending || w.queued {
			continue
		}
		waits := int32(0)
		for i := range w.ins {
			if b := &w.ins[i]; b.wait && b.src == n {
				waits++
			}
		}
		if waits != w.blockers {
			continue
		}
		if t := r.est(w).Total(); best == nil || t < bt {
			best, bt = w, t
		}
	}
	return best
}

// freed predicts the bytes n's completion releases at level 2: the inputs
// it is the last pending reader of. prev, when n is simulated after it,
// has not produced yet; its predicted outputs count when n reads the last.
// It is the same at every level (it counts live holders, which levels 0
// and 1 keep as dead ones), so every level runs the same order and a lower
// level never peaks below a higher one.
func (r *run) freed(n, prev *rnode) int64 {
	var bytes int64
	for i := range n.ins {
		b := &n.ins[i]
		if b.src == nil || !b.counted || b.lazy || b.raw || r.seenSrc(n, i) {
			continue
		}
		s := b.src.slot(b.out)
		if s == noSlot || r.tr.Pinned(s) || r.tr.Readers(s) != r.readsOf(n, b.src, b.out) {
			continue
		}
		if b.src == prev {
			bytes += prev.estOut / int64(max(1, len(prev.slots)))
			continue
		}
		vals, ok := r.tr.Values(s)
		if !ok {
			continue
		}
		for _, v := range vals {
			bytes += r.soleBytes(v)
		}
	}
	return bytes
}

// seenSrc reports whether an earlier binding of n reads the same slot as
// binding i (counted once).
func (r *run) seenSrc(n *rnode, i int) bool {
	b := &n.ins[i]
	for j := range i {
		if a := &n.ins[j]; a.src == b.src && a.out == b.out {
			return true
		}
	}
	return false
}

// readsOf counts n's counted bindings to p's output out.
func (r *run) readsOf(n, p *rnode, out int) int {
	c := 0
	for i := range n.ins {
		if b := &n.ins[i]; b.src == p && b.out == out && b.counted {
			c++
		}
	}
	return c
}

// soleBytes is the device bytes in v that only one live holder holds.
func (r *run) soleBytes(v any) int64 {
	var bytes int64
	lifetimeResources(v, func(b *Buffer) {
		if r.e.refs.LiveHolders(b) == 1 {
			bytes += b.Bytes()
		}
	})
	return bytes
}

// pickComfy is ComfyUI's ux_friendly_pick_node over the ready nodes in
// the order they became ready: an output node, else a node an output node
// reads, else one two steps from an output node, else the first.
func (r *run) pickComfy() int {
	for hops := range 3 {
		for i, n := range r.ready {
			if n.state == stReady && feedsOutput(n, hops) {
				return i
			}
		}
	}
	for i, n := range r.ready {
		if n.state == stReady {
			return i
		}
	}
	return len(r.ready) - 1
}

// feedsOutput reports whether n is an output node (hops 0) or a waiting
// input of one hops steps away.
func feedsOutput(n *rnode, hops int) bool {
	if hops == 0 {
		return n.typ.Schema.OutputNode
	}
	for _, w := range n.waiters {
		if feedsOutput(w, hops-1) {
			return true
		}
	}
	return false
}

// lifetimeResources calls f for every device Buffer in v.
func lifetimeResources(v any, f func(*Buffer)) {
	lifetime.Resources(v, func(x lifetime.Resource) {
		if b, ok := deviceBuffer(x); ok {
			f(b)
		}
	})
}

// compareIDs orders node ids as numbers when both are decimal (ComfyUI's
// "9" before "10"), else as strings.
func compareIDs(a, b NodeID) int {
	if isDecimal(a) && isDecimal(b) {
		if c := cmp.Compare(len(a), len(b)); c != 0 {
			return c
		}
	}
	return strings.Compare(string(a), string(b))
}

func isDecimal(s NodeID) bool {
	if len(s) == 0 || (len(s) > 1 && s[0] == '0') {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
