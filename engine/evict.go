// evict.go: offload's decision: before a node starts, bring its inputs back and make room by evicting by cost.

package engine

import (
	"errors"
	"fmt"
	"time"

	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/lifetime"
	"github.com/ebbgraph/ebb/policy"
)

// admitOffload is admit for a run that offloads, or that meets values an
// earlier run left off the device: n's dropped inputs are recomputed and
// its offloaded ones brought back, then room is made for its estimate by
// evicting what no running node reads. It waits (false, nothing failed)
// when room could come only from nodes in flight; with none in flight, a
// node whose inputs or declared estimate cannot be made room for fails
// with out_of_memory.
func (r *run) admitOffload(n *rnode) (int64, bool) {
	if r.ctx.Err() != nil {
		return 0, true // dispatch reports the interruption
	}
	o := &r.e.off
	r.letGo()
	o.tick++
	o.guard++
	ins := r.inputBuffers(n)
	var inBytes int64
	for _, b := range ins {
		if b.off == nil {
			inBytes += b.Bytes()
		} else if b.off.guard != o.guard {
			inBytes += b.Bytes()
			b.off.guard = o.guard
			b.off.lastUse = o.tick
		}
	}
	if !r.restore(n, ins) {
		return 0, false
	}
	o.guard++ // n's inputs stay while room is made for its call
	for _, b := range ins {
		r.guard(b)
	}
	need := r.est(n).Total()
	r.res.Stats.WorkingSetBytes = max(r.res.Stats.WorkingSetBytes, inBytes+need)
	if r.par > 1 && r.off.on && r.capacity > 0 && !n.declared && !o.ran[n.def.Class] {
		if r.running > 0 {
			return 0, false // a node nothing predicts runs alone
		}
		r.alone = true
	}
	// A measured estimate may be another node's of the class: at
	// parallelism 1 the call's allocations make room as they need it
	// (roomNow) rather than evict for a guess.
	if (n.declared || r.par > 1) && !r.makeRoom(n, need, n.declared) {
		return 0, false
	}
	r.res.Stats.NeedBytes = max(r.res.Stats.NeedBytes, r.resident()+r.reserved+need)
	return need, true
}

// restore brings n's inputs back to the device: dropped ones are
// recomputed, then offloaded ones moved back. A first pass guards only
// what each recomputation reads and what is back already, so that room
// for a recomputation may come from n's other inputs (moved out, or
// dropped, to be restored in turn); a second pass guards every input on
// the device. Inputs that cannot be on the device together fail the run
// with out_of_memory.
func (r *run) restore(n *rnode, ins []*Buffer) bool {
	o := &r.e.off
	for pass := 0; ; pass++ {
		away := false
		for _, b := range ins {
			away = away || b.dropped || b.tier != device.TierDevice
		}
		if !away {
			return true
		}
		if pass == 2 {
			r.fail(n, TypeOutOfMemory, fmt.Errorf("%w: the inputs of node %s do not fit on a device of %s together with what their recomputation needs",
				device.ErrOutOfMemory, n.id, device.FormatBytes(r.capacity)))
			return false
		}
		o.guard++
		for _, b := range ins {
			if pass > 0 && !b.dropped && b.tier == device.TierDevice {
				r.guard(b)
			}
		}
		for _, b := range ins {
			if b.dropped {
				if !r.recompute(b, n) {
					return false
				}
				r.guard(b)
			}
		}
		o.guard++
		for _, b := range ins {
			if !b.dropped && b.tier == device.TierDevice {
				r.guard(b)
			}
		}
		for _, b := range ins {
			if b.dropped || b.tier == device.TierDevice {
				continue
			}
			if !r.makeRoom(n, b.Bytes(), true) {
				return false
			}
			if err := r.reload(b, n); err != nil {
				r.offFail(n, err)
				return false
			}
			r.guard(b)
		}
	}
}

// guard keeps b on the device until the guard round ends.
func (r *run) guard(b *Buffer) {
	if b.off != nil {
		b.off.guard = r.e.off.guard
	}
}

// inputBuffers lists the device buffers n's bound inputs hold.
func (r *run) inputBuffers(n *rnode) []*Buffer {
	o := &r.e.off
	bufs := o.scratch[:0]
	for i := range n.ins {
		b := &n.ins[i]
		if b.lazy || b.result || b.raw || b.src == nil {
			continue
		}
		vals, ok := r.tr.Values(b.src.slot(b.out))
		if !ok {
			continue // prepare reports it
		}
		for _, v := range vals {
			lifetime.Resources(v, func(x lifetime.Resource) {
				if buf, ok := deviceBuffer(x); ok && buf.acct == r.e.acct {
					bufs = append(bufs, buf)
				}
			})
		}
	}
	o.scratch = bufs
	return bufs
}

// resident is the bytes held by slots and the cache that are on the device.
func (r *run) resident() int64 { return r.e.refs.Live() - r.e.acct.awayBytes() }

// makeRoom evicts until bytes fit beside what is held on the device and
// reserved by the nodes in flight. When they cannot: with nodes in flight
// it returns false to wait; with none, it fails the run with
// out_of_memory when strict (inputs, a declared estimate), and otherwise
// lets n try (its allocations decide).
func (r *run) makeRoom(n *rnode, bytes int64, strict bool) bool {
	if r.capacity <= 0 {
		return true
	}
	for r.resident()+r.reserved+bytes > r.capacity {
		if !r.off.on {
			break
		}
		v, how := r.victim()
		if v == nil {
			break
		}
		if err := r.evict(v, how, n); err != nil {
			r.offFail(n, err)
			return false
		}
	}
	held := r.resident()
	if held+r.reserved+bytes <= r.capacity {
		return true
	}
	if r.running > 0 {
		return false
	}
	if !strict {
		return true
	}
	r.res.Stats.NeedBytes = max(r.res.Stats.NeedBytes, held+bytes)
	r.fail(n, TypeOutOfMemory, fmt.Errorf("%w: node %s needs %s beside the %s that nothing can move off a device of %s (offload %s, evict %s)",
		device.ErrOutOfMemory, n.id, device.FormatBytes(bytes), device.FormatBytes(held), device.FormatBytes(r.capacity), r.off.mode, r.off.evict))
	return false
}

// evictHow is how a victim leaves the device.
type evictHow struct {
	tier      device.Tier // TierHost or TierDisk: moved there
	recompute bool        // dropped, to be recomputed
}

// victim picks the buffer to evict: among tracked buffers on the device
// that no running node reads and the node being admitted does not need,
// the one with the least cost per byte, stalest first (DTR's score:
// cost / (bytes * staleness)); ties go to the older buffer. Its cost is
// the cheaper, as the run's Evict allows, of moving it out and back and
// of recomputing it.
func (r *run) victim() (*Buffer, evictHow) {
	o := &r.e.off
	ts := o.tiered.TierStats()
	var best *Buffer
	var bestHow evictHow
	bestScore := 0.0
	for _, b := range o.bufs {
		e := b.off
		if b.freed || b.dropped || b.tier != device.TierDevice || e.readers > 0 || e.guard == o.guard {
			continue
		}
		bytes := b.Bytes()
		var cost time.Duration
		var how evictHow
		ok := false
		if r.off.evict != policy.EvictRecompute {
			if t, c, fits := r.swapCost(&ts, bytes); fits {
				cost, how, ok = c, evictHow{tier: t}, true
			}
		}
		if r.off.evict != policy.EvictSwap {
			if c, can := r.recomputeCost(b, &ts); can && (!ok || c < cost) {
				cost, how, ok = c, evictHow{recompute: true}, true
			}
		}
		if !ok {
			continue
		}
		score := cost.Seconds() / float64(bytes) / float64(1+o.tick-e.lastUse)
		if best == nil || score < bestScore || (score == bestScore && b.ID() < best.ID()) {
			best, bestHow, bestScore = b, how, score
		}
	}
	return best, bestHow
}

// swapCost is the time to move bytes out and back through the first tier
// with room: host, then (offload disk) disk, which copies go through.
func (r *run) swapCost(ts *device.TierStats, bytes int64) (device.Tier, time.Duration, bool) {
	h, d := &ts.Host, &ts.Disk
	if h.Offered && (h.Capacity == 0 || h.InUse+bytes <= h.Capacity) {
		return device.TierHost, 2 * device.TransferTime(bytes, h.Bandwidth), true
	}
	if r.off.mode == policy.OffloadDisk && d.Offered && (d.Capacity == 0 || d.InUse+bytes <= d.Capacity) {
		return device.TierDisk, 2 * (device.TransferTime(bytes, h.Bandwidth) + device.TransferTime(bytes, d.Bandwidth)), true
	}
	return 0, 0, false
}

// evict moves v off the device or drops it, and counts it.
func (r *run) evict(v *Buffer, how evictHow, n *rnode) error {
	st := &r.res.Stats
	e := v.off
	ev := Event{Type: EventOffloaded, Node: e.node, Real: e.node, Class: e.class, Bytes: v.Bytes(), Cause: n.id}
	if how.recompute {
		if err := r.e.acct.drop(v); err != nil {
			return fmt.Errorf("dropping %v of node %s: %w", v, e.node, err)
		}
		r.e.off.used = true
		e.lin.hold(r)
		ev.Type = EventDropped
	} else {
		d, err := r.e.acct.moveOut(r.ctx, r.e.off.tiered, v, how.tier)
		if err != nil {
			return fmt.Errorf("offloading %v of node %s to %s: %w", v, e.node, how.tier, err)
		}
		r.e.off.used = true
		st.OffloadedBytes += v.Bytes()
		if how.tier == device.TierDisk {
			st.DiskBytes += v.Bytes()
		}
		r.clock(0, d)
		ev.Tier = how.tier.String()
	}
	st.Evictions++
	r.em.emit(ev)
	return nil
}

// reload brings offloaded b back for n.
func (r *run) reload(b *Buffer, n *rnode) error {
	from := b.tier
	d, err := r.e.acct.moveIn(r.ctx, r.e.off.tiered, b)
	if err != nil {
		return fmt.Errorf("bringing %v back from %s: %w", b, from, err)
	}
	r.res.Stats.ReloadedBytes += b.Bytes()
	r.clock(0, d)
	ev := Event{Type: EventReloaded, Bytes: b.Bytes(), Tier: from.String(), Cause: n.id}
	if b.off != nil {
		ev.Node, ev.Real, ev.Class = b.off.node, b.off.node, b.off.class
	}
	r.em.emit(ev)
	return nil
}

// clock adds compute and transfer time to the run's simulated clock.
func (r *run) clock(compute, xfer time.Duration) {
	st := &r.res.Stats
	r.compute += compute
	r.xfer += xfer
	st.ComputeMs = float64(r.compute) / float64(time.Millisecond)
	st.TransferMs = float64(r.xfer) / float64(time.Millisecond)
	st.SimMs = st.ComputeMs + st.TransferMs
}

// offFail fails the run for a move that failed while admitting n: an
// interruption when the run's context ended mid-copy.
func (r *run) offFail(n *rnode, err error) {
	if r.ctx.Err() != nil && errors.Is(err, r.ctx.Err()) {
		err = fmt.Errorf("%w: %w", ErrInterrupted, err)
	}
	r.fail(n, TypeExecution, err)
}

// ranClass records that a node of n's class finished under offload.
func (r *run) ranClass(n *rnode) {
	o := &r.e.off
	if !o.ran[n.def.Class] {
		if o.ran == nil {
			o.ran = map[string]bool{}
		}
		o.ran[n.def.Class] = true
	}
}
