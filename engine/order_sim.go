// order_sim.go: the memory order's simulation: segments, rollouts and the play it follows, over predicted sizes.

package engine

import (
	"math"
	"slices"

	"github.com/ebbgraph/ebb/lifetime"
)

// Rollouts are for small runs: at most rolloutReady candidates and
// rolloutNodes active nodes, so a pick costs at most about their product
// squared steps.
const (
	rolloutReady = 16
	rolloutNodes = 64
	// replanNodes: above it, a play that still holds is followed without
	// playing the candidates again.
	replanNodes = 16
	// segRollNodes: above it, rollouts do not pick by segments (the
	// costliest way).
	segRollNodes = 24
)

// The ways a rollout picks its next node: the one whose own step goes
// first, the one made ready last (finishing a branch), or the one whose
// segment goes first (the order itself).
const (
	rollStep = iota
	rollDeep
	rollSegment
	rollModes
)

// rollout predicts the peak (above now) of starting c and then, until no
// node the run knows of can go on, the next node as mode says. The order
// it played is left in r.rollSeq.
func (r *run) rollout(c *rnode, mode int) int64 {
	sim := &r.segSim
	sim.reset()
	front := r.readyFront(c)
	var cum, peak int64
	r.rollSeq = r.rollSeq[:0]
	for n := c; n != nil; {
		cum, peak = r.simStep(n, cum, peak)
		r.rollSeq = append(r.rollSeq, n)
		front = r.unlock(n, front)
		n = nil
		bi := -1
		if mode == rollDeep {
			bi = len(front) - 1
		}
		var bk segKey
		for i, w := range front {
			if mode == rollDeep {
				break
			}
			var k segKey
			if mode == rollSegment {
				k = r.segmentOn(w)
			} else {
				e := r.est(w)
				k = segKey{hill: e.Out + e.Work, valley: e.Out - r.freedPeek(w)}
			}
			if bi < 0 || k.before(bk) || (k == bk && compareIDs(w.id, front[bi].id) < 0) {
				bi, bk = i, k
			}
		}
		if bi >= 0 {
			n = front[bi]
			front = slices.Delete(front, bi, bi+1)
		}
	}
	r.rollFront = front[:0]
	return peak
}

// readyFront returns the ready nodes but c, in the order they became
// ready.
func (r *run) readyFront(c *rnode) []*rnode {
	front := r.rollFront[:0]
	for _, n := range r.ready {
		if n.state == stReady && n != c && !slices.Contains(front, n) {
			front = append(front, n)
		}
	}
	return front
}

// replay predicts the peak of following r.plan, and whether it still holds
// (each next node is ready, or made ready by the ones before it).
func (r *run) replay() (int64, bool) {
	first := r.plan[0]
	if first.state != stReady || !slices.Contains(r.ready, first) {
		return 0, false
	}
	sim := &r.segSim
	sim.reset()
	front := r.readyFront(first)
	var cum, peak int64
	r.rollSeq = r.rollSeq[:0]
	for i, n := range r.plan {
		if i > 0 {
			j := slices.Index(front, n)
			if j < 0 {
				r.rollFront = front[:0]
				return 0, false
			}
			front = slices.Delete(front, j, j+1)
		}
		cum, peak = r.simStep(n, cum, peak)
		r.rollSeq = append(r.rollSeq, n)
		front = r.unlock(n, front)
	}
	r.rollFront = front[:0]
	return peak, true
}

// simStep simulates n's step: it returns the live bytes after it and the
// highest they were.
func (r *run) simStep(n *rnode, cum, peak int64) (int64, int64) {
	e := r.est(n)
	peak = max(peak, cum+e.Out+e.Work)
	cum += e.Out - r.freed(n)
	for _, sl := range n.slots {
		if sl != noSlot && r.tr.Readers(sl) == 0 && !r.tr.Pinned(sl) {
			cum -= e.Out / int64(len(n.slots)) // nothing reads it: released at once
		}
	}
	n.simDone = true
	r.segSim.done = append(r.segSim.done, n)
	return cum, peak
}

// unlock adds to front the pending consumers of n that the simulated
// nodes alone make ready.
func (r *run) unlock(n *rnode, front []*rnode) []*rnode {
	sim := &r.segSim
	for _, w := range n.waiters {
		if w.state != stPending || w.queued || sim.has(w) || slices.Contains(front, w) {
			continue
		}
		waits := int32(0)
		for i := range w.ins {
			if b := &w.ins[i]; b.wait && sim.has(b.src) {
				waits++
			}
		}
		if waits == w.blockers {
			front = append(front, w)
		}
	}
	return front
}

// segment simulates c and then, up to segDepth steps, the nodes that the
// simulated ones alone make ready, each time the one whose own step goes
// first; the result is cut at its lowest point.
func (r *run) segment(c *rnode) segKey {
	sim := &r.segSim
	sim.reset()
	return r.segmentOn(c)
}

// segmentOn is segment on top of what is simulated already (a rollout's
// steps so far), which it leaves as it found it.
func (r *run) segmentOn(c *rnode) segKey {
	sim := &r.segSim
	nd, nr := len(sim.done), len(sim.reads)
	var cum, hill int64
	k := segKey{valley: math.MaxInt64}
	for n, d := c, 0; n != nil; d++ {
		cum, hill = r.simStep(n, cum, hill)
		if cum < k.valley {
			k = segKey{hill: hill, valley: cum}
		}
		if d+1 >= segDepth {
			break
		}
		n = r.unblocked(nd)
	}
	sim.truncate(nd, nr)
	return k
}

// segSim is segment's scratch: the nodes simulated done, and the reads
// they made of each slot.
type segSim struct {
	done  []*rnode
	reads []simRead
}

type simRead struct {
	src *rnode
	out int
	n   int
}

func (s *segSim) has(n *rnode) bool { return n.simDone }

// reset empties the simulation.
func (s *segSim) reset() { s.truncate(0, 0) }

// truncate undoes every step after the first nd and every read after the
// first nr.
func (s *segSim) truncate(nd, nr int) {
	for _, n := range s.done[nd:] {
		n.simDone = false
	}
	for _, x := range s.reads[nr:] {
		x.src.simRead = false
	}
	s.done, s.reads = s.done[:nd], s.reads[:nr]
	for _, x := range s.reads { // a read truncated may have shared its node with one kept
		x.src.simRead = true
	}
}

// readsBySim is how many reads of p's output out the simulated nodes made.
func (s *segSim) readsBySim(p *rnode, out int) int {
	if !p.simRead {
		return 0
	}
	n := 0
	for _, x := range s.reads {
		if x.src == p && x.out == out {
			n += x.n
		}
	}
	return n
}

// addRead records n reads of p's output out. Entries are only appended,
// so a nested simulation undoes itself by truncating.
func (s *segSim) addRead(p *rnode, out, n int) {
	p.simRead = true
	s.reads = append(s.reads, simRead{p, out, n})
}

// unblocked returns the pending node that the simulated nodes alone make
// ready, waiting on one of sim.done[from:], whose own step goes first, or
// nil.
func (r *run) unblocked(from int) *rnode {
	sim := &r.segSim
	var best *rnode
	var bk segKey
	for _, m := range sim.done[from:] {
		for _, w := range m.waiters {
			if w.state != stPending || w.queued || sim.has(w) {
				continue
			}
			waits := int32(0)
			for i := range w.ins {
				if b := &w.ins[i]; b.wait && sim.has(b.src) {
					waits++
				}
			}
			if waits != w.blockers {
				continue
			}
			e := r.est(w)
			k := segKey{hill: e.Out + e.Work, valley: e.Out - r.freedPeek(w)}
			if best == nil || k.before(bk) || (k == bk && compareIDs(w.id, best.id) < 0) {
				best, bk = w, k
			}
		}
	}
	return best
}

// freed predicts the bytes n's completion releases at level 2 (the inputs
// it is the last pending reader of, counting the simulated nodes' reads)
// and records n's reads. A simulated producer's outputs count as its
// estimate. It is the same at every level (it counts live holders, which
// levels 0 and 1 keep as dead ones), so every level runs the same order
// and a lower level never peaks below a higher one.
func (r *run) freed(n *rnode) int64 {
	bytes := r.freedPeek(n)
	sim := &r.segSim
	for i := range n.ins {
		if b := &n.ins[i]; b.src != nil && b.counted && !r.seenSrc(n, i) {
			sim.addRead(b.src, b.out, r.readsOf(n, b.src, b.out))
		}
	}
	return bytes
}

// freedPeek is freed without recording n's reads.
func (r *run) freedPeek(n *rnode) int64 {
	sim := &r.segSim
	var bytes int64
	for i := range n.ins {
		b := &n.ins[i]
		if b.src == nil || !b.counted || b.lazy || b.raw || r.seenSrc(n, i) {
			continue
		}
		s := b.src.slot(b.out)
		if s == noSlot || r.simPinned(b.src, s) || r.tr.Readers(s)-sim.readsBySim(b.src, b.out) != r.readsOf(n, b.src, b.out) {
			continue
		}
		if sim.has(b.src) {
			bytes += b.src.estOut / int64(max(1, len(b.src.slots)))
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

// simPinned is whether the order's prediction counts slot s of p as
// pinned: pinned now, or the output of a node that must not run twice
// under a re-executing strategy, which levels 1 and 2 pin when it
// completes (strategy.afterComplete) and level 0 does not need to. The
// prediction is the same at every level, so the order is too, and peaks
// do not increase with the level.
func (r *run) simPinned(p *rnode, s lifetime.SlotID) bool {
	return r.tr.Pinned(s) || (r.strat.reexecute && p.state.produced() && !isReexecutable(p.typ))
}
