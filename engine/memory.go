// memory.go: device accounting: Buffer, the engine's byte counts and peaks, a call's allocations.

package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/lifetime"
)

// Buffer is device memory made by Call.Alloc. It is a valid output value:
// the engine counts the slots (and cache entries) holding it by identity
// and frees it exactly once, when the last of them is released. Memory a
// call allocates but does not return is its working memory, freed when the
// call returns.
type Buffer struct {
	buf   device.Buffer
	acct  *accounting
	freed bool // guarded by acct.mu
	idle  bool // held only by dead slots (lifetime.Refs.OnIdle); guarded by acct.mu
	// Where the content is (offload.go): tier, or nowhere when dropped (to
	// be recomputed). Changed by the run goroutine under acct.mu.
	tier    device.Tier
	dropped bool
	off     *offEntry // offload bookkeeping; nil until an offloading run tracks it
	// Label says what the buffer holds ("MODEL", "work"), for messages.
	Label string
}

// Bytes is the buffer's size.
func (b *Buffer) Bytes() int64 { return b.buf.Bytes() }

// ID is the device buffer's id.
func (b *Buffer) ID() uint64 { return b.buf.ID() }

func (b *Buffer) String() string {
	return fmt.Sprintf("buffer#%d(%s %s)", b.buf.ID(), b.Label, device.FormatBytes(b.Bytes()))
}

// Release frees the buffer on its device. A second Release is an error
// wrapping device.ErrDoubleFree.
func (b *Buffer) Release() error { return b.acct.free(b) }

// Check reports an error wrapping device.ErrUseAfterFree when b was freed.
func (b *Buffer) Check() error {
	b.acct.mu.Lock()
	freed, away := b.freed, b.dropped || b.tier != device.TierDevice
	b.acct.mu.Unlock()
	if freed {
		return fmt.Errorf("%w: %v", device.ErrUseAfterFree, b)
	}
	if away {
		return fmt.Errorf("%w: %v", ErrNotResident, b)
	}
	if c, ok := b.acct.dev.(device.Checker); ok {
		return c.Check(b.buf)
	}
	return nil
}

// deviceBuffer returns x as a Buffer. A value that owns a Buffer (an
// image holding its reservation) reaches the engine as that Buffer, through
// lifetime.Holder.
func deviceBuffer(x lifetime.Resource) (*Buffer, bool) {
	b, ok := x.(*Buffer)
	return b, ok
}

// accounting tracks every byte the engine's nodes hold on the device. It is
// shared by workers and safe for concurrent use.
//
// mu is held across each device Alloc and Free, so the engine's count and
// the device's change together: for a device only the engine uses, the
// device's InUse equals inUse whenever mu is free, and a sample of the
// device taken under mu never sees bytes the engine does not count (or no
// longer counts). Hence PeakBytes >= DevicePeakBytes at any parallelism.
// The cost is that device calls are serialized, which devices that lock
// around their driver calls (cuda) do anyway; it is also why a Device's
// Alloc must not wait for memory that a Free would give back.
type accounting struct {
	dev     device.Device
	mu      sync.Mutex
	inUse   int64
	peak    int64 // since resetPeak
	devPeak int64 // highest device InUse sampled since resetPeak
	winPeak int64 // highest inUse since the last window call
	// idle is the bytes of buffers held only by dead slots: what level 2
	// would have released. inUse-idle is the run's bound, sampled at every
	// allocation into bound.
	idle  int64
	bound int64 // since resetPeak
	// away is the bytes of live buffers not on the device: offloaded to a
	// slower tier or dropped to be recomputed (offload.go). They are not
	// in inUse.
	away int64
	// freedDropped lists dropped buffers freed since the run last looked
	// (run.letGo ends their lineage holds).
	freedDropped []*Buffer
}

// takeFreedDropped returns and forgets the dropped buffers freed since
// the last call.
func (a *accounting) takeFreedDropped() []*Buffer {
	a.mu.Lock()
	defer a.mu.Unlock()
	bufs := a.freedDropped
	a.freedDropped = nil
	return bufs
}

// resetPeak starts a run: the engine's peak, the window and the device
// peak restart at the bytes now in use. A device that implements
// device.PeakResetter has its Peak reset too, so that snapshot can read
// the device's own per-run peak.
func (a *accounting) resetPeak() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if r, ok := a.dev.(device.PeakResetter); ok {
		r.ResetPeak()
	}
	a.peak = a.inUse
	a.winPeak = a.inUse
	a.bound = a.inUse - a.idle
	a.devPeak = a.dev.Stats().InUse
}

// alloc allocates on the device, then counts the bytes and samples the
// device's InUse, all under mu.
func (a *accounting) alloc(ctx context.Context, bytes int64, label string) (*Buffer, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	buf, err := a.dev.Alloc(ctx, bytes)
	if err != nil {
		return nil, err
	}
	a.inUse += bytes
	a.sample()
	return &Buffer{buf: buf, acct: a, Label: label}, nil
}

// sample updates the peaks and the bound after bytes landed on the device
// (mu held).
func (a *accounting) sample() {
	a.peak = max(a.peak, a.inUse)
	a.bound = max(a.bound, a.inUse-a.idle)
	a.winPeak = max(a.winPeak, a.inUse)
	a.devPeak = max(a.devPeak, a.dev.Stats().InUse)
}

// free frees b on the device, then uncounts it, under mu. b is marked freed
// even when the device's Free fails, so the engine never frees it twice.
// Its bytes leave the count when the device no longer holds them: after a
// successful Free, or a double free (the device freed it already, as
// Close does); after any other error the device keeps the buffer live and
// the engine keeps counting it.
func (a *accounting) free(b *Buffer) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if b.freed {
		return fmt.Errorf("%w: %v", device.ErrDoubleFree, b)
	}
	b.freed = true
	if b.dropped { // its device memory went when it was dropped
		a.away -= b.Bytes()
		a.freedDropped = append(a.freedDropped, b)
		return nil
	}
	err := a.dev.Free(b.buf)
	if err == nil || errors.Is(err, device.ErrDoubleFree) {
		if b.tier != device.TierDevice {
			a.away -= b.Bytes()
			return err
		}
		a.inUse -= b.Bytes()
		if b.idle {
			b.idle = false
			a.idle -= b.Bytes()
		}
	}
	return err
}

// setIdle records that b became idle (held only by slots that level 2
// would have released) or stopped being idle. It is Refs.OnIdle.
func (a *accounting) setIdle(x lifetime.Resource, idle bool) {
	b, ok := deviceBuffer(x)
	if !ok || b.acct != a {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if b.freed || b.idle == idle {
		return
	}
	b.idle = idle
	if b.dropped || b.tier != device.TierDevice {
		return // counted when it comes back (accounting.moveIn)
	}
	if idle {
		a.idle += b.Bytes()
	} else {
		a.idle -= b.Bytes()
		a.bound = max(a.bound, a.inUse-a.idle)
	}
}

// snapshot returns the bytes in use, the engine's peak, the device's
// peak and the bound since resetPeak (see accounting.idle). The device's
// peak is the highest InUse sampled
// after each allocation, or, for a device.PeakResetter, the larger of that
// and the device's own Stats().Peak (reset by resetPeak): the device's
// figure also covers memory others allocate on a shared device.
func (a *accounting) snapshot() (inUse, peak, devPeak, bound int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	bound = a.bound
	devPeak = a.devPeak
	if _, ok := a.dev.(device.PeakResetter); ok {
		devPeak = max(devPeak, a.dev.Stats().Peak)
	}
	return a.inUse, a.peak, devPeak, bound
}

// callAlloc is one call's allocations: the buffers it made and the peak of
// their sum.
type callAlloc struct {
	acct *accounting
	// room, when set, makes room for bytes on the device by evicting
	// (offload at parallelism 1, where calls run on the run goroutine).
	room func(bytes int64) bool
	mu   sync.Mutex
	bufs []*Buffer
	cur  int64
	peak int64
}

// Alloc reserves bytes on the run's device for this call. An allocation
// that does not fit fails with an error wrapping device.ErrOutOfMemory, a
// negative size with one wrapping device.ErrInvalidSize, and a done ctx
// with ctx's error. Alloc never waits for memory to be freed.
func (c *Call) Alloc(ctx context.Context, bytes int64, label string) (*Buffer, error) {
	if c.alloc == nil {
		return nil, fmt.Errorf("engine: Call.Alloc outside a run")
	}
	b, err := c.alloc.acct.alloc(ctx, bytes, label)
	if err != nil && c.alloc.room != nil && isOOM(err) && c.alloc.room(bytes) {
		b, err = c.alloc.acct.alloc(ctx, bytes, label) // offload made room
	}
	if err != nil {
		return nil, err
	}
	c.alloc.mu.Lock()
	c.alloc.bufs = append(c.alloc.bufs, b)
	c.alloc.cur += bytes
	c.alloc.peak = max(c.alloc.peak, c.alloc.cur)
	c.alloc.mu.Unlock()
	return b, nil
}

// window returns the bytes in use and the highest use since the previous
// call, then starts a new window.
func (a *accounting) window() (inUse, peak int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	inUse, peak = a.inUse, max(a.winPeak, a.inUse)
	a.winPeak = a.inUse
	return inUse, peak
}
