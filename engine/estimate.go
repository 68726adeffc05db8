// estimate.go: what a node is predicted to allocate: declared by its Runner, or measured before on this engine.

package engine

import (
	"sync"
	"sync/atomic"
	"time"
)

// Estimate is a node's predicted device memory.
type Estimate struct {
	// Out is the new bytes its outputs will hold (values passed through
	// from inputs are not new).
	Out int64
	// Work is the memory it allocates and frees within its call.
	Work int64
	// Time is how long one call takes (a profile's "ms"): the simulated
	// clock's compute time and, under offload, the cost of recomputing
	// its outputs. Zero means unknown: the call's wall time counts.
	Time time.Duration
}

// Total is what the node allocates at its highest: Out + Work.
func (e Estimate) Total() int64 { return e.Out + e.Work }

// Estimator is implemented by a Runner that can predict a node's memory
// from its definition before it runs (a profile, sizes given as inputs).
// Links in def.Inputs are Refs; a Runner that cannot tell returns false.
// The run orders ready nodes and admits them to workers by the estimate;
// a node without one is predicted by what the same node of the workflow,
// or else its class, allocated before on the same engine (zero the first
// time). An estimate below what the node allocates only weakens the
// order and admission; it never changes results.
type Estimator interface {
	Estimate(def *Node) (Estimate, bool)
}

// estimates are the engine's measurements, by original node (class and
// id) and by class; safe for concurrent use.
type estimates struct {
	any     atomic.Bool // something was measured: lookups are worth a lock
	mu      sync.Mutex
	byNode  map[estKey]Estimate
	byClass map[string]Estimate
}

type estKey struct {
	class string
	id    NodeID
}

// maxEstimates bounds the per-node measurements an engine keeps.
const maxEstimates = 1 << 16

// estimate returns n's prediction and whether it was declared.
func (r *run) estimate(n *rnode) (Estimate, bool) {
	if est, ok := n.typ.Runner.(Estimator); ok {
		if e, ok := est.Estimate(n.def); ok && e.Out >= 0 && e.Work >= 0 {
			return e, true
		}
	}
	m := &r.e.est
	if !m.any.Load() {
		return Estimate{}, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if n.vi >= 0 {
		if e, ok := m.byNode[estKey{n.def.Class, n.id}]; ok {
			return e, false
		}
	}
	return m.byClass[n.def.Class], false
}

// measure records what d's node allocated: the new bytes of outs, and the
// rest of its peak as working memory.
func (r *run) measure(d *callJob, outs [][]any) {
	var out int64
	for _, vals := range outs {
		for _, v := range vals {
			out += r.newBytes(v)
		}
	}
	n := d.n
	if out == 0 && d.alloc.peak == 0 && n.estOut == 0 && n.estWork == 0 {
		return // nothing allocated, nothing predicted: nothing to learn
	}
	e := Estimate{Out: out, Work: max(0, d.alloc.peak-out)}
	m := &r.e.est
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.byClass == nil {
		m.byClass, m.byNode = map[string]Estimate{}, map[estKey]Estimate{}
		m.any.Store(true)
	}
	c := m.byClass[n.def.Class]
	m.byClass[n.def.Class] = Estimate{Out: max(c.Out, e.Out), Work: max(c.Work, e.Work)}
	if n.vi >= 0 {
		k := estKey{n.def.Class, n.id}
		if _, ok := m.byNode[k]; ok || len(m.byNode) < maxEstimates {
			m.byNode[k] = e
		}
	}
}

// newBytes is the device bytes in v that nothing holds yet.
func (r *run) newBytes(v any) int64 {
	switch x := v.(type) {
	case nil, bool, int64, float64, string:
		return 0 // the common literals: no walk
	case *Buffer:
		if r.e.refs.Holders(x) == 0 {
			return x.Bytes()
		}
		return 0
	}
	var bytes int64
	lifetimeResources(v, func(b *Buffer) {
		if r.e.refs.Holders(b) == 0 {
			bytes += b.Bytes()
		}
	})
	return bytes
}
