package memdag

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/ebbgraph/ebb/engine"
)

// MaxInputs is how many inputs a node may have.
const MaxInputs = 4

// DAG is a workflow of Mem and MemSink nodes, by index: node i's inputs
// are earlier nodes.
type DAG struct {
	Nodes []Node
}

// Node is one node of a DAG.
type Node struct {
	Name string // a label for reports ("loader", "sampler")
	In   []int  // producers, earlier indices
	Out  int64  // bytes of its one output (0 for sinks)
	Work int64
	Sink bool
	Ms   int64 // compute time in milliseconds (Estimate.Time); 0: none declared
}

// ID is node i's workflow id.
func ID(i int) engine.NodeID { return engine.NodeID(strconv.Itoa(i + 1)) }

// Workflow returns d as a workflow of Mem and MemSink nodes.
func (d *DAG) Workflow() engine.Workflow {
	wf := make(engine.Workflow, len(d.Nodes))
	for i, n := range d.Nodes {
		in := map[string]any{"work": n.Work}
		if n.Ms > 0 {
			in["ms"] = n.Ms
		}
		class := "MemSink"
		if !n.Sink {
			class = "Mem"
			in["out"] = n.Out
		}
		for k, p := range n.In {
			in[fmt.Sprint("a", k)] = engine.Ref{Node: ID(p)}
		}
		wf[ID(i)] = &engine.Node{Class: class, Inputs: in}
	}
	return wf
}

// Consumers returns, per node, how many nodes read it.
func (d *DAG) Consumers() []int {
	c := make([]int, len(d.Nodes))
	for _, n := range d.Nodes {
		for _, p := range uniq(n.In) {
			c[p]++
		}
	}
	return c
}

func uniq(in []int) []int {
	var out []int
	for _, p := range in {
		dup := false
		for _, q := range out {
			dup = dup || q == p
		}
		if !dup {
			out = append(out, p)
		}
	}
	return out
}

// Types returns the Mem and MemSink node types.
func Types() []*engine.NodeType {
	var ins []engine.InputSpec
	for k := range MaxInputs {
		ins = append(ins, engine.InputSpec{Name: fmt.Sprint("a", k), Type: "*", Optional: true})
	}
	ins = append(ins, engine.InputSpec{Name: "work", Type: "INT", Optional: true, Default: int64(0)},
		engine.InputSpec{Name: "ms", Type: "INT", Optional: true, Default: int64(0)})
	mem := append(append([]engine.InputSpec{}, ins...), engine.InputSpec{Name: "out", Type: "INT", Optional: true, Default: int64(0)})
	return []*engine.NodeType{
		{Class: "Mem", Schema: engine.Schema{Inputs: mem, Outputs: []engine.OutputSpec{{Name: "out", Type: "*"}}}, Runner: runner{out: true}},
		{Class: "MemSink", Schema: engine.Schema{Inputs: ins, OutputNode: true}, Runner: runner{}},
	}
}

// Registry returns a registry with Types.
func Registry() *engine.Registry { return engine.NewRegistry().MustRegister(Types()...) }

type runner struct{ out bool }

func (r runner) Estimate(def *engine.Node) (engine.Estimate, bool) {
	w, _ := def.Inputs["work"].(int64)
	o, _ := def.Inputs["out"].(int64)
	ms, _ := def.Inputs["ms"].(int64)
	return engine.Estimate{Out: o, Work: w, Time: time.Duration(ms) * time.Millisecond}, true
}

func (r runner) Run(ctx context.Context, c *engine.Call) (engine.Result, error) {
	w, _ := c.Int("work")
	if w > 0 {
		if _, err := c.Alloc(ctx, w, "work"); err != nil {
			return engine.Result{}, err
		}
	}
	if !r.out {
		return engine.Result{UI: map[string][]any{"done": {true}}}, nil
	}
	o, _ := c.Int("out")
	b, err := c.Alloc(ctx, o, "out")
	if err != nil {
		return engine.Result{}, err
	}
	return engine.Outputs(b), nil
}

// Peak is the peak of running d in order (node indices) at level 2: each
// value alive from its producer's start until its last consumer ends.
func (d *DAG) Peak(order []int) int64 {
	left := d.Consumers()
	var live, peak int64
	for _, v := range order {
		n := d.Nodes[v]
		peak = max(peak, live+n.Out+n.Work)
		if left[v] > 0 {
			live += n.Out
		}
		for _, p := range uniq(n.In) {
			if left[p]--; left[p] == 0 {
				live -= d.Nodes[p].Out
			}
		}
	}
	return peak
}

// Optimum is the least Peak over every topological order of d (at most 20
// nodes).
func (d *DAG) Optimum() int64 {
	best, _ := d.dp()
	return best[len(best)-1]
}

// dp is the dynamic program over subsets of done nodes: best[s] is the
// least peak reaching s, from[s] the node run last on the way.
func (d *DAG) dp() (best []int64, from []int8) {
	n := len(d.Nodes)
	if n > 20 {
		panic("memdag: Optimum of more than 20 nodes")
	}
	preds := make([]uint32, n)
	users := make([]uint32, n) // consumers of each node
	for i, nd := range d.Nodes {
		for _, p := range nd.In {
			preds[i] |= 1 << p
			users[p] |= 1 << i
		}
	}
	const inf = int64(1) << 62
	best, from = make([]int64, 1<<n), make([]int8, 1<<n)
	for i := range best {
		best[i] = inf
	}
	best[0] = 0
	for s := uint32(0); s < 1<<n; s++ {
		if best[s] == inf {
			continue
		}
		var live int64
		for u := range n {
			if s&(1<<u) != 0 && users[u]&^s != 0 {
				live += d.Nodes[u].Out
			}
		}
		for v := range n {
			if s&(1<<v) != 0 || preds[v]&^s != 0 {
				continue
			}
			nd := &d.Nodes[v]
			p := max(best[s], live+nd.Out+nd.Work)
			if t := s | 1<<v; p < best[t] {
				best[t], from[t] = p, int8(v)
			}
		}
	}
	return best, from
}

// Random returns a DAG of n nodes (n >= 2): loaders (big outputs, no
// work), compute nodes (inputs, working memory, small to medium outputs)
// and small ones, every node without a consumer a sink. Sizes are MiB.
func Random(rng *rand.Rand, n int) *DAG {
	const MiB = 1 << 20
	d := &DAG{Nodes: make([]Node, n)}
	for i := range n {
		nd := &d.Nodes[i]
		k := rng.IntN(10)
		switch {
		case i == 0 || k < 3: // loader
			nd.Name, nd.Out = "loader", int64(256+rng.IntN(8)*512)*MiB
		case k < 7:
			nd.Name, nd.Out, nd.Work = "compute", int64(1+rng.IntN(64))*16*MiB, int64(rng.IntN(9))*512*MiB
		default:
			nd.Name, nd.Out, nd.Work = "small", int64(1+rng.IntN(16))*MiB, int64(rng.IntN(4))*MiB
		}
		if i > 0 && nd.Name != "loader" {
			for range 1 + rng.IntN(3) {
				nd.In = append(nd.In, rng.IntN(i))
			}
			nd.In = uniq(nd.In)
		} else if i > 0 && rng.IntN(4) == 0 {
			nd.In = []int{rng.IntN(i)} // a loader that reads a name, a path
		}
	}
	users := d.Consumers()
	for i := range d.Nodes {
		if users[i] == 0 {
			d.Nodes[i].Sink, d.Nodes[i].Out = true, 0
		}
	}
	return d
}

// OptimalOrder returns an order reaching Optimum.
func (d *DAG) OptimalOrder() []int {
	_, from := d.dp()
	n := len(d.Nodes)
	order := make([]int, n)
	s := uint32(1<<n - 1)
	for k := n - 1; k >= 0; k-- {
		order[k] = int(from[s])
		s &^= 1 << from[s]
	}
	return order
}

// LowerBound is the largest single-node working set: a node's inputs,
// output and working memory. No order peaks below it.
func (d *DAG) LowerBound() int64 {
	var lb int64
	for _, n := range d.Nodes {
		s := n.Out + n.Work
		for _, p := range uniq(n.In) {
			s += d.Nodes[p].Out
		}
		lb = max(lb, s)
	}
	return lb
}
