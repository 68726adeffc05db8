package expand

import (
	"context"
	"fmt"
	"slices"

	"github.com/ebbgraph/ebb/engine"
)

// Port names one input of one node of a component's graph.
type Port struct {
	Node  engine.NodeID // local id in Component.Graph
	Input string
}

// Component is a reusable subgraph used as one node. Its node type (see
// NodeType) expands, each time it runs, into a copy of Graph with fresh,
// deterministic ids, the component's inputs substituted, and its outputs
// taken from Results.
//
// Component inputs are raw links (InputSpec.RawLink is set by NodeType): a
// linked component input becomes a link from the inner nodes to the outer
// producer, so the copy behaves as if Graph were inlined in the workflow
// (lists map over inner nodes, the lifetime tracker sees every edge). A
// literal component input is set as a literal.
type Component struct {
	// Class is the component's class name.
	Class string
	// Inputs and Outputs are the component node's schema. Outputs has one
	// entry per item of Results.
	Inputs  []engine.InputSpec
	Outputs []engine.OutputSpec
	// OutputNode makes the component an output node of workflows.
	OutputNode bool
	// Graph is the subgraph with local ids. Links must stay inside it.
	Graph engine.Workflow
	// InputNodes maps each component input to the graph inputs it feeds.
	// An absent optional input with no default leaves those graph inputs
	// as Graph has them.
	InputNodes map[string][]Port
	// Results has one link into Graph per output.
	Results []engine.Ref
}

// Validate checks that the component is well formed: every link, port and
// result names a node of Graph, every port's component input is declared,
// and Results matches Outputs.
func (m *Component) Validate() error {
	if m.Class == "" {
		return fmt.Errorf("expand: component without a class")
	}
	if len(m.Results) != len(m.Outputs) {
		return fmt.Errorf("expand: component %s: %d results for %d outputs", m.Class, len(m.Results), len(m.Outputs))
	}
	for _, id := range m.Graph.IDs() {
		n := m.Graph[id]
		if n == nil || n.Class == "" {
			return fmt.Errorf("expand: component %s: node %s has no class", m.Class, id)
		}
		for _, name := range n.InputNames() {
			if r, ok := n.Inputs[name].(engine.Ref); ok && m.Graph[r.Node] == nil {
				return fmt.Errorf("expand: component %s: node %s input %s links outside the graph to %s: %w",
					m.Class, id, name, r.Node, engine.ErrMissingNode)
			}
		}
	}
	for i, r := range m.Results {
		if m.Graph[r.Node] == nil {
			return fmt.Errorf("expand: component %s: result %d links to %s: %w", m.Class, i, r.Node, engine.ErrMissingNode)
		}
	}
	for _, name := range sortedKeys(m.InputNodes) {
		if !slices.ContainsFunc(m.Inputs, func(in engine.InputSpec) bool { return in.Name == name }) {
			return fmt.Errorf("expand: component %s: input %q is not declared", m.Class, name)
		}
		for _, p := range m.InputNodes[name] {
			if m.Graph[p.Node] == nil {
				return fmt.Errorf("expand: component %s: input %q feeds %s: %w", m.Class, name, p.Node, engine.ErrMissingNode)
			}
		}
	}
	return nil
}

// NodeType returns the component as a node type. Its inputs are raw links;
// the Runner implements engine.MayExpand and fails the call if the
// component does not Validate.
func (m *Component) NodeType() *engine.NodeType {
	inputs := slices.Clone(m.Inputs)
	for i := range inputs {
		if inputs[i].Hidden == engine.NotHidden {
			inputs[i].RawLink = true
		}
	}
	return &engine.NodeType{
		Class: m.Class,
		Schema: engine.Schema{
			Inputs:     inputs,
			Outputs:    slices.Clone(m.Outputs),
			OutputNode: m.OutputNode,
		},
		Runner: &componentRunner{m: m},
	}
}

// Instantiate adds a copy of the component's graph to b, with the inputs
// that input reports set (a value that is an engine.Ref is a link into the
// surrounding graph), and returns links to its results. Local ids are the
// graph's ids, so instantiate each copy into its own builder.
func (m *Component) Instantiate(b *GraphBuilder, input func(name string) (any, bool)) []engine.Ref {
	ids := m.Graph.IDs()
	refs := make(map[engine.NodeID]*NodeRef, len(ids))
	for _, id := range ids {
		refs[id] = b.Node(m.Graph[id].Class, string(id), nil)
	}
	for _, id := range ids {
		n := refs[id]
		for name, v := range m.Graph[id].Inputs {
			if r, ok := v.(engine.Ref); ok {
				v = refs[r.Node].Out(r.Out)
			}
			n.Set(name, v)
		}
	}
	for _, name := range sortedKeys(m.InputNodes) {
		v, ok := input(name)
		if !ok {
			continue
		}
		for _, p := range m.InputNodes[name] {
			refs[p.Node].Set(p.Input, v)
		}
	}
	outs := make([]engine.Ref, len(m.Results))
	for i, r := range m.Results {
		outs[i] = refs[r.Node].Out(r.Out)
	}
	return outs
}

type componentRunner struct{ m *Component }

var _ engine.MayExpand = (*componentRunner)(nil)

func (r *componentRunner) MayExpand() {}

func (r *componentRunner) Run(_ context.Context, c *engine.Call) (engine.Result, error) {
	if err := r.m.Validate(); err != nil {
		return engine.Result{}, err
	}
	b := NewBuilder(c)
	outs := r.m.Instantiate(b, func(name string) (any, bool) {
		v, ok := c.Inputs[name]
		return v, ok
	})
	items := make([]any, len(outs))
	for i, o := range outs {
		items[i] = o
	}
	return b.Result(items...), nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
