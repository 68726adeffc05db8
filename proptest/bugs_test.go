package proptest

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/policy"
)

// Minimal reproductions of engine bugs the properties found, shrunk by
// hand from rapid's counterexamples; each runs at parallelism 1, so it is
// deterministic. An open bug's test fails until the engine is fixed
// (meanwhile the properties excuse the runs that show its symptoms, see
// knownbugs_test.go); all of these are fixed and stay as regression tests.

func ref(id string, out int) engine.Ref { return engine.Ref{Node: engine.NodeID(id), Out: out} }

// runAll runs wf on a fresh engine (no cache, parallelism 1) under each
// level and strategy given and reports every run that fails, re-executes,
// leaves memory behind or differs from the oracle.
func runAll(t *testing.T, wf engine.Workflow, levels []policy.Level, strategies []policy.Strategy) {
	t.Helper()
	runAllReexec(t, wf, levels, strategies, false)
}

// runAllReexec is runAll; reexec allows re-executions (of a workflow whose
// late edges call for them).
func runAllReexec(t *testing.T, wf engine.Workflow, levels []policy.Level, strategies []policy.Strategy, reexec bool) {
	t.Helper()
	orc := Evaluate(reg, wf)
	for _, level := range levels {
		for _, s := range strategies {
			h := newHarness(t, config{cache: cacheNone, par: 1})
			out := runRecover(t, h, wf, policy.Policy{Level: level, Strategy: s})
			switch {
			case out == nil:
			case out.res.Err != nil || (out.res.Stats.Reexecutions > 0 && !reexec):
				t.Errorf("level %v, %v: %v, re-executions %v", level, s, out.res.Err, out.res.Stats.Reexecuted)
			case out.inUse != 0:
				t.Errorf("level %v, %v: %d bytes left after the run", level, s, out.inUse)
			default:
				if diff := cmp.Diff(orc.UI, out.res.Outputs); diff != "" {
					t.Errorf("level %v, %v: results differ from the oracle's (-oracle +engine):\n%s", level, s, diff)
				}
			}
		}
	}
}

// runRecover is harness.run that reports a panic of the engine (which
// must never panic) as an error of t and returns nil.
func runRecover(t *testing.T, h *harness, wf engine.Workflow, pol policy.Policy) (out *outcome) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Errorf("%v: the engine panicked: %v", pol, p)
			out = nil
		}
	}()
	return h.run(t, wf, pol)
}

// TestBugCacheHitReleasesUnboundSlots: a node completed from the cache
// while the drain worklist is still binding its consumers releases, at
// level 1 and 2, every slot no consumer has bound yet; the consumers bound
// next meet a released slot: a late edge in a static workflow. Under
// restrict the run fails with a restrict error blamed on an output node
// ("expansion by node 2" although nothing expands), under reexecute and
// auto node 1 is re-executed. Root cause shared with the two tests below:
// a node counts its reads only once it is activated.
func TestBugCacheHitReleasesUnboundSlots(t *testing.T) {
	src := &engine.Node{Class: ClassSrc, Inputs: map[string]any{"seed": int64(1), "size0": int64(64), "size1": int64(64)}}
	first := engine.Workflow{
		"1": src,
		"2": {Class: ClassOut, Inputs: map[string]any{"a": ref("1", 0)}},
	}
	second := engine.Workflow{
		"1": src,
		"2": {Class: ClassOut, Inputs: map[string]any{"a": ref("1", 0), "salt": int64(1)}},
		"3": {Class: ClassOut, Inputs: map[string]any{"a": ref("1", 1), "salt": int64(2)}},
	}
	for _, s := range policy.Strategies() {
		h := newHarness(t, config{cache: cacheClassic, par: 1})
		h.run(t, first, policy.Policy{Level: policy.KeepAll, Strategy: s}) // caches node 1
		out := h.run(t, second, policy.Policy{Level: policy.ReleaseDead, Strategy: s})
		if out.res.Err != nil || out.res.Stats.Reexecutions > 0 {
			t.Errorf("%v: second run: %v, re-executions %v", s, out.res.Err, out.res.Stats.Reexecuted)
		}
	}
}

// TestBugLazyRequestMeetsReleasedInput: node 2 is first scheduled when the
// lazy node 3 asks for it, and binds its own input 1:0 only then; 1:0 had
// no counted reader and was released when node 1 completed (node 1 runs
// early for output 4). The request is then a late edge in a static
// workflow: under restrict the run fails with a restrict error although
// nothing expands, under reexecute and auto node 1 runs again.
func TestBugLazyRequestMeetsReleasedInput(t *testing.T) {
	runAll(t, engine.Workflow{
		"1": {Class: ClassSrc, Inputs: map[string]any{"seed": int64(1), "size0": int64(64), "size1": int64(64)}},
		"2": {Class: ClassMix, Inputs: map[string]any{"a": ref("1", 0)}},
		"3": {Class: ClassLazy, Inputs: map[string]any{"seed": int64(1), "a": ref("2", 0), "b": ref("2", 0), "c": ref("2", 0)}},
		"4": {Class: ClassOut, Inputs: map[string]any{"a": ref("1", 1)}},
		"5": {Class: ClassOut, Inputs: map[string]any{"a": ref("3", 0)}},
	}, []policy.Level{policy.ReleaseUnreferenced, policy.ReleaseDead}, policy.Strategies())
}

// TestBugLateEdgeSchedulesForwardTarget: node 2 expands into a PMix
// 2.0.0.1, a nested expander 2.0.0.2 reading 2.0.0.1:0 (2's first output)
// and a component 2.0.0.3 reading 2.0.0.1:1 (2's second output). Node 3
// (raw input [2, 1]) pins, as an expander under restrict and auto, what 2
// forwards to, 2.0.0.2 and 2.0.0.3, but not their inputs; nothing needs
// 2.0.0.2 yet, so it is not scheduled and 2.0.0.1:0 has no counted reader:
// it is released when 2.0.0.1 completes. Node 3's expansion then links to
// [2, 0] (allowed by restrict: 3 depends on 2), which schedules 2.0.0.2,
// whose input is gone: under restrict the run fails with a restrict error
// for a link the rule allows, under auto 2.0.0.1 is re-executed although
// restrict would have accepted every expansion.
func TestBugLateEdgeSchedulesForwardTarget(t *testing.T) {
	wf := engine.Workflow{
		"1": {Class: ClassSrc, Inputs: map[string]any{"seed": int64(1), "size0": int64(64)}},
		"2": {Class: ClassExpand, Inputs: map[string]any{"a": ref("1", 0), "seed": int64(1), "depth": int64(1), "size": int64(16)}},
		"3": {Class: ClassExpand, Inputs: map[string]any{"a": ref("2", 1), "seed": int64(0), "links": "2:0"}},
		"4": {Class: ClassOut, Inputs: map[string]any{"a": ref("3", 0)}},
	}
	if v := Evaluate(reg, wf).Violations; len(v) > 0 {
		t.Fatalf("oracle: violations %v", v)
	}
	runAll(t, wf, []policy.Level{policy.ReleaseDead}, []policy.Strategy{policy.Restrict, policy.Auto})
}

// TestBugReexecutedCacheHitLeaks: a node completed from the cache, then
// re-executed for a late edge (under reexecute), leaks the new values of
// its slots that are still live: complete swaps in the live value only
// for a node that already executed in this run (rnode.execs > 1), and a
// cache hit does not count as one.
func TestBugReexecutedCacheHitLeaks(t *testing.T) {
	src := &engine.Node{Class: ClassSrc, Inputs: map[string]any{"seed": int64(1), "size0": int64(64), "size1": int64(64)}}
	first := engine.Workflow{
		"1": src,
		"2": {Class: ClassOut, Inputs: map[string]any{"a": ref("1", 0)}},
	}
	second := engine.Workflow{
		"1": src,
		"2": {Class: ClassMix, Inputs: map[string]any{"a": ref("1", 0)}},
		"3": {Class: ClassExpand, Inputs: map[string]any{"a": ref("2", 0), "seed": int64(0), "links": "1:0"}},
		"4": {Class: ClassOut, Inputs: map[string]any{"a": ref("1", 1), "b": ref("3", 0)}},
	}
	h := newHarness(t, config{cache: cacheClassic, par: 1})
	h.run(t, first, policy.Policy{Level: policy.KeepAll, Strategy: policy.Reexecute}) // caches node 1
	out := h.run(t, second, policy.Policy{Level: policy.ReleaseDead, Strategy: policy.Reexecute})
	if out.res.Err != nil || out.res.Stats.Reexecutions != 1 {
		t.Fatalf("second run: %v, re-executions %v, want one", out.res.Err, out.res.Stats.Reexecuted)
	}
	if out.inUse != out.cached {
		t.Errorf("device holds %d bytes after the run, the cache keeps %d; live buffers: %v", out.inUse, out.cached, h.dev.Leaks())
	}
}

// TestBugRawLinkThroughForwardChain: a RawLink consumer (here a component,
// whose inputs are raw links) of an expander output forwarded twice (node
// 2 forwards output 1 to its PComp 2.0.0.2, which forwards to its own
// component nodes) holds the end of the chain, not the middle: once 2's
// generation is finished it is dropped, and when the consumer's expansion
// links to the Ref it was given ([2, 1]), resolving it through 2.0.0.2
// fails with engine.ErrCollected (under reexecute at level 2; restrict and
// auto pin what 2 forwards to while node 3 is pending).
func TestBugRawLinkThroughForwardChain(t *testing.T) {
	runAll(t, engine.Workflow{
		"1": {Class: ClassSrc, Inputs: map[string]any{"seed": int64(1), "size0": int64(64)}},
		"2": {Class: ClassExpand, Inputs: map[string]any{"a": ref("1", 0), "seed": int64(1)}},
		"3": {Class: ClassComp, Inputs: map[string]any{"x": ref("2", 1)}},
		"4": {Class: ClassOut, Inputs: map[string]any{"a": ref("3", 0)}},
	}, policy.Levels(), policy.Strategies())
}

// TestBugForLoopOpenBufferResult: a for loop whose loop value is a device
// buffer. TestForLoopOpen expands into a result whose items are the values
// it received, as literals; the engine forwards them to the body, but
// nothing holds the buffer for them (expansion node inputs are held by
// their generation, result items are not). Under reexecute at level 2
// (where nothing pins the loop's upstream) the buffer's producer releases
// it when the open node stops reading it, and the body reads a freed
// buffer. (A while loop's clones get the buffer as a literal node input,
// which is held: expand's TestRunLoopCarriesBuffer passes.)
func TestBugForLoopOpenBufferResult(t *testing.T) {
	runAll(t, engine.Workflow{
		"1": {Class: ClassSrc, Inputs: map[string]any{"seed": int64(1)}},
		"2": {Class: ClassMix, Inputs: map[string]any{"a": ref("1", 0), "size": int64(16)}},
		"3": {Class: "TestForLoopOpen", Inputs: map[string]any{"remaining": int64(2), "initial_value1": ref("2", 0)}},
		"4": {Class: ClassMix, Inputs: map[string]any{"a": ref("3", 2), "size": int64(16)}},
		"5": {Class: "TestForLoopClose", Inputs: map[string]any{"flow_control": ref("3", 0), "initial_value1": ref("4", 0)}},
		"6": {Class: ClassOut, Inputs: map[string]any{"a": ref("5", 0)}},
	}, policy.Levels(), policy.Strategies())
}

// TestBugPanicUnholdThroughForwardedExpander: the lazy node 7 does not ask
// for its inputs (seed 0), all linked to node 6, which is never scheduled
// and links to the expander 5. When 7 completes and lets go of what it
// held for its lazy links, the engine walks 6's links to 5, which has
// forwarded its outputs (its slots are gone), and panics with an index
// out of range in rnode.slot (engine code in progress: unhold/unbindList).
func TestBugPanicUnholdThroughForwardedExpander(t *testing.T) {
	runAll(t, engine.Workflow{
		"1":  {Class: ClassSrc, Inputs: map[string]any{"seed": int64(0)}},
		"5":  {Class: ClassExpand, Inputs: map[string]any{"a": ref("1", 0), "seed": int64(0)}},
		"6":  {Class: ClassMix, Inputs: map[string]any{"a": ref("5", 0)}},
		"7":  {Class: ClassLazy, Inputs: map[string]any{"seed": int64(0), "a": ref("6", 0), "b": ref("6", 0), "c": ref("6", 0)}},
		"15": {Class: ClassOut, Inputs: map[string]any{"a": ref("5", 0), "b": ref("7", 0)}},
	}, policy.Levels(), policy.Strategies())
}

// TestBugPanicPromoteThroughForwardedExpander: node 6 is a potential reader
// (behind the lazy node 7's input a) linking to the expander 5; output 8
// schedules 5, which runs (before 7, at parallelism 1), expands and
// forwards its outputs. When 7 asks for a,
// the engine promotes 6 and binds its link to 5 as if 5 still had slots:
// index out of range in rnode.slot (need, from promote).
func TestBugPanicPromoteThroughForwardedExpander(t *testing.T) {
	runAll(t, engine.Workflow{
		"1": {Class: ClassSrc, Inputs: map[string]any{"seed": int64(0)}},
		"5": {Class: ClassExpand, Inputs: map[string]any{"a": ref("1", 0), "seed": int64(0)}},
		"6": {Class: ClassMix, Inputs: map[string]any{"a": ref("5", 0)}},
		"7": {Class: ClassLazy, Inputs: map[string]any{"seed": int64(1), "a": ref("6", 0), "b": ref("6", 0), "c": ref("6", 0)}},
		"8": {Class: ClassOut, Inputs: map[string]any{"a": ref("5", 0)}},
		"9": {Class: ClassOut, Inputs: map[string]any{"a": ref("7", 0)}},
	}, policy.Levels(), policy.Strategies())
}

// TestBugReexecuteThroughForLoopLiteral: node 9's expansion links to the
// loop's close node 7 (a late edge outside 9's upstream), whose outputs
// were released: under reexecute the engine re-executes the loop's
// iteration nodes and the body node 6, whose input [5, 2] is a literal
// TestForLoopOpen result holding node 4's buffer. That buffer was freed
// when the loop finished with it, and re-execution does not go back to 5
// and 4 (a literal result is not a slot the lineage follows): node 6 reads
// a freed buffer.
func TestBugReexecuteThroughForLoopLiteral(t *testing.T) {
	runAllReexec(t, engine.Workflow{
		"1":  {Class: ClassSrc, Inputs: map[string]any{"seed": int64(0)}},
		"4":  {Class: ClassMix, Inputs: map[string]any{"a": ref("1", 0), "size": int64(16)}},
		"5":  {Class: "TestForLoopOpen", Inputs: map[string]any{"remaining": int64(1), "initial_value1": ref("4", 0)}},
		"6":  {Class: ClassMix, Inputs: map[string]any{"a": ref("5", 2)}},
		"7":  {Class: "TestForLoopClose", Inputs: map[string]any{"flow_control": ref("5", 0), "initial_value1": ref("6", 0)}},
		"9":  {Class: ClassExpand, Inputs: map[string]any{"a": ref("1", 0), "seed": int64(0), "links": "7:0"}},
		"18": {Class: ClassOut, Inputs: map[string]any{"a": ref("7", 0)}},
		"20": {Class: ClassOut, Inputs: map[string]any{"a": ref("9", 0)}},
	}, []policy.Level{policy.ReleaseDead}, []policy.Strategy{policy.Reexecute}, true)
}

// TestBugLazyExpanderPinsTooLate: the expander 3 is behind the lazy node
// 4, so it is scheduled only when 4 asks for it; its upstream (node 1)
// has already run for output 8, and 1:1, which only 3's expansion will
// read (the late edge "1:1" is in a literal, so it is no potential read),
// was released. Restrict pins an expander's upstream only once it is
// pending, too late here: the run fails with a restrict error for a link
// the rule allows (1 is upstream of 3), and auto re-executes node 1
// although restrict would accept every expansion.
func TestBugLazyExpanderPinsTooLate(t *testing.T) {
	wf := engine.Workflow{
		"1": {Class: ClassSrc, Inputs: map[string]any{"seed": int64(1), "size0": int64(64), "size1": int64(64)}},
		"3": {Class: ClassExpand, Inputs: map[string]any{"a": ref("1", 0), "seed": int64(0), "links": "1:1"}},
		"4": {Class: ClassLazy, Inputs: map[string]any{"seed": int64(1), "a": ref("3", 0), "b": ref("3", 0), "c": ref("3", 0)}},
		"8": {Class: ClassOut, Inputs: map[string]any{"a": ref("1", 0)}},
		"9": {Class: ClassOut, Inputs: map[string]any{"a": ref("4", 0)}},
	}
	if v := Evaluate(reg, wf).Violations; len(v) > 0 {
		t.Fatalf("oracle: violations %v", v)
	}
	runAll(t, wf, []policy.Level{policy.ReleaseUnreferenced, policy.ReleaseDead}, []policy.Strategy{policy.Restrict, policy.Auto})
}

// TestBugReexecuteIntoCollectedGeneration: the loop body 5 reads [2, 1],
// forwarded by the expander 2 to its component's node 2.h….p. Under
// reexecute at level 2 that value is released after the first iteration;
// the second iteration's body clone asks for it again, and the lineage
// re-executes 2.h….p, then its input 2.h….m, which links to 2.0.0.1:
// the generation of 2's expansion was dropped, so the run fails with
// engine.ErrCollected instead of re-executing (or keeping) it.
func TestBugReexecuteIntoCollectedGeneration(t *testing.T) {
	runAllReexec(t, engine.Workflow{
		"1": {Class: ClassSrc, Inputs: map[string]any{"seed": int64(0)}},
		"2": {Class: ClassExpand, Inputs: map[string]any{"a": ref("1", 0), "seed": int64(1), "depth": int64(1)}},
		"3": {Class: ClassMix, Inputs: map[string]any{"a": ref("2", 0)}},
		"4": {Class: "TestForLoopOpen", Inputs: map[string]any{"remaining": int64(2), "initial_value1": ref("3", 0)}},
		"5": {Class: ClassMix, Inputs: map[string]any{"a": ref("4", 2), "b": ref("2", 1)}},
		"6": {Class: "TestForLoopClose", Inputs: map[string]any{"flow_control": ref("4", 0), "initial_value1": ref("5", 0)}},
		"7": {Class: ClassOut, Inputs: map[string]any{"a": ref("6", 0)}},
	}, []policy.Level{policy.ReleaseDead}, []policy.Strategy{policy.Reexecute}, true)
}

// TestBugNotReexecutableCacheHitReexecuted: node 6 is NotReexecutable. The
// first run caches it; in the second (reexecute, level 2) it completes
// from the cache, and its output is released once node 11 has read it:
// NotReexecutable outputs are pinned when the node runs, not when it is
// completed from the cache. Node 12's expansion then links to 11:0 (a late
// edge outside its upstream), whose re-execution needs 6:0 again, and
// node 6 runs: a NotReexecutable node re-executed (and, were it really
// non-deterministic, node 11 would have read two different values).
func TestBugNotReexecutableCacheHitReexecuted(t *testing.T) {
	nore := &engine.Node{Class: ClassNoRe, Inputs: map[string]any{"size": int64(16)}}
	first := engine.Workflow{
		"6": nore,
		"2": {Class: ClassOut, Inputs: map[string]any{"a": ref("6", 0)}},
	}
	second := engine.Workflow{
		"6":  nore,
		"11": {Class: ClassMix, Inputs: map[string]any{"a": ref("6", 0)}},
		"12": {Class: ClassExpand, Inputs: map[string]any{"a": ref("11", 1), "seed": int64(0), "links": "11:0"}},
		"15": {Class: ClassOut, Inputs: map[string]any{"a": ref("12", 0)}},
	}
	for _, s := range []policy.Strategy{policy.Reexecute, policy.Auto} {
		h := newHarness(t, config{cache: cacheClassic, par: 1})
		h.run(t, first, policy.Policy{Level: policy.KeepAll, Strategy: s}) // caches node 6
		out := h.run(t, second, policy.Policy{Level: policy.ReleaseDead, Strategy: s})
		if out.res.Err != nil {
			t.Errorf("%v: %v", s, out.res.Err)
		}
		for _, r := range out.res.Stats.Reexecuted {
			if r.Node == "6" {
				t.Errorf("%v: NotReexecutable node 6 re-executed (cause %s)", s, r.Cause)
			}
		}
	}
}

// TestBugNotReexecutableAlreadyPinned: under auto, the loop's open and
// close nodes (expanders) pin their upstream, NotReexecutable node 9
// included, before 9 runs; when 9 completes its outputs are already
// pinned, so the NotReexecutable pin is skipped (pinNotReexecutable pins
// only slots not pinned yet). Once the loop is done the expanders unpin,
// 9:0 is released, and node 11's expansion, linking to 10:0 outside its
// upstream, re-executes 10 and, for it, node 9.
func TestBugNotReexecutableAlreadyPinned(t *testing.T) {
	wf := engine.Workflow{
		"1":  {Class: ClassSrc, Inputs: map[string]any{"seed": int64(0)}},
		"9":  {Class: ClassNoRe, Inputs: map[string]any{}},
		"10": {Class: ClassSum, Inputs: map[string]any{"a": ref("9", 0)}},
		"11": {Class: ClassExpand, Inputs: map[string]any{"a": ref("1", 0), "seed": int64(0), "links": "1:0;10:0"}},
		"12": {Class: ClassMix, Inputs: map[string]any{"a": ref("10", 0)}},
		"13": {Class: "TestForLoopOpen", Inputs: map[string]any{"remaining": int64(1), "initial_value1": ref("12", 0)}},
		"14": {Class: ClassMix, Inputs: map[string]any{"a": ref("13", 2)}},
		"15": {Class: "TestForLoopClose", Inputs: map[string]any{"flow_control": ref("13", 0), "initial_value1": ref("14", 0)}},
		"16": {Class: ClassOut, Inputs: map[string]any{"a": ref("15", 0), "b": ref("11", 1)}},
	}
	for _, level := range []policy.Level{policy.ReleaseUnreferenced, policy.ReleaseDead} {
		for _, s := range []policy.Strategy{policy.Reexecute, policy.Auto} {
			h := newHarness(t, config{cache: cacheNone, par: 1})
			out := h.run(t, wf, policy.Policy{Level: level, Strategy: s})
			if out.res.Err != nil {
				t.Errorf("level %v, %v: %v", level, s, out.res.Err)
			}
			for _, r := range out.res.Stats.Reexecuted {
				if r.Node == "9" {
					t.Errorf("level %v, %v: NotReexecutable node 9 re-executed (cause %s)", level, s, r.Cause)
				}
			}
		}
	}
}
