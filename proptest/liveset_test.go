// liveset_test.go: checkLiveSet, invariant 3 node by node: the device's use before each node.

package proptest

import (
	"fmt"
	"slices"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/policy"
)

// checkLiveSet checks invariant 3 node by node on a static workflow run at
// parallelism 1 as the first run of its engine: just before each node
// starts, the device holds exactly the values whose slot has a pending
// reader or a pin, at every level (a cache may keep nothing else: it
// starts empty and a released value leaves it). The readers are computed
// from the workflow, the events and the ledger, not from the engine, by
// the rules of docs/lifetime.md:
//
//   - a pending reader of a slot is a node that links to it (lazily or
//     not), has not completed, and is scheduled (reached from the output
//     nodes through links, a lazy link only once it was requested) or
//     potential (reached from a pending lazy node's unrequested lazy link,
//     and from there through any link, without having run);
//   - level 0 keeps every slot; level 1 keeps a slot that had a pending
//     reader when its node completed; level 2 one that has one now;
//     outputs of output nodes, and of NotReexecutable nodes under
//     reexecute and auto, are pinned.
//
// PLazy asks for one input per round (a, b, c in that order), so the
// inputs it has requested by a point are the first k of those its run
// got, k being its dispatches so far. Runs that failed, re-executed or map
// a lazy node over a list are not checked.
func checkLiveSet(t tb, spec *Spec, out *outcome) {
	t.Helper()
	if out.res.Status != engine.StatusSuccess || out.res.Stats.Reexecutions > 0 || out.cfg.par != 1 {
		return
	}
	wf := spec.WF
	// slot values and lazy needs from the ledger, per node in call order
	values := map[engine.NodeID][][]any{}
	needs := map[engine.NodeID][]string{}
	for _, c := range slices.SortedFunc(slices.Values(out.calls), func(a, b CallRecord) int { return a.Index - b.Index }) {
		if c.Err != nil || c.Outputs == nil {
			continue
		}
		if c.Class == ClassLazy {
			if c.Index > 0 {
				return // mapped: needs differ per call
			}
			for _, name := range []string{"a", "b", "c"} {
				if slices.Contains(c.Inputs, name) {
					needs[c.Node] = append(needs[c.Node], name)
				}
			}
		}
		typ, _ := reg.Lookup(c.Class)
		vs := values[c.Node]
		if vs == nil {
			vs = make([][]any, len(c.Outputs))
		}
		for j, v := range c.Outputs {
			if l, ok := v.([]any); ok && typ.Schema.Outputs[j].IsList {
				vs[j] = append(vs[j], l...)
			} else {
				vs[j] = append(vs[j], v)
			}
		}
		values[c.Node] = vs
	}
	consumers := map[engine.Ref][]engine.NodeID{}
	for id, n := range wf {
		for _, v := range n.Inputs {
			if r, ok := v.(engine.Ref); ok {
				consumers[r] = append(consumers[r], id)
			}
		}
	}
	pinned := func(id engine.NodeID) bool {
		switch wf[id].Class {
		case ClassOut:
			return true
		case ClassNoRe:
			return out.pol.Strategy.Reexecutes()
		}
		return false
	}
	lazyInput := func(id engine.NodeID, name string) bool {
		t, _ := reg.Lookup(wf[id].Class)
		in, ok := t.Schema.Input(name)
		return ok && in.Lazy
	}
	// state after the first `upto` events
	type state struct {
		done, live map[engine.NodeID]bool
	}
	stateAt := func(upto int) state {
		done := map[engine.NodeID]bool{}
		dispatches := map[engine.NodeID]int{}
		for _, ev := range out.events[:upto] {
			switch ev.Type {
			case engine.EventExecuted:
				done[ev.Node] = true
			case engine.EventExecuting:
				dispatches[ev.Node]++
			}
		}
		requested := func(id engine.NodeID, name string) bool {
			k := min(dispatches[id], len(needs[id]))
			return slices.Contains(needs[id][:k], name)
		}
		live := map[engine.NodeID]bool{}
		var stack []engine.NodeID
		push := func(id engine.NodeID) {
			if !live[id] && !done[id] {
				live[id] = true
				stack = append(stack, id)
			}
		}
		for id, n := range wf {
			if t, _ := reg.Lookup(n.Class); t.Schema.OutputNode {
				push(id)
			}
		}
		var potential []engine.NodeID
		for len(stack) > 0 { // scheduled
			id := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for name, v := range wf[id].Inputs {
				r, ok := v.(engine.Ref)
				if !ok {
					continue
				}
				if lazyInput(id, name) && !requested(id, name) {
					potential = append(potential, r.Node)
					continue
				}
				push(r.Node)
			}
		}
		for _, id := range potential { // potential, through any link
			push(id)
		}
		for len(stack) > 0 {
			id := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, v := range wf[id].Inputs {
				if r, ok := v.(engine.Ref); ok {
					push(r.Node)
				}
			}
		}
		return state{done, live}
	}
	doneAt := map[engine.NodeID]int{}
	for i, ev := range out.events {
		if ev.Type == engine.EventExecuted {
			doneAt[ev.Node] = i
		}
	}
	hasReader := func(r engine.Ref, st state) bool {
		for _, c := range consumers[r] {
			if st.live[c] {
				return true
			}
		}
		return false
	}
	keep := func(r engine.Ref, now state) bool {
		switch {
		case out.pol.Level == policy.KeepAll || pinned(r.Node):
			return true
		case out.pol.Level == policy.ReleaseUnreferenced:
			return hasReader(r, stateAt(doneAt[r.Node]))
		}
		return hasReader(r, now)
	}
	for _, smp := range out.samples {
		now := stateAt(smp.event)
		seen := map[*engine.Buffer]bool{}
		var want int64
		var live []string
		for _, id := range sortedIDs(now.done) {
			for j, vals := range values[id] {
				if !keep(engine.Ref{Node: id, Out: j}, now) {
					continue
				}
				for _, v := range vals {
					if b, ok := v.(*engine.Buffer); ok && !seen[b] {
						seen[b] = true
						want += b.Bytes()
						live = append(live, fmt.Sprintf("%s:%d=%d", id, j, b.Bytes()))
					}
				}
			}
		}
		if smp.inUse != want {
			t.Fatalf("before node %s ran, the device held %d bytes; values with a pending reader or a pin: %d %v\n%v",
				out.events[smp.event].Node, smp.inUse, want, live, out)
		}
	}
}
