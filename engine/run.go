package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/ebbgraph/ebb/lifetime"
	"github.com/ebbgraph/ebb/policy"
)

type nstate uint8

const (
	stIdle    nstate = iota // known, not scheduled
	stPending               // scheduled: binding inputs or waiting for producers
	stReady                 // on the ready stack
	stRunning               // a worker has it
	stDone                  // outputs produced (or forwarded, or cached)
)

// rnode is the run-time state of one node. Owned by the run goroutine.
type rnode struct {
	id         NodeID
	info       *ephDef // an ephemeral node's origin; nil for original nodes
	def        *Node
	typ        *NodeType
	ext        *rnodeExt // rarely used state, allocated on first use
	centry     *centry
	waiters    []*rnode
	ins        []binding
	slots      []lifetime.SlotID
	waitBuf    [1]*rnode
	slotBuf    [2]lifetime.SlotID
	blockers   int32
	nbind      int32 // bindings from pending nodes to this node's slots
	pinCount   int32 // expanders pinning this node
	execs      int32
	mark       uint32
	vi         int32 // validation index of an original node, else -1
	state      nstate
	eph        bool
	queued     bool // on the scheduling worklist
	pinnedOut  bool // output node or target
	finished   bool // counted as finished in gen
	upPinned   bool // its upstream is pinned (an expander under restrict or auto)
	potential  bool // idle, but bound: a lazy or pinned reader may still need it
	pinHeld    bool // held (and potential) because it is pinned while idle
	keepPinned bool // outputs pinned for the run (NotReexecutable)
}

// rnodeExt is the state only lazy, expanding, forwarded or pinned nodes
// use; kept apart so the common node stays small.
type rnodeExt struct {
	requested   map[string]bool // lazy inputs asked for
	lazyBinders []*rnode        // bindings to n that do not block: forward must find them
	fwd         []any           // forwarded outputs: Ref or literal, per slot
	pins        []*rnode        // nodes this pending expander pins
	pinFwd      []*rnode        // nodes pinned on this forwarded node's behalf
	fwdHeld     []*rnode        // nodes this forwarded node's outputs come from (held)
	fwdFrom     []*rnode        // forwarded nodes whose outputs come from this node
	fwdLits     []any           // forwarded literal outputs holding device values
	sub         *subgraphWait   // an expanded node waiting for its subgraph
}

// realID is the original node n stands for (n itself when original).
func (n *rnode) realID() NodeID {
	if n.info == nil {
		return n.id
	}
	return n.info.real
}

// displayID is the node n is shown as (n itself when original).
func (n *rnode) displayID() NodeID {
	if n.info == nil {
		return n.id
	}
	return n.info.display
}

// gen is the expansion that made n; nil for original nodes.
func (n *rnode) gen() *generation {
	if n.info == nil {
		return nil
	}
	return n.info.gen
}

// x returns n's extension, allocating it.
func (n *rnode) x() *rnodeExt {
	if n.ext == nil {
		n.ext = &rnodeExt{}
	}
	return n.ext
}

// fwded returns n's forwarded outputs (Ref or literal, per slot); nil
// unless n forwards to its subgraph.
func (n *rnode) fwded() []any {
	if n.ext == nil {
		return nil
	}
	return n.ext.fwd
}

func (n *rnode) fwdHeldList() []*rnode {
	if n.ext == nil {
		return nil
	}
	return n.ext.fwdHeld
}

// binding is one input of a pending node: a literal or a producer slot.
type binding struct {
	name  string
	lit   any
	ref   Ref // the link as written, delivered to RawLink inputs
	src   *rnode
	named *rnode // the node a RawLink names, held while the consumer is pending
	out   int

	lazy    bool // declared lazy and not requested yet
	raw     bool
	litHeld bool // lit holds device values (a forwarded literal result)
	counted bool // holds a reader count on src's slot
	result  bool // an expansion result link (wait mode)
}

func (n *rnode) slot(out int) lifetime.SlotID { return n.slots[out] }

type run struct {
	ctx   context.Context
	e     *Engine
	pol   policy.Policy
	em    *emitter
	res   *RunResult
	tr    *lifetime.Tracker
	trace lifetime.Trace

	v       *validated         // the original nodes
	orig    []rnode            // state of the reachable original nodes, by validation index
	eph     map[NodeID]*ephDef // written by the run goroutine under ephMu
	ephMu   sync.RWMutex
	nodes   map[NodeID]*rnode
	targets map[NodeID]bool

	ready      []*rnode
	work       []*rnode
	pending    int // scheduled nodes not done
	running    int
	par        int
	doneCh     chan *callJob
	jobs       chan *callJob
	err        error
	errNode    *rnode
	markGen    uint32
	sigs       map[NodeID]sigMemo
	outputs    []NodeID
	timelineOn bool
	spare      *callJob             // a finished job to reuse
	drainPins  []lifetime.SlotID    // cache hits' slots, pinned until the worklist is empty
	gens       map[*generation]bool // generations holding literal values
	gen        int
	cachedAt   []NodeID
}

type ephDef struct {
	def                   *Node
	parent, real, display NodeID
	gen                   *generation
}

// generation is the set of nodes one expansion added. Its definitions are
// dropped together once every member the run knows is finished (done or
// never run, with no pending reader and no pin), so a def-walk from any
// pending member (a loop close exploring its body) still finds its
// siblings, and finished loop iterations cost no memory.
type generation struct {
	ids        []NodeID
	unfinished int
	held       []any         // device values in the new nodes' literals, held while the generation lives
	refs       int           // living generations whose definitions link into this one
	deps       []*generation // generations this one's definitions link into
	dropped    bool
}

func newRun(ctx context.Context, e *Engine, v *validated, targets []NodeID, pol policy.Policy, em *emitter, res *RunResult) *run {
	r := &run{
		ctx: ctx, e: e, pol: pol, em: em, res: res,
		v:       v,
		orig:    make([]rnode, len(v.vnodes)),
		eph:     map[NodeID]*ephDef{},
		nodes:   map[NodeID]*rnode{},
		par:     e.opts.parallelism(),
		sigs:    map[NodeID]sigMemo{},
		outputs: v.outputs,
	}
	r.tr = lifetime.NewTracker(pol.Level, e.refs)
	r.tr.Grow(len(v.vnodes))
	r.trace.Grow(len(v.vnodes))
	res.Executed = make([]NodeID, 0, len(v.vnodes))
	r.tr.OnRelease = r.onRelease
	if targets != nil {
		r.targets = map[NodeID]bool{}
		for _, t := range targets {
			r.targets[t] = true
		}
	}
	r.gen = e.cache.beginRun()
	return r
}

// lookup returns the definition of id as the run sees it, and where an
// ephemeral node came from (nil for an original node).
func (r *run) lookup(id NodeID) (def *Node, info *ephDef, ok bool) {
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
		n := &r.orig[i]
		if n.typ == nil {
			r.initOrig(i)
		}
		return n, nil
	}
	if n, ok := r.nodes[id]; ok {
		return n, nil
	}
	def, info, ok := r.lookup(id)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrMissingNode, id)
	}
	if info != nil {
		info.gen.unfinished++
	}
	t, ok := r.e.reg.Lookup(def.Class)
	if !ok {
		return nil, fmt.Errorf("%w: %q (node %s)", ErrUnknownClass, def.Class, id)
	}
	n := &rnode{}
	r.initNode(n, id, def, t, info)
	r.nodes[id] = n
	return n, nil
}

// orig returns the state of original node i, initializing it on first use.
func (r *run) origNode(i int32) *rnode {
	n := &r.orig[i]
	if n.typ == nil {
		r.initOrig(i)
	}
	return n
}

func (r *run) initOrig(i int32) {
	vn := &r.v.vnodes[i]
	r.initNode(&r.orig[i], vn.id, vn.out, vn.typ, nil)
	r.orig[i].vi = i
}

func (r *run) initNode(n *rnode, id NodeID, def *Node, t *NodeType, info *ephDef) {
	*n = rnode{id: id, def: def, typ: t, info: info, eph: info != nil, vi: -1}
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
			r.tr.Pin(s)
		}
	}
}

// schedule marks n to run (idle -> pending) and queues it for binding.
func (r *run) schedule(n *rnode) {
	if n.state != stIdle {
		return
	}
	n.state = stPending
	r.pending++
	n.queued = true
	r.work = append(r.work, n)
}

// drain binds every queued node: cache hits complete at once, others bind
// their inputs (which may queue producers) and become ready when nothing
// blocks them. Iterative, so chains of any length are fine.
func (r *run) drain() {
	for len(r.work) > 0 && r.err == nil {
		n := r.work[len(r.work)-1]
		r.work = r.work[:len(r.work)-1]
		n.queued = false
		if n.state != stPending {
			continue
		}
		if r.cacheHit(n) {
			continue
		}
		if err := r.activate(n); err != nil {
			r.fail(n, TypeExecution, err)
			return
		}
		r.readyIfFree(n)
	}
	if len(r.work) == 0 && len(r.drainPins) > 0 {
		pins := r.drainPins
		r.drainPins = nil
		for _, s := range pins {
			r.tr.Unpin(s)
		}
	}
}

func (r *run) readyIfFree(n *rnode) {
	if n.state == stPending && n.blockers == 0 && !n.queued {
		n.state = stReady
		r.ready = append(r.ready, n)
	}
}

// activate binds n's inputs, counting readers and blockers, and pins the
// upstream of expanders under restrict and auto.
func (r *run) activate(n *rnode) error {
	if n.potential {
		return r.promote(n)
	}
	return r.bindInputs(n)
}

// bindInputs binds n's inputs (see activate; a potential node's bindings
// do not block or schedule).
func (r *run) bindInputs(n *rnode) error {
	n.ins = make([]binding, 0, len(n.def.Inputs))
	for name, v := range n.def.Inputs {
		n.ins = append(n.ins, binding{name: name, lit: v})
	}
	sortBindings(n.ins)
	var links []vlink // validated links of an original node, sorted like ins
	if n.vi >= 0 {
		links = r.v.vnodes[n.vi].links
	}
	sch := &n.typ.Schema
	k := 0
	for i := range n.ins {
		b := n.ins[i]
		v := b.lit
		b.lit = nil
		spec, declared := sch.Input(b.name)
		if declared {
			b.raw = spec.RawLink
			b.lazy = spec.Lazy && (n.ext == nil || !n.ext.requested[b.name])
		}
		ref, isLink := v.(Ref)
		if !isLink {
			if !declared {
				continue // undeclared literals are not delivered (ComfyUI)
			}
			b.raw = false // a RawLink input given a literal gets the literal
			if l, ok := v.(Literal); ok {
				v = l.Value
			}
			b.lit, b.lazy = v, false
			n.ins[k] = b
			k++
			continue
		}
		hint := int32(-1)
		for len(links) > 0 && links[0].input < b.name {
			links = links[1:]
		}
		if len(links) > 0 && links[0].input == b.name && links[0].ref == ref {
			hint = links[0].to
		}
		n.ins[k] = b
		if err := r.bindLinkHint(n, &n.ins[k], ref, hint); err != nil {
			n.ins = n.ins[:k+1]
			return fmt.Errorf("input %q: %w", b.name, err)
		}
		k++
	}
	n.ins = n.ins[:k]
	r.pinIfExpander(n)
	return nil
}

// pinIfExpander pins the upstream of an expander (pending or potential)
// under restrict and auto, once.
func (r *run) pinIfExpander(n *rnode) {
	if !n.upPinned && r.pol.Strategy.Pins() && isExpander(n.typ) {
		n.upPinned = true
		r.pinUpstream(n)
	}
}

// makePotential binds an idle node's inputs without scheduling it: a lazy
// reader (or a pin) may still need it, so what it would read counts as
// read. Without this, a lazy request could meet an input released while
// nothing counted it: a late edge in a static graph.
func (r *run) makePotential(p *rnode) {
	if p.potential || p.state != stIdle || p.ins != nil || p.fwded() != nil {
		return
	}
	p.potential = true
	if err := r.bindInputs(p); err != nil {
		r.fail(p, TypeExecution, err)
	}
}

// promote turns a potential node that is now scheduled into a pending one:
// its bindings start blocking.
func (r *run) promote(n *rnode) error {
	n.potential = false
	for i := range n.ins {
		b := &n.ins[i]
		if !b.counted || b.lazy {
			continue
		}
		if err := r.need(n, b.src, b.out); err != nil {
			return fmt.Errorf("input %q: %w", b.name, err)
		}
	}
	r.pinIfExpander(n)
	return nil
}

// unhold drops one binding from a pending node to p.
func (r *run) unhold(p *rnode) {
	p.nbind--
	if p.potential && p.state == stIdle && p.nbind == 0 {
		p.potential = false
		ins := p.ins
		p.ins = nil
		if p.ext != nil {
			p.ext.lazyBinders = nil
		}
		r.unbindList(ins)
		p.upPinned = false
		r.unpin(p)
	}
	r.maybeCollect(p)
}

// sortBindings sorts by name: insertion sort, as nodes have few inputs.
func sortBindings(bs []binding) {
	for i := 1; i < len(bs); i++ {
		for j := i; j > 0 && bs[j].name < bs[j-1].name; j-- {
			bs[j], bs[j-1] = bs[j-1], bs[j]
		}
	}
}

// bindLink points b at ref (following forwarded expanders), counts a reader
// and, unless b is lazy, makes n wait for the producer.
func (r *run) bindLink(n *rnode, b *binding, ref Ref) error {
	return r.bindLinkHint(n, b, ref, -1)
}

// bindLinkHint is bindLink with the producer's validation index when known
// (>= 0), which saves a map lookup per link.
func (r *run) bindLinkHint(n *rnode, b *binding, ref Ref, hint int32) error {
	if b.raw {
		return r.bindRaw(n, b, ref)
	}
	var p *rnode
	var out int
	var lit any
	var isLit bool
	var err error
	if hint >= 0 {
		if p = r.origNode(hint); p.fwded() != nil || ref.Out < 0 || ref.Out >= len(p.typ.Schema.Outputs) {
			p = nil
		}
		out = ref.Out
	}
	if p == nil {
		p, out, lit, isLit, err = r.resolve(ref)
	}
	if err != nil {
		return err
	}
	if isLit {
		b.src, b.lit, b.lazy = nil, lit, false
		return nil
	}
	b.src, b.out, b.counted = p, out, true
	r.tr.AddReader(p.slot(out))
	r.hold(p)
	if b.lazy || n.potential { // a binding that does not block: forward must find it
		p.x().lazyBinders = append(p.x().lazyBinders, n)
	}
	if b.lazy || n.potential {
		if p.state == stIdle {
			r.makePotential(p)
		}
		return nil
	}
	return r.need(n, p, out)
}

// bindRaw binds a RawLink input: the node gets the Ref as written, but
// waits for (and holds) the output it names, following forwarded
// expanders, since a node with a raw link usually hands it to an
// expansion (ComfyUI's rawLink).
func (r *run) bindRaw(n *rnode, b *binding, ref Ref) error {
	b.ref = ref
	p, out, _, isLit, err := r.resolve(ref)
	if err != nil {
		return err
	}
	if b.named == nil {
		if named, err := r.node(ref.Node); err == nil {
			b.named = named
			r.hold(named)
		}
	}
	if isLit {
		b.src, b.lit = nil, ref
		return nil
	}
	b.src, b.out, b.counted = p, out, true
	r.tr.AddReader(p.slot(out))
	r.hold(p)
	if n.potential {
		p.x().lazyBinders = append(p.x().lazyBinders, n)
		if p.state == stIdle {
			r.makePotential(p)
		}
		return nil
	}
	return r.need(n, p, out)
}

// resolve maps a link to its producer, following forwarded expanders.
func (r *run) resolve(ref Ref) (p *rnode, out int, lit any, isLit bool, err error) {
	for {
		p, err = r.node(ref.Node)
		if err != nil {
			if _, _, ok := r.lookup(ref.Node); !ok && r.wasEphemeral(ref.Node) {
				err = fmt.Errorf("%w: %q", ErrCollected, ref.Node)
			}
			return nil, 0, nil, false, err
		}
		if nout := len(p.typ.Schema.Outputs); ref.Out < 0 || ref.Out >= nout {
			return nil, 0, nil, false, fmt.Errorf("%w: [%q, %d] (class %s has %d outputs)", ErrBadOutput, ref.Node, ref.Out, p.def.Class, nout)
		}
		if p.fwded() == nil {
			return p, ref.Out, nil, false, nil
		}
		switch item := p.fwded()[ref.Out].(type) {
		case Ref:
			ref = item
		default:
			return nil, 0, item, true, nil
		}
	}
}

// wasEphemeral reports whether id looks like an expansion id (it has a dot
// and is not in the workflow); used only to word an error.
func (r *run) wasEphemeral(id NodeID) bool { return slices.Contains([]byte(id), '.') }

// need makes n wait for slot out of p: it schedules p when idle and, for a
// released slot (a late edge), re-executes p. It returns nil when n does
// not need to wait, having counted a blocker otherwise.
func (r *run) need(n, p *rnode, out int) error {
	if p.state == stDone {
		switch r.tr.State(p.slot(out)) {
		case lifetime.Live:
			return nil
		case lifetime.Released:
			if err := r.reexecute(p, out, n); err != nil {
				return err
			}
		default:
			return fmt.Errorf("engine: node %s completed without output %d", p.id, out)
		}
	}
	if p.state == stIdle {
		r.schedule(p)
	}
	n.blockers++
	p.waiters = append(p.waiters, n)
	return nil
}

// reexecute runs p again because n needs its released slot out.
func (r *run) reexecute(p *rnode, out int, n *rnode) error {
	if !r.pol.Strategy.Reexecutes() {
		return &lifetime.RestrictError{Expander: string(n.realID()), Target: string(p.id)}
	}
	for _, s := range p.slots {
		r.tr.Reset(s)
	}
	p.state = stIdle
	if p.ext != nil {
		p.ext.requested = nil
	}
	r.res.Stats.Reexecutions++
	r.res.Stats.Reexecuted = append(r.res.Stats.Reexecuted, Reexecution{Node: p.id, Slot: out, Cause: n.id})
	r.em.emit(Event{Type: EventReexecuted, Node: p.id, Display: p.displayID(), Real: p.realID(), Class: p.def.Class, Slot: out, Cause: n.id})
	r.schedule(p)
	return nil
}

// unbind drops n's reader counts (n completed).
func (r *run) unbind(n *rnode) {
	r.unbindList(n.ins)
	n.ins = nil
	if n.ext != nil {
		n.ext.lazyBinders = nil
	}
}

func (r *run) unbindList(ins []binding) {
	for i := range ins {
		b := &ins[i]
		if b.litHeld {
			b.litHeld = false
			if err := r.e.refs.Drop(b.lit); err != nil {
				r.fail(nil, TypeExecution, err)
			}
		}
		if p := b.named; p != nil {
			b.named = nil
			r.unhold(p)
		}
		if !b.counted {
			continue
		}
		b.counted = false
		p := b.src
		r.tr.DoneReader(p.slot(b.out))
		r.unhold(p)
	}
}

// wake decrements the blockers of n's waiters.
func (r *run) wake(n *rnode) {
	ws := n.waiters
	n.waiters = nil
	for _, w := range ws {
		w.blockers--
		r.readyIfFree(w)
	}
}

// hold records one more binding from a pending node to p.
func (r *run) hold(p *rnode) {
	p.nbind++
	if p.finished {
		p.finished = false
		p.gen().unfinished++
	}
}

// maybeCollect marks a finished ephemeral node and drops its generation
// once all of it is finished.
func (r *run) maybeCollect(n *rnode) {
	if !n.eph || n.finished || (n.state != stDone && n.state != stIdle) || n.nbind > 0 || len(n.waiters) > 0 || (n.ext != nil && len(n.ext.pins) > 0) || n.pinCount > 0 {
		return
	}
	for _, s := range n.slots {
		if r.tr.State(s) == lifetime.Live || r.tr.Pinned(s) {
			return
		}
	}
	n.finished = true
	n.gen().unfinished--
	r.maybeDropGen(n.gen())
}

// dropGen forgets every node of a finished generation.
// maybeDropGen drops g once all of it is finished and no living
// generation's definitions link into it (a re-execution's lineage may walk
// there).
func (r *run) maybeDropGen(g *generation) {
	if !g.dropped && g.unfinished == 0 && g.refs == 0 {
		r.dropGen(g)
	}
}

func (r *run) dropGen(g *generation) {
	g.dropped = true
	defer func() {
		deps := g.deps
		g.deps = nil
		for _, d := range deps {
			d.refs--
			r.maybeDropGen(d)
		}
	}()
	r.ephMu.Lock()
	for _, id := range g.ids {
		if d := r.eph[id]; d != nil && d.gen == g {
			delete(r.eph, id)
		}
	}
	r.ephMu.Unlock()
	for _, id := range g.ids {
		n, ok := r.nodes[id]
		if !ok || n.gen() != g {
			continue
		}
		for _, t := range slices.Clone(n.fwdHeldList()) {
			r.releaseFwd(n, t)
		}
		r.dropFwdLits(n)
		for _, s := range n.slots {
			r.tr.Discard(s)
		}
		n.slots = nil
		delete(r.nodes, id)
		delete(r.sigs, id)
	}
	g.ids = nil
	r.releaseGen(g)
}

// dropFwdLits lets go of the device values n forwarded as literals.
func (r *run) dropFwdLits(n *rnode) {
	if n.ext != nil && n.ext.fwdLits != nil {
		if err := r.e.refs.Drop(n.ext.fwdLits); err != nil {
			r.fail(n, TypeExecution, err)
		}
		n.ext.fwdLits = nil
	}
}

// releaseGen drops the generation's hold on values in its literals.
func (r *run) releaseGen(g *generation) {
	if g.held != nil {
		if err := r.e.refs.Drop(g.held); err != nil {
			r.fail(nil, TypeExecution, err)
		}
		g.held = nil
		delete(r.gens, g)
	}
}

// pinUpstream pins every output of every node n depends on.
func (r *run) pinUpstream(n *rnode) {
	r.eachAncestor(n, func(a *rnode) {
		r.pinNode(a)
		n.x().pins = append(n.x().pins, a)
	})
	if n.ext != nil && len(n.ext.pins) > 0 {
		r.em.emit(Event{Type: EventPinned, Node: n.id, Display: n.displayID(), Real: n.realID(), Class: n.def.Class, Slot: len(n.ext.pins)})
	}
}

func (r *run) unpin(n *rnode) {
	if n.ext == nil {
		return
	}
	pins := n.ext.pins
	n.ext.pins = nil
	for _, a := range pins {
		r.unpinNode(a)
	}
}

// pinNode pins p's outputs (or, for a forwarded node, the nodes its
// outputs now come from) while any expander pins it.
func (r *run) pinNode(p *rnode) {
	p.pinCount++
	if p.pinCount > 1 {
		return
	}
	if p.state == stIdle && p.fwded() == nil {
		p.pinHeld = true // its own inputs count as read while it is pinned
		r.hold(p)
		r.makePotential(p)
	}
	if p.fwded() != nil {
		r.pinForwardTargets(p)
		return
	}
	for _, s := range p.slots {
		r.tr.Pin(s)
	}
}

func (r *run) pinForwardTargets(p *rnode) {
	for _, item := range p.fwded() {
		if ref, ok := item.(Ref); ok {
			if t, _, _, isLit, err := r.resolve(ref); err == nil && !isLit {
				r.pinNode(t)
				p.x().pinFwd = append(p.x().pinFwd, t)
			}
		}
	}
}

func (r *run) unpinNode(p *rnode) {
	p.pinCount--
	if p.pinCount > 0 {
		return
	}
	if p.pinHeld {
		p.pinHeld = false
		defer r.unhold(p)
	}
	if p.fwded() != nil {
		fw := p.x().pinFwd
		p.x().pinFwd = nil
		for _, t := range fw {
			r.unpinNode(t)
		}
	} else {
		for _, s := range p.slots {
			r.tr.Unpin(s)
		}
	}
	r.maybeCollect(p)
}

// eachAncestor calls f once for every node n transitively links to (lazy
// links included), creating idle rnodes as needed.
func (r *run) eachAncestor(n *rnode, f func(*rnode)) {
	r.markGen++
	gen := r.markGen
	n.mark = gen
	stack := []*rnode{n}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, v := range x.def.Inputs {
			ref, ok := v.(Ref)
			if !ok {
				continue
			}
			p, err := r.node(ref.Node)
			if err != nil || p.mark == gen {
				continue
			}
			p.mark = gen
			f(p)
			stack = append(stack, p)
		}
	}
}

func isExpander(t *NodeType) bool {
	_, ok := t.Runner.(MayExpand)
	return ok
}

func isReexecutable(t *NodeType) bool {
	_, no := t.Runner.(NotReexecutable)
	return !no
}

// onRelease is the tracker's callback: a released slot leaves the cache.
func (r *run) onRelease(owner any, out int) {
	n := owner.(*rnode)
	if n.centry != nil {
		r.e.cache.remove(n.centry)
		n.centry = nil
	}
	r.em.emit(Event{Type: EventReleased, Node: n.id, Display: n.displayID(), Real: n.realID(), Class: n.def.Class, Slot: out})
}

// fail records the first error of the run.
func (r *run) fail(n *rnode, typ string, err error) {
	if r.err != nil {
		return
	}
	var re *lifetime.RestrictError
	switch {
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
	r.errNode = n
	r.err = wrapNode(err, n.realID(), n.id, n.def.Class, typ)
}
