// admit.go: admission: a node starts only when its estimate fits the device beside what is held and in flight.

package engine

import (
	"fmt"

	"github.com/ebbgraph/ebb/engine/device"
)

// admit decides whether ready node n may start now, and returns what it
// reserves while in flight: its estimate. It may when the bytes held (by
// slots and the cache), the reservations of the nodes in flight and n's
// estimate fit the device's capacity. Otherwise n waits while nodes are in
// flight; with none, a node whose estimate is declared (Estimator) fails
// with out_of_memory before it starts, and one whose estimate was only
// measured before is let try (its allocations decide). The bytes checked
// feed Stats.NeedBytes, capacity or not.
func (r *run) admit(n *rnode) (int64, bool) {
	if n.ext != nil && n.ext.sub != nil {
		return 0, true // resolves its subgraph's results: no call
	}
	if r.off.on || r.e.off.used {
		return r.admitOffload(n)
	}
	need := r.est(n).Total()
	total := r.e.refs.Live() + r.reserved + need
	if r.capacity > 0 && total > r.capacity {
		if r.running > 0 {
			return 0, false
		}
		if n.declared {
			r.res.Stats.NeedBytes = max(r.res.Stats.NeedBytes, total)
			err := fmt.Errorf("%w: node %s needs %s (its estimate) beside the %s held, on a device of %s",
				device.ErrOutOfMemory, n.id, device.FormatBytes(need), device.FormatBytes(r.e.refs.Live()), device.FormatBytes(r.capacity))
			r.fail(n, TypeOutOfMemory, err)
			return 0, false
		}
	}
	r.res.Stats.NeedBytes = max(r.res.Stats.NeedBytes, total)
	return need, true
}
