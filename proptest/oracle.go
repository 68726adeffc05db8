package proptest

import (
	"context"
	"errors"
	"fmt"
	"maps"

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
