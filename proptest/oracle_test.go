package proptest

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/policy"
)

// Tests of the oracle itself on hand-written workflows whose results are
// computed by hand (not by the engine), so that the properties compare the
// engine with something checked on its own.

func lit(v int64) any { return v }

// outUI is POut's UI for contents a (and b, when present) and salt.
func outUI(salt int64, contents ...int64) map[string][]any {
	h := salt
	for i := range 2 {
		if i < len(contents) {
			h = mix(mix(h, int64(i)), contents[i])
		} else {
			h = mix(h, int64(-1-i))
		}
	}
	return map[string][]any{"v": {h}}
}

func TestOracleForLoop(t *testing.T) {
	// for 3 iterations: v = v + 5, from 10: 25.
	wf := engine.Workflow{
		"open":  {Class: "TestForLoopOpen", Inputs: map[string]any{"remaining": lit(3), "initial_value1": lit(10)}},
		"add":   {Class: "TestIntMathOperation", Inputs: map[string]any{"a": ref("open", 2), "b": lit(5), "operation": "add"}},
		"close": {Class: "TestForLoopClose", Inputs: map[string]any{"flow_control": ref("open", 0), "initial_value1": ref("add", 0)}},
		"out":   {Class: ClassOut, Inputs: map[string]any{"a": ref("close", 0)}},
	}
	orc := Evaluate(reg, wf)
	if !orc.OK() {
		t.Fatalf("oracle: failed %v other %v", orc.Failed, orc.Other)
	}
	if diff := cmp.Diff(map[engine.NodeID]map[string][]any{"out": outUI(0, 25)}, orc.UI); diff != "" {
		t.Errorf("UI (-want +got):\n%s", diff)
	}
	checkEngineAgrees(t, wf, orc)
}

func TestOracleLazy(t *testing.T) {
	// seed 1: a is needed; a's content is odd or even, so b is needed iff
	// a's content is odd; c never (seed bit 2 clear).
	src := &engine.Node{Class: ClassSrc, Inputs: map[string]any{"seed": lit(1)}}
	wf := engine.Workflow{
		"src": src,
		"a":   {Class: ClassMix, Inputs: map[string]any{"a": ref("src", 0), "salt": lit(1)}},
		"b":   {Class: ClassMix, Inputs: map[string]any{"a": ref("src", 0), "salt": lit(2)}},
		"c":   {Class: ClassMix, Inputs: map[string]any{"a": ref("src", 0), "salt": lit(3)}},
		"l":   {Class: ClassLazy, Inputs: map[string]any{"seed": lit(1), "a": ref("a", 0), "b": ref("b", 0), "c": ref("c", 0)}},
		"out": {Class: ClassOut, Inputs: map[string]any{"a": ref("l", 0)}},
	}
	orc := Evaluate(reg, wf)
	s := mix(mix(1, 0), 0x5eed)
	a := mix(mix(mix(1, 0), s), -2)
	a = mix(a, -3)
	wantB := a&1 == 1
	if got := orc.Runs["b"] == 1; got != wantB {
		t.Errorf("b ran %d times; a's content %d is odd: %v", orc.Runs["b"], a, wantB)
	}
	if orc.Runs["c"] != 0 || orc.Runs["a"] != 1 {
		t.Errorf("runs %v: want a once and c never", orc.Runs)
	}
	checkEngineAgrees(t, wf, orc)
}

func TestOracleLists(t *testing.T) {
	// a list of 3 maps PMix over its elements; PSum sees the whole list.
	wf := engine.Workflow{
		"list": {Class: ClassList, Inputs: map[string]any{"n": lit(3)}},
		"mix":  {Class: ClassMix, Inputs: map[string]any{"a": ref("list", 0), "b": ref("list", 1)}},
		"sum":  {Class: ClassSum, Inputs: map[string]any{"a": ref("mix", 0)}},
		"out":  {Class: ClassOut, Inputs: map[string]any{"a": ref("mix", 0)}},
		"out2": {Class: ClassOut, Inputs: map[string]any{"a": ref("sum", 0)}},
	}
	orc := Evaluate(reg, wf)
	if n := len(orc.Values["mix"][0]); n != 3 {
		t.Errorf("mix has %d values, want 3", n)
	}
	if n := len(orc.UI["out"]["v"]); n != 3 {
		t.Errorf("out shows %d values, want 3 (one per call)", n)
	}
	if n := len(orc.UI["out2"]["v"]); n != 1 {
		t.Errorf("out2 shows %d values, want 1", n)
	}
	checkEngineAgrees(t, wf, orc)
}

func TestOracleExpansionResultsOnDemand(t *testing.T) {
	// seed 2: PExpand's second result is a literal; its first (a chain
	// mixing in the failing node) is never read, so nothing fails.
	wf := engine.Workflow{
		"src":  {Class: ClassSrc, Inputs: map[string]any{"seed": lit(4)}},
		"fail": {Class: ClassFail, Inputs: map[string]any{}},
		"x":    {Class: ClassExpand, Inputs: map[string]any{"a": ref("src", 0), "seed": lit(2), "links": "fail:0"}},
		"out":  {Class: ClassOut, Inputs: map[string]any{"a": ref("x", 1)}},
	}
	orc := Evaluate(reg, wf)
	if !orc.OK() || orc.Runs["fail"] != 0 {
		t.Fatalf("oracle: failed %v, runs %v", orc.Failed, orc.Runs)
	}
	if diff := cmp.Diff(map[engine.NodeID]map[string][]any{"out": outUI(0, mix(2, 72))}, orc.UI); diff != "" {
		t.Errorf("UI (-want +got):\n%s", diff)
	}
	if !slices.Contains(orc.Violations, Violation{Expander: "x", Target: "fail"}) {
		t.Errorf("violations %v: x links to fail, which it does not depend on", orc.Violations)
	}
	checkEngineAgrees(t, wf, orc)
}

func TestOracleFindsEveryError(t *testing.T) {
	// Both inputs of out fail, each its own way: a parallel run may stop
	// at either, so the oracle reports both.
	wf := engine.Workflow{
		"fail":   {Class: ClassFail, Inputs: map[string]any{}},
		"cancel": {Class: ClassCancel, Inputs: map[string]any{"hard": lit(1)}},
		"out":    {Class: ClassOut, Inputs: map[string]any{"a": ref("fail", 0), "b": ref("cancel", 0)}},
	}
	orc := Evaluate(reg, wf)
	if !slices.Equal(orc.Failed, []engine.NodeID{"fail"}) || !slices.Equal(orc.Cancelled, []engine.NodeID{"cancel"}) {
		t.Errorf("failed %v, cancelled %v", orc.Failed, orc.Cancelled)
	}
}

// checkEngineAgrees runs wf on the engine under every policy and compares.
func checkEngineAgrees(t *testing.T, wf engine.Workflow, orc *OracleResult) {
	t.Helper()
	spec := &Spec{WF: wf}
	for _, level := range policy.Levels() {
		for _, s := range policy.Strategies() {
			h := newHarness(t, config{cache: cacheNone, par: 1})
			out := h.run(t, wf, policy.Policy{Level: level, Strategy: s})
			checkOutcome(t, spec, orc, out)
			h.close(t)
		}
	}
}
