package expand

import (
	"context"
	"slices"
	"strconv"

	"github.com/ebbgraph/ebb/engine"
)

// GatherClass is the class of the node type that MapType's expansions use
// to collect the per-element results into one list. Register GatherType (or
// call Register) in every registry that runs map nodes.
const GatherClass = "expand.Gather"

// GatherType returns the gather node type: an InputIsList node whose
// linked inputs are named "0", "1", ... (undeclared, so any number may be
// linked) and whose single list output is their values concatenated in
// index order.
func GatherType() *engine.NodeType {
	return &engine.NodeType{
		Class: GatherClass,
		Schema: engine.Schema{
			InputIsList: true,
			Outputs:     []engine.OutputSpec{{Name: "list", Type: "*", IsList: true}},
		},
		Runner: engine.RunFunc(gather),
	}
}

func gather(_ context.Context, c *engine.Call) (engine.Result, error) {
	var out []any
	for i := 0; ; i++ {
		v, ok := c.Inputs[strconv.Itoa(i)]
		if !ok {
			break
		}
		if l, isList := v.([]any); isList {
			out = append(out, l...)
		} else {
			out = append(out, v)
		}
	}
	if out == nil {
		out = []any{}
	}
	return engine.Outputs(out), nil
}

// Register adds the node types the expand package's own expansions need
// (GatherType) to r.
func Register(r *engine.Registry) error { return r.Register(GatherType()) }

// MapType returns a node type that maps body over lists: it takes whole
// lists (InputIsList), expands into one copy of body per element, where copy
// i gets element i of each input (shorter lists padded with their last
// element; an empty list counts as absent), and returns each output as a
// list with one entry per element (OutputIsList; list outputs of body are
// concatenated). With no elements it returns empty lists. The expansion
// uses GatherClass nodes, which must be registered.
//
// The engine already calls an ordinary node once per list element; MapType
// is for a body that is a subgraph, or when the element copies should be
// visible as separate nodes.
func MapType(class string, body *Component) *engine.NodeType {
	inputs := slices.Clone(body.Inputs)
	for i := range inputs {
		inputs[i].RawLink = false
	}
	outputs := slices.Clone(body.Outputs)
	for i := range outputs {
		outputs[i].IsList = true
	}
	return &engine.NodeType{
		Class: class,
		Schema: engine.Schema{
			Inputs:      inputs,
			Outputs:     outputs,
			InputIsList: true,
			OutputNode:  body.OutputNode,
		},
		Runner: &mapRunner{body: body},
	}
}

type mapRunner struct{ body *Component }

var _ engine.MayExpand = (*mapRunner)(nil)

func (r *mapRunner) MayExpand() {}

func (r *mapRunner) Run(_ context.Context, c *engine.Call) (engine.Result, error) {
	if err := r.body.Validate(); err != nil {
		return engine.Result{}, err
	}
	n := 0
	for _, v := range c.Inputs {
		n = max(n, len(asList(v)))
	}
	if n == 0 {
		outs := make([]any, len(r.body.Outputs))
		for i := range outs {
			outs[i] = []any{}
		}
		return engine.Outputs(outs...), nil
	}
	nodes := engine.Workflow{}
	results := make([][]engine.Ref, n) // [element][output]
	for i := range n {
		b := NewBuilder(c)
		results[i] = r.body.Instantiate(b, func(name string) (any, bool) {
			l := asList(c.Inputs[name])
			if len(l) == 0 {
				return nil, false
			}
			return Value(l[min(i, len(l)-1)]), true
		})
		for id, def := range b.Finalize() {
			nodes[id] = def
		}
	}
	g := NewBuilder(c)
	outs := make([]any, len(r.body.Outputs))
	for k := range outs {
		gn := g.Node(GatherClass, "", nil)
		for i := range n {
			gn.Set(strconv.Itoa(i), results[i][k])
		}
		outs[k] = gn.Out(0)
	}
	for id, def := range g.Finalize() {
		nodes[id] = def
	}
	return engine.Result{Expand: &engine.Expansion{Nodes: nodes, Outputs: outs}}, nil
}

// asList returns an InputIsList input value as a list.
func asList(v any) []any {
	switch l := v.(type) {
	case nil:
		return nil
	case []any:
		return l
	}
	return []any{v}
}

// Wrap returns a component of one node of inner's class, with inner's
// inputs and outputs: a way to map an ordinary node type with MapType.
func Wrap(class string, inner *engine.NodeType) *Component {
	const local = "1"
	m := &Component{
		Class:      class,
		Outputs:    slices.Clone(inner.Schema.Outputs),
		Graph:      engine.Workflow{local: {Class: inner.Class, Inputs: map[string]any{}}},
		InputNodes: map[string][]Port{},
	}
	for _, in := range inner.Schema.Inputs {
		if in.Hidden == engine.NotHidden {
			m.Inputs = append(m.Inputs, in)
			m.InputNodes[in.Name] = []Port{{Node: local, Input: in.Name}}
		}
	}
	for i := range inner.Schema.Outputs {
		m.Results = append(m.Results, engine.Ref{Node: local, Out: i})
	}
	return m
}
