package engine

import (
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// adjacency is a digraph as lists of out-edges.
type adjacency [][]int32

func (g adjacency) len() int { return len(g) }

func (g adjacency) out(u int32, i int) (int32, bool) {
	if i < len(g[u]) {
		return g[u][i], true
	}
	return 0, false
}

type sccVisit struct {
	c       int32
	members []int32 // sorted
	cyclic  bool
}

func runSCCs(g digraph) ([]int32, []sccVisit) {
	var visits []sccVisit
	comp := sccs(g, nil, func(c int32, members []int32, cyclic bool) {
		visits = append(visits, sccVisit{c, slices.Sorted(slices.Values(members)), cyclic})
	})
	return comp, visits
}

func TestSCCs(t *testing.T) {
	cases := []struct {
		name   string
		g      adjacency
		visits []sccVisit
		// cycles: start -> shortestCycle (nil: none)
		cycles map[int32][]int32
	}{
		{
			name:   "empty",
			g:      adjacency{},
			visits: nil,
		},
		{
			name:   "self-loop",
			g:      adjacency{{0}, {0}},
			visits: []sccVisit{{0, []int32{0}, true}, {1, []int32{1}, false}},
			cycles: map[int32][]int32{0: {0, 0}, 1: nil},
		},
		{
			// 0 -> 1 -> 2 -> 0 and 3 <-> 4, with 3 -> 0 between them and an
			// edge to a negative vertex (skipped).
			name:   "two cycles",
			g:      adjacency{{1}, {2, -1}, {0}, {4, 0}, {3}},
			visits: []sccVisit{{0, []int32{0, 1, 2}, true}, {1, []int32{3, 4}, true}},
			cycles: map[int32][]int32{0: {0, 1, 2, 0}, 2: {2, 0, 1, 2}, 3: {3, 4, 3}, 4: {4, 3, 4}},
		},
		{
			// The shortest of two cycles through 0: 0->1->2->3->0 and 0->4->0.
			name:   "shortest of two through one vertex",
			g:      adjacency{{1, 4}, {2}, {3}, {0}, {0}},
			visits: []sccVisit{{0, []int32{0, 1, 2, 3, 4}, true}},
			cycles: map[int32][]int32{0: {0, 4, 0}, 1: {1, 2, 3, 0, 1}},
		},
		{
			// A diamond: 0 -> {1, 2} -> 3; producers first.
			name:   "DAG",
			g:      adjacency{{1, 2}, {3}, {3}, {}},
			visits: []sccVisit{{0, []int32{3}, false}, {1, []int32{1}, false}, {2, []int32{2}, false}, {3, []int32{0}, false}},
			cycles: map[int32][]int32{0: nil, 3: nil},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			comp, visits := runSCCs(c.g)
			if !slices.EqualFunc(visits, c.visits, func(a, b sccVisit) bool {
				return a.c == b.c && a.cyclic == b.cyclic && slices.Equal(a.members, b.members)
			}) {
				t.Errorf("visits %v, want %v", visits, c.visits)
			}
			for _, v := range c.visits {
				for _, m := range v.members {
					if comp[m] != v.c {
						t.Errorf("comp[%d] = %d, want %d", m, comp[m], v.c)
					}
				}
			}
			for start, want := range c.cycles {
				if got := shortestCycle(c.g, comp, start); !slices.Equal(got, want) {
					t.Errorf("shortestCycle from %d = %v, want %v", start, got, want)
				}
			}
		})
	}
}

// TestSCCsReuseComp: a caller's comp is filled in place, whatever it held.
func TestSCCsReuseComp(t *testing.T) {
	comp := []int32{7, 7, 7}
	got := sccs(adjacency{{1}, {0}, {}}, comp, func(int32, []int32, bool) {})
	if &got[0] != &comp[0] || !slices.Equal(comp, []int32{0, 0, 1}) {
		t.Fatalf("comp %v (returned %v)", comp, got)
	}
}

// TestSCCsDeepChain: a million vertices in a line, and in a ring, need no
// recursion.
func TestSCCsDeepChain(t *testing.T) {
	const n = 1_000_000
	g := make(adjacency, n)
	edges := make([]int32, n)
	for i := range int32(n) {
		edges[i] = i - 1 // 0's edge is -1: none
		g[i] = edges[i : i+1 : i+1]
	}
	comps := 0
	comp := sccs(g, nil, func(_ int32, members []int32, cyclic bool) {
		if len(members) != 1 || cyclic {
			t.Fatalf("chain component of %d, cyclic %v", len(members), cyclic)
		}
		comps++
	})
	if comps != n || comp[0] != 0 || comp[n-1] != n-1 {
		t.Fatalf("%d components; comp[0] = %d, comp[n-1] = %d", comps, comp[0], comp[n-1])
	}
	edges[0] = n - 1 // close the ring
	comps = 0
	comp = sccs(g, comp, func(_ int32, members []int32, cyclic bool) {
		if len(members) != n || !cyclic {
			t.Fatalf("ring component of %d, cyclic %v", len(members), cyclic)
		}
		comps++
	})
	if p := shortestCycle(g, comp, 5); comps != 1 || len(p) != n+1 || p[0] != 5 || p[1] != 4 || p[n] != 5 {
		t.Fatalf("%d components; cycle of %d from 5", comps, len(p))
	}
}

// TestSCCsProperties checks sccs and shortestCycle against brute force on
// random small graphs.
func TestSCCsProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 9).Draw(t, "n")
		g := make(adjacency, n)
		for u := range g {
			g[u] = rapid.SliceOfN(rapid.Int32Range(-1, int32(n)-1), 0, 3).Draw(t, "edges")
		}
		// reach[u][w]: a path of one edge or more from u to w.
		reach := make([][]bool, n)
		for u := range n {
			reach[u] = make([]bool, n)
			stack := []int32{int32(u)}
			for len(stack) > 0 {
				x := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				for _, w := range g[x] {
					if w >= 0 && !reach[u][w] {
						reach[u][w] = true
						stack = append(stack, w)
					}
				}
			}
		}
		comp, visits := runSCCs(g)
		if len(comp) != n {
			t.Fatalf("comp has %d entries for %d vertices", len(comp), n)
		}
		for k, v := range visits {
			if v.c != int32(k) {
				t.Fatalf("visit %d is component %d", k, v.c)
			}
			if cyclic := len(v.members) > 1 || reach[v.members[0]][v.members[0]]; v.cyclic != cyclic {
				t.Fatalf("component %v: cyclic %v, want %v", v.members, v.cyclic, cyclic)
			}
		}
		for u := range int32(n) {
			if comp[u] < 0 || int(comp[u]) >= len(visits) || !slices.Contains(visits[comp[u]].members, u) {
				t.Fatalf("comp[%d] = %d, not a visited component holding it", u, comp[u])
			}
			for w := range int32(n) {
				if same := u == w || reach[u][w] && reach[w][u]; (comp[u] == comp[w]) != same {
					t.Fatalf("%d and %d: comp %d and %d, mutually reachable %v", u, w, comp[u], comp[w], same)
				}
			}
			for _, w := range g[u] {
				if w >= 0 && comp[w] > comp[u] {
					t.Fatalf("edge %d -> %d goes to a later component (%d > %d)", u, w, comp[w], comp[u])
				}
			}
			// The cycle: real edges, inside the component, and no shorter
			// closed walk through u (BFS distances within the component).
			before := slices.Clone(comp)
			p := shortestCycle(g, comp, u)
			if !slices.Equal(comp, before) {
				t.Fatalf("shortestCycle from %d left comp %v, was %v", u, comp, before)
			}
			if !reach[u][u] {
				if p != nil {
					t.Fatalf("cycle %v through %d, which is on none", p, u)
				}
				continue
			}
			if len(p) < 2 || p[0] != u || p[len(p)-1] != u {
				t.Fatalf("cycle %v through %d", p, u)
			}
			for i := range len(p) - 1 {
				if !slices.Contains(g[p[i]], p[i+1]) || comp[p[i]] != comp[u] {
					t.Fatalf("cycle %v: no edge %d -> %d in the component", p, p[i], p[i+1])
				}
			}
			dist := map[int32]int{u: 0}
			queue := []int32{u}
			best := -1
			for len(queue) > 0 && best < 0 {
				x := queue[0]
				queue = queue[1:]
				for _, w := range g[x] {
					if w == u && best < 0 {
						best = dist[x] + 1
					}
					if _, ok := dist[w]; !ok && w >= 0 && comp[w] == comp[u] {
						dist[w] = dist[x] + 1
						queue = append(queue, w)
					}
				}
			}
			if len(p)-1 != best {
				t.Fatalf("cycle %v through %d has %d edges; the shortest has %d", p, u, len(p)-1, best)
			}
		}
	})
}
