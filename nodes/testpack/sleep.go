// sleep.go: TestSleep (its length checked) and TestParallelSleep.

package testpack

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/ebbgraph/ebb/engine"
)

// sleep is TestSleep: it waits seconds (or until ctx is done) and returns
// value.
func sleep(ctx context.Context, c *engine.Call) (engine.Result, error) {
	s, err := c.Float("seconds")
	if err != nil {
		return engine.Result{}, err
	}
	d, err := sleepDuration(s)
	if err != nil {
		return engine.Result{}, err
	}
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		tick := time.NewTicker(sleepProgressEvery)
		defer tick.Stop()
		start := time.Now()
	wait:
		for {
			select {
			case <-ctx.Done():
				return engine.Result{}, ctx.Err()
			case <-tick.C:
				c.Progress(min(time.Since(start).Seconds(), s), s)
			case <-t.C:
				break wait
			}
		}
		c.Progress(s, s)
	}
	return engine.Outputs(c.Inputs["value"]), nil
}

// sleepProgressEvery is how often TestSleep reports its progress (as
// ComfyUI's updates its ProgressBar while it waits).
const sleepProgressEvery = 50 * time.Millisecond

// sleepDuration converts seconds to a Duration: 0 for a negative number,
// an error for NaN and for a length past a Duration's 292 years (a
// link bypasses the schema's bound, and Go's float-to-int conversion of
// such a number is undefined: it used to wrap to a negative duration and
// not sleep at all).
func sleepDuration(s float64) (time.Duration, error) {
	const most = float64(math.MaxInt64 / int64(time.Second))
	switch {
	case math.IsNaN(s):
		return 0, fmt.Errorf("seconds: sleep length is not a number")
	case s > most:
		return 0, fmt.Errorf("seconds: %w: %g seconds does not fit in a 64-bit duration (at most %g)", ErrIntOverflow, s, most)
	case s <= 0:
		return 0, nil
	}
	return time.Duration(s * float64(time.Second)), nil
}

// parallelSleep is TestParallelSleep: an output node that expands into
// three TestSleep nodes (one per image) averaged by TestVariadicAverage.
type parallelSleep struct{}

var (
	_ engine.Runner    = parallelSleep{}
	_ engine.MayExpand = parallelSleep{}
)

func (parallelSleep) MayExpand() {}

func (parallelSleep) Run(_ context.Context, c *engine.Call) (engine.Result, error) {
	p := c.NewPrefix()
	nodes := engine.Workflow{}
	blend := &engine.Node{Class: "TestVariadicAverage", Inputs: map[string]any{}}
	for i := 1; i <= 3; i++ {
		n := strconv.Itoa(i)
		s, err := c.Float("sleep" + n)
		if err != nil {
			return engine.Result{}, err
		}
		id := engine.NodeID(p + "sleep" + n)
		nodes[id] = &engine.Node{Class: "TestSleep", Inputs: map[string]any{"value": c.Inputs["image"+n], "seconds": s}}
		blend.Inputs["input"+n] = engine.Ref{Node: id}
	}
	bid := engine.NodeID(p + "blend")
	nodes[bid] = blend
	return engine.Result{Expand: &engine.Expansion{Nodes: nodes, Outputs: []any{engine.Ref{Node: bid}}}}, nil
}
