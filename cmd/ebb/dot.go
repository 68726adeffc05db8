package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"

	"gonum.org/v1/gonum/graph"
	"gonum.org/v1/gonum/graph/encoding"
	"gonum.org/v1/gonum/graph/encoding/dot"
	"gonum.org/v1/gonum/graph/multi"

	"github.com/ebbgraph/ebb/engine"
)

func cmdDot(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("dot", "WORKFLOW.json",
		"Print the workflow graph in Graphviz DOT: one box per node (\"id: Class\"), one edge per link\n"+
			"(labelled \"output index -> input name\"). Render it with: ebb dot wf.json | dot -Tsvg > wf.svg", stderr)
	fileSize := fileSizeFlag(fs)
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		fs.Usage()
		return usagef("dot: want exactly one workflow, got %d", len(files))
	}
	maxSize, err := parseFileSize(*fileSize)
	if err != nil {
		return err
	}
	wf, err := readWorkflow(files[0], maxSize)
	if err != nil {
		return err
	}
	b, err := workflowDOT(wf)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", b)
	return err
}

// dotNode is a workflow node in the DOT graph.
type dotNode struct {
	id      int64
	name    engine.NodeID
	label   string
	missing bool
}

func (n dotNode) ID() int64     { return n.id }
func (n dotNode) DOTID() string { return string(n.name) }
func (n dotNode) Attributes() []encoding.Attribute {
	a := []encoding.Attribute{{Key: "label", Value: strconv.Quote(n.label)}}
	if n.missing {
		a = append(a, encoding.Attribute{Key: "style", Value: "dashed"}, encoding.Attribute{Key: "color", Value: "red"})
	}
	return a
}

// dotLine is one link: output out of from feeds input of to.
type dotLine struct {
	from, to graph.Node
	id       int64
	out      int
	input    string
}

func (l dotLine) From() graph.Node         { return l.from }
func (l dotLine) To() graph.Node           { return l.to }
func (l dotLine) ID() int64                { return l.id }
func (l dotLine) ReversedLine() graph.Line { l.from, l.to = l.to, l.from; return l }
func (l dotLine) Attributes() []encoding.Attribute {
	return []encoding.Attribute{{Key: "label", Value: strconv.Quote(fmt.Sprintf("%d -> %s", l.out, l.input))}}
}

// dotGraph adds graph-wide attributes to a multigraph.
type dotGraph struct{ *multi.DirectedGraph }

type attrs []encoding.Attribute

func (a attrs) Attributes() []encoding.Attribute { return a }

func (dotGraph) DOTAttributers() (g, n, e encoding.Attributer) {
	return attrs{{Key: "rankdir", Value: "LR"}},
		attrs{{Key: "shape", Value: "box"}, {Key: "fontname", Value: "Helvetica"}},
		attrs{{Key: "fontname", Value: "Helvetica"}, {Key: "fontsize", Value: "10"}}
}

// workflowDOT encodes wf as DOT. Nodes are numbered in id order (numeric
// ids numerically), so the output is stable; a link to a node that is not
// in the workflow draws a dashed red placeholder.
func workflowDOT(wf engine.Workflow) ([]byte, error) {
	ids := wf.IDs()
	slices.SortFunc(ids, compareIDs)
	g := dotGraph{multi.NewDirectedGraph()}
	nodes := map[engine.NodeID]dotNode{}
	add := func(id engine.NodeID, label string, missing bool) dotNode {
		n := dotNode{id: int64(len(nodes)), name: id, label: label, missing: missing}
		nodes[id] = n
		g.AddNode(n)
		return n
	}
	for _, id := range ids {
		add(id, string(id)+": "+wf[id].Class, false)
	}
	var lineID int64
	for _, id := range ids {
		n := wf[id]
		for _, input := range n.InputNames() {
			ref, ok := n.Link(input)
			if !ok {
				continue
			}
			from, ok := nodes[ref.Node]
			if !ok {
				from = add(ref.Node, string(ref.Node)+": (missing)", true)
			}
			g.SetLine(dotLine{from: from, to: nodes[id], id: lineID, out: ref.Out, input: input})
			lineID++
		}
	}
	b, err := dot.MarshalMulti(g, "workflow", "", "  ")
	if err != nil {
		return nil, fmt.Errorf("dot: %w", err)
	}
	return b, nil
}

// compareIDs orders numeric ids numerically, before other ids in string
// order.
func compareIDs(a, b engine.NodeID) int {
	x, errA := strconv.ParseInt(string(a), 10, 64)
	y, errB := strconv.ParseInt(string(b), 10, 64)
	switch {
	case errA == nil && errB == nil:
		return cmp.Compare(x, y)
	case errA == nil:
		return -1
	case errB == nil:
		return 1
	}
	return cmp.Compare(a, b)
}
