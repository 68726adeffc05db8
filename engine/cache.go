// cache.go: the cross-run output cache, keyed by input signature, and how a run hits and fills it.

package engine

import (
	"errors"
	"fmt"

	"github.com/ebbgraph/ebb/lifetime"
)

// cache is the cross-run output cache, keyed by input signature. Entries
// hold their values through the engine's Refs. Owned by the engine; used
// only by the run goroutine of the current run.
type cache struct {
	mode    CacheMode
	refs    *lifetime.Refs
	entries map[sigKey]*centry
	gen     int
	errs    []error
}

type centry struct {
	node NodeID // the node that stored it, for messages
	key  sigKey
	outs [][]any
	ui   map[string][]any
	gen  int
}

func newCache(mode CacheMode, refs *lifetime.Refs) *cache {
	return &cache{mode: mode, refs: refs, entries: map[sigKey]*centry{}}
}

func (c *cache) beginRun() int {
	c.gen++
	return c.gen
}

func (c *cache) enabled() bool { return c.mode.Kind != CacheNone }

func (c *cache) get(k sigKey) *centry {
	e := c.entries[k]
	if e != nil {
		e.gen = c.gen
	}
	return e
}

func (c *cache) put(node NodeID, k sigKey, outs [][]any, ui map[string][]any) *centry {
	if old := c.entries[k]; old != nil {
		c.remove(old)
	}
	e := &centry{node: node, key: k, outs: outs, ui: ui, gen: c.gen}
	for _, vals := range outs {
		c.refs.HoldDead(vals) // the run's slots keep them live while read
	}
	c.entries[k] = e
	return e
}

func (c *cache) remove(e *centry) {
	if c.entries[e.key] != e {
		return
	}
	delete(c.entries, e.key)
	for _, vals := range e.outs {
		if err := c.refs.DropDead(vals); err != nil {
			c.errs = append(c.errs, fmt.Errorf("entry of node %s: %w", e.node, err))
		}
	}
}

// endRun applies the mode's retention: classic keeps this run's entries
// and those of every node of this run's workflow (inWorkflow: a signature
// the run computed), as ComfyUI keeps every node of the current prompt;
// lru:N evicts whole older runs while more than N entries remain.
func (c *cache) endRun(inWorkflow func(sigKey) bool) {
	switch c.mode.Kind {
	case CacheClassic:
		for _, e := range c.entries {
			if e.gen != c.gen && !inWorkflow(e.key) {
				c.remove(e)
			}
		}
	case CacheLRU:
		for len(c.entries) > c.mode.Size {
			oldest := c.gen
			for _, e := range c.entries {
				oldest = min(oldest, e.gen)
			}
			if oldest == c.gen {
				break
			}
			for _, e := range c.entries {
				if e.gen == oldest {
					c.remove(e)
				}
			}
		}
	case CacheNone:
		c.clearErrs()
		for _, e := range c.entries {
			c.remove(e)
		}
	}
}

func (c *cache) clear() error {
	for _, e := range c.entries {
		c.remove(e)
	}
	return c.clearErrs()
}

func (c *cache) clearErrs() error {
	err := errors.Join(c.errs...)
	c.errs = nil
	return err
}

// cacheHit completes n from the cache when its signature is there.
func (r *run) cacheHit(n *rnode) bool {
	if !r.e.cache.enabled() {
		return false
	}
	k, ok := r.nodeSig(n)
	if !ok {
		return false
	}
	e := r.e.cache.get(k)
	if e == nil || len(e.outs) != len(n.slots) {
		return false
	}
	if !r.transition(n, stDone) {
		return true
	}
	if n.ins != nil { // it was bound (potential) for a lazy reader; a cache hit reads nothing
		ins := n.ins
		n.ins = nil
		r.unbindList(ins)
	}
	r.strat.afterComplete(r, n)
	for _, s := range n.slots {
		// Consumers still on the worklist have not counted their reads:
		// hold the slot until the drain ends.
		r.tr.Pin(s)
		r.drainPins = append(r.drainPins, s)
	}
	for i, s := range n.slots {
		r.tr.Produce(s, e.outs[i])
	}
	if r.allLive(n) {
		n.centry = e
	} else {
		r.e.cache.remove(e) // a slot was released at once: the entry is incomplete
	}
	r.res.Stats.CacheHits++
	r.res.Cached = append(r.res.Cached, n.id)
	r.cachedAt = append(r.cachedAt, n.id)
	if e.ui != nil {
		r.res.Outputs[n.id] = e.ui
		ev := n.event(EventExecuted)
		ev.Output = e.ui
		r.em.emit(ev)
	}
	r.wake(n)
	r.maybeCollect(n)
	return true
}

// storeCache keeps n's outputs for later runs, unless n's signature is
// unstable or the cache is off.
func (r *run) storeCache(n *rnode, outs [][]any, ui map[string][]any) {
	if !r.e.cache.enabled() {
		return
	}
	if !r.allLive(n) {
		return // a slot was released as soon as it was produced
	}
	k, ok := r.nodeSig(n)
	if !ok {
		return
	}
	n.centry = r.e.cache.put(n.id, k, outs, ui)
}

func (r *run) allLive(n *rnode) bool {
	for _, s := range n.slots {
		if r.tr.State(s) != lifetime.Live {
			return false
		}
	}
	return true
}
