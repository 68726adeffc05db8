// expansion.go: accepting an expansion: checking the new nodes, adding them as a generation, and forwarding or awaiting.

package engine

import (
	"fmt"
	"reflect"
	"slices"

	"github.com/ebbgraph/ebb/lifetime"
)

// expand accepts the expansions n returned: it validates the new nodes
// atomically, enforces the restrict rule, adds them to the graph and makes
// n's outputs follow the subgraph (forwarding, or waiting when n has several
// calls or pinned outputs).
func (r *run) expand(n *rnode, calls []*Call, results []Result, ui map[string][]any) error {
	newNodes, err := expansionNodes(n, results)
	if err != nil {
		return err
	}
	ids := newNodes.IDs()
	var reuse map[NodeID]bool
	types := make([]*NodeType, len(ids))
	for i, id := range ids {
		def := newNodes[id]
		t, ok := r.e.reg.Lookup(def.Class)
		if !ok {
			return fmt.Errorf("%w: %q (expanded node %s)", ErrUnknownClass, def.Class, id)
		}
		types[i] = t
		if old, _, exists := r.lookup(id); exists {
			if !reflect.DeepEqual(old, def) {
				return fmt.Errorf("%w: expansion node %q already exists with another definition", ErrDuplicateID, id)
			}
			if reuse == nil {
				reuse = map[NodeID]bool{}
			}
			reuse[id] = true
		}
		// Unsorted (sorting every node's input names cost 7% of a loop's
		// CPU), but the error is the first input's in name order.
		var bad string
		var badErr error
		for name, v := range def.Inputs {
			if ref, ok := v.(Ref); ok && (badErr == nil || name < bad) {
				if err := r.checkLink(newNodes, ref); err != nil {
					bad, badErr = name, err
				}
			}
		}
		if badErr != nil {
			return fmt.Errorf("expanded node %s input %q: %w", id, bad, badErr)
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
	if err := r.strat.checkExpansion(r, n, newNodes, ids, results); err != nil {
		return err
	}
	depth := 1
	if g := n.gen(); g != nil {
		depth = g.depth + 1
	}
	if depth > r.lim.MaxExpansionDepth {
		return &LimitError{Limit: "max-expansion-depth", Value: int64(r.lim.MaxExpansionDepth)}
	}
	if r.expNodes += int64(len(ids) - len(reuse)); r.expNodes > r.lim.MaxExpansionNodes {
		return fmt.Errorf("%d nodes added so far: %w", r.expNodes, &LimitError{Limit: "max-expansion-nodes", Value: r.lim.MaxExpansionNodes})
	}
	gen := &generation{parent: n.id, slot: noSlot, depth: depth, ids: make([]NodeID, 0, len(ids)-len(reuse))}
	r.writeEph()
	var held []any                                 // device values in the new nodes' literals
	defs := make([]ephDef, 0, len(ids)-len(reuse)) // one allocation for the new nodes' origins
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
		defs = append(defs, ephDef{def: def, parent: n.id, real: n.realID(), display: display, gen: gen})
		r.eph[id] = &defs[len(defs)-1]
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
				lifetime.Resources(v, func(x lifetime.Resource) { held = append(held, x) })
			}
		}
	}
	if held != nil {
		// Values copied into the new nodes as literals (a loop's carried
		// values) live as long as the generation.
		gen.slot = r.tr.Keep(gen, held)
		if r.gens == nil {
			r.gens = map[*generation]bool{}
		}
		r.gens[gen] = true
	}
	for i, id := range ids {
		if types[i].Schema.OutputNode {
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
	if n.state.produced() {
		r.maybeCollect(n)
	}
	r.maybeDropGen(gen) // when nothing of it is needed (or all of it was a cache hit)
	return nil
}

// expansionNodes returns the new nodes of n's expansions: the one
// expansion's own map when there is one (read, never written), else a
// merge that refuses an id two expansions share.
func expansionNodes(n *rnode, results []Result) (Workflow, error) {
	var only Workflow
	count := 0
	for _, res := range results {
		if res.Expand == nil {
			continue
		}
		if len(res.Expand.Outputs) != len(n.typ.Schema.Outputs) {
			return nil, fmt.Errorf("%w: expansion has %d outputs, class %s declares %d", ErrBadResult, len(res.Expand.Outputs), n.def.Class, len(n.typ.Schema.Outputs))
		}
		only = res.Expand.Nodes
		count++
	}
	if count == 1 {
		for id, def := range only {
			if def == nil {
				return nil, fmt.Errorf("%w: %q appears twice in one expansion (or is nil)", ErrDuplicateID, id)
			}
		}
		return only, nil
	}
	merged := Workflow{}
	for _, res := range results {
		if res.Expand == nil {
			continue
		}
		for id, def := range res.Expand.Nodes {
			if _, dup := merged[id]; dup || def == nil {
				return nil, fmt.Errorf("%w: %q appears twice in one expansion (or is nil)", ErrDuplicateID, id)
			}
			merged[id] = def
		}
	}
	return merged, nil
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
