// gen_steps.go: the generator's steps: one node of each kind, or a whole for loop.

package proptest

import (
	"fmt"

	"github.com/ebbgraph/ebb/engine"
	"pgregory.net/rapid"
)

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
