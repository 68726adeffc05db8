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
//
// Entries live in chunks that never move, found through a pointer-free
// index: a loop at level 0 keeps hundreds of thousands of them, and the
// collector neither scans the index nor visits an object per entry.
type cache struct {
	mode   CacheMode
	refs   *lifetime.Refs
	index  map[sigKey]int32 // entry numbers
	chunks [][]centry       // entry i is chunks[i/cacheChunk][i%cacheChunk]
	free   []int32          // numbers of removed entries, for reuse
	used   int32            // numbers handed out so far
	serial uint32           // of the last entry put
	gen    int
	errs   []error
}

// cacheChunk is how many entries a chunk holds.
const cacheChunk = 256

type centry struct {
	key    sigKey
	outs   [][]any
	ui     map[string][]any
	gen    int
	num    int32  // its number
	serial uint32 // unique among the entries a reference may outlive (centryRef)
	live   bool
}

// centryRef is a node's reference to the entry it stored or hit: the
// entry's number plus one (0: none) and its serial, so a reference to an
// entry removed since (its number reused) names nothing.
type centryRef struct {
	num    int32
	serial uint32
}

func newCache(mode CacheMode, refs *lifetime.Refs) *cache {
	return &cache{mode: mode, refs: refs, index: map[sigKey]int32{}}
}

func (c *cache) beginRun() int {
	c.gen++
	return c.gen
}

func (c *cache) enabled() bool { return c.mode.Kind != CacheNone }

func (c *cache) at(i int32) *centry { return &c.chunks[i/cacheChunk][i%cacheChunk] }

// len is the number of entries.
func (c *cache) len() int { return len(c.index) }

// each calls f for every entry; f may remove it.
func (c *cache) each(f func(*centry)) {
	for _, i := range c.index {
		f(c.at(i))
	}
}

func (c *cache) get(k sigKey) *centry {
	i, ok := c.index[k]
	if !ok {
		return nil
	}
	e := c.at(i)
	e.gen = c.gen
	return e
}

// ref returns a reference to e.
func (c *cache) ref(e *centry) centryRef { return centryRef{num: e.num + 1, serial: e.serial} }

// deref returns the entry r names, or nil when it is gone.
func (c *cache) deref(r centryRef) *centry {
	if r.num == 0 {
		return nil
	}
	if r.num > c.used {
		return nil // the chunks were given back since
	}
	e := c.at(r.num - 1)
	if !e.live || e.serial != r.serial {
		return nil
	}
	return e
}

func (c *cache) put(k sigKey, outs [][]any, ui map[string][]any) *centry {
	if old := c.get(k); old != nil {
		c.remove(old)
	}
	i := c.number()
	if c.serial++; c.serial == 0 {
		c.serial = 1
	}
	e := c.at(i)
	*e = centry{key: k, outs: outs, ui: ui, gen: c.gen, num: i, serial: c.serial, live: true}
	for _, vals := range outs {
		for _, v := range vals { // element by element: boxing vals would allocate
			c.refs.HoldDead(v) // the run's slots keep them live while read
		}
	}
	c.index[k] = i
	return e
}

// number returns a free entry number, adding a chunk when none is left.
func (c *cache) number() int32 {
	if n := len(c.free); n > 0 {
		i := c.free[n-1]
		c.free = c.free[:n-1]
		return i
	}
	if int(c.used) == len(c.chunks)*cacheChunk {
		c.chunks = append(c.chunks, make([]centry, cacheChunk))
	}
	c.used++
	return c.used - 1
}

func (c *cache) remove(e *centry) {
	if !e.live {
		return
	}
	delete(c.index, e.key)
	for _, vals := range e.outs {
		for _, v := range vals { // as put holds them
			if err := c.refs.DropDead(v); err != nil {
				c.errs = append(c.errs, fmt.Errorf("entry %x: %w", e.key[:6], err))
			}
		}
	}
	*e = centry{num: e.num}
	c.free = append(c.free, e.num)
}

// endRun applies the mode's retention: classic keeps this run's entries
// and those of every node of this run's workflow (inWorkflow: a signature
// the run computed), as ComfyUI keeps every node of the current prompt;
// lru:N evicts whole older runs while more than N entries remain.
func (c *cache) endRun(inWorkflow func(sigKey) bool) {
	switch c.mode.Kind {
	case CacheClassic:
		c.each(func(e *centry) {
			if e.gen != c.gen && !inWorkflow(e.key) {
				c.remove(e)
			}
		})
	case CacheLRU:
		for c.len() > c.mode.Size {
			oldest := c.gen
			c.each(func(e *centry) { oldest = min(oldest, e.gen) })
			if oldest == c.gen {
				break
			}
			c.each(func(e *centry) {
				if e.gen == oldest {
					c.remove(e)
				}
			})
		}
	case CacheNone:
		c.clearErrs()
		c.each(c.remove)
	}
	c.compact()
}

// compact moves the entries into as few chunks as they need once they
// fill under a quarter of the chunks (an empty cache keeps one), so a big
// run's chunks do not stay after its entries have gone. Only between runs:
// a node's centryRef does not follow the move.
func (c *cache) compact() {
	if len(c.index) == 0 { // keep one chunk: the next run fills it again
		c.chunks, c.free, c.used = c.chunks[:min(1, len(c.chunks))], c.free[:0], 0
		return
	}
	if len(c.chunks) <= 1 || 4*len(c.index) >= len(c.chunks)*cacheChunk {
		return
	}
	old := c.chunks
	c.chunks, c.free, c.used = nil, nil, 0
	for k, i := range c.index {
		j := c.number()
		e := c.at(j)
		*e = old[i/cacheChunk][i%cacheChunk]
		e.num = j
		c.index[k] = j
	}
}

func (c *cache) clear() error {
	c.each(c.remove)
	c.compact()
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
	// What follows may release slots, and a release may remove this entry
	// (another node hit it too) and reuse its place: keep what it holds.
	ref, outs, ui := r.e.cache.ref(e), e.outs, e.ui
	e = nil
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
		if r.tr.State(s) != lifetime.Live { // re-execution: a live value stays (as in complete)
			r.tr.Produce(s, outs[i])
		}
	}
	if r.allLive(n) {
		n.centry = ref
	} else if e := r.e.cache.deref(ref); e != nil {
		r.e.cache.remove(e) // a slot was released at once: the entry is incomplete
	}
	r.res.Stats.CacheHits++
	r.res.Cached = append(r.res.Cached, n.id)
	r.cachedAt = append(r.cachedAt, n.id)
	if ui != nil {
		r.res.Outputs[n.id] = ui
		ev := n.event(EventExecuted)
		ev.Output = ui
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
	n.centry = r.e.cache.ref(r.e.cache.put(k, outs, ui))
}

func (r *run) allLive(n *rnode) bool {
	for _, s := range n.slots {
		if r.tr.State(s) != lifetime.Live {
			return false
		}
	}
	return true
}
