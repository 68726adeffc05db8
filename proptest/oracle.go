package proptest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"

	"github.com/ebbgraph/ebb/engine"
)

// Oracle is a deliberately naive evaluator of workflows: sequential,
// recursive from the output nodes, level 0 (every value is kept until the
// end), no cache, no worker pool, no lifetime tracking. It shares no
// scheduling code with the engine: it only calls the node types' Runners
// (and LazyCheckers) with engine.Call values it builds itself, so nodes
// cannot allocate device memory (InOracle tells them; the pack returns Buf
// values instead).
//
// It implements ComfyUI's semantics as the engine documents them: literal
// and linked inputs (undeclared links are delivered, undeclared literals
// are not), defaults of absent optional inputs, RawLink inputs (the Ref,
// after the producer is evaluated), lazy inputs (CheckLazy until it needs
// nothing more), list mapping (a call per element, shorter lists padded
// with their last element; InputIsList; OutputIsList concatenation) and
// expansion (new nodes, results resolved from links or literals, output
// nodes of an expansion evaluated too). It does not implement blockers,
// fingerprints, validation or literal coercion: workflows given to it must
// be valid (as the generators make them).
//
// Errors do not stop it: every output node is evaluated, so the result
// lists every error a run could stop at. An Oracle is not safe for
// concurrent use; Evaluate makes a new one per workflow.
type Oracle struct {
	ctx   context.Context
	reg   *engine.Registry
	defs  map[engine.NodeID]*engine.Node
	orig  map[engine.NodeID]bool
	meta  map[engine.NodeID]*onode
	res   *OracleResult
	depth int
}

type ostate uint8

const (
	oNew ostate = iota
	oBusy
	oDone
	oFailed
)

type onode struct {
	state                 ostate
	parent, real, display engine.NodeID
	err                   error
	// results are the node's calls' results; its output slots are
	// resolved from them when read (slot), so the links of an expansion's
	// results are evaluated only when something reads them, as the engine
	// does when it forwards an expanded node's outputs.
	results []engine.Result
	typ     *engine.NodeType
	slots   map[int]oslot
}

type oslot struct {
	vals []any
	err  error
	busy bool
}

// OracleResult is what the oracle found.
type OracleResult struct {
	// UI holds the UI results by node id, as engine.RunResult.Outputs.
	UI map[engine.NodeID]map[string][]any
	// Failed lists nodes whose own body failed with ErrInjected.
	Failed []engine.NodeID
	// Cancelled lists hard PCancel nodes that ran; SoftCancelled the soft
	// ones (a run that reaches one may be interrupted or succeed).
	Cancelled, SoftCancelled []engine.NodeID
	// Violations are the links of expansions that break the restrict rule
	// (to a node that is neither new nor upstream of the expander).
	Violations []Violation
	// Other are errors of other kinds (none in generated workflows).
	Other []error
	// Runs counts executions (not list calls) per node id; Expansions
	// counts the expansions each node returned.
	Runs       map[engine.NodeID]int
	Expansions map[engine.NodeID]int
	// Values holds every evaluated node's outputs (per slot, its values),
	// for debugging.
	Values map[engine.NodeID][][]any
}

// Violation is a link of an expansion outside the restrict rule.
type Violation struct {
	Expander, Target engine.NodeID
}

// OK reports whether the workflow evaluated without any error (a
// restrict violation is not an error here: it is one only under restrict).
func (r *OracleResult) OK() bool {
	return len(r.Failed) == 0 && len(r.Cancelled) == 0 && len(r.Other) == 0
}

// errUpstream marks a node that did not run because an input failed.
var errUpstream = errors.New("oracle: an upstream node failed")

// maxDepth bounds the oracle's recursion (nested evaluations).
const maxDepth = 100000

// Evaluate evaluates every output node of wf.
func Evaluate(reg *engine.Registry, wf engine.Workflow) *OracleResult {
	o := &Oracle{
		ctx:  context.WithValue(context.Background(), oracleKey{}, true),
		reg:  reg,
		defs: maps.Clone(wf),
		orig: map[engine.NodeID]bool{},
		meta: map[engine.NodeID]*onode{},
		res: &OracleResult{
			UI:         map[engine.NodeID]map[string][]any{},
			Runs:       map[engine.NodeID]int{},
			Expansions: map[engine.NodeID]int{},
			Values:     map[engine.NodeID][][]any{},
		},
	}
	for id := range wf {
		o.orig[id] = true
		o.meta[id] = &onode{real: id, display: id}
	}
	for _, id := range wf.IDs() {
		if t, ok := reg.Lookup(wf[id].Class); ok && t.Schema.OutputNode {
			o.evalOutput(id, t)
		}
	}
	return o.res
}

// evalOutput evaluates an output node and every one of its outputs: they
// are the run's results (pinned), so an expanded output node waits for all
// the links of its expansion's results.
func (o *Oracle) evalOutput(id engine.NodeID, t *engine.NodeType) {
	if o.eval(id) != nil {
		return
	}
	for j := range t.Schema.Outputs {
		_, _ = o.slot(engine.Ref{Node: id, Out: j})
	}
}

// eval runs id (once) and reports whether it failed.
func (o *Oracle) eval(id engine.NodeID) error {
	m := o.meta[id]
	if m == nil {
		return fmt.Errorf("oracle: %w: %q", engine.ErrMissingNode, id)
	}
	switch m.state {
	case oDone:
		return nil
	case oFailed:
		return m.err
	case oBusy:
		err := fmt.Errorf("oracle: %w at %s", engine.ErrCycle, id)
		o.res.Other = append(o.res.Other, err)
		return err
	}
	if o.depth++; o.depth > maxDepth {
		o.depth--
		err := fmt.Errorf("oracle: evaluation deeper than %d at %s", maxDepth, id)
		o.res.Other = append(o.res.Other, err)
		return err
	}
	m.state = oBusy
	err := o.run(id, m)
	o.depth--
	if err != nil {
		m.state, m.err = oFailed, err
		return err
	}
	m.state, m.slots = oDone, map[int]oslot{}
	return nil
}

// fail records an error of id's own body (not an upstream one).
func (o *Oracle) fail(id engine.NodeID, err error) error {
	switch {
	case errors.Is(err, errUpstream):
	case errors.Is(err, ErrInjected):
		o.res.Failed = append(o.res.Failed, id)
	case errors.Is(err, ErrCancelled):
		o.res.Cancelled = append(o.res.Cancelled, id)
	default:
		o.res.Other = append(o.res.Other, fmt.Errorf("node %s: %w", id, err))
	}
	return err
}

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

// expand adds an expansion of id to the graph, records restrict
// violations and evaluates the expansion's output nodes.
func (o *Oracle) expand(id engine.NodeID, nout int, x *engine.Expansion) error {
	o.res.Expansions[id]++
	if len(x.Outputs) != nout {
		return fmt.Errorf("%w: expansion has %d outputs, want %d", engine.ErrBadResult, len(x.Outputs), nout)
	}
	anc := o.ancestors(id)
	check := func(ref engine.Ref) error {
		def, isNew := x.Nodes[ref.Node]
		if !isNew {
			def = o.defs[ref.Node]
			if !anc[ref.Node] {
				o.res.Violations = append(o.res.Violations, Violation{Expander: id, Target: ref.Node})
			}
		}
		if def == nil {
			return fmt.Errorf("%w: %q", engine.ErrMissingNode, ref.Node)
		}
		t, ok := o.reg.Lookup(def.Class)
		if !ok {
			return fmt.Errorf("%w: %q", engine.ErrUnknownClass, def.Class)
		}
		if ref.Out < 0 || ref.Out >= len(t.Schema.Outputs) {
			return fmt.Errorf("%w: %v", engine.ErrBadOutput, ref)
		}
		return nil
	}
	ids := x.Nodes.IDs()
	for _, nid := range ids {
		def := x.Nodes[nid]
		for _, name := range def.InputNames() {
			if ref, ok := def.Inputs[name].(engine.Ref); ok {
				if err := check(ref); err != nil {
					return err
				}
			}
		}
	}
	for _, item := range x.Outputs {
		if ref, ok := item.(engine.Ref); ok {
			if err := check(ref); err != nil {
				return err
			}
		}
	}
	m := o.meta[id]
	var added []engine.NodeID
	for _, nid := range ids {
		def := x.Nodes[nid]
		if old, ok := o.defs[nid]; ok {
			if !reflect.DeepEqual(old, def) {
				return fmt.Errorf("%w: expansion node %q already exists with another definition", engine.ErrDuplicateID, nid)
			}
			continue
		}
		if _, ok := o.reg.Lookup(def.Class); !ok {
			return fmt.Errorf("%w: %q", engine.ErrUnknownClass, def.Class)
		}
		display := m.display
		if def.DisplayID != "" {
			display = def.DisplayID
		}
		o.defs[nid] = def
		o.meta[nid] = &onode{parent: id, real: m.real, display: display}
		added = append(added, nid)
	}
	for _, nid := range added {
		if t, _ := o.reg.Lookup(o.defs[nid].Class); t.Schema.OutputNode {
			o.evalOutput(nid, t)
		}
	}
	return nil
}

// ancestors returns every node id's definition transitively links to.
func (o *Oracle) ancestors(id engine.NodeID) map[engine.NodeID]bool {
	seen := map[engine.NodeID]bool{}
	stack := []engine.NodeID{id}
	for len(stack) > 0 {
		d := o.defs[stack[len(stack)-1]]
		stack = stack[:len(stack)-1]
		if d == nil {
			continue
		}
		for _, v := range d.Inputs {
			if ref, ok := v.(engine.Ref); ok && !seen[ref.Node] {
				seen[ref.Node] = true
				stack = append(stack, ref.Node)
			}
		}
	}
	return seen
}

// The GraphReader of the oracle's calls (HiddenDynPrompt).

func (o *Oracle) Node(id engine.NodeID) (*engine.Node, bool) {
	d, ok := o.defs[id]
	return d, ok
}

func (o *Oracle) Parent(id engine.NodeID) engine.NodeID {
	if m := o.meta[id]; m != nil {
		return m.parent
	}
	return ""
}

func (o *Oracle) Display(id engine.NodeID) engine.NodeID {
	if m := o.meta[id]; m != nil {
		return m.display
	}
	return id
}

func (o *Oracle) Real(id engine.NodeID) engine.NodeID {
	if m := o.meta[id]; m != nil {
		return m.real
	}
	return id
}

var _ engine.GraphReader = (*Oracle)(nil)
