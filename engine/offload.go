// offload.go: offload's books: the buffers a run may evict, their moves between tiers, and dropping them.

package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/lifetime"
	"github.com/ebbgraph/ebb/policy"
)

// ErrNotResident is wrapped by the error of a read of a value whose
// content is offloaded or dropped: the engine brings every input back
// before its reader runs, so this is a bug.
var ErrNotResident = errors.New("engine: value not on the device")

// offEntry is the offload bookkeeping of one output buffer. Owned by the
// run goroutine.
type offEntry struct {
	node     NodeID // the node that made it, for events
	class    string
	lastUse  uint64   // offloader.tick when a node last made or read it
	readers  int32    // in-flight jobs reading it: it stays put
	guard    uint64   // == offloader.guard: the node being admitted needs it
	linHolds int32    // lineages of dropped values that hold it: never dropped itself
	lin      *lineage // how to make it again; nil: it cannot be recomputed
}

// offloader is an engine's offload state: the buffers offloading runs
// made, which are the candidates for eviction. Owned by the run goroutine
// of the current run; it outlives runs because the cross-run cache may
// keep values that are off the device.
type offloader struct {
	tiered  device.Tiered // the device's tiers; nil when it has none
	bufs    []*Buffer     // tracked buffers; freed ones are purged now and then
	purgeAt int
	tick    uint64 // counts admitted nodes: staleness
	guard   uint64
	used    bool // something ever left the device: admission must check inputs
	scratch []*Buffer
	// ran has the classes whose calls an offloading run has finished: at
	// parallelism above 1, a node of another class that declares no
	// estimate runs alone (run.alone), since admission cannot know what it
	// will allocate and two such calls could not make room from each other.
	ran map[string]bool
}

// offloadRun is one run's offload settings.
type offloadRun struct {
	mode  policy.Offload
	evict policy.Evict
	on    bool // mode != none
}

// checkOffload reports why the device cannot serve mode, or nil.
func checkOffload(dev device.Device, mode policy.Offload) error {
	if mode == policy.OffloadNone {
		return nil
	}
	t, ok := dev.(device.Tiered)
	if !ok {
		return fmt.Errorf("offload %s: %w: the device has no slower tiers", mode, device.ErrNoTier)
	}
	st := t.TierStats()
	if !st.Host.Offered {
		return fmt.Errorf("offload %s: %w: the device offers no host tier", mode, device.ErrNoTier)
	}
	if mode == policy.OffloadDisk && !st.Disk.Offered {
		return fmt.Errorf("offload %s: %w: the device offers no disk tier", mode, device.ErrNoTier)
	}
	return nil
}

// track records the new buffers of n's outputs as eviction candidates,
// with the lineage that can recompute them (nil if none).
func (r *run) track(n *rnode, outs [][]any, lin *lineage) {
	o := &r.e.off
	for _, vals := range outs {
		for _, v := range vals {
			lifetime.Resources(v, func(x lifetime.Resource) {
				b, ok := deviceBuffer(x)
				if !ok || b.acct != r.e.acct || b.off != nil || b.freed || b.Bytes() == 0 {
					return
				}
				b.off = &offEntry{node: n.id, class: n.def.Class, lastUse: o.tick, lin: lin}
				o.bufs = append(o.bufs, b)
			})
		}
	}
	if len(o.bufs) >= max(o.purgeAt, 64) {
		o.purge()
	}
}

// purge forgets freed buffers, keeping the order of the others.
func (o *offloader) purge() {
	k := 0
	for _, b := range o.bufs {
		if !b.freed {
			o.bufs[k] = b
			k++
		}
	}
	clear(o.bufs[k:])
	o.bufs = o.bufs[:k]
	o.purgeAt = 2 * k
}

// reads marks the buffers d's calls read as in use until d retires, and
// as used now.
func (r *run) reads(d *callJob) {
	o := &r.e.off
	for _, c := range d.calls {
		for _, v := range c.Inputs {
			lifetime.Resources(v, func(x lifetime.Resource) {
				if b, ok := deviceBuffer(x); ok && b.off != nil {
					b.off.readers++
					b.off.lastUse = o.tick
					d.read = append(d.read, b)
				}
			})
		}
	}
}

// unread ends d's reads.
func (r *run) unread(d *callJob) {
	for _, b := range d.read {
		b.off.readers--
	}
	d.read = d.read[:0]
}

// moveOut moves b's content to tier to; its bytes leave inUse.
func (a *accounting) moveOut(ctx context.Context, t device.Tiered, b *Buffer, to device.Tier) (time.Duration, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if b.freed || b.dropped || b.tier != device.TierDevice {
		return 0, fmt.Errorf("engine: moving %v off the device: it is not there", b)
	}
	d, err := t.Move(ctx, b.buf, to)
	if err != nil {
		return d, err
	}
	b.tier = to
	a.inUse -= b.Bytes()
	a.away += b.Bytes()
	if b.idle {
		a.idle -= b.Bytes()
	}
	return d, nil
}

// moveIn brings b's content back to the device.
func (a *accounting) moveIn(ctx context.Context, t device.Tiered, b *Buffer) (time.Duration, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if b.freed || b.dropped || b.tier == device.TierDevice {
		return 0, fmt.Errorf("engine: bringing %v back: it is not offloaded", b)
	}
	d, err := t.Move(ctx, b.buf, device.TierDevice)
	if err != nil {
		return d, err
	}
	b.tier = device.TierDevice
	a.away -= b.Bytes()
	a.landed(b)
	return d, nil
}

// landed counts b's bytes on the device again (mu held).
func (a *accounting) landed(b *Buffer) {
	a.inUse += b.Bytes()
	if b.idle {
		a.idle += b.Bytes()
	}
	a.sample()
}

// drop frees b's device memory (or its slower tier's) but keeps b live:
// its content is gone until adopt gives it a recomputed one.
func (a *accounting) drop(b *Buffer) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if b.freed || b.dropped {
		return fmt.Errorf("engine: dropping %v: it is freed or dropped", b)
	}
	if err := a.dev.Free(b.buf); err != nil {
		return err
	}
	b.dropped = true
	if b.tier == device.TierDevice {
		a.inUse -= b.Bytes()
		a.away += b.Bytes()
		if b.idle {
			a.idle -= b.Bytes()
		}
	}
	b.tier = device.TierDevice
	return nil
}

// adopt gives dropped b the device memory of nb, a buffer of the same
// size a recomputation made, which stops existing as a Buffer of its own:
// b keeps its identity (the slots and the cache hold b), nb's memory is
// counted once, as b's.
func (a *accounting) adopt(b, nb *Buffer) {
	a.mu.Lock()
	defer a.mu.Unlock()
	b.buf, b.dropped, b.tier = nb.buf, false, device.TierDevice
	nb.freed = true
	a.away -= b.Bytes()
	if b.idle {
		a.idle += b.Bytes()
	}
}

// awayBytes is the bytes of live buffers off the device.
func (a *accounting) awayBytes() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.away
}

// checkOffloadOptions reports run options an engine's device cannot serve.
func checkOffloadOptions(dev device.Device, ro RunOptions) error {
	if !ro.Offload.Valid() {
		return fmt.Errorf("%w: offload %d", policy.ErrInvalid, int(ro.Offload))
	}
	if !ro.Evict.Valid() {
		return fmt.Errorf("%w: evict %d", policy.ErrInvalid, int(ro.Evict))
	}
	return checkOffload(dev, ro.Offload)
}

// clockJob adds d's calls to the simulated clock: the node's declared
// time per call that ran, else the calls' wall time.
func (r *run) clockJob(d *callJob) {
	n := d.n
	if !n.declared || n.estTime == 0 || len(d.needs) > 0 || d.err != nil {
		r.clock(d.wall, 0)
		return
	}
	calls := 0
	for _, b := range d.block {
		if b == nil {
			calls++
		}
	}
	r.clock(time.Duration(calls)*n.estTime, 0)
}

// endOffload ends a run's offload books: lineages die with the run, so a
// dropped value the cache would keep leaves the cache (and is freed),
// and lineage holds end; offloaded values the cache keeps stay where they
// are, for a later run to bring back.
func (r *run) endOffload() {
	o := &r.e.off
	r.letGo()
	drop := func(e *centry) bool {
		found := false
		for _, vals := range e.outs {
			for _, v := range vals {
				lifetime.Resources(v, func(x lifetime.Resource) {
					if b, ok := deviceBuffer(x); ok && b.dropped && !b.freed {
						found = true
					}
				})
			}
		}
		return found
	}
	r.e.cache.each(func(e *centry) {
		if drop(e) {
			r.e.cache.remove(e)
		}
	})
	r.letGo()
	o.purge()
	for _, b := range o.bufs {
		if b.dropped {
			r.internal(nil, fmt.Errorf("offload: %v of node %s is still dropped after the run", b, b.off.node))
		}
		b.off.lin, b.off.readers, b.off.linHolds = nil, 0, 0
	}
	o.used = r.e.acct.awayBytes() > 0
}

// used is the bytes on the device now.
func (a *accounting) used() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.inUse
}
