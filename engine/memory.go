package engine

import (
	"context"
	"fmt"
	"sync"

	"github.com/ebbgraph/ebb/engine/device"
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
	freed := b.freed
	b.acct.mu.Unlock()
	if freed {
		return fmt.Errorf("%w: %v", device.ErrUseAfterFree, b)
	}
	if c, ok := b.acct.dev.(device.Checker); ok {
		return c.Check(b.buf)
	}
	return nil
}

// accounting tracks every byte the engine's nodes hold on the device. It is
// shared by workers and safe for concurrent use.
type accounting struct {
	dev     device.Device
	mu      sync.Mutex
	inUse   int64
	peak    int64 // since resetPeak
	devPeak int64 // highest device InUse seen since resetPeak
	winPeak int64 // highest inUse since the last window call
}

func (a *accounting) resetPeak() {
	a.mu.Lock()
	a.peak = a.inUse
	a.winPeak = a.inUse
	a.devPeak = a.dev.Stats().InUse
	a.mu.Unlock()
}

func (a *accounting) alloc(ctx context.Context, bytes int64, label string) (*Buffer, error) {
	buf, err := a.dev.Alloc(ctx, bytes)
	if err != nil {
		return nil, err
	}
	dv := a.dev.Stats().InUse
	a.mu.Lock()
	a.inUse += bytes
	a.peak = max(a.peak, a.inUse)
	a.winPeak = max(a.winPeak, a.inUse)
	a.devPeak = max(a.devPeak, dv)
	a.mu.Unlock()
	return &Buffer{buf: buf, acct: a, Label: label}, nil
}

func (a *accounting) free(b *Buffer) error {
	a.mu.Lock()
	if b.freed {
		a.mu.Unlock()
		return fmt.Errorf("%w: %v", device.ErrDoubleFree, b)
	}
	b.freed = true
	a.inUse -= b.Bytes()
	a.mu.Unlock()
	return a.dev.Free(b.buf)
}

func (a *accounting) snapshot() (inUse, peak, devPeak int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.inUse, a.peak, a.devPeak
}

// callAlloc is one call's allocations: the buffers it made and the peak of
// their sum.
type callAlloc struct {
	acct *accounting
	mu   sync.Mutex
	bufs []*Buffer
	cur  int64
	peak int64
}

// Alloc reserves bytes on the run's device for this call. An allocation
// that does not fit fails with an error wrapping device.ErrOutOfMemory.
func (c *Call) Alloc(ctx context.Context, bytes int64, label string) (*Buffer, error) {
	if c.alloc == nil {
		return nil, fmt.Errorf("engine: Call.Alloc outside a run")
	}
	b, err := c.alloc.acct.alloc(ctx, bytes, label)
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
