package expand_test

import (
	"testing"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/expand"
)

func TestBuilderIDs(t *testing.T) {
	b := expand.NewBuilderPrefix("7.0.0.")
	a := b.Node("A", "", nil)
	named := b.Node("B", "2", nil)
	c := b.Node("C", "", nil)
	if a.ID() != "7.0.0.1" || named.ID() != "7.0.0.2" || c.ID() != "7.0.0.3" {
		t.Fatalf("ids %s %s %s, want 7.0.0.1 7.0.0.2 7.0.0.3 (auto ids skip used ones)", a.ID(), named.ID(), c.ID())
	}
	if c.Local() != "3" || c.Class() != "C" {
		t.Fatalf("local %q class %q", c.Local(), c.Class())
	}
	if again := b.Node("Other", "2", map[string]any{"x": 1}); again != named {
		t.Fatal("same local id did not return the existing node")
	}
	if _, ok := named.Input("x"); ok || named.Class() != "B" {
		t.Fatal("Node on an existing local id changed the node")
	}
	if b.Lookup("1") != a || b.Lookup("nope") != nil {
		t.Fatal("Lookup")
	}
	if b.Len() != 3 || b.Prefix() != "7.0.0." {
		t.Fatalf("Len %d Prefix %q", b.Len(), b.Prefix())
	}
	if got := a.Out(2); got != (engine.Ref{Node: "7.0.0.1", Out: 2}) {
		t.Fatalf("Out(2) = %v", got)
	}
}

func TestBuilderInputsAndFinalize(t *testing.T) {
	b := expand.NewBuilderPrefix("p.")
	src := b.Node("Src", "src", map[string]any{"value": int64(3), "gone": nil})
	dst := b.Node("Dst", "dst", map[string]any{"in": src.Out(0), "k": "v"})
	dst.Set("k", nil).Set("extra", 1.5).SetDisplay("42")
	if _, ok := src.Input("gone"); ok {
		t.Fatal("nil input kept")
	}
	wf := b.Finalize()
	if len(wf) != 2 {
		t.Fatalf("finalized %d nodes", len(wf))
	}
	d := wf["p.dst"]
	if d.Class != "Dst" || d.DisplayID != "42" || d.Inputs["in"] != (engine.Ref{Node: "p.src", Out: 0}) || d.Inputs["extra"] != 1.5 {
		t.Fatalf("dst = %+v", d)
	}
	if _, ok := d.Inputs["k"]; ok {
		t.Fatal("Set(nil) did not delete")
	}
	// The workflow is a copy.
	dst.Set("extra", 2.5)
	b.Node("New", "", nil)
	if wf["p.dst"].Inputs["extra"] != 1.5 || len(wf) != 2 {
		t.Fatal("Finalize shares state with the builder")
	}
	res := b.Result(dst.Out(0), "literal")
	if res.Expand == nil || len(res.Expand.Nodes) != 3 || res.Outputs != nil {
		t.Fatalf("Result = %+v", res)
	}
	if res.Expand.Outputs[0] != (engine.Ref{Node: "p.dst", Out: 0}) || res.Expand.Outputs[1] != "literal" {
		t.Fatalf("expansion outputs %v", res.Expand.Outputs)
	}
}

func TestNewBuilderUsesCallPrefix(t *testing.T) {
	c := &engine.Call{Node: "5"}
	b1, b2 := expand.NewBuilder(c), expand.NewBuilder(c)
	if b1.Prefix() == b2.Prefix() || b1.Prefix() == "" {
		t.Fatalf("prefixes %q %q: want distinct, non-empty", b1.Prefix(), b2.Prefix())
	}
}

func TestValue(t *testing.T) {
	r := engine.Ref{Node: "1", Out: 0}
	if got := expand.Value(r); got != (engine.Literal{Value: r}) {
		t.Fatalf("Value(Ref) = %#v", got)
	}
	lit := engine.Literal{Value: []any{1}}
	if got, ok := expand.Value(lit).(engine.Literal); !ok || got.Value.(engine.Literal).Value.([]any)[0] != 1 {
		t.Fatalf("Value(Literal) = %#v", got)
	}
	if expand.Value(int64(4)) != int64(4) || expand.Value(nil) != nil {
		t.Fatal("Value changed a plain value")
	}
}
