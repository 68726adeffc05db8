// lateedge.go: the late-edge strategy in one place: its hooks, pins, re-execution and the restrict rule.

package engine

import (
	"errors"
	"fmt"

	"github.com/ebbgraph/ebb/policy"
)

// strategy is what a run does about late edges (links to released
// outputs). It is two parts: restrict pins a pending expander's upstream
// and refuses expansions that link elsewhere; reexecute runs the producer
// of a released output again and pins what must not run twice. Auto is
// literally both: it pins like restrict, and where restrict would refuse,
// reexecute's answer wins.
//
// The run calls its hooks and nothing else decides on a strategy.
type strategy struct {
	restrict  bool
	reexecute bool
}

func newStrategy(s policy.Strategy) strategy {
	restrict := strategy{restrict: true}
	reexecute := strategy{reexecute: true}
	switch s {
	case policy.Restrict:
		return restrict
	case policy.Reexecute:
		return reexecute
	}
	return strategy{restrict: true, reexecute: true} // auto: restrict plus reexecute
}

// onPendingExpander is called when a node is bound (pending or
// potential): under restrict, an expander pins everything upstream of it,
// once, so what its expansion may link to stays live.
func (s strategy) onPendingExpander(r *run, n *rnode) {
	if s.restrict && !n.upPinned && isExpander(n.typ) {
		n.upPinned = true
		r.pinUpstream(n)
	}
}

// onIdle is called when a potential node goes back to idle: its upstream
// pins go with it.
func (s strategy) onIdle(r *run, n *rnode) {
	n.upPinned = false
	r.unpin(n)
}

// onLateEdge is called when n must read p's released slot out: reexecute
// schedules p again; restrict refuses.
func (s strategy) onLateEdge(r *run, n, p *rnode, out int) error {
	if s.reexecute {
		r.reexecute(p, out, n)
		return nil
	}
	return &RestrictError{Expander: string(n.realID()), Target: string(p.id)}
}

// afterComplete is called when n has its outputs (ran or cache hit):
// under reexecute, a node that must not run twice keeps its outputs
// pinned for the run.
func (s strategy) afterComplete(r *run, n *rnode) {
	if s.reexecute && !n.keepPinned && !isReexecutable(n.typ) && r.pol.Level != policy.KeepAll {
		n.keepPinned = true
		for i, sl := range n.slots {
			r.tr.Pin(sl)
			ev := n.event(EventPinned)
			ev.Slot = i
			r.em.emit(ev)
		}
	}
}

// checkExpansion is called before an expansion of n is accepted: restrict
// alone refuses links outside n's upstream (reexecute, and so auto,
// serves them by re-execution).
func (s strategy) checkExpansion(r *run, n *rnode, newNodes Workflow, ids []NodeID, results []Result) error {
	if !s.restrict || s.reexecute {
		return nil
	}
	var anc map[NodeID]bool
	check := func(ref Ref) error {
		if _, isNew := newNodes[ref.Node]; isNew {
			return nil
		}
		if anc == nil {
			anc = r.ancestorIDs(n.def)
		}
		if !anc[ref.Node] {
			return &RestrictError{Expander: string(n.id), Target: string(ref.Node)}
		}
		return nil
	}
	for _, id := range ids {
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

// reexecute runs p again because n needs its released slot out.
func (r *run) reexecute(p *rnode, out int, n *rnode) {
	for _, s := range p.slots {
		r.tr.Reset(s)
	}
	if !r.transition(p, stIdle) {
		return
	}
	if p.ext != nil {
		p.ext.requested = nil
	}
	r.res.Stats.Reexecutions++
	if len(r.res.Stats.Reexecuted) < r.keep { // the first ones; Reexecutions counts all
		r.res.Stats.Reexecuted = append(r.res.Stats.Reexecuted, Reexecution{Node: p.id, Slot: out, Cause: n.id})
	}
	ev := p.event(EventReexecuted)
	ev.Slot, ev.Cause = out, n.id
	r.em.emit(ev)
	r.schedule(p)
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

// pinUpstream pins every output of every node n depends on.
func (r *run) pinUpstream(n *rnode) {
	r.eachAncestor(n, func(a *rnode) {
		r.pinNode(a)
		n.x().pins = append(n.x().pins, a)
	})
	if n.ext != nil && len(n.ext.pins) > 0 {
		ev := n.event(EventPinned)
		ev.Slot = len(n.ext.pins)
		r.em.emit(ev)
	}
}

// unpin drops the pins n holds on its upstream.
func (r *run) unpin(n *rnode) {
	if n.ext == nil {
		return
	}
	pins := n.ext.pins
	n.ext.pins = nil
	for _, a := range pins {
		r.unpinNode(a)
	}
}

// pinNode pins p's outputs (or, for a forwarded node, the nodes its
// outputs now come from) while any expander pins it.
func (r *run) pinNode(p *rnode) {
	p.pinCount++
	if p.pinCount > 1 {
		return
	}
	if p.state == stIdle || p.state == stPotential {
		p.pinHeld = true // its own inputs count as read while it is pinned
		r.hold(p)
		r.makePotential(p)
	}
	if p.state == stForwarded {
		r.pinForwardTargets(p)
		return
	}
	for _, s := range p.slots {
		r.tr.Pin(s)
	}
}

// pinForwardTargets pins, for forwarded p, the nodes its Refs lead to.
func (r *run) pinForwardTargets(p *rnode) {
	for out, item := range p.fwded() {
		if _, ok := item.(*fwdCell); ok {
			if t, _, _, isLit := r.followFwd(p, out); !isLit {
				r.pinNode(t)
				p.x().pinFwd = append(p.x().pinFwd, t)
			}
		}
	}
}

func (r *run) unpinNode(p *rnode) {
	p.pinCount--
	if p.pinCount > 0 {
		return
	}
	if p.pinHeld {
		p.pinHeld = false
		defer r.unhold(p)
	}
	if p.state == stForwarded {
		fw := p.x().pinFwd
		p.x().pinFwd = nil
		for _, t := range fw {
			r.unpinNode(t)
		}
	} else {
		for _, s := range p.slots {
			r.tr.Unpin(s)
		}
	}
	r.maybeCollect(p)
}

// eachAncestor calls f once for every node n transitively links to (lazy
// links included), creating idle rnodes as needed.
func (r *run) eachAncestor(n *rnode, f func(*rnode)) {
	r.markGen++
	gen := r.markGen
	n.mark = gen
	stack := append(r.ancStack, n) // r.ancStack is nil while a walk runs: f may walk too
	r.ancStack = nil
	defer func() { r.ancStack = stack[:0] }()
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, v := range x.def.Inputs {
			ref, ok := v.(Ref)
			if !ok {
				continue
			}
			p, err := r.node(ref.Node)
			if err != nil || p.mark == gen {
				continue
			}
			p.mark = gen
			f(p)
			stack = append(stack, p)
		}
	}
}

func isExpander(t *NodeType) bool {
	_, ok := t.Runner.(MayExpand)
	return ok
}

func isReexecutable(t *NodeType) bool {
	_, no := t.Runner.(NotReexecutable)
	return !no
}

// ErrRestricted is wrapped by RestrictError.
var ErrRestricted = errors.New("engine: expansion links outside the restrict rule")

// RestrictError reports an expansion that broke the restrict rule: the
// expanding node linked to a node it does not depend on.
type RestrictError struct {
	Expander string
	Target   string
}

func (e *RestrictError) Error() string {
	return fmt.Sprintf("restrict: expansion by node %s links to node %s, which %s does not depend on "+
		"(an expansion may link only to outputs of nodes the expanding node already depends on, or to its own new nodes; "+
		"use strategy auto or reexecute to allow it)", e.Expander, e.Target, e.Expander)
}

func (e *RestrictError) Unwrap() error { return ErrRestricted }
