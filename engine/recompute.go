// recompute.go: offload by recomputation: what a dropped value needs to be made again, and making it.

package engine

import (
	"errors"
	"fmt"
	"maps"
	"runtime/debug"
	"time"

	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/lifetime"
)

// lineage is how to make a node's outputs again: its runner and the one
// call's inputs. Only nodes that ran one call, are re-executable and are
// not output nodes have one. While an output of it is dropped, the device
// buffers among its inputs are held (dead) so they stay available, and
// are never dropped themselves. Owned by the run goroutine.
type lineage struct {
	p      *rnode
	runner Runner
	inputs map[string]any
	outs   [][]any // the outputs as the node's slots hold them
	ins    []*Buffer
	insAny []any // ins, as Refs takes them
	time   time.Duration
	est    Estimate
	holds  int // its outputs dropped now
}

// lineageOf returns how to recompute d's outputs, or nil.
func (r *run) lineageOf(d *callJob, outs [][]any) *lineage {
	n := d.n
	if len(d.calls) != 1 || d.block[0] != nil || !isReexecutable(n.typ) || n.typ.Schema.OutputNode || n.typ.hasListOutput() || n.pinnedOut {
		return nil
	}
	lin := &lineage{p: n, runner: d.runner, inputs: maps.Clone(d.calls[0].Inputs), outs: outs, time: d.wall, est: r.est(n)}
	if n.declared && n.estTime > 0 {
		lin.time = n.estTime
	}
	for _, v := range lin.inputs {
		lifetime.Resources(v, func(x lifetime.Resource) {
			if b, ok := deviceBuffer(x); ok {
				lin.ins = append(lin.ins, b)
				lin.insAny = append(lin.insAny, b)
			}
		})
	}
	return lin
}

// hold keeps lin's input buffers while one more of its outputs is dropped.
func (lin *lineage) hold(r *run) {
	if lin.holds == 0 {
		r.e.refs.HoldDead(lin.insAny)
		for _, x := range lin.ins {
			if x.off != nil {
				x.off.linHolds++
			}
		}
	}
	lin.holds++
}

// unhold lets lin's inputs go when none of its outputs is dropped.
func (lin *lineage) unhold(r *run) {
	lin.holds--
	if lin.holds > 0 {
		return
	}
	for _, x := range lin.ins {
		if x.off != nil {
			x.off.linHolds--
		}
	}
	if err := r.e.refs.DropDead(lin.insAny); err != nil {
		r.internal(lin.p, fmt.Errorf("lineage inputs: %w", err))
	}
}

// letGo ends the lineage holds of dropped buffers that were freed since
// (their last holder went while they were dropped).
func (r *run) letGo() {
	for {
		bufs := r.e.acct.takeFreedDropped()
		if len(bufs) == 0 {
			return
		}
		for _, b := range bufs {
			if b.off != nil && b.off.lin != nil {
				b.off.lin.unhold(r)
			}
		}
	}
}

// recomputeCost is the time to make b again: its producer's time plus
// bringing back those of its inputs that are off the device. It cannot
// when b has no lineage, its producer is pinned (restrict and auto pins,
// outputs, nodes that must not run twice), an input is gone or dropped,
// or b is an input a dropped value's lineage holds.
func (r *run) recomputeCost(b *Buffer, ts *device.TierStats) (time.Duration, bool) {
	e := b.off
	lin := e.lin
	if lin == nil || e.linHolds > 0 {
		return 0, false
	}
	if p := lin.p; p.pinCount > 0 || p.keepPinned || p.pinnedOut {
		return 0, false
	}
	cost := lin.time
	room := lin.est.Total() // what the recomputation needs at once: it must fit the device
	for _, x := range lin.ins {
		room += x.Bytes()
	}
	if r.capacity > 0 && room > r.capacity {
		return 0, false
	}
	for _, x := range lin.ins {
		if x.freed || x.dropped {
			return 0, false
		}
		if x.tier != device.TierDevice { // back through host memory
			cost += device.TransferTime(x.Bytes(), ts.Host.Bandwidth)
		}
		if x.tier == device.TierDisk {
			cost += device.TransferTime(x.Bytes(), ts.Disk.Bandwidth)
		}
	}
	return cost, true
}

// recompute makes dropped b again for n: it brings its producer's inputs
// back, makes room for the producer's estimate, runs the producer's call
// again on the run goroutine and gives b (and any other dropped output of
// it) the new memory; what else the call allocated is freed. It returns
// false when the run failed or n must wait.
func (r *run) recompute(b *Buffer, n *rnode) bool {
	lin := b.off.lin
	if lin == nil {
		r.internal(n, fmt.Errorf("%v was dropped without a lineage", b))
		return false
	}
	o := &r.e.off
	for _, x := range lin.ins {
		if x.freed || x.dropped {
			r.internal(n, fmt.Errorf("recomputing %v: input %v is gone", b, x))
			return false
		}
		r.guard(x)
		if x.off != nil {
			x.off.lastUse = o.tick
		}
	}
	for _, x := range lin.ins {
		if x.tier == device.TierDevice {
			continue
		}
		if !r.makeRoom(n, x.Bytes(), true) {
			return false
		}
		if err := r.reload(x, n); err != nil {
			r.offFail(n, err)
			return false
		}
	}
	p := lin.p
	if p.declared && !r.makeRoom(n, lin.est.Total(), true) {
		return false
	}
	alloc := callAlloc{acct: r.e.acct}
	if r.capacity > 0 {
		alloc.room, r.runningNode = r.roomNow, n
	}
	c := &Call{Inputs: lin.inputs, Node: p.id, Class: p.def.Class, Graph: &graphView{v: r.v, eph: r.eph}, alloc: &alloc, real: p.realID(), eph: p.eph(), display: p.displayID()}
	start := time.Now()
	res, err := runOnce(r, lin.runner, c)
	wall := time.Since(start)
	if err == nil {
		err = r.adoptOutputs(lin, res)
	}
	var errs []error
	for _, x := range alloc.bufs {
		if !x.freed {
			if ferr := x.Release(); ferr != nil {
				errs = append(errs, ferr)
			}
		}
	}
	if err != nil || len(errs) > 0 {
		r.offFail(n, fmt.Errorf("recomputing the output of node %s that node %s reads: %w", p.id, n.id, errors.Join(append([]error{err}, errs...)...)))
		return false
	}
	t := lin.time
	if t == 0 {
		t = wall
	}
	r.clock(t, 0)
	r.res.Stats.Recomputes++
	ev := p.event(EventRecomputed)
	ev.Bytes, ev.Cause = b.Bytes(), n.id
	r.em.emit(ev)
	return true
}

// runOnce runs one call, with panics recovered.
func runOnce(r *run, rn Runner, c *Call) (res Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &PanicError{Value: p, Stack: debug.Stack()}
		}
	}()
	return rn.Run(r.ctx, c)
}

// adoptOutputs gives each dropped buffer of lin's outputs the memory of
// the buffer in the same place of res's outputs. A node whose outputs
// hold differently many or differently sized buffers the second time is
// not deterministic: an error.
func (r *run) adoptOutputs(lin *lineage, res Result) error {
	if len(res.Outputs) != len(lin.outs) {
		return fmt.Errorf("%w: %d outputs the second time, %d the first", ErrBadResult, len(res.Outputs), len(lin.outs))
	}
	for i, vals := range lin.outs {
		var was, now []*Buffer
		for _, v := range vals {
			collectBuffers(v, &was)
		}
		collectBuffers(res.Outputs[i], &now)
		if len(was) != len(now) {
			return fmt.Errorf("%w: output %d holds %d buffers the second time, %d the first", ErrBadResult, i, len(now), len(was))
		}
		for j, w := range was {
			if !w.dropped || w.freed {
				continue // resident, or dropped and freed since: nothing to restore
			}
			nb := now[j]
			if nb.Bytes() != w.Bytes() || nb.acct != r.e.acct || nb.freed {
				return fmt.Errorf("%w: output %d: buffer %v the second time for %v", ErrBadResult, i, nb, w)
			}
			r.e.acct.adopt(w, nb)
			lin.unhold(r)
		}
	}
	return nil
}

func collectBuffers(v any, into *[]*Buffer) {
	lifetime.Resources(v, func(x lifetime.Resource) {
		if b, ok := deviceBuffer(x); ok {
			*into = append(*into, b)
		}
	})
}
