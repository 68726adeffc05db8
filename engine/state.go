// state.go: a node's lifecycle (one enum, its table of legal moves, one transition function) and the run-time node.

package engine

import (
	"errors"
	"fmt"
	"time"

	"github.com/ebbgraph/ebb/lifetime"
)

// nstate is where a node is in its lifecycle. docs/scheduler.md draws the
// moves; the table below is the only place that allows them.
type nstate uint8

const (
	stIdle      nstate = iota // known, not scheduled, nothing bound
	stPotential               // not scheduled, but its inputs are bound: a lazy or pinned reader may still need it
	stPending                 // scheduled: on the worklist to bind, or waiting for producers
	stReady                   // on the ready stack
	stRunning                 // a worker runs it (its calls or CheckLazy)
	stAwaiting                // expanded with several calls or pinned outputs: waits for its subgraph's results
	stForwarded               // expanded: its consumers read the subgraph's outputs directly
	stDone                    // outputs produced (ran, came from the cache, or its subgraph resolved)
	numStates
)

var stateNames = [numStates]string{"idle", "potential", "pending", "ready", "running", "awaiting", "forwarded", "done"}

func (s nstate) String() string {
	if s < numStates {
		return stateNames[s]
	}
	return fmt.Sprintf("nstate(%d)", uint8(s))
}

// active states count in run.pending: the run is not over while one is.
func (s nstate) active() bool { return s >= stPending && s <= stAwaiting }

// produced states have their outputs (or forward them).
func (s nstate) produced() bool { return s == stForwarded || s == stDone }

func moveSet(to ...nstate) uint16 {
	var m uint16
	for _, s := range to {
		m |= 1 << s
	}
	return m
}

// moves[from] has bit to set when from -> to is legal.
var moves = [numStates]uint16{
	stIdle:      moveSet(stPending, stPotential),                     // scheduled; bound for a lazy or pinned reader
	stPotential: moveSet(stPending, stIdle),                          // scheduled; its last binder went
	stPending:   moveSet(stReady, stDone),                            // nothing blocks it; cache hit
	stReady:     moveSet(stRunning, stDone),                          // dispatched; an awaiting node's results resolved
	stRunning:   moveSet(stPending, stDone, stForwarded, stAwaiting), // lazy inputs asked for; outputs; expansion (forward or wait)
	stAwaiting:  moveSet(stReady),                                    // its subgraph's results are in
	stForwarded: 0,                                                   // final: collected with its generation
	stDone:      moveSet(stIdle),                                     // a late edge re-executes it
}

// errIllegalMove is wrapped by the internal error of a move the table forbids.
var errIllegalMove = errors.New("illegal node state move")

// illegalMove marks a move the table forbids in moveDelta.
const illegalMove int8 = -128

// moveDelta[from][to] is what a legal move adds to run.pending (a node
// entering or leaving the active states), or illegalMove: the moves table
// in the form transition reads with one lookup.
var moveDelta = func() (d [numStates][numStates]int8) {
	for from := range numStates {
		for to := range numStates {
			switch {
			case moves[from]&(1<<to) == 0:
				d[from][to] = illegalMove
			case to.active() && !from.active():
				d[from][to] = 1
			case from.active() && !to.active():
				d[from][to] = -1
			}
		}
	}
	return d
}()

// transition moves n to state to, keeping run.pending. An illegal move
// fails the run with an internal error and leaves n where it was.
func (r *run) transition(n *rnode, to nstate) bool {
	d := moveDelta[n.state%numStates][to%numStates]
	if d == illegalMove {
		r.illegal(n, to)
		return false
	}
	n.state = to
	r.pending += int(d)
	return true
}

// illegal fails the run for a move the table forbids.
func (r *run) illegal(n *rnode, to nstate) {
	r.internal(n, fmt.Errorf("%w: %s -> %s", errIllegalMove, n.state, to))
}

// rnode is the run-time state of one node. Owned by the run goroutine.
// Its lifecycle is state alone; the flags after it are books kept for the
// strategy and for collection, not states.
type rnode struct {
	id       NodeID
	info     *ephDef // an ephemeral node's origin; nil for original nodes
	def      *Node
	typ      *NodeType
	ext      *rnodeExt // rarely used state, allocated on first use
	centry   centryRef // the cache entry it stored or hit
	waiters  []*rnode  // nodes with a waiting binding to this node
	ins      []binding
	slots    []lifetime.SlotID // one per output; noSlot once forwarded elsewhere
	waitBuf  [1]*rnode
	slotBuf  [2]lifetime.SlotID
	blockers int32 // bindings of this node that wait (binding.wait)
	nbind    int32 // holds on this node: bindings, raw names, forwarding cells, its own pin
	pinCount int32 // expanders pinning this node
	execs    int32
	mark     uint32
	vi       int32 // validation index of an original node, else -1
	state    nstate
	// estOut and estWork are the node's Estimate, once estSet.
	estOut, estWork int64
	estTime         time.Duration

	queued     bool // on the scheduling worklist
	pinnedOut  bool // output node or target: outputs pinned for the run
	finished   bool // counted as finished in its generation
	upPinned   bool // strategy: pinned its upstream (a pending expander)
	pinHeld    bool // strategy: held (and potential) because pinned while idle
	keepPinned bool // strategy: outputs pinned for the run (NotReexecutable)
	estSet     bool // estOut and estWork are set
	declared   bool // by its Runner (Estimator), not measured
	simDone    bool // the memory order's simulation ran it (segSim)
	simRead    bool // the simulation read one of its outputs
}

// noSlot marks an output whose slot was discarded (a forwarded Ref or
// plain literal: consumers read elsewhere).
const noSlot lifetime.SlotID = -1

// rnodeExt is the state only lazy, expanding, forwarded or pinned nodes
// use; kept apart so the common node stays small.
type rnodeExt struct {
	requested   map[string]bool // lazy inputs asked for
	lazyBinders []*rnode        // bindings to n that do not wait: forward must find them
	fwd         []any           // forwarded outputs, per slot: *fwdCell, literal, or ownSlot
	in          []*fwdCell      // per slot, the root cell forwarded outputs lead to (it holds n); nil if none
	pins        []*rnode        // nodes this pending expander pins
	pinFwd      []*rnode        // nodes pinned on this forwarded node's behalf
	sub         *subgraphWait   // an awaiting node's expansion results
}

// ownSlot is a forwarded output that is a literal holding device values:
// the forwarding node keeps it in its own slot (Tracker.Keep) and consumers
// read that slot.
type ownSlot struct{}

// binding is one input of a bound node: a literal or a producer slot.
type binding struct {
	name  string
	lit   any
	ref   Ref // the link as written, delivered to RawLink inputs
	src   *rnode
	named *rnode // the node a RawLink names, held while the consumer is bound
	out   int

	lazy    bool // declared lazy and not requested yet
	raw     bool
	counted bool // a reader of src's slot out (and a hold on src)
	wait    bool // counted in the consumer's blockers until src produces
	result  bool // an expansion result link (awaiting)
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

// eph reports whether an expansion made n.
func (n *rnode) eph() bool { return n.info != nil }

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

// fwded returns n's forwarded outputs; nil unless n is forwarded.
func (n *rnode) fwded() []any {
	if n.ext == nil {
		return nil
	}
	return n.ext.fwd
}

func (n *rnode) slot(out int) lifetime.SlotID { return n.slots[out] }

func (n *rnode) hasBinding(name string) bool {
	for i := range n.ins {
		if n.ins[i].name == name {
			return true
		}
	}
	return false
}

// event returns an event of type t about n.
func (n *rnode) event(t EventType) Event {
	return Event{Type: t, Node: n.id, Display: n.displayID(), Real: n.realID(), Class: n.def.Class}
}
