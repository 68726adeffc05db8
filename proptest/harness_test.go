package proptest

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"pgregory.net/rapid"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/policy"
)

// reg is shared by every test: registries are read-only during runs.
var reg = Registry()

// runTimeout bounds one engine run; a run that takes longer is a hang.
const runTimeout = 60 * time.Second

// tb is what the checks need of *testing.T and *rapid.T.
type tb interface {
	Helper()
	Fatalf(format string, args ...any)
	Errorf(format string, args ...any)
	Logf(format string, args ...any)
}

// config is one engine configuration: the policy and the engine options.
type config struct {
	level    policy.Level
	strategy policy.Strategy
	cache    engine.CacheMode
	par      int
	// Offload (zero: none): the run's mode and eviction choice, on a
	// tiered Sim of capacity bytes (0: unlimited) whose disk tier, for
	// offload disk, is diskDir.
	offload  policy.Offload
	evict    policy.Evict
	capacity int64
	diskDir  string
}

func (c config) policy() policy.Policy { return policy.Policy{Level: c.level, Strategy: c.strategy} }

func (c config) String() string {
	s := fmt.Sprintf("level %d, %v, cache %v, parallelism %d", c.level, c.strategy, c.cache, c.par)
	if c.offload != policy.OffloadNone {
		s += fmt.Sprintf(", offload %v, evict %v, capacity %d", c.offload, c.evict, c.capacity)
	}
	return s
}

var (
	cacheClassic = engine.CacheMode{Kind: engine.CacheClassic}
	cacheNone    = engine.CacheMode{Kind: engine.CacheNone}
	cacheModes   = []engine.CacheMode{cacheClassic, {Kind: engine.CacheLRU, Size: 4}, {Kind: engine.CacheLRU, Size: 64}, cacheNone}
)

// drawConfig samples one of the 3 x 3 x 4 x 2 configurations.
func drawConfig(t *rapid.T, label string) config {
	return config{
		level:    rapid.SampledFrom(policy.Levels()).Draw(t, label+"-level"),
		strategy: rapid.SampledFrom(policy.Strategies()).Draw(t, label+"-strategy"),
		cache:    rapid.SampledFrom(cacheModes).Draw(t, label+"-cache"),
		par:      rapid.SampledFrom([]int{1, 4}).Draw(t, label+"-parallelism"),
	}
}

// harness is one engine on its own device.
type harness struct {
	cfg config
	dev *device.Sim
	e   *engine.Engine
}

func newHarness(t tb, cfg config) *harness {
	t.Helper()
	dev := device.NewSim(0)
	if cfg.offload != policy.OffloadNone {
		var err error
		if dev, err = device.NewTieredSim(cfg.capacity, device.SimTiers{Host: true, DiskDir: cfg.diskDir}); err != nil {
			t.Fatalf("device.NewTieredSim: %v", err)
		}
	}
	e, err := engine.New(engine.Options{Registry: reg, Device: dev, Cache: cfg.cache, Parallelism: cfg.par})
	if err != nil {
		t.Fatalf("engine.New: %v", err)
	}
	return &harness{cfg: cfg, dev: dev, e: e}
}

// close empties the cache and closes the device: nothing may be left.
func (h *harness) close(t tb) {
	t.Helper()
	if err := h.e.Close(); err != nil {
		t.Fatalf("%v: engine.Close: %v", h.cfg, err)
	}
	if st := h.dev.Stats(); st.InUse != 0 {
		t.Fatalf("%v: %d bytes in use after engine.Close", h.cfg, st.InUse)
	}
	if ts := h.dev.TierStats(); ts.Host.InUse != 0 || ts.Disk.InUse != 0 {
		t.Fatalf("%v: host %d and disk %d bytes in use after engine.Close", h.cfg, ts.Host.InUse, ts.Disk.InUse)
	}
	if err := h.dev.Close(); err != nil {
		t.Fatalf("%v: device.Close: %v", h.cfg, err)
	}
}

// sample is the device's use just before a node started.
type sample struct {
	event int // index in outcome.events of the executing event
	inUse int64
}

// outcome is one run and what was seen of it.
type outcome struct {
	wf       engine.Workflow
	cfg      config
	pol      policy.Policy
	res      *engine.RunResult
	calls    []CallRecord
	events   []engine.Event
	samples  []sample // only at parallelism 1
	inUse    int64    // device bytes in use after the run
	away     int64    // host and disk bytes in use after the run
	cached   int64    // engine.CachedBytes after the run
	cacheLen int
	panic    string // the panic value and stack, when Run panicked
}

// runCatching calls run, returning the panic value and stack, if it
// panics, instead of its result.
func runCatching(run func() (*engine.RunResult, error)) (res *engine.RunResult, stack string) {
	defer func() {
		if p := recover(); p != nil {
			stack = fmt.Sprintf("%v\n%s", p, debug.Stack())
		}
	}()
	res, _ = run()
	return res, ""
}

func (o *outcome) String() string {
	return fmt.Sprintf("%v (run policy %v): status %s, err %v, stats %+v, executed %v, cached %v\nworkflow: %v",
		o.cfg, o.pol, o.res.Status, o.res.Err, o.res.Stats, o.res.Executed, o.res.Cached, &Spec{WF: o.wf})
}

// run runs wf once with pol.
func (h *harness) run(t tb, wf engine.Workflow, pol policy.Policy) *outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	l := &Ledger{}
	ctx = WithLedger(WithCancel(ctx, cancel), l)
	out := &outcome{wf: wf, cfg: h.cfg, pol: pol}
	rec := engine.ObserverFunc(func(ev engine.Event) {
		out.events = append(out.events, ev)
		if ev.Type == engine.EventExecuting && h.cfg.par == 1 {
			out.samples = append(out.samples, sample{event: len(out.events) - 1, inUse: h.dev.Stats().InUse})
		}
	})
	res, stack := runCatching(func() (*engine.RunResult, error) {
		return h.e.Run(ctx, wf, engine.RunOptions{Policy: &pol, Observers: []engine.Observer{rec}, Offload: h.cfg.offload, Evict: h.cfg.evict})
	})
	if stack != "" {
		out.panic = stack
		out.res = &engine.RunResult{Status: "panic", Err: fmt.Errorf("the engine panicked:\n%s", stack)}
		if knownBug(out) != "" {
			return out
		}
		t.Fatalf("%v: the engine panicked:\n%s", h.cfg, stack)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("%v: the run did not finish within %v (a hang)", h.cfg, runTimeout)
	}
	out.res = res
	out.calls = l.Calls()
	out.inUse = h.dev.Stats().InUse
	ts := h.dev.TierStats()
	out.away = ts.Host.InUse + ts.Disk.InUse
	out.cached = h.e.CachedBytes()
	out.cacheLen = h.e.CacheLen()
	return out
}

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

// checkLiveSet checks invariant 3 node by node on a static workflow run at
// parallelism 1 as the first run of its engine: just before each node
// starts, the device holds exactly the values whose slot has a pending
// reader or a pin, at every level (a cache may keep nothing else: it
// starts empty and a released value leaves it). The readers are computed
// from the workflow, the events and the ledger, not from the engine, by
// the rules of docs/lifetime.md:
//
//   - a pending reader of a slot is a node that links to it (lazily or
//     not), has not completed, and is scheduled (reached from the output
//     nodes through links, a lazy link only once it was requested) or
//     potential (reached from a pending lazy node's unrequested lazy link,
//     and from there through any link, without having run);
//   - level 0 keeps every slot; level 1 keeps a slot that had a pending
//     reader when its node completed; level 2 one that has one now;
//     outputs of output nodes, and of NotReexecutable nodes under
//     reexecute and auto, are pinned.
//
// PLazy asks for one input per round (a, b, c in that order), so the
// inputs it has requested by a point are the first k of those its run
// got, k being its dispatches so far. Runs that failed, re-executed or map
// a lazy node over a list are not checked.
func checkLiveSet(t tb, spec *Spec, out *outcome) {
	t.Helper()
	if out.res.Status != engine.StatusSuccess || out.res.Stats.Reexecutions > 0 || out.cfg.par != 1 {
		return
	}
	wf := spec.WF
	// slot values and lazy needs from the ledger, per node in call order
	values := map[engine.NodeID][][]any{}
	needs := map[engine.NodeID][]string{}
	for _, c := range slices.SortedFunc(slices.Values(out.calls), func(a, b CallRecord) int { return a.Index - b.Index }) {
		if c.Err != nil || c.Outputs == nil {
			continue
		}
		if c.Class == ClassLazy {
			if c.Index > 0 {
				return // mapped: needs differ per call
			}
			for _, name := range []string{"a", "b", "c"} {
				if slices.Contains(c.Inputs, name) {
					needs[c.Node] = append(needs[c.Node], name)
				}
			}
		}
		typ, _ := reg.Lookup(c.Class)
		vs := values[c.Node]
		if vs == nil {
			vs = make([][]any, len(c.Outputs))
		}
		for j, v := range c.Outputs {
			if l, ok := v.([]any); ok && typ.Schema.Outputs[j].IsList {
				vs[j] = append(vs[j], l...)
			} else {
				vs[j] = append(vs[j], v)
			}
		}
		values[c.Node] = vs
	}
	consumers := map[engine.Ref][]engine.NodeID{}
	for id, n := range wf {
		for _, v := range n.Inputs {
			if r, ok := v.(engine.Ref); ok {
				consumers[r] = append(consumers[r], id)
			}
		}
	}
	pinned := func(id engine.NodeID) bool {
		switch wf[id].Class {
		case ClassOut:
			return true
		case ClassNoRe:
			return out.pol.Strategy.Reexecutes()
		}
		return false
	}
	lazyInput := func(id engine.NodeID, name string) bool {
		t, _ := reg.Lookup(wf[id].Class)
		in, ok := t.Schema.Input(name)
		return ok && in.Lazy
	}
	// state after the first `upto` events
	type state struct {
		done, live map[engine.NodeID]bool
	}
	stateAt := func(upto int) state {
		done := map[engine.NodeID]bool{}
		dispatches := map[engine.NodeID]int{}
		for _, ev := range out.events[:upto] {
			switch ev.Type {
			case engine.EventExecuted:
				done[ev.Node] = true
			case engine.EventExecuting:
				dispatches[ev.Node]++
			}
		}
		requested := func(id engine.NodeID, name string) bool {
			k := min(dispatches[id], len(needs[id]))
			return slices.Contains(needs[id][:k], name)
		}
		live := map[engine.NodeID]bool{}
		var stack []engine.NodeID
		push := func(id engine.NodeID) {
			if !live[id] && !done[id] {
				live[id] = true
				stack = append(stack, id)
			}
		}
		for id, n := range wf {
			if t, _ := reg.Lookup(n.Class); t.Schema.OutputNode {
				push(id)
			}
		}
		var potential []engine.NodeID
		for len(stack) > 0 { // scheduled
			id := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for name, v := range wf[id].Inputs {
				r, ok := v.(engine.Ref)
				if !ok {
					continue
				}
				if lazyInput(id, name) && !requested(id, name) {
					potential = append(potential, r.Node)
					continue
				}
				push(r.Node)
			}
		}
		for _, id := range potential { // potential, through any link
			push(id)
		}
		for len(stack) > 0 {
			id := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, v := range wf[id].Inputs {
				if r, ok := v.(engine.Ref); ok {
					push(r.Node)
				}
			}
		}
		return state{done, live}
	}
	doneAt := map[engine.NodeID]int{}
	for i, ev := range out.events {
		if ev.Type == engine.EventExecuted {
			doneAt[ev.Node] = i
		}
	}
	hasReader := func(r engine.Ref, st state) bool {
		for _, c := range consumers[r] {
			if st.live[c] {
				return true
			}
		}
		return false
	}
	keep := func(r engine.Ref, now state) bool {
		switch {
		case out.pol.Level == policy.KeepAll || pinned(r.Node):
			return true
		case out.pol.Level == policy.ReleaseUnreferenced:
			return hasReader(r, stateAt(doneAt[r.Node]))
		}
		return hasReader(r, now)
	}
	for _, smp := range out.samples {
		now := stateAt(smp.event)
		seen := map[*engine.Buffer]bool{}
		var want int64
		var live []string
		for _, id := range sortedIDs(now.done) {
			for j, vals := range values[id] {
				if !keep(engine.Ref{Node: id, Out: j}, now) {
					continue
				}
				for _, v := range vals {
					if b, ok := v.(*engine.Buffer); ok && !seen[b] {
						seen[b] = true
						want += b.Bytes()
						live = append(live, fmt.Sprintf("%s:%d=%d", id, j, b.Bytes()))
					}
				}
			}
		}
		if smp.inUse != want {
			t.Fatalf("before node %s ran, the device held %d bytes; values with a pending reader or a pin: %d %v\n%v",
				out.events[smp.event].Node, smp.inUse, want, live, out)
		}
	}
}

func sortedIDs[V any](m map[engine.NodeID]V) []engine.NodeID {
	ids := make([]engine.NodeID, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
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
