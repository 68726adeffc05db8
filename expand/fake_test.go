package expand_test

import (
	"maps"
	"strings"

	"github.com/ebbgraph/ebb/engine"
)

// fakeGraph is an engine.GraphReader over a workflow plus ephemeral nodes,
// with ComfyUI's DynamicPrompt rules: Display follows DisplayID, else the
// parent, to an original node.
type fakeGraph struct {
	nodes  engine.Workflow
	parent map[engine.NodeID]engine.NodeID
}

var _ engine.GraphReader = (*fakeGraph)(nil)

func newFakeGraph(wf engine.Workflow) *fakeGraph {
	return &fakeGraph{nodes: maps.Clone(wf), parent: map[engine.NodeID]engine.NodeID{}}
}

func (g *fakeGraph) Node(id engine.NodeID) (*engine.Node, bool) {
	n, ok := g.nodes[id]
	return n, ok
}

func (g *fakeGraph) Parent(id engine.NodeID) engine.NodeID { return g.parent[id] }

func (g *fakeGraph) Display(id engine.NodeID) engine.NodeID {
	for {
		next := engine.NodeID("")
		if n, ok := g.nodes[id]; ok && n.DisplayID != "" {
			next = n.DisplayID
		} else {
			next = g.parent[id]
		}
		if next == "" || next == id {
			return id
		}
		id = next
	}
}

func (g *fakeGraph) Real(id engine.NodeID) engine.NodeID {
	for g.parent[id] != "" {
		id = g.parent[id]
	}
	return id
}

// add adds an expansion's nodes made by parent, renaming the ids' prefix
// from to to (a zero engine.Call always makes the prefix "0.", so tests
// give each simulated call its own).
func (g *fakeGraph) add(parent engine.NodeID, nodes engine.Workflow, from, to string) map[engine.NodeID]engine.NodeID {
	rename := func(id engine.NodeID) engine.NodeID {
		if _, ok := nodes[id]; ok {
			return engine.NodeID(to + strings.TrimPrefix(string(id), from))
		}
		return id
	}
	ids := map[engine.NodeID]engine.NodeID{}
	for id, n := range nodes {
		c := n.Clone()
		for k, v := range c.Inputs {
			if r, ok := v.(engine.Ref); ok {
				c.Inputs[k] = engine.Ref{Node: rename(r.Node), Out: r.Out}
			}
		}
		g.nodes[rename(id)] = c
		g.parent[rename(id)] = parent
		ids[id] = rename(id)
	}
	return ids
}
