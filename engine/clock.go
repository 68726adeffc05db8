// clock.go: the simulated clock's compute time: each class's calls timed, the cheap ones by sample.

package engine

import (
	"sync/atomic"
	"time"
)

// typeClock is what the calls of one node type took. Workers add to it
// concurrently.
type typeClock struct {
	calls atomic.Int64
	total atomic.Int64 // nanoseconds
}

// Reading the clock twice costs tens of nanoseconds (86 ns on a KVM
// guest), as much as a cheap node's whole scheduling: a class whose calls
// took less than cheapCall on average is timed only once in sampleEvery
// calls after its first timedFirst, and its other calls count its mean.
const (
	timedFirst  = 16
	sampleEvery = 256
	cheapCall   = 20 * time.Microsecond
)

// sample reports whether the next call is to be timed.
func (c *typeClock) sample() bool {
	n := c.calls.Load()
	return n < timedFirst || n%sampleEvery == 0 || time.Duration(c.total.Load()/n) >= cheapCall
}

// add records a timed call.
func (c *typeClock) add(d time.Duration) {
	c.total.Add(int64(d))
	c.calls.Add(1)
}

// mean is the mean of the timed calls; an untimed call counts as one more
// call, so sampling goes on.
func (c *typeClock) mean() time.Duration {
	n := c.calls.Add(1) - 1
	if n <= 0 {
		return 0
	}
	m := time.Duration(c.total.Load() / n)
	c.total.Add(int64(m))
	return m
}

// clockOf returns t's clock, made on first use. The engine keeps them
// across runs; the run goroutine owns the map (runs hold Engine.mu).
func (r *run) clockOf(t *NodeType) *typeClock {
	if t == r.lastType {
		return r.lastClock
	}
	c := r.e.clocks[t]
	if c == nil {
		if r.e.clocks == nil {
			r.e.clocks = map[*NodeType]*typeClock{}
		}
		c = &typeClock{}
		r.e.clocks[t] = c
	}
	r.lastType, r.lastClock = t, c
	return c
}
