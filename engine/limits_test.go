package engine_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/policy"
)

// constChain is Const nodes c0 .. c(n-1), each reading the previous one,
// and an Out reading the last.
func constChain(n int) engine.Workflow {
	wf := engine.Workflow{"c0": node("Const", "value", int64(7))}
	for i := 1; i < n; i++ {
		wf[engine.NodeID(fmt.Sprint("c", i))] = node("Const", "value", link(fmt.Sprint("c", i-1), 0))
	}
	wf["out"] = node("Out", "value", link(fmt.Sprint("c", n-1), 0))
	return wf
}

// forever expands into another forever node, without end.
type forever struct{}

func (forever) MayExpand() {}

func (forever) Run(_ context.Context, c *engine.Call) (engine.Result, error) {
	next := engine.NodeID(c.NewPrefix() + "f")
	return engine.Result{Expand: &engine.Expansion{
		Nodes:   engine.Workflow{next: {Class: "Forever", Inputs: map[string]any{"value": c.Inputs["value"]}}},
		Outputs: []any{engine.Ref{Node: next}},
	}}, nil
}

func limitRegistry() *engine.Registry {
	r := testRegistry(nil)
	r.MustRegister(&engine.NodeType{Class: "Forever", Schema: engine.Schema{Inputs: []engine.InputSpec{any1("value")}, Outputs: outs("*")}, Runner: forever{}})
	return r
}

// runLimited runs wf with limits on a fresh engine and checks the run
// failed on limit at node, freeing everything.
func runLimited(t *testing.T, wf engine.Workflow, lim engine.Limits, par int, limit string, node engine.NodeID) *engine.RunResult {
	t.Helper()
	dev := device.NewSim(0)
	e, err := engine.New(engine.Options{Registry: limitRegistry(), Device: dev, Parallelism: par, Cache: engine.CacheMode{Kind: engine.CacheNone}})
	if err != nil {
		t.Fatal(err)
	}
	res, _ := e.Run(context.Background(), wf, engine.RunOptions{Limits: lim})
	var le *engine.LimitError
	var ne *engine.NodeError
	if res.Status != engine.StatusError || !errors.As(res.Err, &le) || le.Limit != limit || !errors.Is(res.Err, engine.ErrLimit) ||
		!errors.As(res.Err, &ne) || ne.Type != engine.TypeLimit || ne.Node != node {
		t.Fatalf("par %d: status %s, error %v (%+v), want %s exceeded at node %s", par, res.Status, res.Err, ne, limit, node)
	}
	if !strings.Contains(res.Err.Error(), limit) {
		t.Errorf("message %q does not name the limit", res.Err)
	}
	if in := dev.Stats().InUse; in != 0 {
		t.Errorf("%d bytes left on the device", in)
	}
	return res
}

func TestLimitExecutions(t *testing.T) {
	for _, par := range []int{1, 4} {
		res := runLimited(t, constChain(20), engine.Limits{MaxExecutions: 5}, par, "max-executions", "c5")
		if res.Stats.Executions != 5 {
			t.Errorf("%d executions, want 5", res.Stats.Executions)
		}
	}
	// A negative limit removes it.
	e, _ := engine.New(engine.Options{Registry: limitRegistry()})
	if res, err := e.Run(context.Background(), constChain(20), engine.RunOptions{Limits: engine.Limits{MaxExecutions: -1}}); err != nil || res.Stats.Executions != 21 {
		t.Errorf("no limit: %v, %d executions", err, res.Stats.Executions)
	}
}

func TestLimitListLength(t *testing.T) {
	wf := engine.Workflow{
		"l":   node("List", "a", int64(1), "b", int64(2), "c", int64(3)),
		"out": node("Out", "value", link("l", 0)),
	}
	runLimited(t, wf, engine.Limits{MaxListLength: 2}, 1, "max-list-length", "l")
}

func TestLimitTimeout(t *testing.T) {
	wf := engine.Workflow{
		"s":   node("Sleep", "value", int64(1), "ms", int64(5000)),
		"out": node("Out", "value", link("s", 0)),
	}
	// The node sleeps 5 s: the run ends with the timeout, not the sleep,
	// reported as the limit (not as an interruption).
	res := runLimited(t, wf, engine.Limits{Timeout: 50 * time.Millisecond}, 2, "timeout", "s")
	if res.Status == engine.StatusInterrupted {
		t.Errorf("status %s", res.Status)
	}
}

// A node that expands without end stops at the expansion depth, or at the
// number of nodes expansions may add.
func TestLimitExpansion(t *testing.T) {
	wf := engine.Workflow{
		"f":   node("Forever", "value", int64(1)),
		"out": node("Out", "value", link("f", 0)),
	}
	for _, par := range []int{1, 4} {
		runLimited(t, wf, engine.Limits{MaxExpansionDepth: 30}, par, "max-expansion-depth", "f")
		runLimited(t, wf, engine.Limits{MaxExpansionNodes: 10}, par, "max-expansion-nodes", "f")
	}
}

// RunResult.Executed keeps the last KeepExecuted ids, oldest first.
func TestKeepExecuted(t *testing.T) {
	e, _ := engine.New(engine.Options{Registry: limitRegistry(), Parallelism: 1, Cache: engine.CacheMode{Kind: engine.CacheNone}})
	for keep, want := range map[int][]engine.NodeID{
		3:  {"c8", "c9", "out"},
		-1: {"c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9", "out"},
		0:  {"c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9", "out"},
	} {
		res, err := e.Run(context.Background(), constChain(10), engine.RunOptions{KeepExecuted: keep})
		if err != nil || !slices.Equal(res.Executed, want) || res.Stats.Executions != 11 {
			t.Errorf("keep %d: %v, executed %v (%d), want %v", keep, err, res.Executed, res.Stats.Executions, want)
		}
	}
}

// A panic's message is its value; the stack is kept apart.
func TestPanicMessage(t *testing.T) {
	h := newHarness(t, "none", 1, 0)
	res := h.run(engine.Workflow{"b": node("Boom", "value", int64(1)), "out": node("Out", "value", link("b", 0))}, policy.Default())
	var pe *engine.PanicError
	if !errors.As(res.Err, &pe) || len(pe.Stack) == 0 || !errors.Is(res.Err, engine.ErrPanic) {
		t.Fatalf("error %v, want a PanicError with a stack", res.Err)
	}
	if msg := res.Err.Error(); strings.Contains(msg, "goroutine") || strings.Contains(msg, "\n") || !strings.Contains(msg, "kaboom") {
		t.Errorf("message %q", msg)
	}
}

// failInside expands into a Fail node.
type failInside struct{}

func (failInside) MayExpand() {}

func (failInside) Run(_ context.Context, c *engine.Call) (engine.Result, error) {
	id := engine.NodeID(c.NewPrefix() + "fail")
	return engine.Result{Expand: &engine.Expansion{
		Nodes:   engine.Workflow{id: {Class: "Fail", Inputs: map[string]any{"value": int64(1)}}},
		Outputs: []any{engine.Ref{Node: id}},
	}}, nil
}

// A failure inside an expansion names the real node with its own class,
// and the expanded node that failed with its class.
func TestExpandedFailureClasses(t *testing.T) {
	reg := testRegistry(nil)
	reg.MustRegister(&engine.NodeType{Class: "Wrapper", Schema: engine.Schema{Outputs: outs("*")}, Runner: failInside{}})
	e, _ := engine.New(engine.Options{Registry: reg})
	res, _ := e.Run(context.Background(), engine.Workflow{"w": node("Wrapper"), "out": node("Out", "value", link("w", 0))}, engine.RunOptions{})
	var ne *engine.NodeError
	if !errors.As(res.Err, &ne) || ne.Node != "w" || ne.Class != "Wrapper" || ne.ID != "w.0.0.fail" || ne.IDClass != "Fail" {
		t.Fatalf("error %v (%+v), want one on w (Wrapper), in w.0.0.fail (Fail)", res.Err, ne)
	}
	if msg := res.Err.Error(); !strings.Contains(msg, "w (Wrapper)") || !strings.Contains(msg, "w.0.0.fail (Fail)") {
		t.Errorf("message %q", msg)
	}
}

// An expansion that links to a workflow node that fails validation (a
// required input missing) fails the run, as ComfyUI does, and reports the
// node's validation errors.
func TestExpansionLinksToInvalidNode(t *testing.T) {
	wf := engine.Workflow{
		"bad": node("Add", "a", int64(1)), // b is required
		"one": node("Const", "value", int64(1)),
		"x":   node("Link", "x", link("one", 0), "target", "bad"),
		"out": node("Out", "value", link("x", 0)),
	}
	for _, pol := range allPolicies {
		if pol.Strategy == policy.Restrict {
			continue // refused earlier: bad is not upstream of x
		}
		h := newHarness(t, "none", 1, 0)
		res := h.run(wf, pol)
		if res.Status != engine.StatusError || !errors.Is(res.Err, engine.ErrInvalid) || res.NodeErrors["bad"] == nil {
			t.Errorf("%v: status %s, error %v, node errors %v", pol, res.Status, res.Err, res.NodeErrors)
		}
		if h.counts["Add"].Load() != 0 {
			t.Errorf("%v: the invalid node ran", pol)
		}
	}
	// A valid node outside the outputs' reach is validated (and coerced)
	// when linked: it runs.
	wf["bad"] = node("Add", "a", int64(1), "b", "2")
	h := newHarness(t, "none", 1, 0)
	if res := h.run(wf, policy.Default()); res.Err != nil || res.Outputs["out"]["value"][0] != int64(4) {
		t.Errorf("valid late node: %v, outputs %v", res.Err, res.Outputs)
	}
}

// A blocker with a message is reported once; downstream nodes get a
// silent one.
func TestBlockerReportedOnce(t *testing.T) {
	reg := testRegistry(nil)
	reg.MustRegister(&engine.NodeType{Class: "Block", Schema: engine.Schema{Outputs: outs("*")},
		Runner: engine.RunFunc(func(context.Context, *engine.Call) (engine.Result, error) { return engine.Blocked("stop", 1), nil })})
	wf := engine.Workflow{
		"b":   node("Block"),
		"c1":  node("Const", "value", link("b", 0)),
		"c2":  node("Const", "value", link("c1", 0)),
		"out": node("Out", "value", link("c2", 0)),
	}
	e, _ := engine.New(engine.Options{Registry: reg, Parallelism: 1})
	var reported []engine.NodeID
	obs := engine.ObserverFunc(func(ev engine.Event) {
		if ev.Type == engine.EventError && strings.Contains(ev.Message, "Execution Blocked") {
			reported = append(reported, ev.Node)
		}
	})
	res, err := e.Run(context.Background(), wf, engine.RunOptions{Observers: []engine.Observer{obs}})
	if err != nil || !slices.Equal(reported, []engine.NodeID{"c1"}) {
		t.Errorf("%v: blocked reported at %v, want once, at c1", err, reported)
	}
	_ = res
}

// Literals that contain themselves, or share lists exponentially, neither
// crash nor hang a run: they are never cached.
func TestHostileLiterals(t *testing.T) {
	cyclic := make([]any, 1)
	cyclic[0] = cyclic
	dag := []any{int64(1)}
	for range 64 {
		dag = []any{dag, dag}
	}
	deep := any(int64(1))
	for range 100_000 {
		deep = []any{deep}
	}
	for name, lit := range map[string]any{"cyclic": cyclic, "dag": dag, "deep": deep} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		e, _ := engine.New(engine.Options{Registry: testRegistry(nil), Parallelism: 1})
		wf := engine.Workflow{"c": node("Const", "value", lit), "out": node("Out", "value", link("c", 0))}
		res, err := e.Run(ctx, wf, engine.RunOptions{})
		if err != nil || ctx.Err() != nil {
			t.Errorf("%s: %v (%v)", name, err, ctx.Err())
		}
		if e.CacheLen() != 0 {
			t.Errorf("%s: %d cache entries: an unhashable literal was cached", name, e.CacheLen())
		}
		cancel()
		_ = res
		if _, err := engine.EncodeWorkflow(wf); err == nil {
			t.Errorf("%s: encoded without an error", name)
		}
	}
}

// A huge Parallelism starts no more workers than nodes run at once.
func TestWorkersOnDemand(t *testing.T) {
	var mu sync.Mutex
	peak := 0
	reg := engine.NewRegistry().MustRegister(&engine.NodeType{Class: "Count", Schema: engine.Schema{OutputNode: true},
		Runner: engine.RunFunc(func(context.Context, *engine.Call) (engine.Result, error) {
			mu.Lock()
			peak = max(peak, runtime.NumGoroutine())
			mu.Unlock()
			return engine.Result{}, nil
		})})
	e, err := engine.New(engine.Options{Registry: reg, Parallelism: 1_000_000})
	if err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	if _, err := e.Run(context.Background(), engine.Workflow{"a": node("Count"), "b": node("Count")}, engine.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if peak > before+2 {
		t.Errorf("%d goroutines while two nodes ran (%d before the run)", peak, before)
	}
}
