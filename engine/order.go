// order.go: which ready node starts next (policy.Order): by predicted memory, as a stack, or as ComfyUI picks; the simulation behind the memory order is in order_sim.go.

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

// segDepth is how many steps the memory order simulates from a
// candidate: it, then nodes that it and those after it alone make ready.
const segDepth = 8

// nextReady returns the index in r.ready of the node to start next, or -1
// when none is ready.
func (r *run) nextReady() int {
	for len(r.ready) > 0 && r.ready[len(r.ready)-1].state != stReady {
		r.ready = r.ready[:len(r.ready)-1] // stale: moved on since it was queued
	}
	if len(r.ready) == 0 {
		return -1
	}
	i := len(r.ready) - 1
	if len(r.ready) > 1 {
		switch r.order {
		case policy.Memory:
			i = r.pickMemory()
		case policy.Comfy:
			i = r.pickComfy()
		}
	}
	return i
}

// est returns n's estimate, computing it once.
func (r *run) est(n *rnode) Estimate {
	if !n.estSet {
		e, declared := r.estimate(n)
		n.estOut, n.estWork, n.estTime, n.estSet, n.declared = e.Out, e.Work, e.Time, true, declared
	}
	return Estimate{Out: n.estOut, Work: n.estWork, Time: n.estTime}
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

// pickMemory returns the index in r.ready of the ready node to start.
// Each candidate's segment (segment) orders them; when the run is small
// enough (rolloutNodes pending, rolloutReady candidates), each candidate
// is also played out to the end (rollout, two ways) and the lowest
// predicted peak wins, segments breaking ties; the run then follows that
// play (r.plan) while its next node is the one ready, and plays again
// when the graph did something the play did not foresee. Among equal
// candidates the most recently readied one wins when they are empty (no
// memory at stake: depth first), else the node first by id, so the order
// does not follow input names.
func (r *run) pickMemory() int {
	best, cands := -1, 0
	var bk segKey
	for i := len(r.ready) - 1; i >= max(0, len(r.ready)-orderWindow); i-- {
		n := r.ready[i]
		if n.state != stReady {
			continue
		}
		cands++
		k := r.segment(n)
		switch {
		case best < 0 || k.before(bk):
		case k == bk && k != (segKey{}) && compareIDs(n.id, r.ready[best].id) < 0:
		default:
			continue
		}
		best, bk = i, k
	}
	if bk == (segKey{}) || cands > rolloutReady || r.pending > rolloutNodes {
		r.plan = r.plan[:0]
		return best
	}
	bestPeak := int64(math.MaxInt64)
	if len(r.plan) > 0 { // the play being followed, if it still holds
		if p, ok := r.replay(); ok {
			best, bestPeak = slices.Index(r.ready, r.plan[0]), p
			r.plan = append(r.plan[:0], r.rollSeq[1:]...)
			if r.pending > replanNodes {
				return best
			}
		} else {
			r.plan = r.plan[:0]
		}
	}
	for i := len(r.ready) - 1; i >= 0; i-- {
		n := r.ready[i]
		if n.state != stReady {
			continue
		}
		for mode := range rollModes {
			if mode == rollSegment && r.pending > segRollNodes {
				continue
			}
			if p := r.rollout(n, mode); p < bestPeak {
				best, bestPeak = i, p
				r.plan = append(r.plan[:0], r.rollSeq[1:]...)
			}
		}
	}
	return best
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
