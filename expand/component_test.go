package expand_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/expand"
)

// scaleAdd is a component computing x*k + y: two nodes, input x feeding
// one, y the other.
func scaleAdd() *expand.Component {
	return &expand.Component{
		Class: "ScaleAdd",
		Inputs: []engine.InputSpec{
			{Name: "x", Type: "INT"},
			{Name: "y", Type: "INT", Optional: true},
		},
		Outputs: []engine.OutputSpec{{Name: "INT", Type: "INT"}},
		Graph: engine.Workflow{
			"mul": {Class: "Math", Inputs: map[string]any{"operation": "multiply", "a": int64(0), "b": int64(3)}},
			"add": {Class: "Math", Inputs: map[string]any{"operation": "add", "a": ref("mul", 0), "b": int64(100)}},
		},
		InputNodes: map[string][]expand.Port{
			"x": {{Node: "mul", Input: "a"}},
			"y": {{Node: "add", Input: "b"}},
		},
		Results: []engine.Ref{ref("add", 0)},
	}
}

func TestComponentValidate(t *testing.T) {
	if err := scaleAdd().Validate(); err != nil {
		t.Fatal(err)
	}
	for name, broken := range map[string]func(*expand.Component){
		"no class":         func(m *expand.Component) { m.Class = "" },
		"result count":     func(m *expand.Component) { m.Results = nil },
		"outside link":     func(m *expand.Component) { m.Graph["add"].Inputs["a"] = ref("elsewhere", 0) },
		"result outside":   func(m *expand.Component) { m.Results[0] = ref("elsewhere", 0) },
		"undeclared input": func(m *expand.Component) { m.InputNodes["z"] = nil },
		"port outside":     func(m *expand.Component) { m.InputNodes["x"] = []expand.Port{{Node: "elsewhere", Input: "a"}} },
		"classless node":   func(m *expand.Component) { m.Graph["add"].Class = "" },
	} {
		m := scaleAdd()
		broken(m)
		if err := m.Validate(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	m := scaleAdd()
	m.Results[0] = ref("elsewhere", 0)
	if err := m.Validate(); !errors.Is(err, engine.ErrMissingNode) {
		t.Errorf("err %v, want ErrMissingNode", err)
	}
}

func TestComponentNodeType(t *testing.T) {
	nt := scaleAdd().NodeType()
	if nt.Class != "ScaleAdd" || len(nt.Schema.Outputs) != 1 {
		t.Fatalf("type %+v", nt)
	}
	for _, in := range nt.Schema.Inputs {
		if !in.RawLink {
			t.Errorf("input %s is not a raw link", in.Name)
		}
	}
	if _, ok := nt.Runner.(engine.MayExpand); !ok {
		t.Error("runner does not implement MayExpand")
	}
	// Two calls of the type expand into distinct copies.
	c := &engine.Call{Node: "9", Inputs: map[string]any{"x": ref("src", 0)}}
	r1, err := nt.Runner.Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := nt.Runner.Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	ids1, ids2 := r1.Expand.Nodes.IDs(), r2.Expand.Nodes.IDs()
	if len(ids1) != 2 || slices.ContainsFunc(ids1, func(id engine.NodeID) bool { return slices.Contains(ids2, id) }) {
		t.Fatalf("copies share ids: %v %v", ids1, ids2)
	}
	p := ids1[0][:len(ids1[0])-len("add")]
	mul, add := r1.Expand.Nodes[p+"mul"], r1.Expand.Nodes[p+"add"]
	if mul == nil || add == nil {
		t.Fatalf("nodes %v", ids1)
	}
	// x is linked to the outer producer; y is absent, so the graph's literal stays.
	if !maps.Equal(mul.Inputs, map[string]any{"operation": "multiply", "a": ref("src", 0), "b": int64(3)}) {
		t.Errorf("mul inputs %v", mul.Inputs)
	}
	if !maps.Equal(add.Inputs, map[string]any{"operation": "add", "a": ref(p+"mul", 0), "b": int64(100)}) {
		t.Errorf("add inputs %v", add.Inputs)
	}
	if !slices.Equal(r1.Expand.Outputs, []any{ref(p+"add", 0)}) {
		t.Errorf("outputs %v", r1.Expand.Outputs)
	}
	// A literal input is set as a literal.
	c = &engine.Call{Node: "9", Inputs: map[string]any{"x": int64(2), "y": int64(5)}}
	r3, _ := nt.Runner.Run(context.Background(), c)
	for _, n := range r3.Expand.Nodes {
		if n.Inputs["operation"] == "multiply" && n.Inputs["a"] != int64(2) || n.Inputs["operation"] == "add" && n.Inputs["b"] != int64(5) {
			t.Errorf("literal inputs not substituted: %v", n.Inputs)
		}
	}
}

func TestComponentRunInvalid(t *testing.T) {
	m := scaleAdd()
	m.Results = nil
	if _, err := m.NodeType().Runner.Run(context.Background(), &engine.Call{Node: "1"}); err == nil {
		t.Fatal("invalid component ran")
	}
}

func TestMapTypeExpansion(t *testing.T) {
	nt := expand.MapType("MapScaleAdd", scaleAdd())
	if !nt.Schema.InputIsList || !nt.Schema.Outputs[0].IsList || nt.Schema.Inputs[0].RawLink {
		t.Fatalf("schema %+v", nt.Schema)
	}
	c := &engine.Call{Node: "m", Inputs: map[string]any{"x": []any{int64(1), int64(2), int64(3)}, "y": []any{int64(7)}}}
	res, err := nt.Runner.Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	nodes := res.Expand.Nodes
	if len(nodes) != 3*2+1 {
		t.Fatalf("%d nodes: %v", len(nodes), nodes.IDs())
	}
	var gather *engine.Node
	for _, n := range nodes {
		if n.Class == expand.GatherClass {
			gather = n
		}
	}
	if gather == nil || len(gather.Inputs) != 3 {
		t.Fatalf("gather %+v", gather)
	}
	for i, name := range []string{"0", "1", "2"} {
		r := gather.Inputs[name].(engine.Ref)
		add := nodes[r.Node]
		mul := nodes[add.Inputs["a"].(engine.Ref).Node]
		if mul.Inputs["a"] != int64(i+1) || add.Inputs["b"] != int64(7) {
			t.Errorf("element %d: mul %v add %v (want x=%d, y padded to 7)", i, mul.Inputs, add.Inputs, i+1)
		}
	}
	// No elements: empty lists, no expansion.
	res, err = nt.Runner.Run(context.Background(), &engine.Call{Node: "m", Inputs: map[string]any{"x": []any{}}})
	if err != nil || res.Expand != nil || len(res.Outputs) != 1 || len(res.Outputs[0].([]any)) != 0 {
		t.Fatalf("empty map: %+v %v", res, err)
	}
}

func TestGather(t *testing.T) {
	c := &engine.Call{Inputs: map[string]any{"0": []any{1}, "1": []any{2, 3}, "2": 4, "4": 9}}
	res, err := expand.GatherType().Runner.Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Outputs[0].([]any); !slices.Equal(got, []any{1, 2, 3, 4}) {
		t.Fatalf("gathered %v (stops at the first missing index)", got)
	}
}

func TestWrap(t *testing.T) {
	inner := &engine.NodeType{
		Class: "Inner",
		Schema: engine.Schema{
			Inputs:  []engine.InputSpec{{Name: "a", Type: "INT"}, {Name: "id", Hidden: engine.HiddenUniqueID}},
			Outputs: []engine.OutputSpec{{Name: "x", Type: "INT"}, {Name: "y", Type: "INT"}},
		},
		Runner: engine.RunFunc(func(context.Context, *engine.Call) (engine.Result, error) { return engine.Result{}, nil }),
	}
	m := expand.Wrap("W", inner)
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(m.Inputs) != 1 || len(m.Results) != 2 || m.Graph["1"].Class != "Inner" {
		t.Fatalf("wrapped %+v", m)
	}
}
