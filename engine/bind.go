// bind.go: scheduling and binding: how a node's inputs become reader counts, holds and blockers, and how they are let go.

package engine

import (
	"fmt"
	"slices"

	"github.com/ebbgraph/ebb/lifetime"
)

// schedule moves an idle or potential node to pending and queues it for
// binding.
func (r *run) schedule(n *rnode) {
	if n.state != stIdle && n.state != stPotential {
		return
	}
	if !r.transition(n, stPending) {
		return
	}
	n.queued = true
	r.work = append(r.work, n)
}

// drain binds every queued node: cache hits complete at once, others bind
// their inputs (which may queue producers) and become ready when nothing
// blocks them. Iterative, so chains of any length are fine.
func (r *run) drain() {
	for len(r.work) > 0 && r.err == nil {
		n := r.work[len(r.work)-1]
		r.work = r.work[:len(r.work)-1]
		n.queued = false
		if n.state != stPending {
			continue
		}
		if r.cacheHit(n) {
			continue
		}
		if err := r.activate(n); err != nil {
			r.fail(n, TypeExecution, err)
			return
		}
		r.readyIfFree(n)
	}
	if len(r.work) == 0 && len(r.drainPins) > 0 {
		pins := r.drainPins
		r.drainPins = nil
		for _, s := range pins {
			r.tr.Unpin(s)
		}
	}
}

// readyIfFree moves a pending or awaiting node that nothing blocks to the
// ready stack.
func (r *run) readyIfFree(n *rnode) {
	if (n.state == stPending || n.state == stAwaiting) && n.blockers == 0 && !n.queued {
		if r.transition(n, stReady) {
			r.ready = append(r.ready, n)
		}
	}
}

// activate binds a scheduled node's inputs: from scratch, or, for a node
// that was potential (already bound), by making its bindings wait.
func (r *run) activate(n *rnode) error {
	if n.ins != nil {
		return r.promote(n)
	}
	return r.bindInputs(n)
}

// bindInputs binds n's inputs, counting readers, holds and (unless n is
// potential) blockers.
func (r *run) bindInputs(n *rnode) error {
	n.ins = make([]binding, 0, len(n.def.Inputs))
	for name, v := range n.def.Inputs {
		n.ins = append(n.ins, binding{name: name, lit: v})
	}
	sortBindings(n.ins)
	var links []vlink // validated links of an original node, sorted like ins
	if n.vi >= 0 {
		links = r.v.vnodes[n.vi].links
	}
	sch := &n.typ.Schema
	k := 0
	for i := range n.ins {
		b := n.ins[i]
		v := b.lit
		b.lit = nil
		spec, declared := sch.Input(b.name)
		if declared {
			b.raw = spec.RawLink
			b.lazy = spec.Lazy && (n.ext == nil || !n.ext.requested[b.name])
		}
		ref, isLink := v.(Ref)
		if !isLink {
			if !declared {
				continue // undeclared literals are not delivered (ComfyUI)
			}
			b.raw = false // a RawLink input given a literal gets the literal
			if l, ok := v.(Literal); ok {
				v = l.Value
			}
			b.lit, b.lazy = v, false
			n.ins[k] = b
			k++
			continue
		}
		hint := int32(-1)
		for len(links) > 0 && links[0].input < b.name {
			links = links[1:]
		}
		if len(links) > 0 && links[0].input == b.name && links[0].ref == ref {
			hint = links[0].to
		}
		n.ins[k] = b
		if err := r.bindLinkHint(n, &n.ins[k], ref, hint); err != nil {
			n.ins = n.ins[:k+1]
			return fmt.Errorf("input %q: %w", b.name, err)
		}
		k++
	}
	n.ins = n.ins[:k]
	r.strat.onPendingExpander(r, n)
	return nil
}

// makePotential binds an idle node's inputs without scheduling it: a lazy
// reader (or a pin) may still need it, so what it would read counts as
// read. Without this, a lazy request could meet an input released while
// nothing counted it: a late edge in a static graph.
func (r *run) makePotential(p *rnode) {
	if p.state != stIdle || !r.transition(p, stPotential) {
		return
	}
	if err := r.bindInputs(p); err != nil {
		r.fail(p, TypeExecution, err)
	}
}

// promote makes a potential node's bindings wait, now that it is
// scheduled.
func (r *run) promote(n *rnode) error {
	for i := range n.ins {
		b := &n.ins[i]
		if !b.counted || b.lazy {
			continue
		}
		if err := r.need(n, b); err != nil {
			return fmt.Errorf("input %q: %w", b.name, err)
		}
	}
	r.strat.onPendingExpander(r, n)
	return nil
}

// hold records one more hold on p (see rnode.nbind).
func (r *run) hold(p *rnode) {
	p.nbind++
	if p.finished {
		p.finished = false
		p.gen().unfinished++
	}
}

// unhold drops one hold on p. A potential node nothing holds any more
// lets go of its own bindings and goes back to idle.
func (r *run) unhold(p *rnode) {
	p.nbind--
	if p.state == stPotential && p.nbind == 0 && r.transition(p, stIdle) {
		ins := p.ins
		p.ins = nil
		if p.ext != nil {
			p.ext.lazyBinders = nil
		}
		r.unbindList(ins)
		r.strat.onIdle(r, p)
	}
	r.maybeCollect(p)
}

// sortBindings sorts by name: insertion sort, as nodes have few inputs.
func sortBindings(bs []binding) {
	for i := 1; i < len(bs); i++ {
		for j := i; j > 0 && bs[j].name < bs[j-1].name; j-- {
			bs[j], bs[j-1] = bs[j-1], bs[j]
		}
	}
}

// bindLink points b at ref (following forwarded expanders), counts a reader
// and, unless b is lazy or n potential, makes n wait for the producer.
func (r *run) bindLink(n *rnode, b *binding, ref Ref) error {
	return r.bindLinkHint(n, b, ref, -1)
}

// bindLinkHint is bindLink with the producer's validation index when known
// (>= 0), which saves a map lookup per link.
func (r *run) bindLinkHint(n *rnode, b *binding, ref Ref, hint int32) error {
	if b.raw {
		return r.bindRaw(n, b, ref)
	}
	var p *rnode
	var out int
	var lit any
	var isLit bool
	var err error
	if hint >= 0 {
		if p = r.origNode(hint); p.state == stForwarded || ref.Out < 0 || ref.Out >= len(p.typ.Schema.Outputs) {
			p = nil
		}
		out = ref.Out
	}
	if p == nil {
		p, out, lit, isLit, err = r.resolve(ref)
	}
	if err != nil {
		return err
	}
	if isLit {
		b.src, b.lit, b.lazy = nil, lit, false
		return nil
	}
	return r.bindSlot(n, b, p, out)
}

// bindSlot makes b a reader of p's slot out and holds p; b waits for p
// unless it is lazy or n is potential (then forward must find n).
func (r *run) bindSlot(n *rnode, b *binding, p *rnode, out int) error {
	b.src, b.out, b.counted = p, out, true
	r.tr.AddReader(p.slot(out))
	r.hold(p)
	if b.lazy || n.state == stPotential {
		p.x().lazyBinders = append(p.x().lazyBinders, n)
		if p.state == stIdle {
			r.makePotential(p)
		}
		return nil
	}
	return r.need(n, b)
}

// bindRaw binds a RawLink input: the node gets the Ref as written, but
// waits for (and holds) the output it names, following forwarded
// expanders, since a node with a raw link usually hands it to an
// expansion (ComfyUI's rawLink).
func (r *run) bindRaw(n *rnode, b *binding, ref Ref) error {
	b.ref = ref
	p, out, _, isLit, err := r.resolve(ref)
	if err != nil {
		return err
	}
	if b.named == nil {
		if named, err := r.node(ref.Node); err == nil {
			b.named = named
			r.hold(named)
		}
	}
	if isLit {
		b.src, b.lit = nil, ref
		return nil
	}
	return r.bindSlot(n, b, p, out)
}

// resolve maps a link to the node whose slot holds its value, following
// forwarded expanders; a forwarded plain literal comes back as lit.
func (r *run) resolve(ref Ref) (p *rnode, out int, lit any, isLit bool, err error) {
	p, err = r.node(ref.Node)
	if err != nil {
		if _, _, ok := r.lookup(ref.Node); !ok && wasEphemeral(ref.Node) {
			err = fmt.Errorf("%w: %q", ErrCollected, ref.Node)
		}
		return nil, 0, nil, false, err
	}
	if nout := len(p.typ.Schema.Outputs); ref.Out < 0 || ref.Out >= nout {
		return nil, 0, nil, false, fmt.Errorf("%w: [%q, %d] (class %s has %d outputs)", ErrBadOutput, ref.Node, ref.Out, p.def.Class, nout)
	}
	if p.state != stForwarded {
		return p, ref.Out, nil, false, nil
	}
	p, out, lit, isLit = r.followFwd(p, ref.Out)
	return p, out, lit, isLit, nil
}

// wasEphemeral reports whether id looks like an expansion id (it has a dot
// and is not in the workflow); used only to word an error.
func wasEphemeral(id NodeID) bool { return slices.Contains([]byte(id), '.') }

// need makes n wait for b's slot unless it is live already: it schedules
// an idle producer and, for a released slot (a late edge), asks the
// strategy.
func (r *run) need(n *rnode, b *binding) error {
	p := b.src
	if p.state.produced() {
		switch r.tr.State(p.slot(b.out)) {
		case lifetime.Live:
			return nil
		case lifetime.Released:
			if err := r.strat.onLateEdge(r, n, p, b.out); err != nil {
				return err
			}
		default:
			return fmt.Errorf("engine: node %s completed without output %d", p.id, b.out)
		}
	}
	if p.state == stIdle || p.state == stPotential {
		r.schedule(p)
	}
	n.blockers++
	b.wait = true
	p.waiters = append(p.waiters, n)
	return nil
}

// unbind drops n's bindings (n completed or expanded).
func (r *run) unbind(n *rnode) {
	r.unbindList(n.ins)
	n.ins = nil
	if n.ext != nil {
		n.ext.lazyBinders = nil
	}
}

func (r *run) unbindList(ins []binding) {
	for i := range ins {
		b := &ins[i]
		if p := b.named; p != nil {
			b.named = nil
			r.unhold(p)
		}
		if !b.counted {
			continue
		}
		b.counted = false
		p := b.src
		r.tr.DoneReader(p.slot(b.out))
		r.unhold(p)
	}
}

// wake tells n's waiters that n produced: each stops waiting on one
// binding to n.
func (r *run) wake(n *rnode) {
	ws := n.waiters
	n.waiters = nil
	for _, w := range ws {
		for i := range w.ins {
			if b := &w.ins[i]; b.wait && b.src == n {
				b.wait = false
				break
			}
		}
		w.blockers--
		r.readyIfFree(w)
	}
}
