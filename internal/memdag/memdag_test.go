package memdag

import (
	"math/rand/v2"
	"testing"
)

// The optimal order reaches the optimum, which no order beats: checked
// against every order of small DAGs (brute force over permutations).
func TestOptimum(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for range 200 {
		d := Random(rng, 2+rng.IntN(6))
		opt := d.Optimum()
		if got := d.Peak(d.OptimalOrder()); got != opt {
			t.Fatalf("OptimalOrder peaks at %d, Optimum %d", got, opt)
		}
		brute := int64(-1)
		perms(len(d.Nodes), func(order []int) {
			if d.topological(order) {
				if p := d.Peak(order); brute < 0 || p < brute {
					brute = p
				}
			}
		})
		if brute != opt {
			t.Fatalf("brute force %d, Optimum %d: %+v", brute, opt, d.Nodes)
		}
		if lb := d.LowerBound(); lb > opt {
			t.Fatalf("lower bound %d above the optimum %d", lb, opt)
		}
	}
}

func (d *DAG) topological(order []int) bool {
	pos := make([]int, len(order))
	for i, v := range order {
		pos[v] = i
	}
	for v, n := range d.Nodes {
		for _, p := range n.In {
			if pos[p] > pos[v] {
				return false
			}
		}
	}
	return true
}

func perms(n int, f func([]int)) {
	a := make([]int, n)
	for i := range a {
		a[i] = i
	}
	var rec func(k int)
	rec = func(k int) {
		if k == n {
			f(a)
			return
		}
		for i := k; i < n; i++ {
			a[k], a[i] = a[i], a[k]
			rec(k + 1)
			a[k], a[i] = a[i], a[k]
		}
	}
	rec(0)
}
