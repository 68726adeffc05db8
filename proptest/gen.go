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

func (g *gen) step(k int) {
	s := g.spec
	switch k {
	case kSrc:
		g.src()
	case kMix:
		id := g.id()
		a, _ := g.pick("mix-a", false)
		in := map[string]any{"a": a.ref, "salt": g.small("salt"), "size": g.size("size"), "size1": g.size("size1")}
		multi := a.multi
		for _, name := range []string{"b", "c"} {
			if rapid.Bool().Draw(g.t, "mix-has-"+name) {
				v, _ := g.pick("mix-"+name, false)
				in[name] = v.ref
				multi = multi || v.multi
			}
		}
		if g.opt.Work && rapid.IntRange(0, 3).Draw(g.t, "mix-work?") == 0 {
			in["work"] = g.size("work")
		}
		g.add(id, ClassMix, in)
		g.expose(id, 0, multi)
		g.expose(id, 1, multi)
	case kPass:
		id := g.id()
		a, _ := g.pick("pass-a", false)
		g.add(id, ClassPass, map[string]any{"a": a.ref, "salt": g.small("salt"), "size": g.size("size")})
		g.expose(id, 0, a.multi)
		g.expose(id, 1, a.multi)
	case kList:
		s.Lists = true
		id := g.id()
		in := map[string]any{"n": int64(rapid.IntRange(1, 4).Draw(g.t, "list-n")), "size": g.size("size")}
		multi := false
		if rapid.Bool().Draw(g.t, "list-has-a") {
			a, _ := g.pick("list-a", false)
			in["a"] = a.ref
			multi = a.multi
		}
		g.add(id, ClassList, in)
		g.expose(id, 0, true)
		g.expose(id, 1, multi)
	case kSum:
		s.Lists = true
		id := g.id()
		a, _ := g.pick("sum-a", false)
		in := map[string]any{"a": a.ref, "salt": g.small("salt"), "size": g.size("size")}
		if rapid.Bool().Draw(g.t, "sum-has-b") {
			b, _ := g.pick("sum-b", false)
			in["b"] = b.ref
		}
		g.add(id, ClassSum, in)
		g.expose(id, 0, false)
	case kLazy:
		s.Lazy = true
		id := g.id()
		in := map[string]any{"seed": int64(rapid.IntRange(0, 7).Draw(g.t, "lazy-seed")), "size": g.size("size")}
		multi := false
		for _, name := range []string{"a", "b", "c"} {
			v, _ := g.pick("lazy-"+name, false)
			in[name] = v.ref
			multi = multi || v.multi
		}
		g.add(id, ClassLazy, in)
		g.expose(id, 0, multi)
	case kNoRe:
		s.NoRe = true
		id := g.id()
		in := map[string]any{"salt": g.small("salt"), "size": g.size("size")}
		multi := false
		if rapid.Bool().Draw(g.t, "nore-has-a") {
			a, _ := g.pick("nore-a", false)
			in["a"] = a.ref
			multi = a.multi
		}
		g.add(id, ClassNoRe, in)
		g.expose(id, 0, multi)
	case kOut:
		id := g.id()
		a, _ := g.pick("out-a", false)
		in := map[string]any{"a": a.ref, "salt": g.small("salt")}
		multi := a.multi
		if rapid.Bool().Draw(g.t, "out-has-b") {
			b, _ := g.pick("out-b", false)
			in["b"] = b.ref
			multi = multi || b.multi
		}
		g.add(id, ClassOut, in)
		s.Outputs = append(s.Outputs, id)
		g.expose(id, 0, multi)
	case kExpand:
		s.Static = false
		id := g.id()
		a, _ := g.pick("expand-a", false)
		multi := a.multi
		var links []engine.Ref
		for range rapid.IntRange(0, 2).Draw(g.t, "expand-links") {
			l, _ := g.pick("expand-link", false)
			links = append(links, l.ref)
			multi = multi || l.multi
		}
		in := map[string]any{
			"a":     a.ref,
			"seed":  int64(rapid.IntRange(0, 1<<16).Draw(g.t, "expand-seed")),
			"depth": int64(rapid.IntRange(0, 2).Draw(g.t, "expand-depth")),
			"size":  g.size("size"),
		}
		if len(links) > 0 {
			in["links"] = FormatLinks(links)
		}
		g.add(id, ClassExpand, in)
		for _, l := range links {
			if !g.anc[id][l.Node] {
				s.Outside[id] = append(s.Outside[id], l.Node)
			}
		}
		s.Expanders = append(s.Expanders, id)
		g.expose(id, 0, multi)
		g.expose(id, 1, multi)
	case kComp:
		s.Static = false
		id := g.id()
		x, _ := g.pick("comp-x", false)
		g.add(id, ClassComp, map[string]any{"x": x.ref})
		s.Expanders = append(s.Expanders, id)
		g.expose(id, 0, x.multi)
		g.expose(id, 1, x.multi)
	case kLoop:
		g.loop()
	case kFail:
		s.Fail = true
		id := g.id()
		in := map[string]any{}
		if rapid.Bool().Draw(g.t, "fail-has-a") {
			a, _ := g.pick("fail-a", false)
			in["a"] = a.ref
		}
		if g.opt.Work {
			in["work"] = g.size("work")
		}
		g.add(id, ClassFail, in)
		g.expose(id, 0, false)
	case kCancel:
		id := g.id()
		hard := rapid.Bool().Draw(g.t, "cancel-hard")
		if hard {
			s.HardCancel = true
		} else {
			s.SoftCancel = true
		}
		in := map[string]any{"hard": map[bool]int64{false: 0, true: 1}[hard], "size": g.size("size")}
		multi := false
		if rapid.Bool().Draw(g.t, "cancel-has-a") {
			a, _ := g.pick("cancel-a", false)
			in["a"] = a.ref
			multi = a.multi
		}
		g.add(id, ClassCancel, in)
		g.expose(id, 0, multi)
	default:
		panic(fmt.Sprintf("proptest: unknown kind %d", k))
	}
}

// loop adds a for loop of 1..4 iterations: a PMix turning an earlier
// value into the loop's value (an int64 unless LoopBuffers), the
// TestForLoopOpen, a body of one or two PMix nodes (the first may also
// read a value from outside the loop, a buffer or not), and the
// TestForLoopClose, whose first output is exposed.
func (g *gen) loop() {
	s := g.spec
	x, ok := g.pick("loop-x", true)
	if !ok {
		return
	}
	s.Static = false
	loopSize := func(label string) int64 {
		if g.opt.LoopBuffers {
			return g.size(label)
		}
		return 0
	}
	cv := g.id()
	g.add(cv, ClassMix, map[string]any{"a": x.ref, "salt": g.small("loop-salt"), "size": loopSize("loop-size")})
	open := g.id()
	g.add(open, "TestForLoopOpen", map[string]any{
		"remaining":      int64(rapid.IntRange(1, 4).Draw(g.t, "loop-count")),
		"initial_value1": engine.Ref{Node: cv, Out: 0},
	})
	body := g.id()
	in := map[string]any{"a": engine.Ref{Node: open, Out: 2}, "salt": g.small("body-salt"), "size": loopSize("body-size")}
	if y, ok := g.pick("loop-outside", true); ok && rapid.Bool().Draw(g.t, "loop-reads-outside") {
		in["b"] = y.ref
	}
	if g.opt.Work && rapid.Bool().Draw(g.t, "body-work?") {
		in["work"] = g.size("body-work")
	}
	g.add(body, ClassMix, in)
	last := body
	if rapid.Bool().Draw(g.t, "loop-two-body-nodes") {
		last = g.id()
		g.add(last, ClassPass, map[string]any{"a": engine.Ref{Node: body, Out: 0}, "salt": g.small("body2-salt")})
	}
	cl := g.id()
	g.add(cl, "TestForLoopClose", map[string]any{
		"flow_control":   engine.Ref{Node: open, Out: 0},
		"initial_value1": engine.Ref{Node: last, Out: 0},
	})
	s.Loops = append(s.Loops, cl)
	g.expose(cl, 0, false)
	if rapid.Bool().Draw(g.t, "loop-shown") {
		g.step(kOut) // likely reads the loop: outputs prefer recent values
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
