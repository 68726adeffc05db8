package expand

import (
	"maps"
	"slices"
	"strconv"

	"github.com/ebbgraph/ebb/engine"
)

// GraphBuilder builds the subgraph of an expansion (ComfyUI's GraphBuilder).
// Nodes are named by a local id; their node id is the builder's prefix
// followed by the local id, so ids are deterministic: the same call building
// the same graph produces the same ids in every run.
//
// A GraphBuilder is not safe for concurrent use; a node body owns the
// builders it makes.
type GraphBuilder struct {
	prefix string
	nodes  map[string]*NodeRef
	order  []string // local ids in creation order
	next   int      // next automatic local id
	slab   []NodeRef
}

// grow makes room for n more nodes.
func (b *GraphBuilder) grow(n int) {
	b.order = slices.Grow(b.order, n)
	if len(b.slab) < n {
		b.slab = make([]NodeRef, n)
	}
}

// NodeRef is one node of a GraphBuilder. Its methods change the node in
// place until the builder is finalized.
type NodeRef struct {
	local   string
	id      engine.NodeID
	class   string
	inputs  map[string]any
	display engine.NodeID
	shared  bool // inputs is also a workflow's (Result): copy before a change
}

// NewBuilder returns a builder whose ids start with a fresh prefix of the
// call (engine.Call.NewPrefix): short, unique in the run, and the same in
// every run for the same node and call index.
func NewBuilder(c *engine.Call) *GraphBuilder { return NewBuilderPrefix(c.NewPrefix()) }

// NewBuilderPrefix returns a builder whose node ids are prefix + local id.
// Callers outside a node call (tests, tools building workflows) use it; an
// empty prefix gives the local ids themselves.
func NewBuilderPrefix(prefix string) *GraphBuilder {
	return &GraphBuilder{prefix: prefix, nodes: map[string]*NodeRef{}, next: 1}
}

// Prefix returns the builder's id prefix.
func (b *GraphBuilder) Prefix() string { return b.prefix }

// Node adds a node of class with the given inputs and returns it. An input
// value is an engine.Ref (a link) or a literal; nil values are left out.
// An empty local id picks the next unused one of "1", "2", ... A local id
// that already names a node returns that node unchanged (class and inputs
// are ignored), as ComfyUI's GraphBuilder does.
func (b *GraphBuilder) Node(class, local string, inputs map[string]any) *NodeRef {
	n, made := b.node(class, local, len(inputs))
	if made {
		for k, v := range inputs {
			n.Set(k, v)
		}
	}
	return n
}

// node is Node without inputs, with room for size of them; made says
// whether it is new.
func (b *GraphBuilder) node(class, local string, size int) (n *NodeRef, made bool) {
	if local == "" {
		for {
			local = strconv.Itoa(b.next)
			b.next++
			if _, used := b.nodes[local]; !used {
				break
			}
		}
	}
	if n, ok := b.nodes[local]; ok {
		return n, false
	}
	if len(b.slab) == 0 {
		b.slab = make([]NodeRef, max(4, len(b.order))) // NodeRefs in chunks
	}
	n, b.slab = &b.slab[0], b.slab[1:]
	*n = NodeRef{
		local:  local,
		id:     engine.NodeID(b.prefix + local),
		class:  class,
		inputs: make(map[string]any, size),
	}
	b.nodes[local] = n
	b.order = append(b.order, local)
	return n, true
}

// Lookup returns the node with the local id, or nil.
func (b *GraphBuilder) Lookup(local string) *NodeRef { return b.nodes[local] }

// Len returns the number of nodes.
func (b *GraphBuilder) Len() int { return len(b.nodes) }

// Finalize returns the built graph with full ids. The nodes are copies:
// changing the builder afterwards does not change the workflow.
func (b *GraphBuilder) Finalize() engine.Workflow {
	w := make(engine.Workflow, len(b.nodes))
	for _, local := range b.order {
		n := b.nodes[local]
		w[n.id] = &engine.Node{Class: n.class, Inputs: maps.Clone(n.inputs), DisplayID: n.display}
	}
	return w
}

// Result returns a node result that expands into the built graph. Each
// output is a link (NodeRef.Out) or a literal, one per declared output of
// the expanding node.
//
// The workflow shares its nodes' input maps with the builder (a node
// changed afterwards copies its map first), so a result costs no copy.
func (b *GraphBuilder) Result(outputs ...any) engine.Result {
	w := make(engine.Workflow, len(b.nodes))
	defs := make([]engine.Node, len(b.order)) // one allocation for every node
	for i, local := range b.order {
		n := b.nodes[local]
		n.shared = true
		defs[i] = engine.Node{Class: n.class, Inputs: n.inputs, DisplayID: n.display}
		w[n.id] = &defs[i]
	}
	return engine.Result{Expand: &engine.Expansion{Nodes: w, Outputs: slices.Clone(outputs)}}
}

// ID returns the node's full id.
func (n *NodeRef) ID() engine.NodeID { return n.id }

// Local returns the node's local id.
func (n *NodeRef) Local() string { return n.local }

// Class returns the node's class.
func (n *NodeRef) Class() string { return n.class }

// Out returns a link to output i.
func (n *NodeRef) Out(i int) engine.Ref { return engine.Ref{Node: n.id, Out: i} }

// Set sets an input to a link or a literal; nil deletes it. It returns n.
func (n *NodeRef) Set(name string, value any) *NodeRef {
	if n.shared {
		n.inputs, n.shared = maps.Clone(n.inputs), false
	}
	if value == nil {
		delete(n.inputs, name)
	} else {
		n.inputs[name] = value
	}
	return n
}

// Input returns an input's value and whether it is set.
func (n *NodeRef) Input(name string) (any, bool) {
	v, ok := n.inputs[name]
	return v, ok
}

// SetDisplay sets the node that shows this node's progress (ComfyUI's
// override_display_id). It returns n.
func (n *NodeRef) SetDisplay(id engine.NodeID) *NodeRef {
	n.display = id
	return n
}

// Value returns v as an input value that is always read as a literal: a
// value that is itself an engine.Ref (or an engine.Literal) is wrapped in an
// engine.Literal, anything else is returned as it is. Use it for values a
// node received and passes into an expansion.
func Value(v any) any {
	switch v.(type) {
	case engine.Ref, engine.Literal:
		return engine.Literal{Value: v}
	}
	return v
}
