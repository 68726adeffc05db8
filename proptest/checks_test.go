// checks_test.go: oracleFor and the per-run checks of invariants 1, 2, 3, 5, 6 and 7.

package proptest

import (
	"errors"
	"slices"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/policy"
)

// oracleFor evaluates spec's workflow with the oracle and checks the
// oracle agrees with what the generator knows.
func oracleFor(t tb, spec *Spec) *OracleResult {
	t.Helper()
	orc := Evaluate(reg, spec.WF)
	if len(orc.Other) > 0 {
		t.Fatalf("oracle: unexpected errors %v\nworkflow: %v", orc.Other, spec)
	}
	for _, v := range orc.Violations {
		if !slices.Contains(spec.Outside[v.Expander], v.Target) {
			t.Fatalf("oracle: restrict violation %v the generator did not predict (outside links %v)", v, spec.Outside)
		}
	}
	if spec.Static && len(orc.Expansions) > 0 {
		t.Fatalf("oracle: a static workflow expanded: %v", orc.Expansions)
	}
	return orc
}

// checkOutcome checks a run against the oracle (invariants 1 and 6): a run
// that the oracle says cannot fail succeeds with the oracle's results; a
// run that may fail fails with one of the errors the oracle found.
func checkOutcome(t tb, spec *Spec, orc *OracleResult, out *outcome) {
	t.Helper()
	res := out.res
	restrictFails := out.pol.Strategy == policy.Restrict && len(orc.Violations) > 0
	mayFail := len(orc.Failed) > 0 || len(orc.Cancelled) > 0 || restrictFails
	switch res.Status {
	case engine.StatusSuccess:
		// A restrict violation is avoided when the cache completes a node
		// downstream of the expander (its earlier run was under another
		// strategy); an injected failure never is (nothing downstream of a
		// failing node is ever cached).
		avoided := res.Stats.CacheHits > 0 && len(orc.Failed) == 0 && len(orc.Cancelled) == 0
		if mayFail && !avoided {
			t.Fatalf("%v: the run succeeded; the oracle expects a failure (failed %v, cancelled %v, violations %v)",
				out, orc.Failed, orc.Cancelled, orc.Violations)
		}
		if diff := cmp.Diff(orc.UI, res.Outputs, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("%v: results differ from the oracle's (-oracle +engine):\n%s", out, diff)
		}
	case engine.StatusError:
		var re *engine.RestrictError
		switch {
		case errors.Is(res.Err, ErrInjected) && len(orc.Failed) > 0:
		case errors.As(res.Err, &re) && restrictFails:
			if !slices.Contains(orc.Violations, Violation{Expander: engine.NodeID(re.Expander), Target: engine.NodeID(re.Target)}) {
				t.Fatalf("%v: restrict error names %s -> %s, not one of the oracle's violations %v", out, re.Expander, re.Target, orc.Violations)
			}
		default:
			t.Fatalf("%v: unexpected error (oracle: failed %v, cancelled %v, violations %v)", out, orc.Failed, orc.Cancelled, orc.Violations)
		}
	case engine.StatusInterrupted:
		if len(orc.Cancelled) == 0 && len(orc.SoftCancelled) == 0 {
			t.Fatalf("%v: interrupted, but no PCancel node runs", out)
		}
		if !errors.Is(res.Err, engine.ErrInterrupted) {
			t.Fatalf("%v: interrupted with an error not wrapping engine.ErrInterrupted", out)
		}
	default:
		t.Fatalf("%v: node errors %v", out, res.NodeErrors)
	}
}

// checkNoUseAfterFree checks invariant 2 after a run: no node read a
// released value (every pack node checks the buffers it reads, and the
// engine checks linked inputs), nothing was freed twice, and the engine saw
// no internal error: a free the device refused, a bookkeeping error, a
// broken invariant (checked after every step in tests) or an illegal state
// move all fail the run with engine.ErrInternal.
func checkNoUseAfterFree(t tb, h *harness, out *outcome) {
	t.Helper()
	if err := out.res.Err; err != nil {
		switch {
		case errors.Is(err, device.ErrUseAfterFree):
			t.Fatalf("%v: a node read a released value", out)
		case errors.Is(err, device.ErrDoubleFree):
			t.Fatalf("%v: double free", out)
		case errors.Is(err, engine.ErrInternal):
			t.Fatalf("%v: internal error (a failed release, a broken invariant or an illegal move)", out)
		}
	}
}

// checkHeld checks invariant 3 after a run (success, failure or
// cancellation): the device holds exactly what the cache keeps, and
// nothing with cache none.
func checkHeld(t tb, h *harness, out *outcome) {
	t.Helper()
	if out.inUse+out.away != out.cached {
		t.Fatalf("%v: device holds %d bytes and its slower tiers %d after the run, the cache keeps %d", out, out.inUse, out.away, out.cached)
	}
	if h.cfg.cache == cacheNone && (out.inUse != 0 || out.cacheLen != 0) {
		t.Fatalf("%v: cache none, but %d bytes and %d entries are left", out, out.inUse, out.cacheLen)
	}
}

// checkCounts checks invariant 7: every node runs at most once per run,
// except re-executions counted in the stats (and nodes re-created by a
// re-executed expander, which are new instances of the same id).
func checkCounts(t tb, out *outcome) {
	t.Helper()
	st := out.res.Stats
	if len(out.res.Executed) != st.Executions {
		t.Fatalf("%v: %d nodes in Executed, Stats.Executions %d", out, len(out.res.Executed), st.Executions)
	}
	if len(st.Reexecuted) != st.Reexecutions {
		t.Fatalf("%v: %d entries in Stats.Reexecuted, Stats.Reexecutions %d", out, len(st.Reexecuted), st.Reexecutions)
	}
	reexec := map[engine.NodeID]int{}
	for _, r := range st.Reexecuted {
		reexec[r.Node]++
	}
	created := map[engine.NodeID]int{}
	for _, c := range out.calls {
		for _, id := range c.Expanded {
			created[id]++
		}
	}
	allowed := func(id engine.NodeID) int { return 1 + reexec[id] + max(0, created[id]-1) }
	execs := map[engine.NodeID]int{}
	for _, id := range out.res.Executed {
		execs[id]++
	}
	for _, id := range sortedIDs(execs) {
		if execs[id] > allowed(id) {
			t.Fatalf("%v: node %s ran %d times, re-executed %d times, created %d times", out, id, execs[id], reexec[id], created[id])
		}
	}
	type key struct {
		id    engine.NodeID
		index int
	}
	calls := map[key]int{}
	for _, c := range out.calls {
		k := key{c.Node, c.Index}
		calls[k]++
		if calls[k] > allowed(c.Node) {
			t.Fatalf("%v: node %s call %d ran %d times, re-executed %d times, created %d times", out, c.Node, c.Index, calls[k], reexec[c.Node], created[c.Node])
		}
		if c.Class == ClassNoRe && calls[k] > 1 {
			t.Fatalf("%v: NotReexecutable node %s ran twice", out, c.Node)
		}
	}
	var executing, reexecuted int
	for _, ev := range out.events {
		switch ev.Type {
		case engine.EventReexecuted:
			reexecuted++
		case engine.EventExecuting:
			executing++
		}
	}
	if reexecuted != st.Reexecutions {
		t.Fatalf("%v: %d reexecuted events, Stats.Reexecutions %d", out, reexecuted, st.Reexecutions)
	}
	if executing < st.Executions {
		t.Fatalf("%v: %d executing events for %d executions", out, executing, st.Executions)
	}
}

// checkReexec checks invariant 5: re-executions happen only under
// reexecute or auto, only for a released slot, never at level 0 or on a
// static graph, and under auto only when an expansion links outside its
// expander's upstream (restrict would refuse it): loops and components
// need none.
func checkReexec(t tb, spec *Spec, orc *OracleResult, out *outcome) {
	t.Helper()
	st := out.res.Stats
	if st.Reexecutions > 0 {
		switch {
		case out.pol.Strategy == policy.Restrict:
			t.Fatalf("%v: re-executions under restrict: %v", out, st.Reexecuted)
		case out.pol.Level == policy.KeepAll:
			t.Fatalf("%v: re-executions at level 0, where nothing is released: %v", out, st.Reexecuted)
		case spec.Static:
			t.Fatalf("%v: re-executions in a static workflow: %v", out, st.Reexecuted)
		case out.pol.Strategy == policy.Auto && len(orc.Violations) == 0:
			t.Fatalf("%v: re-executions under auto although every expansion links inside its expander's upstream: %v", out, st.Reexecuted)
		}
	}
	type slotKey struct {
		node engine.NodeID
		slot int
	}
	released := map[slotKey]int{}
	reexd := map[slotKey]int{}
	noRe := map[engine.NodeID]bool{}
	for id, n := range spec.WF {
		if n.Class == ClassNoRe {
			noRe[id] = true
		}
	}
	for _, ev := range out.events {
		k := slotKey{ev.Node, ev.Slot}
		switch ev.Type {
		case engine.EventReleased:
			released[k]++
		case engine.EventReexecuted:
			reexd[k]++
			if reexd[k] > released[k] {
				t.Fatalf("%v: node %s re-executed for slot %d (cause %s), which was not released", out, ev.Node, ev.Slot, ev.Cause)
			}
			if noRe[ev.Node] {
				t.Fatalf("%v: NotReexecutable node %s re-executed", out, ev.Node)
			}
		}
	}
}

// checkAll runs every per-run check.
func checkAll(t tb, h *harness, spec *Spec, orc *OracleResult, out *outcome) {
	t.Helper()
	checkNoUseAfterFree(t, h, out)
	checkHeld(t, h, out)
	checkCounts(t, out)
	checkReexec(t, spec, orc, out)
	checkOutcome(t, spec, orc, out)
}
