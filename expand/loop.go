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
func ValueInput(i int) string {
	if i >= 0 && i < len(valueInputs) {
		return valueInputs[i]
	}
	return "initial_value" + strconv.Itoa(i)
}

// valueInputs are the first ValueInput names, made once.
var valueInputs = func() (names [16]string) {
	for i := range names {
		names[i] = "initial_value" + strconv.Itoa(i)
	}
	return names
}()

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
	body, clones, err := cloneBody(b, c.Graph, open, c.Node)
	if err != nil {
		return engine.Result{}, err
	}
	head := clones[at(body, open)]
	for i, v := range values {
		head.Set(ValueInput(i), Value(v))
	}
	self := clones[at(body, c.Node)]
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
	type edge struct{ from, to engine.NodeID }
	var edges []edge
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
		for _, v := range n.Inputs { // any order: the body is a set, sorted below
			r, ok := v.(engine.Ref)
			if !ok {
				continue
			}
			edges = append(edges, edge{r.Node, id})
			if !seen[r.Node] {
				seen[r.Node] = true
				stack = append(stack, r.Node)
			}
		}
	}
	slices.SortFunc(edges, func(a, b edge) int { return cmp.Compare(a.from, b.from) })
	in := seen // reused: now the nodes reached downward from open
	clear(in)
	in[open], in[close] = true, true
	stack = append(stack[:0], open)
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		i, _ := slices.BinarySearchFunc(edges, id, func(e edge, t engine.NodeID) int { return cmp.Compare(e.from, t) })
		for ; i < len(edges) && edges[i].from == id; i++ {
			if ch := edges[i].to; !in[ch] {
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

// cloneBody clones the loop body from open to close into b and returns
// the body (sorted ids) and the clones, by position in the body.
func cloneBody(b *GraphBuilder, g engine.GraphReader, open, close engine.NodeID) ([]engine.NodeID, []*NodeRef, error) {
	body, err := LoopBody(g, open, close)
	if err != nil {
		return nil, nil, err
	}
	names := bodyNames(g, body, close)
	b.grow(len(body))
	clones := make([]*NodeRef, len(body))
	defs := make([]*engine.Node, len(body))
	for i, id := range body {
		n, ok := g.Node(id)
		if !ok {
			return nil, nil, fmt.Errorf("expand: loop %s..%s: node %s: %w", open, close, id, engine.ErrMissingNode)
		}
		defs[i] = n
		clone, _ := b.node(n.Class, names[i], len(n.Inputs))
		clones[i] = clone.SetDisplay(g.Display(id))
	}
	for i, clone := range clones {
		for name, v := range defs[i].Inputs {
			if r, ok := v.(engine.Ref); ok {
				if k := at(body, r.Node); k >= 0 {
					v = clones[k].Out(r.Out)
				}
			}
			clone.Set(name, v)
		}
	}
	return body, clones, nil
}

// at is id's position in the sorted ids, or -1.
func at(ids []engine.NodeID, id engine.NodeID) int {
	if i, ok := slices.BinarySearch(ids, id); ok {
		return i
	}
	return -1
}

// bodyNames picks the clones' local ids, by position in body: RecurseLocal
// for close, the display node for the others, with "~N" added where
// display nodes repeat. Nodes are named in (display node, id) order, so
// that the names of one iteration's clones, whose ids share a prefix, come
// out the same in the next iteration.
func bodyNames(g engine.GraphReader, body []engine.NodeID, close engine.NodeID) []string {
	type entry struct {
		i    int
		base string
	}
	rest := make([]entry, 0, len(body))
	names := make([]string, len(body))
	for i, id := range body {
		if id == close {
			names[i] = RecurseLocal
			continue
		}
		base := string(g.Display(id))
		if base == "" {
			base = string(id)
		}
		rest = append(rest, entry{i, base})
	}
	slices.SortFunc(rest, func(a, b entry) int {
		return cmp.Or(cmp.Compare(a.base, b.base), cmp.Compare(body[a.i], body[b.i]))
	})
	used := func(name string) bool { return slices.Contains(names, name) }
	for _, e := range rest {
		name := e.base
		for k := 1; used(name); k++ {
			name = e.base + "~" + strconv.Itoa(k)
		}
		names[e.i] = name
	}
	return names
}
