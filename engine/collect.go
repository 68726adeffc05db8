// collect.go: generations (the nodes of one expansion) and how finished ones are forgotten, with the values they own.

package engine

import (
	"maps"

	"github.com/ebbgraph/ebb/lifetime"
	"github.com/ebbgraph/ebb/policy"
)

// generation is the set of nodes one expansion added. Its definitions are
// dropped together once every member the run knows is finished (done,
// forwarded or never run, with no hold, waiter or pin) and no living
// generation's definitions link into it, so a def-walk from any pending
// member (a loop close exploring its body) still finds its siblings, and
// finished loop iterations cost no memory.
type generation struct {
	ids        []NodeID
	parent     NodeID // the expanding node
	depth      int    // 1 for an original node's expansion, parent's + 1 below
	unfinished int
	// slot keeps the device values copied into the new nodes' literals (a
	// loop's carried values) while the generation lives; noSlot if none.
	slot    lifetime.SlotID
	refs    int           // living generations whose definitions link into this one
	deps    []*generation // generations this one's definitions link into
	dropped bool
}

func (g *generation) name() string { return string(g.parent) }

// maybeCollect marks a finished ephemeral node and drops its generation
// once all of it is finished. At levels 0 and 1 a node whose outputs are
// live but that nothing holds, waits for or pins is finished too: the run
// keeps its values (see dropGen), not the node.
func (r *run) maybeCollect(n *rnode) {
	if n.info == nil || n.finished || n.nbind > 0 || len(n.waiters) > 0 || n.pinCount > 0 || (n.ext != nil && len(n.ext.pins) > 0) {
		return
	}
	switch n.state {
	case stIdle, stDone:
		for _, s := range n.slots {
			if r.tr.Pinned(s) || r.tr.State(s) == lifetime.Live && r.pol.Level == policy.ReleaseDead {
				return
			}
		}
	case stForwarded: // its own slots (forwarded literals) go with it
	default:
		return
	}
	n.finished = true
	g := n.gen()
	g.unfinished--
	r.maybeDropGen(g)
}

// maybeDropGen drops g once all of it is finished and no living
// generation's definitions link into it (a re-execution's lineage may walk
// there).
func (r *run) maybeDropGen(g *generation) {
	if !g.dropped && g.unfinished == 0 && g.refs == 0 {
		r.dropGen(g)
	}
}

// dropGen forgets every node of g and discards the slots they and g own.
func (r *run) dropGen(g *generation) {
	g.dropped = true
	defer func() {
		deps := g.deps
		g.deps = nil
		for _, d := range deps {
			d.refs--
			r.maybeDropGen(d)
		}
	}()
	r.writeEph()
	for _, id := range g.ids {
		if d := r.eph[id]; d != nil && d.gen == g {
			delete(r.eph, id)
		}
	}
	var kept []any // levels 0 and 1: the live outputs, kept for the run
	for _, id := range g.ids {
		if n, ok := r.nodes[id]; ok && n.gen() == g && n.state == stDone {
			for _, s := range n.slots {
				if vals, live := r.tr.Values(s); live {
					kept = append(kept, vals...)
				}
			}
		}
	}
	if kept != nil {
		r.keepValues(kept) // before the discards below, which drop the values
	}
	for _, id := range g.ids {
		n, ok := r.nodes[id]
		if !ok || n.gen() != g {
			continue
		}
		r.dropFwd(n)
		for _, s := range n.slots {
			if s != noSlot {
				r.tr.Discard(s)
			}
		}
		n.slots = nil
		delete(r.nodes, id)
		delete(r.sigs, id)
	}
	g.ids = nil
	if g.slot != noSlot {
		r.tr.Discard(g.slot)
		g.slot = noSlot
		delete(r.gens, g)
	}
}

// keptValues owns the outputs of collected nodes that levels 0 and 1 keep
// until the run ends: one slot (Tracker.Keep) per dropped generation.
type keptValues struct{ slots []lifetime.SlotID }

// keepValues keeps vals for the rest of the run.
func (r *run) keepValues(vals []any) {
	if r.kept == nil {
		r.kept = &keptValues{}
	}
	r.kept.slots = append(r.kept.slots, r.tr.Keep(r.kept, vals))
}

// writeEph makes r.eph safe to change: a map handed to a worker is copied
// first, so workers read definitions without a lock.
func (r *run) writeEph() {
	if r.ephRO {
		r.eph = maps.Clone(r.eph)
		r.ephRO = false
	}
}
