package proptest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/ebbgraph/ebb/engine"
	"pgregory.net/rapid"
)

// GenOptions say what the workflow generator may use.
type GenOptions struct {
	// Steps bounds the generation steps (a step adds one node, or a whole
	// loop of four or five nodes). At least 1.
	Steps int
	// Dynamic allows expanders (PExpand with late edges, PComp) and for
	// loops: nodes that change the graph while it runs.
	Dynamic bool
	// Lazy allows PLazy; Lists allows PList and PSum.
	Lazy, Lists bool
	// Failures allows PFail and PCancel nodes.
	Failures bool
	// LoopBuffers lets loops carry device buffers as loop values (the loop
	// clones receive them as literals); otherwise loop values are int64.
	LoopBuffers bool
	// Work allows working memory (allocated and not returned).
	Work bool
}

// DefaultGen allows everything the engine is expected to handle.
func DefaultGen() GenOptions {
	return GenOptions{Steps: 40, Dynamic: true, Lazy: true, Lists: true, Failures: true, Work: true, LoopBuffers: true}
}

// StaticGen makes workflows no node can change (no expanders, no loops)
// and that cannot fail.
func StaticGen() GenOptions {
	return GenOptions{Steps: 40, Lazy: true, Lists: true, Work: true}
}

// Spec is a generated workflow and what the generator knows about it.
type Spec struct {
	WF engine.Workflow
	// Outputs are the output nodes (POut), sorted.
	Outputs []engine.NodeID
	// Static: no node may change the graph (no expanders, no loops).
	Static bool
	// Expanders are the PExpand and PComp nodes; Loops the for loops'
	// close nodes.
	Expanders, Loops []engine.NodeID
	// Outside maps each PExpand whose late edges reach outside its
	// upstream (the restrict rule) to those targets.
	Outside map[engine.NodeID][]engine.NodeID
	// Fail, HardCancel, SoftCancel, NoRe, Lazy, Lists: the workflow has
	// such nodes (reachable from an output or not).
	Fail, HardCancel, SoftCancel, NoRe, Lazy, Lists bool
}

// Workflows generates workflows with opt.
func Workflows(opt GenOptions) *rapid.Generator[*Spec] {
	return rapid.Custom(func(t *rapid.T) *Spec {
		g := &gen{t: t, opt: opt, spec: &Spec{WF: engine.Workflow{}, Outside: map[engine.NodeID][]engine.NodeID{}}, anc: map[engine.NodeID]map[engine.NodeID]bool{}}
		g.build()
		return g.spec
	})
}

// valOut is a value output of a generated node: a link target.
type valOut struct {
	ref engine.Ref
	// multi: the slot may hold several values (a list, or a mapped node's
	// outputs).
	multi bool
}

type gen struct {
	t    *rapid.T
	opt  GenOptions
	spec *Spec
	vals []valOut
	anc  map[engine.NodeID]map[engine.NodeID]bool // static upstream of each node
	next int
}

func (g *gen) id() engine.NodeID {
	g.next++
	return engine.NodeID(strconv.Itoa(g.next))
}

// add adds a node and computes its static upstream from its links.
func (g *gen) add(id engine.NodeID, class string, inputs map[string]any) {
	anc := map[engine.NodeID]bool{}
	for _, v := range inputs {
		if r, ok := v.(engine.Ref); ok {
			anc[r.Node] = true
			for a := range g.anc[r.Node] {
				anc[a] = true
			}
		}
	}
	g.anc[id] = anc
	g.spec.WF[id] = &engine.Node{Class: class, Inputs: inputs}
}

func (g *gen) expose(id engine.NodeID, out int, multi bool) {
	g.vals = append(g.vals, valOut{engine.Ref{Node: id, Out: out}, multi})
}

// pick draws an earlier value output, biased to recent ones so graphs get
// deep; single restricts the choice to single-valued outputs (false when
// there is none).
func (g *gen) pick(label string, single bool) (valOut, bool) {
	cands := g.vals
	if !single && rapid.IntRange(0, 3).Draw(g.t, label+"-list?") == 0 {
		// Sometimes a list (or mapped) value on purpose, so that nodes
		// get lists of different lengths to map over.
		var multi []valOut
		for _, v := range g.vals {
			if v.multi {
				multi = append(multi, v)
			}
		}
		if len(multi) > 0 {
			return multi[rapid.IntRange(0, len(multi)-1).Draw(g.t, label+"-list")], true
		}
	}
	if single {
		cands = nil
		for _, v := range g.vals {
			if !v.multi {
				cands = append(cands, v)
			}
		}
	}
	if len(cands) == 0 {
		return valOut{}, false
	}
	var i int
	if rapid.Bool().Draw(g.t, label+"-recent") {
		i = len(cands) - 1 - rapid.IntRange(0, min(2, len(cands)-1)).Draw(g.t, label+"-back")
	} else {
		i = rapid.IntRange(0, len(cands)-1).Draw(g.t, label)
	}
	return cands[i], true
}

func (g *gen) size(label string) int64 {
	return rapid.SampledFrom([]int64{0, 16, 64, 64, 256, 1024}).Draw(g.t, label)
}

func (g *gen) small(label string) int64 { return int64(rapid.IntRange(0, 1000).Draw(g.t, label)) }

const (
	kSrc = iota
	kMix
	kPass
	kList
	kSum
	kLazy
	kNoRe
	kOut
	kExpand
	kComp
	kLoop
	kFail
	kCancel
)

func (g *gen) kinds() []int {
	ks := []int{kSrc, kMix, kMix, kMix, kPass, kNoRe, kOut}
	if g.opt.Lists {
		ks = append(ks, kList, kSum)
	}
	if g.opt.Lazy {
		ks = append(ks, kLazy, kLazy)
	}
	if g.opt.Dynamic {
		ks = append(ks, kExpand, kExpand, kExpand, kComp, kLoop, kLoop)
	}
	if g.opt.Failures {
		ks = append(ks, kFail, kCancel)
	}
	return ks
}

func (g *gen) build() {
	s := g.spec
	s.Static = true
	g.src()
	kinds := g.kinds()
	steps := rapid.IntRange(1, max(1, g.opt.Steps)).Draw(g.t, "steps")
	for range steps {
		k := rapid.SampledFrom(kinds).Draw(g.t, "kind")
		g.step(k)
	}
	// Output nodes at the end: at least one, so the run has something to do.
	nout := rapid.IntRange(0, 2).Draw(g.t, "final-outputs")
	if len(s.Outputs) == 0 {
		nout = max(nout, 1)
	}
	for range nout {
		g.step(kOut)
	}
	slices.Sort(s.Outputs)
	for id := range s.Outside {
		slices.Sort(s.Outside[id])
		s.Outside[id] = slices.Compact(s.Outside[id])
	}
}

func (g *gen) src() {
	id := g.id()
	g.add(id, ClassSrc, map[string]any{
		"seed": g.small("seed"), "size0": g.size("size0"), "size1": g.size("size1"), "size2": g.size("size2"),
	})
	for i := range 3 {
		g.expose(id, i, false)
	}
}

// GoString is String, so that rapid's logs of a drawn Spec (%#v) show
// the workflow.
func (s *Spec) GoString() string { return "workflow " + s.String() }

// String describes a spec for failure messages: the workflow as JSON.
func (s *Spec) String() string {
	b, err := engine.EncodeWorkflow(s.WF)
	if err != nil {
		return fmt.Sprintf("%v (encode: %v)", s.WF, err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return string(b)
	}
	return buf.String()
}
