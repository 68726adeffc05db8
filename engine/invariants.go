// invariants.go: the kernel's invariants, checked after every step in tests and with EBB_DEBUG=1.

package engine

import (
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/ebbgraph/ebb/lifetime"
	"github.com/ebbgraph/ebb/policy"
)

// debugChecks overrides invariantChecks when set (tests of benchmarks).
var debugChecks *bool

// invariantChecks says whether runs check their invariants after every
// step: EBB_DEBUG=1 turns it on, EBB_DEBUG=0 off; otherwise it is on in
// test binaries and off in production builds.
func invariantChecks() bool {
	if debugChecks != nil {
		return *debugChecks
	}
	switch os.Getenv("EBB_DEBUG") {
	case "1":
		return true
	case "0":
		return false
	}
	return testing.Testing()
}

// errInvariant is wrapped by every broken invariant.
var errInvariant = errors.New("broken invariant")

// checkStep checks the invariants after one step of the run goroutine (a
// node's return with its expansion, lazy request and releases, a
// resolution, the first drain), while the run has not failed.
//
// A check costs time in proportion to the nodes the run knows, so runs of
// more than checkFree nodes are checked every (nodes/checkFree)-th step:
// checking then costs about checkFree node visits per step, and small runs
// (every property test) are checked at every step.
func (r *run) checkStep() {
	if !r.checks || r.err != nil {
		return
	}
	r.steps++
	if r.steps < r.nextCheck {
		return
	}
	if err := r.checkInvariants(); err != nil {
		r.internal(nil, fmt.Errorf("%w after step %d: %w", errInvariant, r.steps, err))
	}
	r.nextCheck = r.steps + max(1, (len(r.nodes)+len(r.orig))/checkFree)
}

// checkFree is how many nodes a run may know and still be checked after
// every step.
const checkFree = 128

// checkInvariants checks the numbered invariants of docs/scheduler.md.
// It costs time proportional to the nodes, bindings and slots the run
// holds.
func (r *run) checkInvariants() error {
	c := &r.chk
	if c.holds == nil {
		c.holds, c.waiting = map[*rnode]int32{}, map[*rnode]int32{}
	}
	clear(c.uses)
	clear(c.holds)
	clear(c.waiting)
	use := func(s lifetime.SlotID) *slotUse {
		if int(s) >= len(c.uses) {
			c.uses = append(c.uses, make([]slotUse, int(s)+1-len(c.uses))...)
		}
		return &c.uses[s]
	}
	holds, waiting := c.holds, c.waiting
	pending, running := 0, 0
	var err error
	bad := func(n int, format string, args ...any) {
		if err == nil {
			err = fmt.Errorf("invariant %d: %s", n, fmt.Sprintf(format, args...))
		}
	}
	r.eachNode(func(n *rnode) {
		if n.state >= numStates {
			bad(1, "node %s has state %d", n.id, n.state)
		}
		if n.state.active() {
			pending++
		}
		if n.state == stRunning {
			running++
		}
		for _, s := range n.slots {
			if s != noSlot {
				use(s).owners++
			}
		}
		if n.ext != nil && n.ext.sub != nil && n.ext.sub.slot != noSlot {
			use(n.ext.sub.slot).owners++
		}
		if n.ext != nil {
			for _, c := range n.ext.in {
				if c != nil {
					holds[n]++
				}
			}
		}
		if n.pinHeld {
			holds[n]++
		}
		waits := 0
		for i := range n.ins {
			b := &n.ins[i]
			if b.named != nil {
				holds[b.named]++
			}
			if b.counted {
				holds[b.src]++
				use(b.src.slot(b.out)).readers++
			}
			if b.wait {
				waits++
				waiting[b.src]++
				if !b.counted || b.src.state.produced() {
					bad(4, "node %s waits on %s, which is %s", n.id, b.src.id, b.src.state)
				}
			}
			if n.state == stRunning && b.counted && !b.lazy && !b.result && r.tr.State(b.src.slot(b.out)) != lifetime.Live {
				bad(5, "running node %s reads output %d of %s, which is not live", n.id, b.out, b.src.id)
			}
		}
		if int(n.blockers) != waits {
			bad(4, "node %s (%s) has %d blockers and %d waiting bindings", n.id, n.state, n.blockers, waits)
		}
		if (n.state == stReady || n.state == stRunning) && n.blockers != 0 {
			bad(4, "node %s is %s with %d blockers", n.id, n.state, n.blockers)
		}
		if (n.state == stIdle) && n.ins != nil {
			bad(1, "idle node %s has bindings", n.id)
		}
		if n.state == stPotential && n.nbind == 0 {
			bad(1, "potential node %s is held by nothing", n.id)
		}
	})
	if e := r.checkCells(); e != nil && err == nil {
		err = e
	}
	for g := range r.gens {
		if g.slot != noSlot {
			use(g.slot).owners++
		}
	}
	if r.kept != nil {
		for _, s := range r.kept.slots {
			use(s).owners++
		}
	}
	r.eachNode(func(n *rnode) {
		if got := holds[n]; got != n.nbind {
			bad(6, "node %s has %d holds counted, %d found", n.id, n.nbind, got)
		}
		if got := waiting[n]; int(got) != len(n.waiters) {
			bad(4, "node %s has %d waiters and %d bindings wait on it", n.id, len(n.waiters), got)
		}
	})
	if pending != r.pending {
		bad(1, "%d nodes are active, the run counts %d", pending, r.pending)
	}
	if running != r.running {
		bad(1, "%d nodes are running, the run counts %d", running, r.running)
	}
	for s, info := range r.tr.Slots() {
		u := use(s)
		u.inTracker = true
		if u.owners != 1 {
			bad(2, "slot %d (owner %s) is referenced by %d owners", s, ownerName(info.Owner), u.owners)
			continue
		}
		if u.readers != info.Readers {
			bad(3, "slot %d of %s counts %d readers, %d bindings read it", s, ownerName(info.Owner), info.Readers, u.readers)
		}
		if r.pol.Level == policy.ReleaseDead && info.State == lifetime.Live && info.Readers == 0 && info.Pins == 0 {
			bad(3, "slot %d of %s is live with no reader and no pin", s, ownerName(info.Owner))
		}
	}
	for s := range c.uses {
		if u := &c.uses[s]; (u.owners > 0 || u.readers > 0) && !u.inTracker {
			bad(2, "slot %d is referenced but not in the tracker", s)
		}
	}
	return err
}

// checkCells checks the forwarding cells: every cell a forwarded output
// leads to reaches a root that is a literal or registered at its node's
// slot, and each cell counts exactly the outputs and cells that lead to it.
func (r *run) checkCells() error {
	refs := map[*fwdCell]int32{}
	var todo []*fwdCell
	visit := func(c *fwdCell) {
		if _, seen := refs[c]; !seen {
			todo = append(todo, c)
		}
		refs[c]++
	}
	var err error
	r.eachNode(func(n *rnode) {
		if n.ext == nil {
			return
		}
		for _, item := range n.ext.fwd {
			if c, ok := item.(*fwdCell); ok {
				visit(c)
			}
		}
		for out, c := range n.ext.in {
			if c != nil && (c.node != n || c.out != out || c.parent != nil) && err == nil {
				err = fmt.Errorf("invariant 6: node %s registers a cell of output %d that is not its root", n.id, out)
			}
			if c != nil {
				if _, seen := refs[c]; !seen {
					refs[c] = 0
					todo = append(todo, c)
				}
			}
		}
	})
	for len(todo) > 0 {
		c := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		switch {
		case c.parent != nil:
			visit(c.parent)
		case c.node != nil:
			if x := c.node.ext; (x == nil || c.out >= len(x.in) || x.in[c.out] != c) && err == nil {
				err = fmt.Errorf("invariant 6: a forwarded output leads to output %d of %s, which does not register it", c.out, c.node.id)
			}
			if !r.known(c.node) && err == nil {
				err = fmt.Errorf("invariant 6: a forwarded output leads to %s, which the run no longer knows", c.node.id)
			}
		}
	}
	for c, n := range refs {
		if n != c.refs && err == nil {
			err = fmt.Errorf("invariant 6: a forwarding cell counts %d references, %d found", c.refs, n)
		}
	}
	return err
}

// known reports whether the run knows n (it was not collected).
func (r *run) known(n *rnode) bool {
	if !n.eph() {
		return true
	}
	return r.nodes[n.id] == n
}

// checkScratch is checkInvariants' memory, kept between checks.
type checkScratch struct {
	uses    []slotUse // by slot id
	holds   map[*rnode]int32
	waiting map[*rnode]int32 // waiting bindings per producer
}

type slotUse struct {
	owners    int // references from an owner (a node's slots, a generation, an awaiting node)
	readers   int // counted bindings
	inTracker bool
}

func ownerName(o any) string {
	switch o := o.(type) {
	case *rnode:
		return "node " + string(o.id)
	case *generation:
		return "expansion of " + o.name()
	case *keptValues:
		return "values kept for the run"
	}
	return fmt.Sprintf("%T", o)
}
