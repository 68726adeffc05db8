// forward.go: what an expanded node's outputs become: forwarded to its subgraph, or awaited and resolved.

package engine

import (
	"fmt"
	"slices"

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
			switch item := n.fwded()[b.out].(type) {
			case Ref:
				err = r.bindLink(c, b, item)
			case ownSlot:
				err = r.bindSlot(c, b, n, b.out)
			default:
				b.src, b.lit, b.lazy = nil, item, false
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

// setForward records where n's outputs come from, resolved to the end of
// any chain of forwards, and holds those nodes (so they are not collected
// while n may still be linked to). A literal output that holds device
// values gets a slot of n's own (kept while n lives: a re-execution
// downstream may resolve through n again). Nodes that forwarded to n are
// redirected to n's targets, so chains never grow: a loop of any length is
// one hop. It returns n's new slots.
func (r *run) setForward(n *rnode, items []any) ([]lifetime.SlotID, error) {
	fwd := make([]any, len(items))
	n.x().fwd = fwd
	var kept []lifetime.SlotID
	for i, item := range items {
		ref, isRef := item.(Ref)
		if !isRef {
			fwd[i] = item
			if hasResource(item) {
				if kept == nil {
					kept = make([]lifetime.SlotID, len(items))
					for j := range kept {
						kept[j] = noSlot
					}
				}
				kept[i] = r.tr.Keep(n, []any{item})
				fwd[i] = ownSlot{}
			}
			continue
		}
		p, out, lit, isLit, err := r.resolve(ref)
		if err != nil {
			return nil, fmt.Errorf("expansion output %d: %w", i, err)
		}
		if isLit {
			fwd[i] = lit
			continue
		}
		fwd[i] = Ref{Node: p.id, Out: out}
		r.holdFwd(n, p)
	}
	from := n.x().fwdFrom
	n.x().fwdFrom = nil
	for _, f := range from {
		still := false
		for i, item := range f.fwded() {
			ref, ok := item.(Ref)
			if !ok || ref.Node != n.id {
				continue
			}
			if _, own := fwd[ref.Out].(ownSlot); own {
				still = true // f reads n's own slot
				continue
			}
			f.fwded()[i] = fwd[ref.Out]
			if t, ok := fwd[ref.Out].(Ref); ok {
				tn, _ := r.node(t.Node)
				r.holdFwd(f, tn)
			}
		}
		if still {
			n.x().fwdFrom = append(n.x().fwdFrom, f)
		} else {
			r.releaseFwd(f, n)
		}
	}
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

// holdFwd makes forwarder f hold target t once.
func (r *run) holdFwd(f, t *rnode) {
	if slices.Contains(f.x().fwdHeld, t) {
		return
	}
	f.x().fwdHeld = append(f.x().fwdHeld, t)
	t.x().fwdFrom = append(t.x().fwdFrom, f)
	r.hold(t)
}

// releaseFwd drops f's hold on t.
func (r *run) releaseFwd(f, t *rnode) {
	i := slices.Index(f.x().fwdHeld, t)
	if i < 0 {
		return
	}
	f.x().fwdHeld = slices.Delete(f.x().fwdHeld, i, i+1)
	if j := slices.Index(t.x().fwdFrom, f); j >= 0 {
		t.x().fwdFrom = slices.Delete(t.x().fwdFrom, j, j+1)
	}
	r.unhold(t)
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
