package engine

import (
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"

	"github.com/ebbgraph/ebb/lifetime"
)

// execute is the run goroutine's loop: it owns the graph, the ready stack
// and the tracker; node bodies run inline (parallelism 1) or on workers.
func (r *run) execute() {
	r.e.acct.resetPeak()
	r.em.emit(Event{Type: EventStart})
	for _, id := range r.outputs {
		n, err := r.node(id)
		if err != nil {
			r.fail(nil, TypeExecution, err)
			break
		}
		r.schedule(n)
	}
	r.drain()
	if len(r.cachedAt) > 0 {
		r.em.emit(Event{Type: EventCached, Nodes: r.cachedAt})
	}
	if r.par > 1 {
		r.jobs = make(chan *callJob)
		r.doneCh = make(chan *callJob, r.par)
		for range r.par {
			go func() {
				for job := range r.jobs {
					r.doneCh <- exec(r.ctx, job)
				}
			}()
		}
		defer close(r.jobs)
	}
	for r.err == nil {
		r.dispatch()
		if r.err != nil {
			break
		}
		if r.running == 0 {
			if len(r.ready) > 0 {
				continue
			}
			if r.pending > 0 {
				r.cycle()
			}
			break
		}
		r.finish(<-r.doneCh)
	}
	for r.running > 0 { // after a failure: let in-flight calls return
		d := <-r.doneCh
		r.running--
		r.freeOrphans(d)
	}
	r.end()
}

// dispatch starts ready nodes while workers are free.
func (r *run) dispatch() {
	for r.err == nil && len(r.ready) > 0 && r.running < r.par {
		n := r.ready[len(r.ready)-1]
		r.ready = r.ready[:len(r.ready)-1]
		if n.state != stReady {
			continue
		}
		if err := r.ctx.Err(); err != nil {
			r.fail(n, TypeInterrupted, fmt.Errorf("%w before node %s ran: %w", ErrInterrupted, n.id, err))
			return
		}
		if n.ext != nil && n.ext.sub != nil {
			r.resolveSub(n)
			continue
		}
		job, err := r.prepare(n)
		if err != nil {
			r.fail(n, TypeExecution, err)
			return
		}
		n.state = stRunning
		r.running++
		r.em.emit(Event{Type: EventExecuting, Node: n.id, Display: n.displayID(), Real: n.realID(), Class: n.def.Class})
		if r.par == 1 {
			r.finish(exec(r.ctx, job))
		} else {
			r.jobs <- job
		}
	}
}

// cycle reports a dynamic dependency cycle: pending nodes that all wait on
// each other. It is blamed on the display node of the first ephemeral node
// in the cycle (ComfyUI's rule), or the first node.
func (r *run) cycle() {
	var start *rnode
	r.eachNode(func(n *rnode) {
		if n.state == stPending && n.blockers > 0 && (start == nil || n.id < start.id) {
			start = n
		}
	})
	if start == nil {
		r.fail(nil, TypeCycle, fmt.Errorf("%w: %d nodes pending, none ready", ErrCycle, r.pending))
		return
	}
	seen := map[*rnode]int{}
	var path []*rnode
	n := start
	for n != nil {
		if i, ok := seen[n]; ok {
			path = path[i:]
			break
		}
		seen[n] = len(path)
		path = append(path, n)
		var next *rnode
		for i := range n.ins {
			b := &n.ins[i]
			if b.src != nil && !b.lazy && b.src.state != stDone {
				next = b.src
				break
			}
		}
		n = next
	}
	blame := path[0]
	for _, p := range path {
		if p.displayID() != p.id {
			blame = p
			break
		}
	}
	ids := make([]string, len(path))
	for i, p := range path {
		ids[i] = string(p.id)
	}
	err := fmt.Errorf("%w among %v", ErrCycle, ids)
	if blame.displayID() != blame.id {
		if d, ok := r.nodes[blame.displayID()]; ok {
			blame = d
		} else {
			r.err = &NodeError{Node: blame.realID(), ID: blame.displayID(), Class: blame.def.Class, Type: TypeCycle, Err: err}
			r.errNode = blame
			return
		}
	}
	r.fail(blame, TypeCycle, err)
}

// workflowSigs returns a test for "the signature of an original node of
// this run", computing the signatures of every original node (the classic
// cache keeps their entries).
func (r *run) workflowSigs() func(sigKey) bool {
	if r.e.cache.mode.Kind != CacheClassic {
		return nil
	}
	keys := make(map[sigKey]bool, len(r.v.wf))
	for id := range r.v.wf {
		if k, ok := r.sig(id); ok {
			keys[k] = true
		}
	}
	return func(k sigKey) bool { return keys[k] }
}

// eachNode calls f for every node the run knows.
func (r *run) eachNode(f func(*rnode)) {
	for i := range r.orig {
		if r.orig[i].typ != nil {
			f(&r.orig[i])
		}
	}
	for _, n := range r.nodes {
		f(n)
	}
}

// end releases what the run holds, keeps what the cache keeps, and fills in
// the result.
func (r *run) end() {
	r.eachNode(func(n *rnode) {
		for i := range n.ins { // held literals of nodes a failure left pending
			if b := &n.ins[i]; b.litHeld {
				b.litHeld = false
				_ = r.e.refs.Drop(b.lit)
			}
		}
		n.ins = nil
		r.dropFwdLits(n)
		if n.ext != nil && n.ext.sub != nil && n.ext.sub.held != nil {
			_ = r.e.refs.Drop(n.ext.sub.held)
			n.ext.sub.held = nil
		}
		n.slots = nil
	})
	r.tr.DiscardAll()
	for g := range r.gens {
		r.releaseGen(g)
	}
	r.e.cache.endRun(r.workflowSigs())
	st := &r.res.Stats
	ts := r.tr.Stats()
	st.Releases, st.Pins = ts.Releases, ts.Pins
	_, st.PeakBytes, st.DevicePeakBytes = r.e.acct.snapshot()
	st.BoundBytes = r.trace.Bound()
	if err := errors.Join(r.tr.Err(), r.e.cache.clearErrs()); err != nil && r.err == nil {
		r.err = fmt.Errorf("engine: internal lifetime error: %w", err)
	}
	switch {
	case r.err == nil:
		r.res.Status = StatusSuccess
		r.em.emit(Event{Type: EventSuccess})
	case errors.Is(r.err, ErrInterrupted):
		r.res.Status, r.res.Err = StatusInterrupted, r.err
		r.em.emit(r.errEvent(EventInterrupted))
	default:
		r.res.Status, r.res.Err = StatusError, r.err
		r.em.emit(r.errEvent(EventError))
	}
}

func (r *run) errEvent(t EventType) Event {
	ev := Event{Type: t, Err: r.err, Message: r.err.Error()}
	var ne *NodeError
	if errors.As(r.err, &ne) {
		ev.Node, ev.Real, ev.Class = ne.Node, ne.Node, ne.Class
		ev.Display = ne.ID
	}
	return ev
}

// idPrefix is the id namespace of a node's expansions: "<id>." for
// original nodes, "<real>.h<hash>." for ephemeral ones, so ids stay short
// however deep expansions nest (a loop's thousandth iteration has an id as
// long as its first).
func idPrefix(id, real NodeID, eph bool) string {
	if !eph {
		return string(id) + "."
	}
	sum := sha256.Sum256([]byte(id))
	return string(real) + ".h" + hashEnc.EncodeToString(sum[:])[:10] + "."
}

var hashEnc = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// graphView is the GraphReader given to calls. It reads ephemeral
// definitions under ephMu because workers call it during the run.
type graphView run

func (g *graphView) Node(id NodeID) (*Node, bool) {
	r := (*run)(g)
	if d, ok := r.v.def(id); ok {
		return d, true
	}
	r.ephMu.RLock()
	defer r.ephMu.RUnlock()
	if d, ok := r.eph[id]; ok {
		return d.def, true
	}
	return nil, false
}

func (g *graphView) meta(id NodeID) *ephDef {
	r := (*run)(g)
	r.ephMu.RLock()
	defer r.ephMu.RUnlock()
	return r.eph[id]
}

func (g *graphView) Parent(id NodeID) NodeID {
	if d := g.meta(id); d != nil {
		return d.parent
	}
	return ""
}

func (g *graphView) Display(id NodeID) NodeID {
	if d := g.meta(id); d != nil {
		return d.display
	}
	return id
}

func (g *graphView) Real(id NodeID) NodeID {
	if d := g.meta(id); d != nil {
		return d.real
	}
	return id
}

var _ lifetime.Resource = (*Buffer)(nil)
