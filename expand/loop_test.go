package expand_test

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/expand"
)

func ref(id engine.NodeID, out int) engine.Ref { return engine.Ref{Node: id, Out: out} }

// prefixOf returns the id prefix of a loop expansion (its Recurse node's id
// less the local id): the engine decides what a call's prefix looks like.
func prefixOf(t *testing.T, nodes engine.Workflow) string {
	t.Helper()
	for id := range nodes {
		if p, ok := strings.CutSuffix(string(id), expand.RecurseLocal); ok {
			return p
		}
	}
	t.Fatalf("no %s node in %v", expand.RecurseLocal, nodes.IDs())
	return ""
}

// locals returns the local ids of nodes with prefix p.
func locals(nodes engine.Workflow, p string) []string {
	var ls []string
	for id := range nodes {
		ls = append(ls, strings.TrimPrefix(string(id), p))
	}
	slices.Sort(ls)
	return ls
}

// whileGraph is a while loop O..Cl with nodes around it:
//
//	U -> O -> A -> B -> Cl -> S      X -> A, X -> E -> Cl, O -> D
func whileGraph() engine.Workflow {
	return engine.Workflow{
		"U":  {Class: "Const", Inputs: map[string]any{"value": int64(1)}},
		"X":  {Class: "Const", Inputs: map[string]any{"value": int64(1)}},
		"O":  {Class: "Open", Inputs: map[string]any{"condition": true, "initial_value0": int64(10), "initial_value1": ref("U", 0)}},
		"A":  {Class: "Sub", Inputs: map[string]any{"a": ref("O", 1), "b": ref("X", 0)}},
		"B":  {Class: "ToBool", Inputs: map[string]any{"value": ref("A", 0)}},
		"D":  {Class: "Dead", Inputs: map[string]any{"in": ref("O", 2)}},
		"E":  {Class: "Other", Inputs: map[string]any{"x": ref("X", 0)}},
		"Cl": {Class: "Close", Inputs: map[string]any{"flow_control": ref("O", 0), "condition": ref("B", 0), "initial_value0": ref("A", 0), "initial_value1": ref("E", 0)}},
		"S":  {Class: "Show", Inputs: map[string]any{"value": ref("Cl", 0)}},
	}
}

func TestLoopBody(t *testing.T) {
	g := newFakeGraph(whileGraph())
	body, err := expand.LoopBody(g, "O", "Cl")
	if err != nil {
		t.Fatal(err)
	}
	if want := []engine.NodeID{"A", "B", "Cl", "O"}; !slices.Equal(body, want) {
		t.Fatalf("body %v, want %v", body, want)
	}
	// An open node the close node does not depend on: just the two.
	body, err = expand.LoopBody(g, "D", "Cl")
	if err != nil || !slices.Equal(body, []engine.NodeID{"Cl", "D"}) {
		t.Fatalf("body %v, %v", body, err)
	}
}

func TestLoopBodyMissingNode(t *testing.T) {
	wf := whileGraph()
	delete(wf, "X")
	_, err := expand.LoopBody(newFakeGraph(wf), "O", "Cl")
	if !errors.Is(err, engine.ErrMissingNode) || !strings.Contains(err.Error(), "X") {
		t.Fatalf("err = %v, want ErrMissingNode naming X", err)
	}
}

func TestWhileCloseDone(t *testing.T) {
	c := &engine.Call{Node: "Cl", Graph: newFakeGraph(whileGraph())}
	res, err := expand.WhileClose(c, "O", []any{int64(0), nil, "x"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Expand != nil || !slices.Equal(res.Outputs, []any{int64(0), nil, "x"}) {
		t.Fatalf("result %+v", res)
	}
}

func TestWhileCloseNeedsGraph(t *testing.T) {
	if _, err := expand.WhileClose(&engine.Call{Node: "Cl"}, "O", nil, true); err == nil {
		t.Fatal("no error without a graph")
	}
}

func TestWhileCloseClones(t *testing.T) {
	c := &engine.Call{Node: "Cl", Graph: newFakeGraph(whileGraph())}
	res, err := expand.WhileClose(c, "O", []any{int64(9), nil, "x", ref("Z", 1)}, true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Expand == nil {
		t.Fatal("no expansion")
	}
	nodes := res.Expand.Nodes
	p := prefixOf(t, nodes)
	if got, want := locals(nodes, p), []string{"A", "B", "O", "Recurse"}; !slices.Equal(got, want) {
		t.Fatalf("local ids %v, want %v", got, want)
	}
	id := func(local string) engine.NodeID { return engine.NodeID(p + local) }
	check := func(local, class string, display engine.NodeID, inputs map[string]any) {
		t.Helper()
		n := nodes[id(local)]
		if n.Class != class || n.DisplayID != display || !maps.Equal(n.Inputs, inputs) {
			t.Errorf("%s = {%s display %s %v}, want {%s display %s %v}", local, n.Class, n.DisplayID, n.Inputs, class, display, inputs)
		}
	}
	check("O", "Open", "O", map[string]any{"condition": true, "initial_value0": int64(9), "initial_value2": "x",
		"initial_value3": engine.Literal{Value: ref("Z", 1)}})
	check("A", "Sub", "A", map[string]any{"a": ref(id("O"), 1), "b": ref("X", 0)})
	check("B", "ToBool", "B", map[string]any{"value": ref(id("A"), 0)})
	check("Recurse", "Close", "Cl", map[string]any{"flow_control": ref(id("O"), 0), "condition": ref(id("B"), 0),
		"initial_value0": ref(id("A"), 0), "initial_value1": ref("E", 0)})
	r := id("Recurse")
	want := []any{ref(r, 0), ref(r, 1), ref(r, 2), ref(r, 3)}
	if !slices.Equal(res.Expand.Outputs, want) {
		t.Fatalf("outputs %v, want %v", res.Expand.Outputs, want)
	}
	// The graph read is unchanged.
	if whileGraph()["O"].Inputs["initial_value0"] != c.Graph.(*fakeGraph).nodes["O"].Inputs["initial_value0"] {
		t.Fatal("WhileClose changed the graph it read")
	}
}

// iterate runs n loop iterations on g: the close node close of the open
// node open expands, the expansion is added to g with a prefix "i<x..>.",
// and the next iteration runs on the new Recurse clone (the prefix is
// replaced so that ids differ from one iteration to the next, as the
// engine's do). It returns the local ids of each iteration and the longest
// id seen.
func iterate(t *testing.T, g *fakeGraph, open, close engine.NodeID, n int) (perIter [][]string, longest int) {
	t.Helper()
	classes := map[string]string{} // local id -> class, the same in every iteration
	for k := range n {
		c := &engine.Call{Node: close, Graph: g}
		res, err := expand.WhileClose(c, open, []any{int64(k)}, true)
		if err != nil {
			t.Fatalf("iteration %d: %v", k, err)
		}
		from := prefixOf(t, res.Expand.Nodes)
		prefix := "i" + strings.Repeat("x", k%3) + "."
		var ls []string
		for id := range res.Expand.Nodes {
			local := strings.TrimPrefix(string(id), from)
			ls = append(ls, local)
			if c, ok := classes[local]; ok && c != res.Expand.Nodes[id].Class {
				t.Fatalf("iteration %d: local %s is a %s, was a %s", k, local, res.Expand.Nodes[id].Class, c)
			}
			classes[local] = res.Expand.Nodes[id].Class
			longest = max(longest, len(prefix)+len(local))
		}
		slices.Sort(ls)
		perIter = append(perIter, ls)
		ids := g.add(close, res.Expand.Nodes, from, prefix)
		// The next iteration runs on the clones. Display ids point at the
		// workflow's nodes.
		for old, id := range ids {
			if d := g.Display(id); strings.Contains(string(d), ".") {
				t.Fatalf("iteration %d: display of %s is %s, want an original id", k, old, d)
			}
		}
		open, close = ids[engine.NodeID(from)+g.Display(open)], ids[engine.NodeID(from)+expand.RecurseLocal]
		if open == "" || close == "" {
			t.Fatalf("iteration %d: no open or Recurse clone in %v", k, ls)
		}
	}
	return perIter, longest
}

func TestWhileCloseIDsStayShort(t *testing.T) {
	g := newFakeGraph(whileGraph())
	locals, longest := iterate(t, g, "O", "Cl", 50)
	want := []string{"A", "B", "O", "Recurse"}
	for k, ls := range locals {
		if !slices.Equal(ls, want) {
			t.Fatalf("iteration %d: locals %v, want %v", k, ls, want)
		}
	}
	if longest > len("ixx.Recurse") {
		t.Fatalf("longest id %d bytes: ids grow", longest)
	}
}

// TestWhileCloseSharedDisplay is the for loop's shape: the while close node
// and two body nodes are ephemeral nodes of one expansion (of C), so they
// share the display node C; the clones are told apart by a suffix that
// stays the same in every iteration.
func TestWhileCloseSharedDisplay(t *testing.T) {
	g := newFakeGraph(engine.Workflow{
		"IN": {Class: "Const", Inputs: map[string]any{"value": int64(1)}},
		"O":  {Class: "ForOpen", Inputs: map[string]any{"remaining": int64(3)}},
		"A":  {Class: "Avg", Inputs: map[string]any{"input1": ref("IN", 0), "input2": ref("O", 2)}},
		"C":  {Class: "ForClose", Inputs: map[string]any{"flow_control": ref("O", 0), "initial_value1": ref("A", 0)}},
	})
	g.add("C", engine.Workflow{
		"C.0.0.1": {Class: "Sub", Inputs: map[string]any{"a": ref("O", 1), "b": int64(1)}},
		"C.0.0.2": {Class: "ToBool", Inputs: map[string]any{"value": ref("C.0.0.1", 0)}},
		"C.0.0.3": {Class: "Close", Inputs: map[string]any{"flow_control": ref("O", 0), "condition": ref("C.0.0.2", 0),
			"initial_value0": ref("C.0.0.1", 0), "initial_value1": ref("A", 0)}},
	}, "", "")
	locals, longest := iterate(t, g, "O", "C.0.0.3", 40)
	want := []string{"A", "C", "C~1", "O", "Recurse"}
	for k, ls := range locals {
		if !slices.Equal(ls, want) {
			t.Fatalf("iteration %d: locals %v, want %v", k, ls, want)
		}
	}
	if longest > len("ixx.Recurse") {
		t.Fatalf("longest id %d bytes: ids grow", longest)
	}
}
