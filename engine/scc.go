// scc.go: strongly connected components and shortest cycles of a digraph, and validation's static cycle check.

package engine

import (
	"fmt"
	"slices"
	"strings"
)

// digraph is a directed graph on the vertices 0..len()-1, as sccs and
// shortestCycle see it. Validation's edges go from a consumer to its
// producers; the scheduler's from a pending node to the unfinished
// producers it waits on.
type digraph interface {
	// len is the number of vertices.
	len() int
	// out returns u's i-th edge (i = 0, 1, ...) as (to, true), or
	// (_, false) past the last. A negative to is no edge (a dangling link,
	// a producer that is done): it is skipped.
	out(u int32, i int) (to int32, ok bool)
}

// sccs finds the strongly connected components of g with Tarjan's
// algorithm, iteratively (its stacks are slices: a chain of a million
// vertices is fine). Components are numbered 0, 1, ... in the order they
// are completed, which puts every component after the components it has
// edges to (for consumer->producer edges, producers first). As component c
// is completed, sccs sets comp[w] = c for its members and calls
// visit(c, members, cyclic); by then comp is final for the members and for
// every vertex they reach. cyclic says whether the component holds a
// cycle: it has more than one vertex, or a self-loop. members is valid
// only during the call.
//
// comp is filled in and returned: it must have g.len() entries, or be nil
// to have sccs allocate it. Apart from it, sccs allocates about 24 bytes
// a vertex.
func sccs(g digraph, comp []int32, visit func(c int32, members []int32, cyclic bool)) []int32 {
	n := g.len()
	if comp == nil {
		comp = make([]int32, n)
	}
	comp = comp[:n]
	for i := range comp {
		comp[i] = -1 // no component yet: on the stack once visited
	}
	index := make([]int32, n) // 0: unvisited, else visit order + 1
	low := make([]int32, n)
	// Both stacks can hold every vertex (a chain): sized once.
	stack := make([]int32, 0, n)
	type frame struct {
		node, next int32
		self       bool // node has an edge to itself
	}
	calls := make([]frame, 0, n)
	counter, c := int32(0), int32(0)
	push := func(w int32) {
		counter++
		index[w], low[w] = counter, counter
		stack = append(stack, w)
		calls = append(calls, frame{node: w})
	}
	for s := range int32(n) {
		if index[s] != 0 {
			continue
		}
		push(s)
		for len(calls) > 0 {
			f := &calls[len(calls)-1]
			u := f.node
			if w, ok := g.out(u, int(f.next)); ok {
				f.next++
				switch {
				case w < 0:
				case index[w] == 0:
					push(w) // f may move
				case comp[w] < 0: // on the stack
					low[u] = min(low[u], index[w])
					if w == u {
						f.self = true
					}
				}
				continue
			}
			self := f.self
			calls = calls[:len(calls)-1]
			if len(calls) > 0 {
				p := calls[len(calls)-1].node
				low[p] = min(low[p], low[u])
			}
			if low[u] != index[u] {
				continue
			}
			// u roots a component: the stack from u up.
			k := len(stack) - 1
			for stack[k] != u {
				k--
			}
			members := stack[k:]
			for _, w := range members {
				comp[w] = c
			}
			visit(c, members, len(members) > 1 || self)
			c++
			stack = stack[:k]
		}
	}
	return comp
}

// shortestCycle returns a shortest cycle through start that stays inside
// start's component, as the vertices along its edges from start back to
// start ([start, start] for a self-loop), or nil when there is none. It is
// a breadth-first search that takes edges in out's order, so of several
// shortest cycles it finds the same one every time. comp is sccs's: the
// search keeps its marks in it and restores it before returning, so it
// allocates in proportion to the vertices it visits, not to g.
func shortestCycle(g digraph, comp []int32, start int32) []int32 {
	c := comp[start]
	// A visited vertex w has comp[w] = -2 - its parent in the search tree
	// (start's parent is -1); queue holds every visited vertex.
	mark := func(w, parent int32) { comp[w] = -2 - parent }
	queue := []int32{start}
	mark(start, -1)
	last := int32(-1) // the vertex whose edge closes the cycle
search:
	for k := 0; k < len(queue); k++ {
		u := queue[k]
		for i := 0; ; i++ {
			w, ok := g.out(u, i)
			if !ok {
				break
			}
			if w == start {
				last = u
				break search
			}
			if w >= 0 && comp[w] == c {
				mark(w, u)
				queue = append(queue, w)
			}
		}
	}
	var path []int32
	for u := last; u != -1; u = -2 - comp[u] {
		path = append(path, u)
	}
	for _, w := range queue {
		comp[w] = c
	}
	if last < 0 {
		return nil
	}
	slices.Reverse(path)
	return append(path, start)
}

// findCycles numbers the strongly connected components of the reachable
// graph (sccs over consumer->producer edges), gives every node of a cycle
// a dependency_cycle error naming it, and marks the bad components.
func (v *validator) findCycles() {
	g := vgraph(v.nodes)
	v.comp = make([]int32, len(v.nodes))
	v.bad = make([]bool, 0, len(v.nodes))
	sccs(g, v.comp, func(c int32, members []int32, cyclic bool) {
		if cyclic {
			v.reportCycle(g, members)
		}
		// Every other component a member links to is finished.
		bad := false
		for _, w := range members {
			if len(v.nodes[w].errs) > 0 {
				bad = true
			}
			for _, l := range v.nodes[w].links {
				if l.to >= 0 && v.comp[l.to] != c && v.bad[v.comp[l.to]] {
					bad = true
				}
			}
		}
		v.bad = append(v.bad, bad) // v.bad[c]
	})
}

// vgraph is the reachable nodes as a digraph: an edge from a consumer to
// the producer of each of its links (links to nodes not in the workflow
// are skipped).
type vgraph []vnode

func (g vgraph) len() int { return len(g) }

func (g vgraph) out(u int32, i int) (int32, bool) {
	if links := g[u].links; i < len(links) {
		return links[i].to, true
	}
	return 0, false
}

// reportCycle finds the shortest cycle through the smallest id of one
// strongly connected component and reports it on every member.
func (v *validator) reportCycle(g vgraph, members []int32) {
	start := slices.MinFunc(members, func(a, b int32) int { return strings.Compare(string(v.nodes[a].id), string(v.nodes[b].id)) })
	path := shortestCycle(g, v.comp, start)
	name := func(i int32) string { return fmt.Sprintf("%s (%s)", v.nodes[i].id, v.nodes[i].def.Class) }
	var parts []string
	if len(path) > maxCycleNames {
		for _, i := range path[:maxCycleNames-2] {
			parts = append(parts, name(i))
		}
		parts = append(parts, fmt.Sprintf("... (%d more)", len(path)-maxCycleNames))
		for _, i := range path[len(path)-2:] {
			parts = append(parts, name(i))
		}
	} else {
		for _, i := range path {
			parts = append(parts, name(i))
		}
	}
	details := strings.Join(parts, " -> ")
	for _, m := range members {
		v.nodes[m].fail(TypeCycle, "", "Dependency cycle detected", details)
	}
}
