package expand

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"

	"github.com/ebbgraph/ebb/engine"
)

// RecurseLocal is the local id of the close node's clone in each loop
// iteration (ComfyUI's "Recurse").
const RecurseLocal = "Recurse"

// ValueInput returns the name of loop value input i, "initial_value<i>",
// as the open and close nodes of ComfyUI's loops call them.
func ValueInput(i int) string { return "initial_value" + strconv.Itoa(i) }

// WhileClose is the body of a while-loop close node (ComfyUI's
// TestWhileLoopClose). c is the close node's call; it needs c.Graph (the
// HiddenDynPrompt input). open is the loop's open node (the node of the
// close node's raw flow-control link), values are the loop values the close
// node received (nil for absent ones), and condition says whether to go on.
//
// When condition is false the loop is done and the result is values, one
// per output. Otherwise WhileClose expands into the next iteration by tail
// recursion: it clones the loop body (see LoopBody) into a new graph, sets
// the open clone's inputs initial_value0.. to values (nil deletes), and
// returns the outputs of its own clone, which does the same when it runs.
//
// Clone ids do not grow with the iteration count: a clone's local id is its
// original's display node (Call.Graph.Display, an original workflow id),
// except that the close node's clone is RecurseLocal and body nodes sharing
// a display node are told apart by a "~N" suffix in a deterministic order.
// Each clone's DisplayID is its original's display node, so progress shows
// on the workflow's own nodes.
func WhileClose(c *engine.Call, open engine.NodeID, values []any, condition bool) (engine.Result, error) {
	if !condition {
		return engine.Outputs(slices.Clone(values)...), nil
	}
	if c.Graph == nil {
		return engine.Result{}, fmt.Errorf("expand: while close %s: no graph (declare a HiddenDynPrompt input)", c.Node)
	}
	b := NewBuilder(c)
	clones, err := cloneBody(b, c.Graph, open, c.Node)
	if err != nil {
		return engine.Result{}, err
	}
	head := clones[open]
	for i, v := range values {
		head.Set(ValueInput(i), Value(v))
	}
	self := clones[c.Node]
	outs := make([]any, len(values))
	for i := range outs {
		outs[i] = self.Out(i)
	}
	return b.Result(outs...), nil
}

// LoopBody returns the body of the loop from open to close in g, sorted:
// every node that is downstream of open and upstream of close, plus open
// and close themselves. It walks link inputs upward from close; it does
// not walk above open, whose ancestors cannot be downstream of it.
func LoopBody(g engine.GraphReader, open, close engine.NodeID) ([]engine.NodeID, error) {
	children := map[engine.NodeID][]engine.NodeID{}
	seen := map[engine.NodeID]bool{close: true}
	stack := []engine.NodeID{close}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if id == open {
			continue
		}
		n, ok := g.Node(id)
		if !ok {
			return nil, fmt.Errorf("expand: loop %s..%s: node %s: %w", open, close, id, engine.ErrMissingNode)
		}
		for _, name := range n.InputNames() {
			r, ok := n.Inputs[name].(engine.Ref)
			if !ok {
				continue
			}
			children[r.Node] = append(children[r.Node], id)
			if !seen[r.Node] {
				seen[r.Node] = true
				stack = append(stack, r.Node)
			}
		}
	}
	in := map[engine.NodeID]bool{open: true, close: true}
	stack = append(stack[:0], open)
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, ch := range children[id] {
			if !in[ch] {
				in[ch] = true
				stack = append(stack, ch)
			}
		}
	}
	body := make([]engine.NodeID, 0, len(in))
	for id := range in {
		body = append(body, id)
	}
	slices.Sort(body)
	return body, nil
}

// cloneBody clones the loop body from open to close into b and returns the
// clones by original id.
func cloneBody(b *GraphBuilder, g engine.GraphReader, open, close engine.NodeID) (map[engine.NodeID]*NodeRef, error) {
	body, err := LoopBody(g, open, close)
	if err != nil {
		return nil, err
	}
	names := bodyNames(g, body, close)
	clones := make(map[engine.NodeID]*NodeRef, len(body))
	defs := make(map[engine.NodeID]*engine.Node, len(body))
	for _, id := range body {
		n, ok := g.Node(id)
		if !ok {
			return nil, fmt.Errorf("expand: loop %s..%s: node %s: %w", open, close, id, engine.ErrMissingNode)
		}
		defs[id] = n
		clone, _ := b.node(n.Class, names[id], len(n.Inputs))
		clones[id] = clone.SetDisplay(g.Display(id))
	}
	for _, id := range body {
		clone := clones[id]
		for name, v := range defs[id].Inputs {
			if r, ok := v.(engine.Ref); ok {
				if to, in := clones[r.Node]; in {
					v = to.Out(r.Out)
				}
			}
			clone.Set(name, v)
		}
	}
	return clones, nil
}

// bodyNames picks the clones' local ids: RecurseLocal for close, the
// display node for the others, with "~N" added where display nodes repeat.
// Nodes are named in (display node, id) order, so that the names of one
// iteration's clones, whose ids share a prefix, come out the same in the
// next iteration.
func bodyNames(g engine.GraphReader, body []engine.NodeID, close engine.NodeID) map[engine.NodeID]string {
	type entry struct {
		id   engine.NodeID
		base string
	}
	rest := make([]entry, 0, len(body))
	for _, id := range body {
		if id == close {
			continue
		}
		base := string(g.Display(id))
		if base == "" {
			base = string(id)
		}
		rest = append(rest, entry{id, base})
	}
	slices.SortFunc(rest, func(a, b entry) int {
		return cmp.Or(cmp.Compare(a.base, b.base), cmp.Compare(a.id, b.id))
	})
	names := map[engine.NodeID]string{close: RecurseLocal}
	used := map[string]bool{RecurseLocal: true}
	for _, e := range rest {
		name := e.base
		for k := 1; used[name]; k++ {
			name = e.base + "~" + strconv.Itoa(k)
		}
		used[name] = true
		names[e.id] = name
	}
	return names
}
