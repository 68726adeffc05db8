package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/lifetime"
)

// callJob is one node execution handed to a worker: all its list calls.
// It is also the worker's report (done fields), to allocate once.
type callJob struct {
	n      *rnode
	calls  []*Call
	block  []*Blocker // per call: a blocker input skips the call
	lazy   LazyChecker
	runner Runner
	alloc  callAlloc
	step   lifetime.StepID

	// filled by exec
	needs   []string
	results []Result
	err     error

	one      [1]*Call
	blockOne [1]*Blocker
	resOne   [1]Result
	// call and inputs back the single call of an unmapped node; they
	// survive recycling, so a chain of such nodes allocates neither.
	call   Call
	inputs map[string]any
}

type inputList struct {
	name string
	vals []any
}

// prepare builds the calls of n from its bindings (run goroutine).
func (r *run) prepare(n *rnode) (*callJob, error) {
	sch := &n.typ.Schema
	var buf [8]inputList
	lists := buf[:0]
	maxLen := 0
	step := r.trace.Begin(string(n.id))
	for i := range n.ins {
		b := &n.ins[i]
		if b.lazy || b.result {
			continue
		}
		var vals []any
		switch {
		case b.raw:
			vals = []any{b.ref}
		case b.src == nil:
			vals = []any{b.lit}
		default:
			v, ok := r.tr.Values(b.src.slot(b.out))
			if !ok {
				return nil, fmt.Errorf("%w: input %q reads released output %d of node %s", device.ErrUseAfterFree, b.name, b.out, b.src.id)
			}
			if err := r.checkReads(step, v); err != nil {
				return nil, fmt.Errorf("input %q: %w", b.name, err)
			}
			vals = v
		}
		if len(vals) == 0 {
			continue
		}
		lists = append(lists, inputList{b.name, vals})
		maxLen = max(maxLen, len(vals))
	}
	for i := range sch.Inputs {
		in := &sch.Inputs[i]
		if in.Default != nil && in.Hidden == NotHidden && !n.hasBinding(in.Name) {
			lists = append(lists, inputList{in.Name, []any{in.Default}})
			maxLen = max(maxLen, 1)
		}
	}
	job := r.newJob()
	job.n, job.runner, job.step = n, n.typ.Runner, step
	job.alloc.acct = r.e.acct
	job.lazy, _ = n.typ.Runner.(LazyChecker)
	var gr GraphReader = (*graphView)(r)
	if sch.InputIsList || maxLen == 0 {
		maxLen = 1
	}
	if maxLen == 1 {
		job.calls, job.block = job.one[:0], job.blockOne[:0]
	}
	for i := 0; i < maxLen; i++ {
		var c *Call
		if maxLen == 1 {
			if job.inputs == nil {
				job.inputs = make(map[string]any, len(lists))
			}
			c = &job.call
			*c = Call{Inputs: job.inputs}
		} else {
			c = &Call{Inputs: make(map[string]any, len(lists))}
		}
		c.Node, c.Class, c.Index, c.Graph, c.alloc, c.real, c.eph = n.id, n.def.Class, i, gr, &job.alloc, n.realID(), n.eph
		var blk *Blocker
		for _, l := range lists {
			if sch.InputIsList {
				c.Inputs[l.name] = l.vals
				for _, x := range l.vals {
					if bb, ok := x.(*Blocker); ok && blk == nil {
						blk = bb
					}
				}
				continue
			}
			x := l.vals[min(i, len(l.vals)-1)]
			if bb, ok := x.(*Blocker); ok && blk == nil {
				blk = bb
			}
			c.Inputs[l.name] = x
		}
		job.calls = append(job.calls, c)
		job.block = append(job.block, blk)
	}
	return job, nil
}

// newJob returns a zeroed job, reusing one a finished node left.
func (r *run) newJob() *callJob {
	if j := r.spare; j != nil {
		r.spare = nil
		return j
	}
	return &callJob{}
}

// recycle keeps d for the next node once nothing refers to it. Its call's
// input map is kept, emptied: a Call is only valid while its node runs.
func (r *run) recycle(d *callJob) {
	in := d.inputs
	clear(in)
	*d = callJob{inputs: in}
	r.spare = d
}

// checkReads checks every buffer an input holds is live, and traces it.
func (r *run) checkReads(step lifetime.StepID, v []any) error {
	var err error
	for _, x := range v {
		switch x.(type) {
		case lifetime.Resource, []any:
		default:
			continue
		}
		lifetime.Resources(x, func(res lifetime.Resource) {
			if buf, ok := res.(*Buffer); ok && err == nil {
				err = buf.Check()
				r.trace.Read(step, lifetime.ValueID(buf.ID()))
			}
		})
	}
	return err
}

func (n *rnode) hasBinding(name string) bool {
	for i := range n.ins {
		if n.ins[i].name == name {
			return true
		}
	}
	return false
}

// exec runs a job's calls (worker goroutine, or inline at parallelism 1).
// Panics are recovered here, the one place node code runs.
func exec(ctx context.Context, job *callJob) (d *callJob) {
	d = job
	defer func() {
		if p := recover(); p != nil {
			d.err = fmt.Errorf("%w: %v\n%s", ErrPanic, p, debug.Stack())
			d.results = nil
		}
		freeWork(&job.alloc, d.results)
	}()
	if job.lazy != nil {
		seen := map[string]bool{}
		for i, c := range job.calls {
			if job.block[i] != nil {
				continue
			}
			if err := ctx.Err(); err != nil {
				d.err = fmt.Errorf("%w: %w", ErrInterrupted, err)
				return d
			}
			names, err := job.lazy.CheckLazy(ctx, c)
			if err != nil {
				d.err = err
				return d
			}
			for _, nm := range names {
				if !seen[nm] && !c.Has(nm) {
					seen[nm] = true
					d.needs = append(d.needs, nm)
				}
			}
		}
		if len(d.needs) > 0 {
			return d
		}
	}
	if len(job.calls) == 1 {
		d.results = job.resOne[:]
	} else {
		d.results = make([]Result, len(job.calls))
	}
	for i, c := range job.calls {
		if job.block[i] != nil {
			continue
		}
		if err := ctx.Err(); err != nil {
			d.err = fmt.Errorf("%w: %w", ErrInterrupted, err)
			return d
		}
		res, err := job.runner.Run(ctx, c)
		if err != nil {
			if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				err = fmt.Errorf("%w: %w", ErrInterrupted, err)
			}
			d.err = err
			return d
		}
		d.results[i] = res
	}
	return d
}

// freeWork releases the buffers a call allocated but did not return.
func freeWork(a *callAlloc, results []Result) {
	if len(a.bufs) == 0 {
		return
	}
	kept := map[*Buffer]bool{}
	for _, res := range results {
		for _, v := range res.Outputs {
			markBuffers(v, kept)
		}
		if res.Expand != nil {
			for _, v := range res.Expand.Outputs {
				markBuffers(v, kept)
			}
			for _, nd := range res.Expand.Nodes {
				for _, v := range nd.Inputs {
					markBuffers(v, kept)
				}
			}
		}
	}
	for _, b := range a.bufs {
		if !kept[b] {
			a.cur -= b.Bytes()
			_ = b.Release() // a failed free is seen by the device's leak check
		}
	}
}

func markBuffers(v any, set map[*Buffer]bool) {
	lifetime.Resources(v, func(x lifetime.Resource) {
		if b, ok := x.(*Buffer); ok {
			set[b] = true
		}
	})
}

// finish handles a worker's report (run goroutine).
func (r *run) finish(d *callJob) {
	n := d.n
	r.running--
	if d.err != nil {
		r.trace.End(d.step)
		r.fail(n, TypeExecution, d.err)
		r.freeOrphans(d)
		return
	}
	if len(d.needs) > 0 {
		r.trace.End(d.step)
		n.state = stPending
		if err := r.request(n, d.needs); err != nil {
			r.fail(n, TypeExecution, err)
			return
		}
		r.drain()
		r.readyIfFree(n)
		return
	}
	r.res.Stats.Executions++
	r.res.Executed = append(r.res.Executed, n.id)
	n.execs++
	for i, b := range d.block {
		if b != nil && b.Message != "" {
			r.em.emit(Event{Type: EventError, Node: n.id, Display: n.displayID(), Real: n.realID(), Class: n.def.Class, Message: "Execution Blocked: " + b.Message})
		}
		if b != nil {
			d.results[i] = blockedResult(b, len(n.slots))
		}
	}
	ui := mergeUI(d.results)
	expanding := false
	for _, res := range d.results {
		if res.Expand != nil {
			expanding = true
		}
	}
	if expanding {
		r.traceEnd(d, nil)
		if err := r.expand(n, d.calls, d.results, ui); err != nil {
			r.fail(n, TypeBadGraph, err)
		}
		return
	}
	outs, err := mergeOutputs(n, d.results)
	if err != nil {
		r.traceEnd(d, nil)
		r.fail(n, TypeExecution, err)
		r.freeOrphans(d)
		return
	}
	r.traceEnd(d, outs)
	r.complete(n, outs, ui)
	r.recycle(d)
}

// freeOrphans frees output buffers of a failed node nobody will hold.
func (r *run) freeOrphans(d *callJob) {
	for _, res := range d.results {
		for _, v := range res.Outputs {
			lifetime.Resources(v, func(x lifetime.Resource) {
				if r.e.refs.Holders(x) == 0 {
					_ = x.Release()
				}
			})
		}
	}
}

// traceEnd records a finished step: new values, reads and working memory.
func (r *run) traceEnd(d *callJob, outs [][]any) {
	var newBytes int64
	produce := func(x lifetime.Resource) {
		if b, ok := x.(*Buffer); ok {
			r.trace.Produce(d.step, lifetime.ValueID(b.ID()), b.Bytes())
			if r.e.refs.Holders(x) == 0 {
				newBytes += b.Bytes()
			}
		}
	}
	for _, vals := range outs {
		for _, v := range vals { // element by element: boxing vals would allocate
			lifetime.Resources(v, produce)
		}
	}
	r.trace.Work(d.step, max(0, d.alloc.peak-newBytes))
	r.trace.End(d.step)
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

// request turns requested lazy inputs into blocking links.
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
				if err := r.need(n, b.src, b.out); err != nil {
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
	n.state = stDone
	r.pending--
	r.pinNotReexecutable(n)
	for i, s := range n.slots {
		if v, ok := r.tr.Values(s); ok { // re-execution: the live value stays
			r.dropUnheld(outs[i])
			outs[i] = v
		}
	}
	for i, s := range n.slots {
		if r.tr.State(s) != lifetime.Live {
			r.tr.Produce(s, outs[i])
		}
	}
	r.storeCache(n, outs, ui)
	if n.pinnedOut {
		for _, vals := range outs {
			lifetime.Resources(vals, func(x lifetime.Resource) {
				if b, ok := x.(*Buffer); ok {
					r.trace.Pin(lifetime.ValueID(b.ID()))
				}
			})
		}
	}
	if ui != nil {
		r.res.Outputs[n.id] = ui
	}
	r.em.emit(Event{Type: EventExecuted, Node: n.id, Display: n.displayID(), Real: n.realID(), Class: n.def.Class, Output: ui})
	r.unbind(n)
	r.unpin(n)
	r.wake(n)
	r.timeline(n)
	r.maybeCollect(n)
}

// pinNotReexecutable pins, under strategies that may re-execute, the
// outputs of a node that must not run twice (whether it ran or came from
// the cache).
func (r *run) pinNotReexecutable(n *rnode) {
	if n.keepPinned || !r.pol.Strategy.Reexecutes() || isReexecutable(n.typ) || r.pol.Level == 0 {
		return
	}
	n.keepPinned = true
	for i, s := range n.slots {
		r.tr.Pin(s)
		r.em.emit(Event{Type: EventPinned, Node: n.id, Display: n.displayID(), Real: n.realID(), Class: n.def.Class, Slot: i})
	}
}

// dropUnheld frees resources in vals that nothing holds.
func (r *run) dropUnheld(vals []any) {
	lifetime.Resources(vals, func(x lifetime.Resource) {
		if r.e.refs.Holders(x) == 0 {
			_ = x.Release()
		}
	})
}

func (r *run) timeline(n *rnode) {
	if !r.timelineOn {
		return
	}
	live, peak := r.e.acct.window()
	r.res.Stats.Timeline = append(r.res.Stats.Timeline, TimelinePoint{Node: n.id, Class: n.def.Class, Live: live, Peak: peak})
}

func isOOM(err error) bool { return errors.Is(err, device.ErrOutOfMemory) }
