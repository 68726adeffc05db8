// forward.go: what an expanded node's outputs become: forwarded to its subgraph, or awaited and resolved.

package engine

import (
	"fmt"

	"github.com/ebbgraph/ebb/lifetime"
)

// subgraphWait is an awaiting node's expansion results.
type subgraphWait struct {
	results []Result
	ui      map[string][]any
	// slot keeps the literal results that hold device values until the
	// node resolves (Tracker.Keep, owned by the node); noSlot if none.
	slot lifetime.SlotID
}

func hasResource(v any) bool {
	found := false
	lifetime.Resources(v, func(lifetime.Resource) { found = true })
	return found
}

// forward makes n's consumers read the expansion's outputs directly, so n
// finishes at once. Chains of tail expansions (loops) then hold no pending
// node per iteration.
func (r *run) forward(n *rnode, items []any, ui map[string][]any) error {
	kept, err := r.setForward(n, items)
	if err != nil {
		return err
	}
	if !r.transition(n, stForwarded) {
		return nil
	}
	old := n.slots
	n.slots = kept
	r.markGen++
	gen := r.markGen
	var lazy []*rnode
	if n.ext != nil {
		lazy, n.ext.lazyBinders = n.ext.lazyBinders, nil
	}
	consumers := append(n.waiters, lazy...)
	n.waiters = nil
	for _, c := range consumers {
		if c.mark == gen {
			continue
		}
		c.mark = gen
		for i := range c.ins {
			b := &c.ins[i]
			if b.src != n || !b.counted {
				continue
			}
			r.tr.DoneReader(old[b.out])
			n.nbind--
			b.counted = false
			if b.wait {
				b.wait = false
				c.blockers--
			}
			if b.raw {
				if err := r.bindRaw(c, b, b.ref); err != nil {
					return fmt.Errorf("node %s input %q: %w", c.id, b.name, err)
				}
				continue
			}
			var err error
			if p, out, lit, isLit := r.followFwd(n, b.out); isLit {
				b.src, b.lit, b.lazy = nil, lit, false
			} else {
				err = r.bindSlot(c, b, p, out)
			}
			if err != nil {
				return fmt.Errorf("node %s input %q: %w", c.id, b.name, err)
			}
		}
	}
	if n.pinCount > 0 { // expanders downstream pin n: pin what n forwards to
		for _, s := range old {
			r.tr.Unpin(s)
		}
		r.pinForwardTargets(n)
	}
	for _, s := range old {
		r.tr.Discard(s)
	}
	if ui != nil {
		r.res.Outputs[n.id] = ui
	}
	ev := n.event(EventExecuted)
	ev.Output = ui
	r.em.emit(ev)
	for _, c := range consumers {
		r.readyIfFree(c)
	}
	r.timeline(n)
	return nil
}

// noSlots backs the slots of forwarded nodes that keep none.
var noSlots = [8]lifetime.SlotID{noSlot, noSlot, noSlot, noSlot, noSlot, noSlot, noSlot, noSlot}

// fwdCell is where forwarded outputs lead: a node of a union-find forest.
// A root names the slot that holds the value (node, out), is registered
// as node.ext.in[out] and holds node (so it is not collected under the
// forwarders), or is a plain literal (node nil). Other cells lead to a
// root through parent. Forwarders whose outputs lead to the same slot
// share cells, so when that slot's node forwards in turn, moving its
// cells redirects all of them at once: a loop of any length costs O(1)
// per iteration, at every level, however many earlier forwarders live.
type fwdCell struct {
	parent *fwdCell
	node   *rnode // a root's node; nil for a literal root (or a dead cell)
	out    int
	lit    any   // a literal root's value
	refs   int32 // forwarded outputs (rnodeExt.fwd) and child cells that lead here
}

// dest is where one forwarded output goes: n's own slot, the slot out of
// node, or the literal lit (node nil).
type dest struct {
	own  bool
	node *rnode
	out  int
	lit  any
}

// setForward records where n's outputs come from, holds what they lead to
// and returns n's new slots. A literal output that holds device values
// gets a slot of n's own (kept while n lives: a re-execution downstream
// may resolve through n again). The cells of forwarders that led to n's
// slots move on to where n's outputs now lead.
func (r *run) setForward(n *rnode, items []any) ([]lifetime.SlotID, error) {
	var buf [4]dest
	dests := buf[:0]
	if len(items) > len(buf) {
		dests = make([]dest, 0, len(items))
	}
	dests = dests[:len(items)]
	var kept []lifetime.SlotID
	for i, item := range items {
		d := &dests[i]
		ref, isRef := item.(Ref)
		if !isRef {
			d.lit = item
			if hasResource(item) {
				if kept == nil {
					kept = make([]lifetime.SlotID, len(items))
					for j := range kept {
						kept[j] = noSlot
					}
				}
				kept[i] = r.tr.Keep(n, []any{item})
				d.own, d.lit = true, nil
			}
			continue
		}
		p, out, lit, isLit, err := r.resolve(ref)
		if err != nil {
			return nil, fmt.Errorf("expansion output %d: %w", i, err)
		}
		if isLit {
			d.lit = lit
			continue
		}
		d.node, d.out = p, out
	}
	r.fwdOps++
	if n.ext != nil {
		for j, c := range n.ext.in {
			if c != nil && j < len(dests) && !dests[j].own {
				r.fwdSteps++
				r.moveCell(n, c, dests[j])
			}
		}
	}
	fwd := make([]any, len(items))
	for i, d := range dests {
		switch {
		case d.own:
			fwd[i] = ownSlot{}
		case d.node != nil:
			c := r.cellAt(d.node, d.out)
			c.refs++
			fwd[i] = c
		default:
			fwd[i] = d.lit
		}
	}
	n.x().fwd = fwd
	if kept == nil {
		if len(items) <= len(noSlots) {
			return noSlots[:len(items):len(items)], nil
		}
		kept = make([]lifetime.SlotID, len(items))
		for j := range kept {
			kept[j] = noSlot
		}
	}
	return kept, nil
}

// moveCell makes c, the root registered at n's slot c.out, lead to d
// instead: it becomes d's root (or a literal) when d's slot has none,
// else a child of that root. n loses the hold c had on it.
func (r *run) moveCell(n *rnode, c *fwdCell, d dest) {
	n.ext.in[c.out] = nil
	switch {
	case d.node == nil:
		c.node, c.lit = nil, d.lit
	case d.node.ext != nil && d.out < len(d.node.ext.in) && d.node.ext.in[d.out] != nil:
		root := d.node.ext.in[d.out]
		root.refs++
		c.node, c.parent = nil, root
	default:
		c.node, c.out = d.node, d.out
		r.register(c)
	}
	r.unhold(n)
}

// register makes root c the cell of its node's slot c.out and holds the
// node.
func (r *run) register(c *fwdCell) {
	x := c.node.x()
	if x.in == nil {
		x.in = make([]*fwdCell, len(c.node.typ.Schema.Outputs))
	}
	x.in[c.out] = c
	r.hold(c.node)
}

// cellAt returns the root cell of p's slot out, making it (and holding p)
// if there is none. The caller counts its reference.
func (r *run) cellAt(p *rnode, out int) *fwdCell {
	if p.ext != nil && out < len(p.ext.in) && p.ext.in[out] != nil {
		return p.ext.in[out]
	}
	c := &fwdCell{node: p, out: out}
	r.register(c)
	return c
}

// find returns c's root, pointing the cells on the way at it.
func (r *run) find(c *fwdCell) *fwdCell {
	r.fwdOps++
	root := c
	for root.parent != nil {
		root = root.parent
		r.fwdSteps++
	}
	for c.parent != nil && c.parent != root {
		next := c.parent
		c.parent = root
		root.refs++
		r.decCell(next) // never the root's last reference: c holds one
		c = next
	}
	return root
}

// decCell drops one reference to c. A cell nothing leads to any more
// drops its own reference to its parent, or, as a root, its hold.
func (r *run) decCell(c *fwdCell) {
	for {
		if c.refs--; c.refs > 0 {
			return
		}
		if p := c.parent; p != nil {
			c.parent = nil
			c = p
			continue
		}
		c.lit = nil
		if t := c.node; t != nil {
			c.node = nil
			t.ext.in[c.out] = nil
			r.unhold(t)
		}
		return
	}
}

// followFwd returns where forwarded p's output out leads: a node's slot,
// or a literal.
func (r *run) followFwd(p *rnode, out int) (q *rnode, qout int, lit any, isLit bool) {
	switch item := p.fwded()[out].(type) {
	case *fwdCell:
		root := r.find(item)
		if root.node == nil {
			return nil, 0, root.lit, true
		}
		return root.node, root.out, nil, false
	case ownSlot:
		return p, out, nil, false
	default:
		return nil, 0, item, true
	}
}

// dropFwd drops forwarded n's references to its cells (n is collected).
func (r *run) dropFwd(n *rnode) {
	if n.ext == nil {
		return
	}
	fwd := n.ext.fwd
	n.ext.fwd = nil
	for _, item := range fwd {
		if c, ok := item.(*fwdCell); ok {
			r.decCell(c)
		}
	}
}

// await makes n wait for its subgraphs' result links, then resolve.
func (r *run) await(n *rnode, results []Result, ui map[string][]any) error {
	sub := &subgraphWait{results: results, ui: ui, slot: noSlot}
	var held []any
	for _, res := range results {
		if res.Expand == nil {
			continue
		}
		for _, item := range res.Expand.Outputs {
			if _, isRef := item.(Ref); !isRef && hasResource(item) {
				held = append(held, item)
			}
		}
	}
	if held != nil {
		sub.slot = r.tr.Keep(n, held)
	}
	n.x().sub = sub
	if !r.transition(n, stAwaiting) {
		return nil
	}
	for ci, res := range results {
		if res.Expand == nil {
			continue
		}
		for j, item := range res.Expand.Outputs {
			ref, ok := item.(Ref)
			if !ok {
				continue
			}
			b := binding{name: fmt.Sprintf("$result.%d.%d", ci, j), result: true}
			if err := r.bindLink(n, &b, ref); err != nil {
				return err
			}
			n.ins = append(n.ins, b)
		}
	}
	r.readyIfFree(n)
	return nil
}

// resolveSub computes the outputs of an expanded node whose subgraph is
// done, and completes it.
func (r *run) resolveSub(n *rnode) {
	sub := n.x().sub
	n.x().sub = nil
	bound := map[string]*binding{}
	for i := range n.ins {
		bound[n.ins[i].name] = &n.ins[i]
	}
	outs := make([][]any, len(n.slots))
	for ci, res := range sub.results {
		if res.Expand == nil {
			part, err := mergeOutputs(n, []Result{res})
			if err != nil {
				r.fail(n, TypeExecution, err)
				return
			}
			for j := range outs {
				outs[j] = append(outs[j], part[j]...)
			}
			continue
		}
		for j, item := range res.Expand.Outputs {
			if _, ok := item.(Ref); !ok {
				outs[j] = append(outs[j], item)
				continue
			}
			b := bound[fmt.Sprintf("$result.%d.%d", ci, j)]
			if b.src == nil {
				outs[j] = append(outs[j], b.lit)
				continue
			}
			vals, ok := r.tr.Values(b.src.slot(b.out))
			if !ok {
				r.fail(n, TypeExecution, fmt.Errorf("engine: expansion result %d of node %s was released before it was read", j, n.id))
				return
			}
			outs[j] = append(outs[j], vals...)
		}
	}
	if err := r.checkLists(outs); err != nil {
		r.fail(n, TypeLimit, err)
		return
	}
	r.complete(n, outs, sub.ui)
	if sub.slot != noSlot {
		r.tr.Discard(sub.slot)
	}
}
