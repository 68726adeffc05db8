// oracle_run.go: how the oracle runs a node: its calls built from its inputs, the lazy rounds, its results, and output slots read from them.

package proptest

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/ebbgraph/ebb/engine"
)

// slot returns the values of the output ref names, evaluating its node and,
// for an expanded node, the link its result names.
func (o *Oracle) slot(ref engine.Ref) ([]any, error) {
	if err := o.eval(ref.Node); err != nil {
		return nil, fmt.Errorf("%w: %v", errUpstream, err)
	}
	m := o.meta[ref.Node]
	nout := len(m.typ.Schema.Outputs)
	if ref.Out < 0 || ref.Out >= nout {
		return nil, fmt.Errorf("oracle: %w: %v", engine.ErrBadOutput, ref)
	}
	if sl, ok := m.slots[ref.Out]; ok {
		if sl.busy {
			err := fmt.Errorf("oracle: %w through the results of %s", engine.ErrCycle, ref.Node)
			o.res.Other = append(o.res.Other, err)
			return nil, err
		}
		return sl.vals, sl.err
	}
	m.slots[ref.Out] = oslot{busy: true}
	var vals []any
	var err error
	for _, res := range m.results {
		if res.Expand == nil {
			v := res.Outputs[ref.Out]
			if l, ok := v.([]any); ok && m.typ.Schema.Outputs[ref.Out].IsList {
				vals = append(vals, l...)
			} else {
				vals = append(vals, v)
			}
			continue
		}
		item := res.Expand.Outputs[ref.Out]
		r, isRef := item.(engine.Ref)
		if !isRef {
			vals = append(vals, item)
			continue
		}
		v, e := o.slot(r)
		if e != nil {
			err = cmp.Or(err, e)
			continue
		}
		vals = append(vals, v...)
	}
	if err != nil {
		vals = nil
		if !errors.Is(err, errUpstream) {
			err = fmt.Errorf("%w: %v", errUpstream, err)
		}
	}
	m.slots[ref.Out] = oslot{vals: vals, err: err}
	if err == nil {
		vs := o.res.Values[ref.Node]
		if vs == nil {
			vs = make([][]any, nout)
			o.res.Values[ref.Node] = vs
		}
		vs[ref.Out] = vals
	}
	return vals, err
}

type oinput struct {
	name string
	vals []any
}

// calls builds the calls of id with the lazy inputs in requested. Every
// needed producer is evaluated, even after one failed, so the result lists
// every error a run could stop at (a parallel run may reach any of them).
func (o *Oracle) calls(id engine.NodeID, def *engine.Node, t *engine.NodeType, requested map[string]bool) ([]*engine.Call, error) {
	sch := &t.Schema
	var ins []oinput
	var firstErr error
	n := 0
	for _, name := range def.InputNames() {
		v := def.Inputs[name]
		spec, declared := sch.Input(name)
		ref, isRef := v.(engine.Ref)
		if !isRef {
			if !declared {
				continue
			}
			ins = append(ins, oinput{name, []any{o.unwrap(id, v)}})
			n = max(n, 1)
			continue
		}
		if declared && spec.Lazy && !requested[name] {
			continue
		}
		vals, err := o.slot(ref)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if declared && spec.RawLink {
			vals = []any{ref} // after the producer is evaluated
		}
		if len(vals) == 0 {
			continue
		}
		ins = append(ins, oinput{name, vals})
		n = max(n, len(vals))
	}
	if firstErr != nil {
		return nil, firstErr
	}
	for _, in := range sch.Inputs {
		if _, has := def.Inputs[in.Name]; !has && in.Default != nil && in.Hidden == engine.NotHidden {
			ins = append(ins, oinput{in.Name, []any{in.Default}})
			n = max(n, 1)
		}
	}
	if sch.InputIsList || n == 0 {
		n = 1
	}
	calls := make([]*engine.Call, n)
	for i := range calls {
		c := &engine.Call{Node: id, Class: def.Class, Index: i, Inputs: map[string]any{}, Graph: o}
		for _, in := range ins {
			if sch.InputIsList {
				c.Inputs[in.name] = in.vals
			} else {
				c.Inputs[in.name] = in.vals[min(i, len(in.vals)-1)]
			}
		}
		calls[i] = c
	}
	return calls, nil
}

// unwrap removes the Literal wrapper of a literal input: the workflow's
// nodes are unwrapped as validation does (down to a Literal of a Ref, then
// once more), expanded nodes once.
func (o *Oracle) unwrap(id engine.NodeID, v any) any {
	if o.orig[id] {
		for {
			l, ok := v.(engine.Literal)
			if !ok {
				return v
			}
			if _, isRef := l.Value.(engine.Ref); isRef {
				return l.Value
			}
			v = l.Value
		}
	}
	if l, ok := v.(engine.Literal); ok {
		return l.Value
	}
	return v
}

// maxLazyRounds bounds the CheckLazy rounds of one node.
const maxLazyRounds = 64

// run evaluates id's inputs and runs it.
func (o *Oracle) run(id engine.NodeID, m *onode) error {
	def := o.defs[id]
	t, ok := o.reg.Lookup(def.Class)
	if !ok {
		return o.fail(id, fmt.Errorf("%w: %q", engine.ErrUnknownClass, def.Class))
	}
	m.typ = t
	requested := map[string]bool{}
	calls, err := o.calls(id, def, t, requested)
	if err != nil {
		return o.fail(id, err)
	}
	if lc, ok := t.Runner.(engine.LazyChecker); ok {
		for round := 0; ; round++ {
			if round == maxLazyRounds {
				return o.fail(id, fmt.Errorf("oracle: CheckLazy still asking after %d rounds", round))
			}
			var need []string
			for _, c := range calls {
				names, err := lc.CheckLazy(o.ctx, c)
				if err != nil {
					return o.fail(id, err)
				}
				for _, nm := range names {
					if !c.Has(nm) && !slices.Contains(need, nm) {
						need = append(need, nm)
					}
				}
			}
			if len(need) == 0 {
				break
			}
			for _, nm := range need {
				if _, ok := def.Inputs[nm]; !ok {
					return o.fail(id, fmt.Errorf("lazy input %q requested, but there is no input to that node at all", nm))
				}
				requested[nm] = true
			}
			if calls, err = o.calls(id, def, t, requested); err != nil {
				return o.fail(id, err)
			}
		}
	}
	o.res.Runs[id]++
	results := make([]engine.Result, len(calls))
	for i, c := range calls {
		res, err := t.Runner.Run(o.ctx, c)
		if err != nil {
			return o.fail(id, err)
		}
		results[i] = res
	}
	if def.Class == ClassCancel { // a soft one: hard ones failed above
		o.res.SoftCancelled = append(o.res.SoftCancelled, id)
	}
	nout := len(t.Schema.Outputs)
	var ui map[string][]any
	for ci, res := range results {
		for k, v := range res.UI {
			if ui == nil {
				ui = map[string][]any{}
			}
			ui[k] = append(ui[k], v...)
		}
		if res.Expand != nil {
			if err := o.expand(id, nout, res.Expand); err != nil {
				return o.fail(id, err)
			}
			continue
		}
		if len(res.Outputs) != nout {
			return o.fail(id, fmt.Errorf("%w: call %d returned %d outputs, want %d", engine.ErrBadResult, ci, len(res.Outputs), nout))
		}
		for j, v := range res.Outputs {
			if _, isList := v.([]any); t.Schema.Outputs[j].IsList && !isList {
				return o.fail(id, fmt.Errorf("%w: list output %d is %T", engine.ErrBadResult, j, v))
			}
		}
	}
	m.results = results
	if ui != nil {
		o.res.UI[id] = ui
	}
	return nil
}
