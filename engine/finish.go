// finish.go: the run goroutine's side of a node's return: lazy requests, outputs stored and released, expansion handed on.

package engine

import (
	"errors"
	"fmt"
	"slices"

	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/lifetime"
)

// finish handles a worker's report (run goroutine).
func (r *run) finish(d *callJob) {
	n := d.n
	r.running--
	if len(d.read) > 0 {
		r.unread(d)
	}
	r.clockJob(d)
	if d.freeErr != nil {
		r.internal(n, d.freeErr)
	}
	if d.err != nil {
		r.fail(n, TypeExecution, d.err)
		r.freeOrphans(n, d)
		return
	}
	if len(d.needs) > 0 {
		if !r.transition(n, stPending) {
			return
		}
		if err := r.request(n, d.needs); err != nil {
			r.fail(n, TypeExecution, err)
			return
		}
		r.drain()
		r.readyIfFree(n)
		return
	}
	r.executed(n)
	n.execs++
	for i, b := range d.block {
		if b == nil {
			continue
		}
		if b.Message != "" {
			// Reported once, here; consumers get a silent blocker
			// (ComfyUI's execution_block_cb).
			ev := n.event(EventError)
			ev.Message = "Execution Blocked: " + b.Message
			r.em.emit(ev)
			b = silentBlocker
		}
		d.results[i] = blockedResult(b, len(n.slots))
	}
	ui := mergeUI(d.results)
	expanding := false
	for _, res := range d.results {
		if res.Expand != nil {
			expanding = true
		}
	}
	if expanding {
		forwarded := len(d.results) == 1 && !n.pinnedOut // else await keeps d.results
		if err := r.expand(n, d.calls, d.results, ui); err != nil {
			r.fail(n, TypeBadGraph, err)
			r.freeOrphans(n, d)
			return
		}
		if forwarded {
			d.inputs = nil // the new nodes may hold the call's input map
			r.recycle(d)
		}
		return
	}
	outs, err := mergeOutputs(n, d.results)
	if err == nil && (len(d.results) > 1 || n.typ.hasListOutput()) { // else every list has one value
		err = r.checkLists(outs)
	}
	if err != nil {
		r.fail(n, TypeExecution, err)
		r.freeOrphans(n, d)
		return
	}
	if !n.declared {
		r.measure(d, outs)
	}
	r.complete(n, outs, ui)
	if r.off.on {
		r.track(n, outs, r.lineageOf(d, outs))
		r.ranClass(n)
	}
	r.recycle(d)
}

// freeOrphans frees the buffers a failed node returned (as outputs, or in
// an expansion's outputs and literals) that nothing holds, each once.
func (r *run) freeOrphans(n *rnode, d *callJob) {
	var orphans []lifetime.Resource
	add := func(v any) {
		lifetime.Resources(v, func(x lifetime.Resource) {
			if r.e.refs.Holders(x) == 0 && !slices.Contains(orphans, x) {
				orphans = append(orphans, x)
			}
		})
	}
	for _, res := range d.results {
		for _, v := range res.Outputs {
			add(v)
		}
		if res.Expand == nil {
			continue
		}
		for _, v := range res.Expand.Outputs {
			add(v)
		}
		for _, nd := range res.Expand.Nodes {
			if nd == nil {
				continue
			}
			for _, v := range nd.Inputs {
				if _, isRef := v.(Ref); !isRef {
					add(v)
				}
			}
		}
	}
	for _, x := range orphans {
		if err := x.Release(); err != nil {
			r.internal(n, err)
		}
	}
}

// silentBlocker is what consumers of a reported blocker get.
var silentBlocker = &Blocker{}

// checkLists fails when an output's list is longer than the run allows.
func (r *run) checkLists(outs [][]any) error {
	for i, vals := range outs {
		if len(vals) > r.lim.MaxListLength {
			return fmt.Errorf("output %d has %d values: %w", i, len(vals), &LimitError{Limit: "max-list-length", Value: int64(r.lim.MaxListLength)})
		}
	}
	return nil
}

// dropUnheld frees the resources in v that nothing holds.
func (r *run) dropUnheld(n *rnode, v any) {
	lifetime.Resources(v, func(x lifetime.Resource) {
		if r.e.refs.Holders(x) == 0 {
			if err := x.Release(); err != nil {
				r.internal(n, err)
			}
		}
	})
}

func blockedResult(b *Blocker, n int) Result {
	vals := make([]any, n)
	for i := range vals {
		vals[i] = b
	}
	return Result{Outputs: vals}
}

// mergeOutputs turns per-call results into per-slot lists.
func mergeOutputs(n *rnode, results []Result) ([][]any, error) {
	outs := make([][]any, len(n.slots))
	if len(results) == 1 {
		// One call: one backing array for every slot's one-value list.
		vals := make([]any, len(n.slots))
		for i := range outs {
			outs[i] = vals[i : i : i+1]
		}
	}
	for ci, res := range results {
		if len(res.Outputs) != len(n.slots) {
			return nil, fmt.Errorf("%w: call %d returned %d outputs, class %s declares %d", ErrBadResult, ci, len(res.Outputs), n.def.Class, len(n.slots))
		}
		for i, v := range res.Outputs {
			if n.typ.Schema.Outputs[i].IsList {
				if l, ok := v.([]any); ok {
					outs[i] = append(outs[i], l...)
					continue
				}
				if _, ok := v.(*Blocker); !ok {
					return nil, fmt.Errorf("%w: list output %d is %T, want []any", ErrBadResult, i, v)
				}
			}
			outs[i] = append(outs[i], v)
		}
	}
	return outs, nil
}

func mergeUI(results []Result) map[string][]any {
	var ui map[string][]any
	for _, res := range results {
		for k, v := range res.UI {
			if ui == nil {
				ui = map[string][]any{}
			}
			ui[k] = append(ui[k], v...)
		}
	}
	return ui
}

// request turns requested lazy inputs into waiting links.
func (r *run) request(n *rnode, names []string) error {
	if n.x().requested == nil {
		n.x().requested = map[string]bool{}
	}
	for _, name := range names {
		found := false
		for i := range n.ins {
			b := &n.ins[i]
			if b.name != name {
				continue
			}
			found = true
			if !b.lazy {
				continue
			}
			b.lazy = false
			n.x().requested[name] = true
			if b.src != nil {
				if err := r.need(n, b); err != nil {
					return err
				}
			}
		}
		if !found {
			return fmt.Errorf("lazy input %q requested, but there is no input to that node at all", name)
		}
	}
	return nil
}

// complete stores n's outputs, updates lifetimes and wakes its waiters.
func (r *run) complete(n *rnode, outs [][]any, ui map[string][]any) {
	if !r.transition(n, stDone) {
		return
	}
	r.strat.afterComplete(r, n)
	for i, s := range n.slots {
		if v, ok := r.tr.Values(s); ok { // re-execution: the live value stays
			for _, x := range outs[i] {
				r.dropUnheld(n, x)
			}
			outs[i] = v
		}
	}
	for i, s := range n.slots {
		if r.tr.State(s) != lifetime.Live {
			r.tr.Produce(s, outs[i])
		}
	}
	r.storeCache(n, outs, ui)
	if ui != nil {
		r.res.Outputs[n.id] = ui
	}
	ev := n.event(EventExecuted)
	ev.Output = ui
	r.em.emit(ev)
	r.unbind(n)
	r.unpin(n)
	r.wake(n)
	r.timeline(n)
	r.maybeCollect(n)
}

func (r *run) timeline(n *rnode) {
	if !r.timelineOn {
		return
	}
	live, peak := r.e.acct.window()
	r.res.Stats.Timeline = append(r.res.Stats.Timeline, TimelinePoint{Node: n.id, Class: n.def.Class, Live: live, Peak: peak})
}

func isOOM(err error) bool { return errors.Is(err, device.ErrOutOfMemory) }
