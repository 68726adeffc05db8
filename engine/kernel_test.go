package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ebbgraph/ebb/policy"
)

// kernelRegistry has a source, a pass-through and an output node.
func kernelRegistry() *Registry {
	pass := RunFunc(func(_ context.Context, c *Call) (Result, error) { return Outputs(c.Inputs["in"]), nil })
	return NewRegistry().MustRegister(
		&NodeType{Class: "Src", Schema: Schema{Outputs: []OutputSpec{{Type: "*"}}},
			Runner: RunFunc(func(context.Context, *Call) (Result, error) { return Outputs(int64(1)), nil })},
		&NodeType{Class: "Pass", Schema: Schema{Inputs: []InputSpec{{Name: "in", Type: "*"}}, Outputs: []OutputSpec{{Type: "*"}}}, Runner: pass},
		&NodeType{Class: "Sink", Schema: Schema{Inputs: []InputSpec{{Name: "in", Type: "*"}}, OutputNode: true},
			Runner: RunFunc(func(context.Context, *Call) (Result, error) { return Result{}, nil })},
	)
}

// boundRun returns a run of a -> b -> out at level after its first drain:
// a is ready, b and out wait.
func boundRun(t *testing.T, level policy.Level) (*run, map[NodeID]*rnode) {
	t.Helper()
	reg := kernelRegistry()
	wf := Workflow{
		"a":   {Class: "Src", Inputs: map[string]any{}},
		"b":   {Class: "Pass", Inputs: map[string]any{"in": Ref{Node: "a"}}},
		"out": {Class: "Sink", Inputs: map[string]any{"in": Ref{Node: "b"}}},
	}
	e, err := New(Options{Registry: reg, Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	v, err := validate(reg, wf, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := newRun(context.Background(), e, v, nil, policy.Policy{Level: level, Strategy: policy.Auto}, &emitter{}, &RunResult{Outputs: map[NodeID]map[string][]any{}})
	for _, id := range r.outputs {
		n, err := r.node(id)
		if err != nil {
			t.Fatal(err)
		}
		r.schedule(n)
	}
	r.drain()
	nodes := map[NodeID]*rnode{}
	for _, id := range []NodeID{"a", "b", "out"} {
		nodes[id], _ = r.node(id)
	}
	if err := r.checkInvariants(); err != nil {
		t.Fatalf("a fresh run breaks an invariant: %v", err)
	}
	return r, nodes
}

// The legal moves, as docs/scheduler.md lists them.
var legalMoves = map[[2]nstate]bool{
	{stIdle, stPending}: true, {stIdle, stPotential}: true,
	{stPotential, stPending}: true, {stPotential, stIdle}: true,
	{stPending, stReady}: true, {stPending, stDone}: true,
	{stReady, stRunning}: true, {stReady, stDone}: true,
	{stRunning, stPending}: true, {stRunning, stDone}: true, {stRunning, stForwarded}: true, {stRunning, stAwaiting}: true,
	{stAwaiting, stReady}: true,
	{stDone, stIdle}:      true,
}

// Every move the table allows is legal, every other one fails the run
// with an internal error and leaves the node where it was; run.pending
// follows the active states.
func TestTransitionTable(t *testing.T) {
	for from := range numStates {
		for to := range numStates {
			r, nodes := boundRun(t, policy.ReleaseDead)
			n := nodes["a"]
			n.state = from
			pending := r.pending
			ok := r.transition(n, to)
			if want := legalMoves[[2]nstate{from, to}]; ok != want {
				t.Errorf("%s -> %s: allowed %v, want %v", from, to, ok, want)
				continue
			}
			if !ok {
				var ne *NodeError
				if n.state != from || !errors.Is(r.err, ErrInternal) || !errors.As(r.err, &ne) || ne.Type != TypeInternal || ne.Node != "a" ||
					!strings.Contains(r.err.Error(), fmt.Sprintf("%s -> %s", from, to)) {
					t.Errorf("%s -> %s: state %s, error %v", from, to, n.state, r.err)
				}
				continue
			}
			want := pending
			if from.active() && !to.active() {
				want--
			} else if !from.active() && to.active() {
				want++
			}
			if n.state != to || r.pending != want || r.err != nil {
				t.Errorf("%s -> %s: state %s, pending %d (want %d), err %v", from, to, n.state, r.pending, want, r.err)
			}
		}
	}
}

// Each corruption of the run's books is caught by the invariant it breaks.
func TestInvariantsCatchCorruption(t *testing.T) {
	cases := []struct {
		name    string
		corrupt func(r *run, n map[NodeID]*rnode)
		want    string
		level   policy.Level // of the tracker; default 2
	}{
		{"pending count", func(r *run, _ map[NodeID]*rnode) { r.pending++ }, "invariant 1", 0},
		{"running count", func(r *run, _ map[NodeID]*rnode) { r.running++ }, "invariant 1", 0},
		{"idle node with bindings", func(_ *run, n map[NodeID]*rnode) { n["a"].state, n["a"].ins = stIdle, []binding{} }, "invariant 1", 0},
		{"slot without owner", func(r *run, _ map[NodeID]*rnode) { r.tr.Keep(&rnode{id: "ghost"}, nil) }, "invariant 2", 0},
		{"slot owned twice", func(r *run, n map[NodeID]*rnode) { n["b"].slots = append(n["b"].slots, n["a"].slots[0]) }, "invariant 2", 0},
		{"reader not bound", func(r *run, n map[NodeID]*rnode) { r.tr.AddReader(n["a"].slot(0)) }, "invariant 3", 0},
		{"binding not counted", func(r *run, n map[NodeID]*rnode) { r.tr.DoneReader(n["a"].slot(0)) }, "invariant 3", 0},
		{"live slot nobody reads", func(r *run, n map[NodeID]*rnode) {
			// a produced and b let go of it, but the tracker (level 1)
			// kept it: at level 2 it must have been released.
			r.tr.Produce(n["a"].slot(0), []any{int64(1)})
			r.tr.DoneReader(n["a"].slot(0))
			n["b"].ins[0].counted, n["b"].ins[0].wait = false, false
			n["b"].blockers--
			n["a"].waiters = nil
			n["a"].nbind--
			r.transition(n["a"], stRunning)
			r.transition(n["a"], stDone)
			r.pol.Level = policy.ReleaseDead
		}, "invariant 3", policy.ReleaseUnreferenced},
		{"blocker without a wait", func(_ *run, n map[NodeID]*rnode) { n["b"].blockers++ }, "invariant 4", 0},
		{"wait without a waiter", func(_ *run, n map[NodeID]*rnode) { n["a"].waiters = nil }, "invariant 4", 0},
		{"wait on a done producer", func(_ *run, n map[NodeID]*rnode) { n["a"].state = stDone }, "invariant 4", 0},
		{"ready node blocked", func(_ *run, n map[NodeID]*rnode) { n["b"].state = stReady }, "invariant 4", 0},
		{"running node reads a dead slot", func(r *run, n map[NodeID]*rnode) {
			n["b"].state = stRunning
			n["b"].blockers = 0
			n["b"].ins[0].wait = false
			n["a"].waiters = nil
			r.running++
		}, "invariant 5", 0},
		{"hold not counted", func(_ *run, n map[NodeID]*rnode) { n["a"].nbind++ }, "invariant 6", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lvl := policy.ReleaseDead
			if c.level != 0 {
				lvl = c.level
			}
			r, nodes := boundRun(t, lvl)
			c.corrupt(r, nodes)
			err := r.checkInvariants()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one naming %s", err, c.want)
			}
		})
	}
}

// A broken invariant fails the run as an internal error (checkStep).
func TestBrokenInvariantFailsRun(t *testing.T) {
	r, nodes := boundRun(t, policy.ReleaseDead)
	nodes["a"].nbind++
	r.checkStep()
	if !errors.Is(r.err, ErrInternal) || !errors.Is(r.err, errInvariant) || !strings.Contains(r.err.Error(), "invariant 6") {
		t.Errorf("error %v, want an internal error for invariant 6", r.err)
	}
}

// EBB_DEBUG turns the checks on or off; tests have them on by default.
func TestInvariantChecksSwitch(t *testing.T) {
	for env, want := range map[string]bool{"1": true, "0": false, "": true} {
		t.Setenv("EBB_DEBUG", env)
		if got := invariantChecks(); got != want {
			t.Errorf("EBB_DEBUG=%q: checks %v, want %v", env, got, want)
		}
	}
	restore := SetInvariantChecks(false)
	if invariantChecks() {
		t.Error("SetInvariantChecks(false) left the checks on")
	}
	restore()
}
