package engine

import (
	"fmt"
	"reflect"
	"slices"

	"github.com/ebbgraph/ebb/lifetime"
	"github.com/ebbgraph/ebb/policy"
)

// subgraphWait is an expanded node waiting for its subgraph's results.
type subgraphWait struct {
	results []Result
	ui      map[string][]any
	held    []any // literal results holding device values, until resolved
}

func hasResource(v any) bool {
	found := false
	lifetime.Resources(v, func(lifetime.Resource) { found = true })
	return found
}

// expand accepts the expansions n returned: it validates the new nodes
// atomically, enforces the restrict rule, adds them to the graph and makes
// n's outputs follow the subgraph (forwarding, or waiting when n has several
// calls or pinned outputs).
func (r *run) expand(n *rnode, calls []*Call, results []Result, ui map[string][]any) error {
	newNodes := Workflow{}
	for _, res := range results {
		if res.Expand == nil {
			continue
		}
		if len(res.Expand.Outputs) != len(n.typ.Schema.Outputs) {
			return fmt.Errorf("%w: expansion has %d outputs, class %s declares %d", ErrBadResult, len(res.Expand.Outputs), n.def.Class, len(n.typ.Schema.Outputs))
		}
		for id, def := range res.Expand.Nodes {
			if _, dup := newNodes[id]; dup || def == nil {
				return fmt.Errorf("%w: %q appears twice in one expansion (or is nil)", ErrDuplicateID, id)
			}
			newNodes[id] = def
		}
	}
	ids := newNodes.IDs()
	reuse := map[NodeID]bool{}
	for _, id := range ids {
		def := newNodes[id]
		t, ok := r.e.reg.Lookup(def.Class)
		if !ok {
			return fmt.Errorf("%w: %q (expanded node %s)", ErrUnknownClass, def.Class, id)
		}
		_ = t
		if old, _, exists := r.lookup(id); exists {
			if !reflect.DeepEqual(old, def) {
				return fmt.Errorf("%w: expansion node %q already exists with another definition", ErrDuplicateID, id)
			}
			reuse[id] = true
		}
		for _, name := range def.InputNames() {
			if ref, ok := def.Inputs[name].(Ref); ok {
				if err := r.checkLink(newNodes, ref); err != nil {
					return fmt.Errorf("expanded node %s input %q: %w", id, name, err)
				}
			}
		}
	}
	for _, res := range results {
		if res.Expand == nil {
			continue
		}
		for i, item := range res.Expand.Outputs {
			if ref, ok := item.(Ref); ok {
				if err := r.checkLink(newNodes, ref); err != nil {
					return fmt.Errorf("expansion output %d: %w", i, err)
				}
			}
		}
	}
	if r.pol.Strategy == policy.Restrict {
		if err := r.checkRestrict(n, newNodes, results); err != nil {
			return err
		}
	}
	gen := &generation{}
	r.ephMu.Lock()
	for _, id := range ids {
		if reuse[id] {
			continue
		}
		gen.ids = append(gen.ids, id)
		def := newNodes[id]
		display := n.displayID()
		if def.DisplayID != "" {
			display = def.DisplayID
		}
		r.eph[id] = &ephDef{def: def, parent: n.id, real: n.realID(), display: display, gen: gen}
		for _, v := range def.Inputs {
			if ref, isRef := v.(Ref); isRef {
				if d := r.eph[ref.Node]; d != nil && d.gen != gen && !slices.Contains(gen.deps, d.gen) {
					d.gen.refs++
					gen.deps = append(gen.deps, d.gen)
				}
			}
		}
		for _, v := range def.Inputs {
			if _, isRef := v.(Ref); !isRef {
				lifetime.Resources(v, func(x lifetime.Resource) { gen.held = append(gen.held, x) })
			}
		}
	}
	r.ephMu.Unlock()
	if gen.held != nil {
		// Values copied into the new nodes as literals (a loop's carried
		// values) live as long as the generation.
		r.e.refs.Hold(gen.held)
		if r.gens == nil {
			r.gens = map[*generation]bool{}
		}
		r.gens[gen] = true
	}
	for _, id := range ids {
		if t, _ := r.e.reg.Lookup(newNodes[id].Class); t.Schema.OutputNode {
			p, err := r.node(id)
			if err != nil {
				return err
			}
			r.schedule(p)
		}
	}
	// n's own inputs stay bound until the new nodes have bound theirs, so
	// a value both read is never released in between.
	inputs := n.ins
	n.ins = nil
	var err error
	if len(results) == 1 && !n.pinnedOut {
		err = r.forward(n, results[0].Expand.Outputs, ui)
	} else {
		err = r.await(n, results, ui)
	}
	if err != nil {
		return err
	}
	r.drain()
	r.unbindList(inputs)
	r.unpin(n)
	if n.state == stDone {
		r.maybeCollect(n)
	}
	r.maybeDropGen(gen) // when nothing of it is needed (or all of it was a cache hit)
	return nil
}

// checkLink checks that ref names a new node or one the run knows, with an
// output index in range.
func (r *run) checkLink(newNodes Workflow, ref Ref) error {
	def, ok := newNodes[ref.Node]
	if !ok {
		def, _, ok = r.lookup(ref.Node)
	}
	if !ok {
		return fmt.Errorf("%w: %q", ErrMissingNode, ref.Node)
	}
	t, ok := r.e.reg.Lookup(def.Class)
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownClass, def.Class)
	}
	if ref.Out < 0 || ref.Out >= len(t.Schema.Outputs) {
		return fmt.Errorf("%w: [%q, %d] (class %s has %d outputs)", ErrBadOutput, ref.Node, ref.Out, def.Class, len(t.Schema.Outputs))
	}
	return nil
}

// checkRestrict enforces the restrict rule: links out of the expansion go
// only to nodes n depends on.
func (r *run) checkRestrict(n *rnode, newNodes Workflow, results []Result) error {
	var anc map[NodeID]bool
	check := func(ref Ref) error {
		if _, isNew := newNodes[ref.Node]; isNew {
			return nil
		}
		if anc == nil {
			anc = r.ancestorIDs(n.def)
		}
		if !anc[ref.Node] {
			return &lifetime.RestrictError{Expander: string(n.id), Target: string(ref.Node)}
		}
		return nil
	}
	for _, id := range newNodes.IDs() {
		def := newNodes[id]
		for _, name := range def.InputNames() {
			if ref, ok := def.Inputs[name].(Ref); ok {
				if err := check(ref); err != nil {
					return err
				}
			}
		}
	}
	for _, res := range results {
		if res.Expand == nil {
			continue
		}
		for _, item := range res.Expand.Outputs {
			if ref, ok := item.(Ref); ok {
				if err := check(ref); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// ancestorIDs returns every node id def transitively links to.
func (r *run) ancestorIDs(def *Node) map[NodeID]bool {
	seen := map[NodeID]bool{}
	stack := []*Node{def}
	for len(stack) > 0 {
		d := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, v := range d.Inputs {
			ref, ok := v.(Ref)
			if !ok || seen[ref.Node] {
				continue
			}
			seen[ref.Node] = true
			if pd, _, ok := r.lookup(ref.Node); ok {
				stack = append(stack, pd)
			}
		}
	}
	return seen
}

// forward makes n's consumers read the expansion's outputs directly, so n
// finishes at once. Chains of tail expansions (loops) then hold no pending
// node per iteration.
func (r *run) forward(n *rnode, items []any, ui map[string][]any) error {
	if err := r.setForward(n, items); err != nil {
		return err
	}
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
			blocking := !b.lazy && !c.potential
			r.tr.DoneReader(n.slot(b.out))
			n.nbind--
			b.counted = false
			if blocking {
				c.blockers--
			}
			if b.raw {
				if err := r.bindRaw(c, b, b.ref); err != nil {
					return fmt.Errorf("node %s input %q: %w", c.id, b.name, err)
				}
				continue
			}
			item := n.fwded()[b.out]
			ref, isRef := item.(Ref)
			if !isRef {
				b.src, b.lit, b.lazy = nil, item, false
				if hasResource(item) { // a value the expansion returned as a literal
					r.e.refs.Hold(item)
					b.litHeld = true
				}
				continue
			}
			if err := r.bindLink(c, b, ref); err != nil {
				return fmt.Errorf("node %s input %q: %w", c.id, b.name, err)
			}
		}
	}
	if n.pinCount > 0 { // expanders downstream pin n: pin what n forwards to
		for _, s := range n.slots {
			r.tr.Unpin(s)
		}
		r.pinForwardTargets(n)
	}
	for _, s := range n.slots {
		r.tr.Discard(s)
	}
	n.slots = nil
	n.state = stDone
	r.pending--
	if ui != nil {
		r.res.Outputs[n.id] = ui
	}
	r.em.emit(Event{Type: EventExecuted, Node: n.id, Display: n.displayID(), Real: n.realID(), Class: n.def.Class, Output: ui})
	for _, c := range consumers {
		r.readyIfFree(c)
	}
	r.timeline(n)
	return nil
}

// setForward records where n's outputs come from, resolved to the end of
// any chain of forwards, and holds those nodes (so they are not collected
// while n may still be linked to). Nodes that forwarded to n are
// redirected to n's targets, so chains never grow: a loop of any length
// is one hop.
func (r *run) setForward(n *rnode, items []any) error {
	n.x().fwd = make([]any, len(items))
	for i, item := range items {
		ref, isRef := item.(Ref)
		if !isRef {
			n.fwded()[i] = item
			if hasResource(item) {
				// Held as long as n is: a re-execution downstream may
				// resolve through n again.
				r.e.refs.Hold(item)
				n.x().fwdLits = append(n.x().fwdLits, item)
			}
			continue
		}
		p, out, lit, isLit, err := r.resolve(ref)
		if err != nil {
			return fmt.Errorf("expansion output %d: %w", i, err)
		}
		if isLit {
			n.fwded()[i] = lit
			continue
		}
		n.fwded()[i] = Ref{Node: p.id, Out: out}
		r.holdFwd(n, p)
	}
	from := n.x().fwdFrom
	n.x().fwdFrom = nil
	for _, f := range from {
		for i, item := range f.fwded() {
			if ref, ok := item.(Ref); ok && ref.Node == n.id {
				f.fwded()[i] = n.fwded()[ref.Out]
				if t, ok := n.fwded()[ref.Out].(Ref); ok {
					tn, _ := r.node(t.Node)
					r.holdFwd(f, tn)
				}
			}
		}
		r.releaseFwd(f, n)
	}
	return nil
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
	n.x().sub = &subgraphWait{results: results, ui: ui}
	for _, res := range results {
		if res.Expand == nil {
			continue
		}
		for _, item := range res.Expand.Outputs {
			if _, isRef := item.(Ref); !isRef && hasResource(item) {
				r.e.refs.Hold(item)
				n.x().sub.held = append(n.x().sub.held, item)
			}
		}
	}
	n.state = stPending
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
	r.complete(n, outs, sub.ui)
	if sub.held != nil {
		if err := r.e.refs.Drop(sub.held); err != nil {
			r.fail(n, TypeExecution, err)
		}
	}
}
