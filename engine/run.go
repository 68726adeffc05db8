// run.go: the state of one run (the run struct), how it finds and creates its nodes, and how it fails.

package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ebbgraph/ebb/lifetime"
	"github.com/ebbgraph/ebb/policy"
)

// run is one execution of a validated workflow. Everything in it is owned
// by the run goroutine; workers get only callJobs.
type run struct {
	ctx   context.Context
	e     *Engine
	pol   policy.Policy
	order policy.Order
	strat strategy
	em    *emitter
	res   *RunResult
	tr    *lifetime.Tracker

	v        *validated         // the original nodes
	orig     []rnode            // state of the reachable original nodes, by validation index
	eph      map[NodeID]*ephDef // expanded definitions; copied before a change once handed to workers
	ephRO    bool               // eph was handed to a worker: copy it before changing it
	ancStack []*rnode           // eachAncestor's stack, reused
	nodes    map[NodeID]*rnode  // ephemeral nodes the run knows, and original ones validated late
	late     map[NodeID]*Node   // original nodes validated when an expansion linked to them
	gens     map[*generation]bool
	kept     *keptValues // values of collected nodes kept for the run (levels 0 and 1)
	// targets are the run's explicit targets (nil: every output node).
	targets map[NodeID]bool

	ready     []*rnode
	work      []*rnode
	pending   int // nodes in an active state (see nstate.active)
	running   int
	inflight  []*callJob // dispatched and not retired, oldest first (parallelism > 1)
	reserved  int64      // estimates of the in-flight jobs
	capacity  int64      // the device's, for admission; 0: unlimited
	par       int
	doneCh    chan *callJob
	jobs      chan *callJob
	err       error
	more      []error // internal errors after the first error
	markGen   uint32
	sigs      map[NodeID]sigMemo
	sigx      sigScratch // original nodes' signatures, and the writer of signatures
	outputs   []NodeID
	spare     *callJob          // a finished job to reuse
	drainPins []lifetime.SlotID // cache hits' slots, pinned until the worklist is empty
	cachedAt  []NodeID
	gen       int  // the cache's run number
	checks    bool // check invariants after every step
	steps     int  // steps so far (counted only when checking)
	nextCheck int  // the step of the next check
	chk       checkScratch
	lim       Limits
	expNodes  int64 // nodes expansions added
	keep      int   // executed ids to keep
	execHead  int   // next slot of res.Executed once it is a full ring
	workers   int   // worker goroutines started
	fwdOps    int64 // forwards and forwarded-output lookups (for tests)
	fwdSteps  int64 // cells those moved or walked past (for tests)

	timelineOn  bool
	off         offloadRun
	runningNode *rnode       // the node whose call runs on the run goroutine (offload, parallelism 1)
	roomCh      chan roomReq // workers asking the run goroutine for room (offload, parallelism > 1)
	roomWait    []roomReq    // asks that wait for a job to retire
	alone       bool         // the job in flight runs alone (offload: a node nothing predicts)
	lastType    *NodeType    // clockOf's last answer
	lastClock   *typeClock
	compute     time.Duration // the simulated clock (Stats.ComputeMs, TransferMs)
	xfer        time.Duration
	segSim      segSim   // the memory order's scratch
	rollFront   []*rnode // rollout's scratch
	rollSeq     []*rnode // the last rollout's order
	plan        []*rnode // the memory order's play being followed
}

// ephDef is where an ephemeral node came from. Immutable once made.
type ephDef struct {
	def                   *Node
	parent, real, display NodeID
	gen                   *generation
}

func newRun(ctx context.Context, e *Engine, v *validated, targets []NodeID, pol policy.Policy, em *emitter, res *RunResult) *run {
	r := &run{
		ctx: ctx, e: e, pol: pol, strat: newStrategy(pol.Strategy), em: em, res: res,
		v:        v,
		orig:     make([]rnode, len(v.vnodes)),
		eph:      map[NodeID]*ephDef{},
		nodes:    map[NodeID]*rnode{},
		par:      e.opts.parallelism(),
		capacity: e.dev.Stats().Capacity,
		sigs:     map[NodeID]sigMemo{},
		outputs:  v.outputs,
		checks:   invariantChecks(),
		lim:      Limits{}.withDefaults(),
		keep:     DefaultKeepExecuted,
	}
	r.tr = lifetime.NewTracker(pol.Level, e.refs)
	r.tr.Grow(v.outputSlots())
	res.Executed = make([]NodeID, 0, min(len(v.vnodes), DefaultKeepExecuted))
	r.tr.OnRelease = r.onRelease
	r.tr.OnError = r.onTrackerError
	if targets != nil {
		r.targets = map[NodeID]bool{}
		for _, t := range targets {
			r.targets[t] = true
		}
	}
	r.gen = e.cache.beginRun()
	if runStarted != nil {
		runStarted(r)
	}
	return r
}

// runStarted, when set (by tests), is handed every new run.
var runStarted func(*run)

// lookup returns the definition of id as the run sees it, and where an
// ephemeral node came from (nil for an original node).
func (r *run) lookup(id NodeID) (def *Node, info *ephDef, ok bool) {
	if d, ok := r.late[id]; ok {
		return d, nil, true
	}
	if d, ok := r.v.def(id); ok {
		return d, nil, true
	}
	if d, ok := r.eph[id]; ok {
		return d.def, d, true
	}
	return nil, nil, false
}

// node returns the rnode of id, creating it idle.
func (r *run) node(id NodeID) (*rnode, error) {
	if i, ok := r.v.index.get(id); ok {
		return r.origNode(i), nil
	}
	if n, ok := r.nodes[id]; ok {
		return n, nil
	}
	def, info, ok := r.lookup(id)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrMissingNode, id)
	}
	if info == nil { // an original node no output needed: an expansion links to it
		var err error
		if def, err = r.validateLate(id); err != nil {
			return nil, err
		}
	}
	t, ok := r.e.reg.Lookup(def.Class)
	if !ok {
		return nil, fmt.Errorf("%w: %q (node %s)", ErrUnknownClass, def.Class, id)
	}
	if info != nil {
		info.gen.unfinished++
	}
	n := &rnode{}
	r.initNode(n, id, def, t, info)
	r.nodes[id] = n
	return n, nil
}

// validateLate validates an original node that validation did not reach
// (and what it links to) when an expansion first links to it, as ComfyUI
// does, and returns its definition with literals coerced. A node that
// fails is an error naming its validation errors, which join
// RunResult.NodeErrors.
func (r *run) validateLate(id NodeID) (*Node, error) {
	if d, ok := r.late[id]; ok {
		return d, nil
	}
	lv, err := validate(r.e.reg, r.v.wf, []NodeID{id})
	var errs map[NodeID]*NodeValidation
	var pe *PromptError
	switch {
	case lv != nil:
		errs = lv.errs
	case errors.As(err, &pe):
		errs = pe.Nodes
	}
	for nid, nv := range errs {
		if r.res.NodeErrors == nil {
			r.res.NodeErrors = map[NodeID]*NodeValidation{}
		}
		if _, seen := r.res.NodeErrors[nid]; !seen {
			r.res.NodeErrors[nid] = nv
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: node %s, linked by an expansion, failed validation: %w", ErrInvalid, id, err)
	}
	if r.late == nil {
		r.late = map[NodeID]*Node{}
	}
	for i := range lv.vnodes {
		if vn := &lv.vnodes[i]; !r.v.has(vn.id) {
			r.late[vn.id] = vn.out
		}
	}
	return r.late[id], nil
}

// origNode returns the state of original node i, initializing it on first
// use.
func (r *run) origNode(i int32) *rnode {
	n := &r.orig[i]
	if n.typ == nil {
		vn := &r.v.vnodes[i]
		r.initNode(n, vn.id, vn.out, vn.typ, nil)
		n.vi = i
	}
	return n
}

func (r *run) initNode(n *rnode, id NodeID, def *Node, t *NodeType, info *ephDef) {
	*n = rnode{id: id, def: def, typ: t, info: info, vi: -1}
	if k := len(t.Schema.Outputs); k <= len(n.slotBuf) {
		n.slots = n.slotBuf[:k]
	} else {
		n.slots = make([]lifetime.SlotID, k)
	}
	n.waiters = n.waitBuf[:0]
	for i := range n.slots {
		n.slots[i] = r.tr.NewSlot(n, i)
	}
	n.pinnedOut = t.Schema.OutputNode || r.targets[id]
	if n.pinnedOut {
		for _, s := range n.slots {
			r.tr.Retain(s)
		}
	}
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

// onRelease is the tracker's callback: a released slot leaves the cache,
// and the event says how many bytes the release freed.
func (r *run) onRelease(owner any, out int, freed int64) {
	n := owner.(*rnode)
	if e := r.e.cache.deref(n.centry); e != nil {
		before := r.e.refs.Live()
		r.e.cache.remove(e)
		n.centry = centryRef{}
		freed += before - r.e.refs.Live()
	}
	ev := n.event(EventReleased)
	ev.Slot, ev.Bytes = out, freed
	r.em.emit(ev)
}

// onTrackerError turns a bookkeeping or release error of the tracker into
// an internal error naming the slot's owner.
func (r *run) onTrackerError(owner any, err error) {
	switch o := owner.(type) {
	case *rnode:
		r.internal(o, err)
	case *generation:
		r.internal(nil, fmt.Errorf("values of expansion %s: %w", o.name(), err))
	case *keptValues:
		r.internal(nil, fmt.Errorf("values kept for the run: %w", err))
	default:
		r.internal(nil, err)
	}
}

// internal records a bug in ebb (a failed release, a broken invariant, an
// illegal move): it fails the run, or joins the run's error when it
// already failed, so that no such error is lost.
func (r *run) internal(n *rnode, err error) {
	err = fmt.Errorf("%w: %w", ErrInternal, err)
	if r.err == nil {
		r.fail(n, TypeInternal, err)
		return
	}
	if n != nil {
		err = fmt.Errorf("node %s (%s): %w", n.id, n.def.Class, err)
	}
	r.more = append(r.more, err)
}

// limitCause returns the limit that ended the run's context, if one did.
func (r *run) limitCause() *LimitError {
	var le *LimitError
	if r.ctx.Err() != nil && errors.As(context.Cause(r.ctx), &le) {
		return le
	}
	return nil
}

// executed records that n ran, keeping the last r.keep ids.
func (r *run) executed(n *rnode) {
	r.res.Stats.Executions++
	ex := r.res.Executed
	if len(ex) < r.keep {
		r.res.Executed = append(ex, n.id)
		return
	}
	ex[r.execHead] = n.id
	r.execHead = (r.execHead + 1) % len(ex)
}

// fail records the first error of the run.
func (r *run) fail(n *rnode, typ string, err error) {
	if r.err != nil {
		return
	}
	if le := r.limitCause(); le != nil && (errors.Is(err, ErrInterrupted) || errors.Is(err, context.DeadlineExceeded)) {
		err = fmt.Errorf("%w (stopped: %v)", le, err) // the timeout, not an interruption
	}
	var re *RestrictError
	var le *LimitError
	switch {
	case errors.Is(err, ErrInternal):
		typ = TypeInternal
	case errors.As(err, &le):
		typ = TypeLimit
	case errors.As(err, &re):
		typ = TypeRestricted
	case errors.Is(err, ErrInterrupted) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		typ = TypeInterrupted
	case isOOM(err):
		typ = TypeOutOfMemory
	case errors.Is(err, ErrPanic):
		typ = TypePanic
	}
	if n == nil {
		r.err = err
		return
	}
	r.err = r.nodeError(n, typ, err)
}

// nodeError wraps err with n's context once: the real node and its class,
// and, for an expanded node, its own id and class.
func (r *run) nodeError(n *rnode, typ string, err error) error {
	var ne *NodeError
	if errors.As(err, &ne) {
		return err
	}
	ne = &NodeError{Node: n.realID(), ID: n.id, Class: n.def.Class, Type: typ, Err: err}
	if n.info != nil {
		ne.IDClass = n.def.Class
		if d, ok := r.v.def(n.info.real); ok {
			ne.Class = d.Class
		}
	}
	return ne
}
