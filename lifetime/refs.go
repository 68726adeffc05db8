// refs.go: Refs, the holders of each Resource by identity, and which of them are dead.

package lifetime

import (
	"errors"
	"fmt"
)

// Refs counts the holders of each Resource by identity. It outlives runs:
// the engine's cross-run cache holds values through the same Refs.
//
// A holder may be dead: a slot that no pending consumer reads and nothing
// pins, which the run's level keeps anyway (levels 0 and 1). A Resource
// whose every holder is dead is idle: level 2 would have released it.
// OnIdle reports each change, so the bound of a run (the live bytes a
// level-2 release would leave) can be kept online.
type Refs struct {
	count map[Resource]refCount
	live  int64
	idle  int64
	// OnIdle, if set, is called when a held Resource becomes idle (true)
	// or stops being idle while still held (false). A Resource released
	// while idle gets no call: its Release ends it.
	OnIdle func(x Resource, idle bool)
}

type refCount struct {
	n    int32 // holders
	dead int32 // of which dead
}

// NewRefs returns an empty Refs.
func NewRefs() *Refs { return &Refs{count: map[Resource]refCount{}} }

// Hold adds one (live) holder to every Resource in v (v itself, or the
// elements of a []any or a Container, recursively, and the Resource of a
// Holder).
func (r *Refs) Hold(v any) {
	if inert(v) {
		return
	}
	walk(v, func(x Resource) {
		c := r.count[x]
		if c.n == 0 {
			r.live += x.Bytes()
		} else if c.dead == c.n {
			r.setIdle(x, false)
		}
		c.n++
		r.count[x] = c
	})
}

// HoldDead adds one dead holder to every Resource in v: a holder that
// keeps it but will not read it (a cache), so a Resource held only by
// dead holders is idle.
func (r *Refs) HoldDead(v any) {
	if inert(v) {
		return
	}
	walk(v, func(x Resource) {
		c := r.count[x]
		if c.n == 0 {
			r.live += x.Bytes()
		}
		c.n++
		c.dead++
		r.count[x] = c
		if c.dead == c.n && c.n == 1 {
			r.setIdle(x, true)
		}
	})
}

// Drop removes one live holder from every Resource in v, releasing those
// that reach zero. Dropping a value that is not held is an error.
func (r *Refs) Drop(v any) error { return r.drop(v, false) }

// DropDead is Drop for a dead holder (see MarkDead).
func (r *Refs) DropDead(v any) error { return r.drop(v, true) }

func (r *Refs) drop(v any, dead bool) error {
	if inert(v) {
		return nil
	}
	var errs []error
	walk(v, func(x Resource) {
		c, ok := r.count[x]
		if !ok || (dead && c.dead == 0) {
			errs = append(errs, fmt.Errorf("lifetime: drop of a value that is not held: %v", x))
			return
		}
		wasIdle := c.dead == c.n
		c.n--
		if dead {
			c.dead--
		}
		if c.n > 0 {
			r.count[x] = c
			if !wasIdle && c.dead == c.n {
				r.setIdle(x, true)
			}
			return
		}
		delete(r.count, x)
		r.live -= x.Bytes()
		if wasIdle {
			r.idle -= x.Bytes()
		}
		if err := x.Release(); err != nil {
			errs = append(errs, err)
		}
	})
	return errors.Join(errs...)
}

// MarkDead turns one live holder of every Resource in v into a dead one.
func (r *Refs) MarkDead(v any) {
	if inert(v) {
		return
	}
	walk(v, func(x Resource) {
		c, ok := r.count[x]
		if !ok || c.dead >= c.n {
			return // not held by a live holder: nothing to mark
		}
		c.dead++
		r.count[x] = c
		if c.dead == c.n {
			r.setIdle(x, true)
		}
	})
}

// MarkLive undoes one MarkDead: a dead holder is read or pinned again.
func (r *Refs) MarkLive(v any) {
	if inert(v) {
		return
	}
	walk(v, func(x Resource) {
		c, ok := r.count[x]
		if !ok || c.dead == 0 {
			return
		}
		if c.dead == c.n {
			r.setIdle(x, false)
		}
		c.dead--
		r.count[x] = c
	})
}

func (r *Refs) setIdle(x Resource, idle bool) {
	if idle {
		r.idle += x.Bytes()
	} else {
		r.idle -= x.Bytes()
	}
	if r.OnIdle != nil {
		r.OnIdle(x, idle)
	}
}

// Holders returns how many holders x has.
func (r *Refs) Holders(x Resource) int { return int(r.count[x].n) }

// LiveHolders returns how many of x's holders are not dead: the holders a
// level-2 run without pins would have, whatever the run's level.
func (r *Refs) LiveHolders(x Resource) int {
	c := r.count[x]
	return int(c.n - c.dead)
}

// Live is the total size of held resources.
func (r *Refs) Live() int64 { return r.live }

// Idle is the total size of held resources whose every holder is dead.
func (r *Refs) Idle() int64 { return r.idle }

// Len is the number of distinct held resources.
func (r *Refs) Len() int { return len(r.count) }
