// pack_runners.go: the runners of the pack's classes (PSrc ... POut).

package proptest

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/expand"
)

func runSrc(ctx context.Context, c *engine.Call) (engine.Result, error) {
	seed := param(c, "seed")
	vals := make([]any, 3)
	for i := range vals {
		v, err := makeValue(ctx, c, mix(mix(seed, int64(i)), 0x5eed), param(c, "size"+strconv.Itoa(i)))
		if err != nil {
			return engine.Result{}, err
		}
		vals[i] = v
	}
	return engine.Outputs(vals...), nil
}

func runMix(ctx context.Context, c *engine.Call) (engine.Result, error) {
	h, err := mixInputs(c, param(c, "salt"), "a", "b", "c")
	if err != nil {
		return engine.Result{}, err
	}
	if err := work(ctx, c, param(c, "work")); err != nil {
		return engine.Result{}, err
	}
	o0, err := makeValue(ctx, c, h, param(c, "size"))
	if err != nil {
		return engine.Result{}, err
	}
	o1, err := makeValue(ctx, c, mix(h, 1), param(c, "size1"))
	if err != nil {
		return engine.Result{}, err
	}
	return engine.Outputs(o0, o1), nil
}

func runPass(ctx context.Context, c *engine.Call) (engine.Result, error) {
	h, err := mixInputs(c, param(c, "salt"), "a")
	if err != nil {
		return engine.Result{}, err
	}
	o1, err := makeValue(ctx, c, h, param(c, "size"))
	if err != nil {
		return engine.Result{}, err
	}
	return engine.Outputs(c.Inputs["a"], o1), nil
}

func runList(ctx context.Context, c *engine.Call) (engine.Result, error) {
	h, err := mixInputs(c, 0x11, "a")
	if err != nil {
		return engine.Result{}, err
	}
	n := param(c, "n")
	list := make([]any, 0, n)
	for i := range n {
		v, err := makeValue(ctx, c, mix(h, i), param(c, "size"))
		if err != nil {
			return engine.Result{}, err
		}
		list = append(list, v)
	}
	return engine.Outputs(list, n), nil
}

func runSum(ctx context.Context, c *engine.Call) (engine.Result, error) {
	h := param(c, "salt")
	for i, name := range []string{"a", "b"} {
		l, _ := c.Inputs[name].([]any)
		h = mix(h, int64(100+i))
		for _, v := range l {
			x, err := Content(v)
			if err != nil {
				return engine.Result{}, fmt.Errorf("input %q: %w", name, err)
			}
			h = mix(h, x)
		}
	}
	o, err := makeValue(ctx, c, h, param(c, "size"))
	return engine.Outputs(o), err
}

// lazyNode is PLazy: a is needed when seed bit 0 is set; b when seed bit 1
// differs from the parity of a's content (a needed) or when bit 1 is set
// (a not needed); c when seed bit 2 is set and a or b is needed. Needs are
// asked one at a time (a, then b, then c), and only the needed inputs
// count: an input delivered without being asked (the engine delivers a
// lazy input that resolves to a literal, ComfyUI any input whose value is
// available) changes neither the needs nor the result.
type lazyNode struct{}

var _ engine.LazyChecker = lazyNode{}

// lazyNeeds returns the inputs PLazy needs given what it has: the names
// decided so far, and whether the decision is complete (false: the last
// name is missing and must be asked for first).
func lazyNeeds(c *engine.Call) (need []string, complete bool, err error) {
	seed := param(c, "seed")
	wantB := seed&2 != 0
	if seed&1 != 0 {
		need = append(need, "a")
		if !c.Has("a") {
			return need, false, nil
		}
		x, err := Content(c.Inputs["a"])
		if err != nil {
			return nil, false, fmt.Errorf("input \"a\": %w", err)
		}
		wantB = wantB != (x&1 == 1)
	}
	if wantB {
		need = append(need, "b")
		if !c.Has("b") {
			return need, false, nil
		}
	}
	if seed&4 != 0 && len(need) > 0 {
		need = append(need, "c")
	}
	return need, true, nil
}

func (lazyNode) CheckLazy(_ context.Context, c *engine.Call) ([]string, error) {
	need, _, err := lazyNeeds(c)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, name := range need {
		if !c.Has(name) {
			missing = append(missing, name)
		}
	}
	return missing, nil
}

func (lazyNode) Run(ctx context.Context, c *engine.Call) (engine.Result, error) {
	need, complete, err := lazyNeeds(c)
	if err != nil {
		return engine.Result{}, err
	}
	if !complete {
		return engine.Result{}, fmt.Errorf("PLazy ran without its needed inputs %v", need)
	}
	h := param(c, "seed")
	for i, name := range []string{"a", "b", "c"} {
		if !slices.Contains(need, name) {
			h = mix(h, int64(-1-i))
			continue
		}
		x, err := Content(c.Inputs[name])
		if err != nil {
			return engine.Result{}, fmt.Errorf("input %q: %w", name, err)
		}
		h = mix(mix(h, int64(i)), x)
	}
	o, err := makeValue(ctx, c, h, param(c, "size"))
	return engine.Outputs(o), err
}

// noReNode is PNoRe: a deterministic node that says it must not run twice.
type noReNode struct{}

var _ engine.NotReexecutable = noReNode{}

func (noReNode) NotReexecutable() {}

func (noReNode) Run(ctx context.Context, c *engine.Call) (engine.Result, error) {
	h, err := mixInputs(c, mix(param(c, "salt"), 0x40), "a")
	if err != nil {
		return engine.Result{}, err
	}
	o, err := makeValue(ctx, c, h, param(c, "size"))
	return engine.Outputs(o), err
}

// ParseLinks parses PExpand's links literal: "id:out;id:out".
func ParseLinks(s string) ([]engine.Ref, error) {
	if s == "" {
		return nil, nil
	}
	var refs []engine.Ref
	for _, part := range strings.Split(s, ";") {
		id, out, ok := strings.Cut(part, ":")
		if !ok {
			return nil, fmt.Errorf("proptest: bad link %q", part)
		}
		n, err := strconv.Atoi(out)
		if err != nil {
			return nil, fmt.Errorf("proptest: bad link %q: %w", part, err)
		}
		refs = append(refs, engine.Ref{Node: engine.NodeID(id), Out: n})
	}
	return refs, nil
}

// FormatLinks is the inverse of ParseLinks.
func FormatLinks(refs []engine.Ref) string {
	parts := make([]string, len(refs))
	for i, r := range refs {
		parts[i] = string(r.Node) + ":" + strconv.Itoa(r.Out)
	}
	return strings.Join(parts, ";")
}

// expander is PExpand. With seed%7 == 6 it does not expand (its outputs
// then depend only on seed). Otherwise it expands into a chain of PMix
// nodes starting at its raw input a, one per late edge in links (each
// mixing in the linked output), then a last PMix; with depth > 0 the first
// output goes through a nested PExpand, and with seed%3 == 1 the second
// through a PComp.
type expander struct{}

var _ engine.MayExpand = expander{}

func (expander) MayExpand() {}

func (expander) Run(ctx context.Context, c *engine.Call) (engine.Result, error) {
	seed, size, depth := param(c, "seed"), param(c, "size"), param(c, "depth")
	a, ok := c.Inputs["a"].(engine.Ref)
	if !ok {
		return engine.Result{}, fmt.Errorf("input \"a\": want a raw link, got %T", c.Inputs["a"])
	}
	s, _ := c.Inputs["links"].(string)
	links, err := ParseLinks(s)
	if err != nil {
		return engine.Result{}, err
	}
	if seed%7 == 6 {
		o0, err := makeValue(ctx, c, mix(seed, 70), size)
		if err != nil {
			return engine.Result{}, err
		}
		return engine.Outputs(o0, mix(seed, 71)), nil
	}
	b := expand.NewBuilder(c)
	prev := a
	for i, l := range links {
		prev = b.Node(ClassMix, "", map[string]any{"a": prev, "b": l, "salt": mix(seed, int64(i)), "size": size}).Out(0)
	}
	last := b.Node(ClassMix, "", map[string]any{"a": prev, "salt": seed, "size": size, "size1": size / 2})
	var o0, o1 any = last.Out(0), last.Out(1)
	if depth > 0 {
		o0 = b.Node(ClassExpand, "", map[string]any{"a": last.Out(0), "seed": mix(seed, 3) & 0xffff, "depth": depth - 1, "size": size}).Out(0)
	}
	if seed%3 == 1 {
		o1 = b.Node(ClassComp, "", map[string]any{"x": last.Out(1)}).Out(1)
	} else if seed%5 == 2 {
		o1 = mix(seed, 72) // a literal result
	}
	return b.Result(o0, o1), nil
}

// component is PComp: x -> PMix(a=x) -> PPass -> (the pass-through of the
// mix, the pass's own value).
func component() *expand.Component {
	return &expand.Component{
		Class:   ClassComp,
		Inputs:  []engine.InputSpec{anyIn("x")},
		Outputs: outs(2),
		Graph: engine.Workflow{
			"m": {Class: ClassMix, Inputs: map[string]any{"salt": int64(11), "size": int64(48), "size1": int64(16)}},
			"p": {Class: ClassPass, Inputs: map[string]any{"a": engine.Ref{Node: "m", Out: 0}, "salt": int64(5), "size": int64(32)}},
		},
		InputNodes: map[string][]expand.Port{"x": {{Node: "m", Input: "a"}}},
		Results:    []engine.Ref{{Node: "p", Out: 0}, {Node: "p", Out: 1}},
	}
}

func runFail(ctx context.Context, c *engine.Call) (engine.Result, error) {
	if _, err := mixInputs(c, 0, "a"); err != nil {
		return engine.Result{}, err
	}
	if err := work(ctx, c, param(c, "work")); err != nil {
		return engine.Result{}, err
	}
	return engine.Result{}, fmt.Errorf("%w (node %s)", ErrInjected, c.Node)
}

func runCancel(ctx context.Context, c *engine.Call) (engine.Result, error) {
	h, err := mixInputs(c, 0x77, "a")
	if err != nil {
		return engine.Result{}, err
	}
	hard := param(c, "hard") != 0
	if InOracle(ctx) {
		if hard {
			return engine.Result{}, ErrCancelled
		}
		o, err := makeValue(ctx, c, h, param(c, "size"))
		return engine.Outputs(o), err
	}
	o, err := makeValue(ctx, c, h, param(c, "size")) // before cancelling, so a soft cancel returns it
	if err != nil {
		return engine.Result{}, err
	}
	cancel, ok := ctx.Value(cancelKey{}).(context.CancelFunc)
	switch {
	case !ok && hard:
		return engine.Result{}, ErrCancelled
	case !ok:
		return engine.Outputs(o), nil
	}
	cancel()
	if hard {
		return engine.Result{}, ctx.Err()
	}
	return engine.Outputs(o), nil
}

func runOut(_ context.Context, c *engine.Call) (engine.Result, error) {
	h, err := mixInputs(c, param(c, "salt"), "a", "b")
	if err != nil {
		return engine.Result{}, err
	}
	return engine.Result{Outputs: []any{c.Inputs["a"]}, UI: map[string][]any{"v": {h}}}, nil
}
