package engine_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"testing"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/policy"
)

// refusingDev is a Sim whose Free refuses buffers of one size.
type refusingDev struct {
	*device.Sim
	size int64
}

func (d *refusingDev) Free(b device.Buffer) error {
	if b.Bytes() == d.size {
		return fmt.Errorf("refused to free %d bytes", d.size)
	}
	return d.Sim.Free(b)
}

// A free the device refuses is never swallowed: the run fails with an
// internal error naming the node whose value (or working memory) it was.
func TestRefusedFreeFailsRun(t *testing.T) {
	wf := engine.Workflow{
		"alloc": node("Alloc", "size", int64(777), "work", int64(555)),
		"out":   node("Out", "value", link("alloc", 1)),
	}
	for _, size := range []int64{777, 555} { // an output released at level 2; working memory
		for _, par := range []int{1, 4} {
			dev := &refusingDev{Sim: device.NewSim(0), size: size}
			e, err := engine.New(engine.Options{Registry: testRegistry(nil), Device: dev, Parallelism: par, Cache: engine.CacheMode{Kind: engine.CacheNone}})
			if err != nil {
				t.Fatal(err)
			}
			pol := policy.Policy{Level: policy.ReleaseDead, Strategy: policy.Auto}
			res, _ := e.Run(context.Background(), wf, engine.RunOptions{Policy: &pol})
			var ne *engine.NodeError
			if res.Status != engine.StatusError || !errors.Is(res.Err, engine.ErrInternal) || !errors.As(res.Err, &ne) ||
				ne.Node != "alloc" || ne.Type != engine.TypeInternal {
				t.Errorf("size %d, par %d: status %s, error %v (%+v), want an internal error on node alloc", size, par, res.Status, res.Err, ne)
			}
		}
	}
}

// Call.Progress emits a progress event for the node, with its display
// node, value and max.
func TestProgressEvent(t *testing.T) {
	reg := engine.NewRegistry().MustRegister(&engine.NodeType{Class: "Slow", Schema: engine.Schema{OutputNode: true},
		Runner: engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
			for i := range 3 {
				c.Progress(float64(i+1), 3)
			}
			return engine.Result{}, nil
		})})
	e, err := engine.New(engine.Options{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	var got []engine.Event
	obs := engine.ObserverFunc(func(ev engine.Event) {
		if ev.Type == engine.EventProgress {
			got = append(got, ev)
		}
	})
	if _, err := e.Run(context.Background(), engine.Workflow{"s": node("Slow")}, engine.RunOptions{Observers: []engine.Observer{obs}}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d progress events, want 3", len(got))
	}
	for i, ev := range got {
		if ev.Node != "s" || ev.Display != "s" || ev.Real != "s" || ev.Class != "Slow" || ev.Value != float64(i+1) || ev.Max != 3 {
			t.Errorf("event %d: %+v", i, ev)
		}
	}
}

// Released events say how many bytes the release freed: a value still
// held by another slot frees nothing.
func TestReleasedEventBytes(t *testing.T) {
	wf := engine.Workflow{
		"a":   node("Alloc", "size", int64(1000)),
		"b":   node("Alloc", "in", link("a", 1), "size", int64(24)), // passes a's buffer through as output 0
		"out": node("Out", "value", link("b", 0)),
		"o2":  node("Out", "value", link("b", 1)),
	}
	e, err := engine.New(engine.Options{Registry: testRegistry(nil), Parallelism: 1, Cache: engine.CacheMode{Kind: engine.CacheNone}})
	if err != nil {
		t.Fatal(err)
	}
	freed := map[string]int64{}
	obs := engine.ObserverFunc(func(ev engine.Event) {
		if ev.Type == engine.EventReleased {
			freed[fmt.Sprintf("%s.%d", ev.Node, ev.Slot)] = ev.Bytes
		}
	})
	pol := policy.Policy{Level: policy.ReleaseDead, Strategy: policy.Auto}
	if _, err := e.Run(context.Background(), wf, engine.RunOptions{Policy: &pol, Observers: []engine.Observer{obs}}); err != nil {
		t.Fatal(err)
	}
	// a.1 is released once b ran, but b's output 0 still holds the same
	// buffer; it is freed when b.0 goes, after out ran.
	want := map[string]int64{"a.0": 0, "a.1": 0, "b.0": 1000, "b.1": 24}
	if !maps.Equal(freed, want) {
		t.Errorf("bytes freed per release %v, want %v", freed, want)
	}
}
