// exec.go: the worker side: a node's calls built from its bindings, run with panics recovered, and working memory freed.

package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

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
	view   graphView // the graph the calls see (Call.Graph)

	reserve  int64     // n's estimate, reserved while the job is in flight
	returned bool      // its calls returned (seen by the run goroutine)
	read     []*Buffer // tracked buffers its calls read (offload.go)

	wall  time.Duration // the calls' wall time, or its class's mean (filled by exec)
	clock *typeClock    // the class's times; nil when the node declares its time

	// filled by exec
	needs   []string
	results []Result
	err     error
	freeErr error // a working buffer the device would not free

	one      [1]*Call
	blockOne [1]*Blocker
	resOne   [1]Result
	// call and inputs back the single call of an unmapped node; they
	// survive recycling, so a chain of such nodes allocates neither.
	call   Call
	inputs map[string]any
}

// inputList is one input's values across a node's calls: vals, or, when
// vals is nil, the one value one (a literal, a raw link, a default), kept
// inline so it costs no allocation.
type inputList struct {
	name string
	vals []any
	one  any
}

// at is the value of call i (the last value for calls past the end).
func (l *inputList) at(i int) any {
	if l.vals == nil {
		return l.one
	}
	return l.vals[min(i, len(l.vals)-1)]
}

// list is every value.
func (l *inputList) list() []any {
	if l.vals == nil {
		return []any{l.one}
	}
	return l.vals
}

// prepare builds the calls of n from its bindings (run goroutine).
func (r *run) prepare(n *rnode) (*callJob, error) {
	sch := &n.typ.Schema
	var buf [8]inputList
	lists := buf[:0]
	maxLen := 0
	for i := range n.ins {
		b := &n.ins[i]
		if b.lazy || b.result {
			continue
		}
		var vals []any
		switch {
		case b.raw:
			lists = append(lists, inputList{name: b.name, one: b.ref})
			maxLen = max(maxLen, 1)
			continue
		case b.src == nil:
			lists = append(lists, inputList{name: b.name, one: b.lit})
			maxLen = max(maxLen, 1)
			continue
		default:
			v, ok := r.tr.Values(b.src.slot(b.out))
			if !ok {
				return nil, fmt.Errorf("%w: input %q reads released output %d of node %s", device.ErrUseAfterFree, b.name, b.out, b.src.id)
			}
			if err := r.checkReads(v); err != nil {
				return nil, fmt.Errorf("input %q: %w", b.name, err)
			}
			vals = v
		}
		if len(vals) == 0 {
			continue
		}
		lists = append(lists, inputList{name: b.name, vals: vals})
		maxLen = max(maxLen, len(vals))
	}
	for i := range sch.Inputs {
		in := &sch.Inputs[i]
		if in.Default != nil && in.Hidden == NotHidden && !n.hasBinding(in.Name) {
			lists = append(lists, inputList{name: in.Name, one: in.Default})
			maxLen = max(maxLen, 1)
		}
	}
	job := r.newJob()
	job.n, job.runner = n, n.typ.Runner
	job.alloc.acct = r.e.acct
	job.lazy, _ = n.typ.Runner.(LazyChecker)
	if !n.declared || n.estTime == 0 {
		job.clock = r.clockOf(n.typ)
	}
	job.view = graphView{v: r.v, eph: r.eph}
	if r.par > 1 {
		r.ephRO = true // a worker reads it: the run copies it before a change
	}
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
		c.Node, c.Class, c.Index, c.Graph, c.alloc, c.real, c.eph = n.id, n.def.Class, i, &job.view, &job.alloc, n.realID(), n.eph()
		c.em, c.display = r.em, n.displayID()
		var blk *Blocker
		for k := range lists {
			l := &lists[k]
			if sch.InputIsList {
				vals := l.list()
				c.Inputs[l.name] = vals
				for _, x := range vals {
					if bb, ok := x.(*Blocker); ok && blk == nil {
						blk = bb
					}
				}
				continue
			}
			x := l.at(i)
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

// checkReads checks that every buffer an input holds is live.
func (r *run) checkReads(v []any) error {
	var err error
	for _, x := range v {
		switch x.(type) {
		case lifetime.Resource, []any, lifetime.Container, lifetime.Holder:
		default:
			continue
		}
		lifetime.Resources(x, func(res lifetime.Resource) {
			if buf, ok := deviceBuffer(res); ok && err == nil {
				err = buf.Check()
			}
		})
	}
	return err
}

// exec runs a job's calls (worker goroutine, or inline at parallelism 1).
// Panics are recovered here, the one place node code runs.
func exec(ctx context.Context, job *callJob) (d *callJob) {
	d = job
	var start time.Time
	timed := job.clock != nil && job.clock.sample()
	if timed {
		start = time.Now()
	}
	defer func() {
		switch {
		case timed:
			d.wall = time.Since(start)
			job.clock.add(d.wall)
		case job.clock != nil:
			d.wall = job.clock.mean()
		}
		if p := recover(); p != nil {
			d.err = &PanicError{Value: p, Stack: debug.Stack()}
			d.results = nil
		}
		d.freeErr = freeWork(&job.alloc, d.results)
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
func freeWork(a *callAlloc, results []Result) error {
	if len(a.bufs) == 0 {
		return nil
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
	var errs []error
	for _, b := range a.bufs {
		if !kept[b] {
			a.cur -= b.Bytes()
			if err := b.Release(); err != nil {
				errs = append(errs, fmt.Errorf("working memory %v: %w", b, err))
			}
		}
	}
	return errors.Join(errs...)
}

func markBuffers(v any, set map[*Buffer]bool) {
	lifetime.Resources(v, func(x lifetime.Resource) {
		if b, ok := deviceBuffer(x); ok {
			set[b] = true
		}
	})
}
