// runloop.go: the run goroutine's loop: dispatch, workers, the dynamic-cycle check and the end of a run.

package engine

import (
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"slices"
	"strings"

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
	r.checkStep()
	if len(r.cachedAt) > 0 {
		r.em.emit(Event{Type: EventCached, Nodes: r.cachedAt})
	}
	if r.par > 1 {
		r.jobs = make(chan *callJob)
		r.doneCh = make(chan *callJob, r.par)
		r.roomCh = make(chan roomReq)
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
		r.retire()
		r.checkStep()
	}
	for _, d := range r.inflight { // after a failure: let in-flight calls return
		r.waitReturn(d)
		r.running--
		if d.freeErr != nil {
			r.internal(d.n, d.freeErr)
		}
		r.freeOrphans(d.n, d)
	}
	r.inflight = nil
	r.end()
}

// retire finishes the oldest in-flight job, waiting for it to return.
// Jobs retire in the order they were dispatched, whenever their calls
// return, so what a run decides (the order, admission, releases) does not
// depend on the workers' timing: a run at parallelism p is repeatable, and
// ebb plan predicts it.
func (r *run) retire() {
	d := r.inflight[0]
	r.inflight[0] = nil
	r.inflight = r.inflight[1:]
	r.waitReturn(d)
	r.reserved -= d.reserve
	r.alone = false
	r.finish(d)
	r.retryRoom()
}

// waitReturn waits until d's calls have returned.
// While it waits it makes room for workers whose allocations did not fit
// (offload, roomRemote).
func (r *run) waitReturn(d *callJob) {
	for !d.returned {
		r.roomStuck(d)
		select {
		case x := <-r.doneCh:
			x.returned = true
		case q := <-r.roomCh:
			r.askRoom(q)
		}
	}
}

// worker runs jobs until the run closes r.jobs.
func (r *run) worker() {
	for job := range r.jobs {
		r.doneCh <- exec(r.ctx, job)
	}
}

// dispatch starts ready nodes while workers are free.
func (r *run) dispatch() {
	for r.err == nil && len(r.ready) > 0 && r.running < r.par && !r.alone {
		i := r.nextReady()
		if i < 0 {
			return
		}
		n := r.ready[i]
		reserve, ok := r.admit(n)
		if !ok {
			return // it waits for the nodes in flight
		}
		r.ready = slices.Delete(r.ready, i, i+1)
		if err := r.ctx.Err(); err != nil {
			r.fail(n, TypeInterrupted, fmt.Errorf("%w before node %s ran: %w", ErrInterrupted, n.id, err))
			return
		}
		if n.ext != nil && n.ext.sub != nil {
			r.resolveSub(n)
			r.checkStep()
			continue
		}
		if int64(r.res.Stats.Executions+r.running) >= r.lim.MaxExecutions {
			r.fail(n, TypeLimit, &LimitError{Limit: "max-executions", Value: r.lim.MaxExecutions})
			return
		}
		job, err := r.prepare(n)
		if err != nil {
			r.fail(n, TypeExecution, err)
			return
		}
		if !r.transition(n, stRunning) {
			return
		}
		r.running++
		if r.par > 1 && (r.off.on || r.e.off.used) {
			r.reads(job)
		}
		r.em.emit(n.event(EventExecuting))
		// At parallelism 1 nodes run here. So does one with nothing else
		// ready or in flight (a chain's every node): a worker would run it
		// while this goroutine waits for it, and retire it next; here the
		// decisions are the same, without two channel hand-offs and
		// goroutine wake-ups. Not under offload above parallelism 1: its
		// room requests expect a worker.
		if r.par == 1 || r.running == 1 && len(r.ready) == 0 && !r.off.on {
			if r.off.on && r.capacity > 0 {
				job.alloc.room, r.runningNode = r.roomNow, n
			}
			r.finish(exec(r.ctx, job))
			r.alone = false
			r.checkStep()
		} else {
			job.reserve = reserve
			r.reserved += reserve
			if r.off.on && r.capacity > 0 {
				job.alloc.room = r.roomRemote(job)
			}
			r.inflight = append(r.inflight, job)
			if r.workers < r.running { // all busy: one more, never more than can run at once
				r.workers++
				go r.worker()
			}
			r.jobs <- job
		}
	}
}

// cycle reports a dynamic dependency cycle: active nodes that wait on each
// other. The strongly connected components of the waits (the routine
// validation uses for static cycles) give the cycles; the one through the
// smallest node id is reported, shortest first, and blamed on the display
// node of its first ephemeral node (ComfyUI's rule), or its first node.
func (r *run) cycle() {
	g := waitGraph{index: map[*rnode]int32{}}
	r.eachNode(func(n *rnode) {
		if n.state.active() {
			g.nodes = append(g.nodes, n)
		}
	})
	slices.SortFunc(g.nodes, func(a, b *rnode) int { return strings.Compare(string(a.id), string(b.id)) })
	for i, n := range g.nodes {
		g.index[n] = int32(i)
	}
	start := int32(-1)
	comp := sccs(g, nil, func(_ int32, members []int32, cyclic bool) {
		if cyclic {
			if m := slices.Min(members); start < 0 || m < start { // nodes are sorted: the smallest id
				start = m
			}
		}
	})
	if start < 0 {
		r.fail(nil, TypeCycle, fmt.Errorf("%w: %d nodes pending, none ready", ErrCycle, r.pending))
		return
	}
	cyc := shortestCycle(g, comp, start)
	path := make([]*rnode, len(cyc)-1) // the last is start again
	for i := range path {
		path[i] = g.nodes[cyc[i]]
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
			ne := &NodeError{Node: blame.realID(), ID: blame.displayID(), Class: blame.def.Class, Type: TypeCycle, Err: err}
			if d, ok := r.v.def(blame.realID()); ok && blame.displayID() != blame.realID() {
				ne.Class = d.Class
				if dd, _, ok := r.lookup(blame.displayID()); ok {
					ne.IDClass = dd.Class
				}
			}
			r.err = ne
			return
		}
	}
	r.fail(blame, TypeCycle, err)
}

// waitGraph is the active nodes as a digraph for sccs: an edge from a node
// to each unfinished producer one of its bindings waits on.
type waitGraph struct {
	nodes []*rnode
	index map[*rnode]int32
}

func (g waitGraph) len() int { return len(g.nodes) }

func (g waitGraph) out(u int32, i int) (int32, bool) {
	ins := g.nodes[u].ins
	if i >= len(ins) {
		return 0, false
	}
	if b := &ins[i]; b.wait && !b.src.state.produced() {
		if j, ok := g.index[b.src]; ok {
			return j, true
		}
	}
	return -1, true
}

// workflowSigs returns a test for "the signature of an original node of
// this run", computing the signatures of every original node (the classic
// cache keeps their entries) on its first call: the cache asks only about
// entries older than this run, and a fresh engine has none.
func (r *run) workflowSigs() func(sigKey) bool {
	if r.e.cache.mode.Kind != CacheClassic {
		return nil
	}
	var keys map[sigKey]bool
	return func(k sigKey) bool {
		if keys == nil {
			keys = make(map[sigKey]bool, len(r.v.wf))
			for id := range r.v.wf {
				if k, ok := r.sig(id); ok {
					keys[k] = true
				}
			}
		}
		return keys[k]
	}
}

// end releases what the run holds, keeps what the cache keeps, and fills in
// the result.
func (r *run) end() {
	if ex := r.res.Executed; r.execHead > 0 { // a full ring: oldest first
		r.res.Executed = slices.Concat(ex[r.execHead:], ex[:r.execHead])
	}
	r.tr.DiscardAll()
	r.gens = nil
	r.e.cache.endRun(r.workflowSigs())
	if r.e.off.used {
		r.endOffload()
	}
	st := &r.res.Stats
	ts := r.tr.Stats()
	st.Releases, st.Pins = ts.Releases, ts.Pins
	_, st.PeakBytes, st.DevicePeakBytes, st.BoundBytes = r.e.acct.snapshot()
	if err := r.e.cache.clearErrs(); err != nil {
		r.internal(nil, fmt.Errorf("cross-run cache: %w", err))
	}
	if len(r.more) > 0 {
		r.err = errors.Join(append([]error{r.err}, r.more...)...)
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
	// The first 10 characters of the hash's encoding depend on its first
	// 7 bytes only (5 bits a character).
	var enc [12]byte
	hashEnc.Encode(enc[:], sum[:7])
	return string(real) + ".h" + string(enc[:10]) + "."
}

var hashEnc = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// graphView is the GraphReader given to calls: the original definitions
// and the expanded ones as they were when the node was dispatched. The
// run never changes a map it handed to a worker (it copies it first), so
// workers read it without a lock.
type graphView struct {
	v   *validated
	eph map[NodeID]*ephDef
}

func (g *graphView) Node(id NodeID) (*Node, bool) {
	if d, ok := g.v.def(id); ok {
		return d, true
	}
	if d, ok := g.eph[id]; ok {
		return d.def, true
	}
	return nil, false
}

func (g *graphView) Parent(id NodeID) NodeID {
	if d := g.eph[id]; d != nil {
		return d.parent
	}
	return ""
}

func (g *graphView) Display(id NodeID) NodeID {
	if d := g.eph[id]; d != nil {
		return d.display
	}
	return id
}

func (g *graphView) Real(id NodeID) NodeID {
	if d := g.eph[id]; d != nil {
		return d.real
	}
	return id
}

var _ lifetime.Resource = (*Buffer)(nil)
