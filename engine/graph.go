// graph.go: the graph model: NodeID, Ref, Node, Workflow, Literal and the GraphReader calls see.

package engine

import (
	"fmt"
	"maps"
	"slices"
)

// NodeID names a node. Original nodes have the ids of the workflow;
// ephemeral nodes made by expansion get deterministic ids from their parent.
type NodeID string

// Ref names one output slot: output Out of node Node. As an input value it
// is a link; everything else is a literal.
type Ref struct {
	Node NodeID
	Out  int
}

func (r Ref) String() string { return fmt.Sprintf("[%q, %d]", r.Node, r.Out) }

// Node is the definition of one node: its class and its inputs. An input
// value is a Ref (a link) or a literal. Definitions are immutable once a
// run has accepted them.
type Node struct {
	Class  string
	Inputs map[string]any
	// DisplayID, when set on a node of an expansion, is the node that shows
	// its progress (ComfyUI's override_display_id). Empty means the parent.
	DisplayID NodeID
	// Title is ComfyUI's _meta.title, kept for round trips; not used.
	Title string
}

// Link returns the input name's link and whether it is one.
func (n *Node) Link(name string) (Ref, bool) {
	r, ok := n.Inputs[name].(Ref)
	return r, ok
}

// Clone returns a copy of n whose input map may be changed freely.
func (n *Node) Clone() *Node {
	c := *n
	c.Inputs = maps.Clone(n.Inputs)
	if c.Inputs == nil {
		c.Inputs = map[string]any{}
	}
	return &c
}

// InputNames returns n's input names in sorted order.
func (n *Node) InputNames() []string {
	return slices.Sorted(maps.Keys(n.Inputs))
}

// Workflow is a graph of node definitions keyed by id: the Go form of a
// ComfyUI API-format prompt.
type Workflow map[NodeID]*Node

// IDs returns the workflow's node ids in sorted order.
func (w Workflow) IDs() []NodeID {
	ids := make([]NodeID, 0, len(w))
	for id := range w {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Literal wraps a list literal so it is never read as a link (ComfyUI's
// {"__value__": [...]}). The engine unwraps it before a node sees it.
type Literal struct{ Value any }

// GraphReader is a read-only view of a run's dynamic graph (ComfyUI's
// DYNPROMPT): the workflow's nodes plus every ephemeral node added so far.
// It is valid only during the call it was given to.
type GraphReader interface {
	// Node returns the definition of id.
	Node(id NodeID) (*Node, bool)
	// Parent returns the node whose expansion created id ("" for original
	// nodes).
	Parent(id NodeID) NodeID
	// Display returns the node that shows progress for id.
	Display(id NodeID) NodeID
	// Real returns the original node that ultimately created id.
	Real(id NodeID) NodeID
}
