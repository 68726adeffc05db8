package engine_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/policy"
)

func uiValue(t *testing.T, res *engine.RunResult, id engine.NodeID) any {
	t.Helper()
	ui, ok := res.Outputs[id]
	if !ok || len(ui["value"]) != 1 {
		t.Fatalf("no UI value for %s: %v (status %s, err %v)", id, res.Outputs, res.Status, res.Err)
	}
	return ui["value"][0]
}

func TestChainAndOrder(t *testing.T) {
	for _, par := range []int{1, 4} {
		h := newHarness(t, "none", par, 0)
		wf := engine.Workflow{
			"a":   node("Const", "value", int64(2)),
			"b":   node("Add", "a", link("a", 0), "b", int64(3)),
			"c":   node("Add", "a", link("b", 0), "b", link("a", 0)),
			"out": node("Out", "value", link("c", 0)),
		}
		res := h.run(wf, policy.Default())
		if res.Status != engine.StatusSuccess {
			t.Fatalf("par %d: %v", par, res.Err)
		}
		if got := uiValue(t, res, "out"); got != int64(7) {
			t.Errorf("par %d: out = %v, want 7", par, got)
		}
		if want := []engine.NodeID{"a", "b", "c", "out"}; !slices.Equal(res.Executed, want) {
			t.Errorf("par %d: executed %v, want %v", par, res.Executed, want)
		}
	}
}

func TestLazySkipsUnneededBranch(t *testing.T) {
	h := newHarness(t, "none", 1, 0)
	wf := engine.Workflow{
		"x":   node("Const", "value", int64(1)),
		"y":   node("Add", "a", int64(5), "b", int64(5)),
		"p":   node("Pick", "a", link("x", 0), "b", link("y", 0), "sel", true),
		"out": node("Out", "value", link("p", 0)),
	}
	for _, pol := range allPolicies {
		res := h.run(wf, pol)
		if res.Status != engine.StatusSuccess || uiValue(t, res, "out") != int64(1) {
			t.Fatalf("%v: %v %v", pol, res.Status, res.Err)
		}
		if slices.Contains(res.Executed, "y") {
			t.Errorf("%v: lazy branch y ran: %v", pol, res.Executed)
		}
	}
}

func TestExpansionForwardAndCache(t *testing.T) {
	h := newHarness(t, "classic", 1, 0)
	wf := engine.Workflow{
		"a":   node("Const", "value", int64(41)),
		"inc": node("Inc", "x", link("a", 0)),
		"out": node("Out", "value", link("inc", 0)),
	}
	res := h.run(wf, policy.Policy{Level: policy.KeepAll})
	if res.Status != engine.StatusSuccess || uiValue(t, res, "out") != int64(42) {
		t.Fatalf("%v %v", res.Status, res.Err)
	}
	var ephemeral []engine.NodeID
	for _, id := range res.Executed {
		if strings.HasPrefix(string(id), "inc.0.0.") {
			ephemeral = append(ephemeral, id)
		}
	}
	if len(ephemeral) != 2 {
		t.Errorf("expanded nodes run: %v", res.Executed)
	}
	res = h.run(wf, policy.Policy{Level: policy.KeepAll})
	if len(res.Executed) != 0 || !slices.Contains(res.Cached, "out") {
		t.Errorf("second run executed %v, cached %v", res.Executed, res.Cached)
	}
}

func TestExpansionOutputNodeWaits(t *testing.T) {
	// An output node that expands keeps its (pinned) outputs: wait mode.
	reg := testRegistry(counters())
	_ = reg.Replace(&engine.NodeType{Class: "IncOut", Schema: engine.Schema{Inputs: []engine.InputSpec{{Name: "x", Type: "INT"}}, Outputs: outs("INT"), OutputNode: true}, Runner: incExpander{}})
	e, _ := engine.New(engine.Options{Registry: reg, Parallelism: 1, Cache: engine.CacheMode{Kind: engine.CacheNone}})
	wf := engine.Workflow{
		"a":   node("Const", "value", int64(1)),
		"inc": node("IncOut", "x", link("a", 0)),
		"out": node("Out", "value", link("inc", 0)),
	}
	res, err := e.Run(context.Background(), wf, engine.RunOptions{})
	if err != nil || uiValue(t, res, "out") != int64(2) {
		t.Fatalf("%v %v", res.Status, err)
	}
}

func TestRestrictRejectsOutsideLink(t *testing.T) {
	wf := engine.Workflow{
		"a":    node("Const", "value", int64(1)),
		"far":  node("Const", "value", int64(100)),
		"o1":   node("Out", "value", link("far", 0)),
		"link": node("Link", "x", link("a", 0), "target", "far"),
		"out":  node("Out", "value", link("link", 0)),
	}
	for _, pol := range allPolicies {
		h := newHarness(t, "none", 1, 0)
		res := h.run(wf, pol)
		if pol.Strategy == policy.Restrict {
			var re *engine.RestrictError
			if res.Status != engine.StatusError || !errors.As(res.Err, &re) || !errors.Is(res.Err, engine.ErrRestricted) {
				t.Fatalf("%v: want restrict error, got %v %v", pol, res.Status, res.Err)
			}
			if re.Expander != "link" || re.Target != "far" {
				t.Errorf("%v: restrict error names %q -> %q", pol, re.Expander, re.Target)
			}
			continue
		}
		if res.Status != engine.StatusSuccess || uiValue(t, res, "out") != int64(101) {
			t.Fatalf("%v: %v %v", pol, res.Status, res.Err)
		}
		// "far" ran first (sorted outputs: o1 before out) and, at level 2,
		// was released after o1; the late edge re-executes it.
		wantRe := 0
		if pol.Level == policy.ReleaseDead {
			wantRe = 1
		}
		if res.Stats.Reexecutions != wantRe {
			t.Errorf("%v: reexecutions %d, want %d (%v)", pol, res.Stats.Reexecutions, wantRe, res.Stats.Reexecuted)
		}
		if wantRe == 1 && (res.Stats.Reexecuted[0].Node != "far" || !strings.HasPrefix(string(res.Stats.Reexecuted[0].Cause), "link.")) {
			t.Errorf("%v: reexecution attributed to %+v", pol, res.Stats.Reexecuted[0])
		}
	}
}

func TestNotReexecutableIsPinned(t *testing.T) {
	wf := engine.Workflow{
		"a":    node("Const", "value", int64(1)),
		"far":  node("NoReexec", "value", int64(100)),
		"o1":   node("Out", "value", link("far", 0)),
		"link": node("Link", "x", link("a", 0), "target", "far"),
		"out":  node("Out", "value", link("link", 0)),
	}
	h := newHarness(t, "none", 1, 0)
	res := h.run(wf, policy.Policy{Level: policy.ReleaseDead, Strategy: policy.Reexecute})
	if res.Status != engine.StatusSuccess || res.Stats.Reexecutions != 0 || uiValue(t, res, "out") != int64(101) {
		t.Fatalf("%v %v reexec %d", res.Status, res.Err, res.Stats.Reexecutions)
	}
}

func TestLevelsReleaseMemory(t *testing.T) {
	const mb = 1 << 20
	// a (4 MiB) -> b (2 MiB, reads a) -> out; a's TENSOR is unconnected.
	wf := engine.Workflow{
		"a":   node("Alloc", "size", int64(4*mb)),
		"b":   node("Alloc", "in", link("a", 0), "size", int64(2*mb)),
		"c":   node("Alloc", "in", link("b", 1), "size", int64(1*mb), "work", int64(3*mb)),
		"out": node("Out", "value", link("c", 1)),
	}
	peaks := map[policy.Level]int64{}
	for _, l := range policy.Levels() {
		h := newHarness(t, "none", 1, 0)
		res := h.run(wf, policy.Policy{Level: l})
		if res.Status != engine.StatusSuccess {
			t.Fatalf("level %d: %v", l, res.Err)
		}
		peaks[l] = res.Stats.PeakBytes
		if got := h.dev.Stats().InUse; got != 0 {
			t.Errorf("level %d: %d bytes still on the device after a cache-none run", l, got)
		}
		if l == policy.ReleaseDead && res.Stats.PeakBytes != res.Stats.BoundBytes {
			t.Errorf("level 2 peak %d != bound %d", res.Stats.PeakBytes, res.Stats.BoundBytes)
		}
	}
	// level 0: 4+2+1+3 = 10; level 1: a's tensor freed at once: max(4, 2+..)...
	if peaks[0] != 10*mb || peaks[1] != 6*mb || peaks[2] != 6*mb {
		t.Errorf("peaks %v", peaks)
	}
}

func TestOutOfMemoryNamesNode(t *testing.T) {
	h := newHarness(t, "none", 1, 5<<20)
	wf := engine.Workflow{
		"a":   node("Alloc", "size", int64(4<<20)),
		"b":   node("Alloc", "in", link("a", 1), "size", int64(2<<20)),
		"out": node("Out", "value", link("b", 1)),
	}
	res := h.run(wf, policy.Policy{Level: policy.ReleaseDead})
	var ne *engine.NodeError
	if res.Status != engine.StatusError || !errors.Is(res.Err, device.ErrOutOfMemory) || !errors.As(res.Err, &ne) || ne.Node != "b" || ne.Type != engine.TypeOutOfMemory {
		t.Fatalf("want OOM at b, got %v %v", res.Status, res.Err)
	}
	if got := h.dev.Stats().InUse; got != 0 {
		t.Errorf("%d bytes left after a failed run", got)
	}
}

func TestPanicAndErrorCarryNode(t *testing.T) {
	for _, class := range []string{"Boom", "Fail"} {
		h := newHarness(t, "none", 2, 0)
		wf := engine.Workflow{"x": node(class, "value", int64(1)), "out": node("Out", "value", link("x", 0))}
		res := h.run(wf, policy.Default())
		var ne *engine.NodeError
		if res.Status != engine.StatusError || !errors.As(res.Err, &ne) || ne.Node != "x" || ne.Class != class {
			t.Fatalf("%s: %v %v", class, res.Status, res.Err)
		}
		if class == "Boom" && !errors.Is(res.Err, engine.ErrPanic) {
			t.Errorf("panic not wrapped: %v", res.Err)
		}
	}
}

func TestCancellation(t *testing.T) {
	h := newHarness(t, "none", 2, 0)
	wf := engine.Workflow{
		"a":   node("Const", "value", int64(1)),
		"s":   node("Sleep", "value", link("a", 0), "ms", int64(10_000)),
		"out": node("Out", "value", link("s", 0)),
	}
	ctx, cancel := context.WithCancel(context.Background())
	obs := engine.ObserverFunc(func(ev engine.Event) {
		if ev.Type == engine.EventExecuting && ev.Node == "s" {
			cancel()
		}
	})
	start := time.Now()
	res, err := h.e.Run(ctx, wf, engine.RunOptions{Observers: []engine.Observer{obs}})
	var ne *engine.NodeError
	if res.Status != engine.StatusInterrupted || !errors.Is(err, engine.ErrInterrupted) || !errors.As(err, &ne) || ne.Node != "s" {
		t.Fatalf("%v %v", res.Status, err)
	}
	if time.Since(start) > 5*time.Second {
		t.Error("cancellation did not stop the sleeping node")
	}
}

func TestListMappingPads(t *testing.T) {
	h := newHarness(t, "none", 1, 0)
	wf := engine.Workflow{
		"l":   node("List", "a", int64(1), "b", int64(2), "c", int64(3)),
		"k":   node("List", "a", int64(10)),
		"add": node("Add", "a", link("l", 0), "b", link("k", 0)),
		"out": node("Out", "value", link("add", 0)),
	}
	res := h.run(wf, policy.Default())
	if res.Status != engine.StatusSuccess {
		t.Fatal(res.Err)
	}
	if got := res.Outputs["out"]["value"]; !slices.Equal(got, []any{int64(11), int64(12), int64(13)}) {
		t.Errorf("mapped values %v", got)
	}
}

func TestCacheModes(t *testing.T) {
	wf := engine.Workflow{
		"a":   node("Const", "value", int64(1)),
		"out": node("Out", "value", link("a", 0)),
	}
	for _, mode := range []string{"classic", "lru:10", "none"} {
		h := newHarness(t, mode, 1, 0)
		h.run(wf, policy.Policy{Level: policy.KeepAll})
		res := h.run(wf, policy.Policy{Level: policy.KeepAll})
		if hit := slices.Contains(res.Cached, "out"); hit != (mode != "none") {
			t.Errorf("%s: cached %v executed %v", mode, res.Cached, res.Executed)
		}
	}
}

// TestClassicKeepsWorkflowEntries checks the classic cache's retention: a
// run keeps older entries of its own workflow's nodes, even ones it did
// not reach (here b, outside the run's targets), and drops the others.
func TestClassicKeepsWorkflowEntries(t *testing.T) {
	h := newHarness(t, "classic", 1, 0)
	wf := engine.Workflow{
		"a":  node("Const", "value", int64(1)),
		"b":  node("Const", "value", int64(2)),
		"oa": node("Out", "value", link("a", 0)),
		"ob": node("Out", "value", link("b", 0)),
	}
	keep := policy.Policy{Level: policy.KeepAll}
	h.run(wf, keep)
	h.run(wf, keep, "oa") // b is not reached, but it is in the workflow
	res := h.run(wf, keep, "ob")
	if got := h.counts["Const"].Load(); got != 2 || !slices.Contains(res.Cached, "ob") {
		t.Errorf("b's entry was dropped: Const ran %d times (want 2), cached %v", got, res.Cached)
	}
	other := engine.Workflow{"c": node("Const", "value", int64(3)), "oc": node("Out", "value", link("c", 0))}
	h.run(other, keep) // a and b are not in this workflow: their entries go
	if res := h.run(wf, keep); h.counts["Const"].Load() != 5 || len(res.Cached) != 0 {
		t.Errorf("entries of another workflow were kept: Const ran %d times (want 5), cached %v", h.counts["Const"].Load(), res.Cached)
	}
}

func TestReleasedSlotLeavesCache(t *testing.T) {
	h := newHarness(t, "classic", 1, 0)
	wf := engine.Workflow{
		"a":   node("Alloc", "size", int64(1<<20)),
		"out": node("Out", "value", link("a", 1)),
	}
	h.run(wf, policy.Policy{Level: policy.ReleaseDead})
	if got := h.dev.Stats().InUse; got != 0 {
		t.Errorf("level 2: %d bytes kept by the cache, want 0 (a's output was released)", got)
	}
	h2 := newHarness(t, "classic", 1, 0)
	h2.run(wf, policy.Policy{Level: policy.KeepAll})
	if got := h2.dev.Stats().InUse; got != 1<<20 {
		t.Errorf("level 0: cache keeps %d bytes, want a's tensor (1 MiB)", got)
	}
	if err := h2.e.Close(); err != nil || h2.dev.Stats().InUse != 0 {
		t.Errorf("Close left %d bytes (%v)", h2.dev.Stats().InUse, err)
	}
}

func TestUnknownClassInExpansion(t *testing.T) {
	h := newHarness(t, "none", 1, 0)
	wf := engine.Workflow{
		"a":    node("Const", "value", int64(1)),
		"link": node("Link", "x", link("a", 0), "target", "nowhere"),
		"out":  node("Out", "value", link("link", 0)),
	}
	res := h.run(wf, policy.Default())
	if res.Status != engine.StatusError || !errors.Is(res.Err, engine.ErrMissingNode) {
		t.Fatalf("%v %v", res.Status, res.Err)
	}
}

// A reused Call carries nothing from the node before: each call sees
// exactly its own inputs, under parallelism 1 (one Call reused throughout)
// and 4.
func TestCallInputsAreFresh(t *testing.T) {
	check := func(want ...string) engine.Runner {
		return engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
			got, w := slices.Sorted(maps.Keys(c.Inputs)), want
			if c.Node == "xy0" {
				w = []string{"y"} // the first has no x
			}
			if !slices.Equal(got, w) {
				return engine.Result{}, fmt.Errorf("node %s sees inputs %v, want %v", c.Node, got, w)
			}
			if c.Class == "Out" {
				return engine.Result{}, nil
			}
			return engine.Outputs(int64(len(got))), nil
		})
	}
	reg := engine.NewRegistry().MustRegister(
		&engine.NodeType{Class: "XY", Schema: engine.Schema{Inputs: []engine.InputSpec{{Name: "x", Type: "*", Optional: true}, {Name: "y", Type: "INT"}}, Outputs: outs("INT")}, Runner: check("x", "y")},
		&engine.NodeType{Class: "Z", Schema: engine.Schema{Inputs: []engine.InputSpec{{Name: "z", Type: "*"}}, Outputs: outs("INT")}, Runner: check("z")},
		&engine.NodeType{Class: "Out", Schema: engine.Schema{Inputs: []engine.InputSpec{{Name: "z", Type: "*"}}, OutputNode: true}, Runner: check("z")},
	)
	// xy0 -> z0 -> xy1 -> z1 -> ... -> out: the two kinds alternate.
	wf := engine.Workflow{}
	var prev engine.NodeID
	for i := range 20 {
		xy, z := engine.NodeID(fmt.Sprint("xy", i)), engine.NodeID(fmt.Sprint("z", i))
		wf[xy] = &engine.Node{Class: "XY", Inputs: map[string]any{"y": int64(i)}}
		if prev != "" {
			wf[xy].Inputs["x"] = engine.Ref{Node: prev}
		}
		wf[z] = &engine.Node{Class: "Z", Inputs: map[string]any{"z": engine.Ref{Node: xy}}}
		prev = z
	}
	wf["out"] = &engine.Node{Class: "Out", Inputs: map[string]any{"z": engine.Ref{Node: prev}}}
	for _, par := range []int{1, 4} {
		e, err := engine.New(engine.Options{Registry: reg, Parallelism: par, Cache: engine.CacheMode{Kind: engine.CacheNone}})
		if err != nil {
			t.Fatal(err)
		}
		if res, err := e.Run(context.Background(), wf, engine.RunOptions{}); err != nil || res.Stats.Executions != 41 {
			t.Fatalf("parallelism %d: %v (%d executions)", par, err, res.Stats.Executions)
		}
	}
}
