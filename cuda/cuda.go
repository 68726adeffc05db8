//go:build cuda

package cuda

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sync"
	"unsafe"

	"gorgonia.org/cu"

	"github.com/ebbgraph/ebb/engine/device"
)

// gpu is the Device on one GPU. mu guards every field and is held across
// each driver call, so accounting, the sticky error read after cuMemFree,
// and the buffers' poison bits agree.
type gpu struct {
	mu         sync.Mutex
	ctx        *cu.Ctx
	ordinal    int
	name       string
	total      int64 // the GPU's memory, from the driver
	capacity   int64 // min(WithCapacity, total)
	inUse      int64
	peak       int64
	driverPeak int64 // highest driver-used bytes seen after an allocation
	lastID     uint64
	live       map[uint64]*buffer
	closed     bool
	host       hostTier // see tiers.go
}

var (
	_ device.Device       = (*gpu)(nil)
	_ device.Checker      = (*gpu)(nil)
	_ device.PeakResetter = (*gpu)(nil)
)

// buffer is a gpu's Buffer. Its content is at ptr on the device or at host
// in pinned host memory, as tier says (neither for a zero-byte buffer).
// Every field but gpu, id and bytes is guarded by the gpu's mutex.
type buffer struct {
	gpu   *gpu
	id    uint64
	bytes int64
	ptr   cu.DevicePtr
	host  unsafe.Pointer
	tier  device.Tier
	freed bool
}

func (b *buffer) Bytes() int64 { return b.bytes }
func (b *buffer) ID() uint64   { return b.id }

// String names the buffer in errors: "cuda:0#3 (1 MiB)".
func (b *buffer) String() string {
	return fmt.Sprintf("cuda:%d#%d (%s)", b.gpu.ordinal, b.id, device.FormatBytes(b.bytes))
}

// New opens GPU number ordinal with a context of its own. The device hands
// out at most the GPU's total memory, or less under WithCapacity. Errors
// for a missing GPU wrap device.ErrUnavailable.
//
// A process without a working driver never reaches New: gorgonia.org/cu's
// package init exits it.
func New(ordinal int, opts ...Option) (device.Device, error) {
	o := buildOptions(opts)
	n, err := cu.NumDevices()
	if err != nil {
		return nil, fmt.Errorf("cuda:%d: counting GPUs: %v: %w", ordinal, err, device.ErrUnavailable)
	}
	if ordinal < 0 || ordinal >= n {
		return nil, fmt.Errorf("cuda:%d: no such GPU (this machine has %d): %w", ordinal, n, device.ErrUnavailable)
	}
	dev, err := cu.GetDevice(ordinal)
	if err != nil {
		return nil, fmt.Errorf("cuda:%d: %w", ordinal, err)
	}
	name, err := dev.Name()
	if err != nil {
		return nil, fmt.Errorf("cuda:%d: device name: %w", ordinal, err)
	}
	total, err := dev.TotalMem()
	if err != nil {
		return nil, fmt.Errorf("cuda:%d: total memory: %w", ordinal, err)
	}
	ctx, err := newContext(dev)
	if err != nil {
		return nil, fmt.Errorf("cuda:%d: creating a context: %w", ordinal, err)
	}
	capacity := total
	if o.capacity > 0 {
		capacity = min(o.capacity, total)
	}
	host, err := newHostTier(ctx, o)
	if err != nil {
		ctx.Close()
		return nil, fmt.Errorf("cuda:%d: host tier: %w", ordinal, err)
	}
	g := &gpu{
		ctx:      ctx,
		ordinal:  ordinal,
		name:     name,
		total:    total,
		capacity: capacity,
		live:     make(map[uint64]*buffer),
		host:     host,
	}
	g.driverPeak = g.driverUsed()
	return g, nil
}

// newContext creates a context on dev and starts cu's goroutine, locked to
// an OS thread, that makes every driver call for it.
func newContext(dev cu.Device) (*cu.Ctx, error) {
	// cuCtxCreate makes the context current on the calling thread; stay on
	// that thread until it is popped off again.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cuctx, err := dev.MakeContext(cu.SchedAuto)
	if err != nil {
		return nil, err
	}
	if _, err := cu.PopCurrentCtx(); err != nil {
		cuctx.Destroy()
		return nil, err
	}
	ctx := cu.CtxFromCUContext(dev, cuctx, cu.SchedAuto)
	started := make(chan error)
	go ctx.Run(started) // closes started once the context is current on its thread
	if err := <-started; err != nil {
		ctx.Close()
		return nil, err
	}
	return ctx, nil
}

// String describes the device: "cuda:0 (NVIDIA H100 80GB HBM3, 79.1 GiB)".
func (g *gpu) String() string {
	return fmt.Sprintf("cuda:%d (%s, %s)", g.ordinal, g.name, device.FormatBytes(g.total))
}

// Alloc reserves bytes of VRAM with cuMemAlloc; a zero-byte buffer takes
// none. As the device.Device contract says, it returns ctx.Err() when ctx
// is already done, an error wrapping device.ErrInvalidSize for a negative
// size, device.ErrClosed after Close, and an *device.OutOfMemoryError when
// the capacity would be exceeded or the driver is out of memory. A failed
// Alloc changes no accounting. It blocks only for g's lock and one driver
// call (cuMemAlloc, which does not wait for memory), so it checks ctx only
// on entry. A nil ctx counts as never done.
func (g *gpu) Alloc(ctx context.Context, bytes int64) (device.Buffer, error) {
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	if bytes < 0 {
		return nil, fmt.Errorf("cuda:%d: %w: alloc of negative size %d", g.ordinal, device.ErrInvalidSize, bytes)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, fmt.Errorf("cuda:%d: alloc %s: %w", g.ordinal, device.FormatBytes(bytes), device.ErrClosed)
	}
	if bytes > g.capacity-g.inUse {
		return nil, g.oom(bytes)
	}
	ptr, err := g.memAlloc(bytes)
	if err != nil {
		return nil, err
	}
	g.lastID++
	b := &buffer{gpu: g, id: g.lastID, bytes: bytes, ptr: ptr}
	g.live[b.id] = b
	g.inUse += bytes
	g.peak = max(g.peak, g.inUse)
	return b, nil
}

// memAlloc reserves bytes of VRAM (none for zero bytes) and updates the
// driver peak. g.mu is held, and bytes fit the capacity.
func (g *gpu) memAlloc(bytes int64) (cu.DevicePtr, error) {
	if bytes == 0 {
		return 0, nil
	}
	p, err := g.ctx.MemAlloc(bytes)
	if errors.Is(err, cu.OutOfMemory) {
		free, total, merr := g.ctx.MemInfo()
		if merr != nil {
			return 0, fmt.Errorf("cuda:%d: driver: %w", g.ordinal, g.oom(bytes))
		}
		return 0, fmt.Errorf("cuda:%d: driver has %s free of %s: %w",
			g.ordinal, device.FormatBytes(free), device.FormatBytes(total), g.oom(bytes))
	}
	if err != nil {
		return 0, fmt.Errorf("cuda:%d: alloc %s: %w", g.ordinal, device.FormatBytes(bytes), err)
	}
	g.driverPeak = max(g.driverPeak, g.driverUsed())
	return p, nil
}

func (g *gpu) oom(bytes int64) *device.OutOfMemoryError {
	return &device.OutOfMemoryError{Requested: bytes, InUse: g.inUse, Capacity: g.capacity}
}

// driverUsed is the driver's total minus free memory, or -1. g.mu is held.
func (g *gpu) driverUsed() int64 {
	free, total, err := g.ctx.MemInfo()
	if err != nil {
		return -1
	}
	return total - free
}

// own returns b as one of g's buffers, or an error wrapping
// device.ErrForeignBuffer.
func (g *gpu) own(b device.Buffer) (*buffer, error) {
	gb, ok := b.(*buffer)
	if !ok || gb == nil || gb.gpu != g {
		return nil, fmt.Errorf("cuda:%d: %w: %v", g.ordinal, device.ErrForeignBuffer, b)
	}
	return gb, nil
}

// Free releases b with cuMemFree and poisons it. It fails with
// device.ErrForeignBuffer when b is not g's and device.ErrDoubleFree when
// b was freed, by Free or by Close (which frees every buffer, so that is
// every Free after Close). When the driver reports an error, b stays live.
func (g *gpu) Free(b device.Buffer) error {
	gb, err := g.own(b)
	if err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if gb.freed {
		return fmt.Errorf("%w: %v", device.ErrDoubleFree, gb)
	}
	if err := g.memFree(gb); err != nil {
		return err
	}
	g.release(gb)
	return nil
}

// memFree frees gb's memory on whichever tier it is. g.mu is held.
func (g *gpu) memFree(gb *buffer) error {
	switch {
	case gb.bytes == 0:
		return nil
	case gb.tier == device.TierHost:
		return g.freeHost(gb, gb.host)
	}
	return g.freeDevice(gb, gb.ptr)
}

// freeDevice frees gb's VRAM at ptr. cu's MemFree returns nothing: it
// leaves the driver's answer in the context's sticky error. g.mu is held.
func (g *gpu) freeDevice(gb *buffer, ptr cu.DevicePtr) error {
	g.ctx.MemFree(ptr)
	if err := g.ctx.Error(); err != nil {
		return fmt.Errorf("cuda:%d: free %v: %w", g.ordinal, gb, err)
	}
	return nil
}

// release marks gb freed and takes it out of the accounting of its tier.
// g.mu is held.
func (g *gpu) release(gb *buffer) {
	gb.freed = true
	delete(g.live, gb.id)
	if gb.tier == device.TierHost {
		g.host.inUse -= gb.bytes
	} else {
		g.inUse -= gb.bytes
	}
}

// Check reports an error wrapping device.ErrUseAfterFree when b was freed
// (by Free or Close), and device.ErrForeignBuffer when b is not g's.
func (g *gpu) Check(b device.Buffer) error {
	gb, err := g.own(b)
	if err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if gb.freed {
		return fmt.Errorf("%w: %v", device.ErrUseAfterFree, gb)
	}
	return nil
}

// Stats reports ebb's accounting, and as DriverUsed the driver's used
// memory on the whole GPU (other processes included; -1 after Close).
func (g *gpu) Stats() device.Stats {
	g.mu.Lock()
	defer g.mu.Unlock()
	st := device.Stats{InUse: g.inUse, Peak: g.peak, Capacity: g.capacity, DriverUsed: -1}
	if !g.closed {
		st.DriverUsed = g.driverUsed()
	}
	return st
}

// DriverPeak is the highest DriverUsed seen right after an allocation
// since New or ResetPeak: what the driver measured at ebb's peaks, other
// processes and the context's own memory included. It is -1 when the
// driver could not say.
func (g *gpu) DriverPeak() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.driverPeak
}

// ResetPeak sets Peak to the bytes in use, and DriverPeak to the driver's
// current figure.
func (g *gpu) ResetPeak() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.peak = g.inUse
	if !g.closed {
		g.driverPeak = g.driverUsed()
	}
}

// Close frees every live buffer, on the device and the host tier, and
// destroys the context. It returns an
// error wrapping device.ErrLeak when buffers were still live, joined with
// any driver error. Later Allocs fail with device.ErrClosed, later Frees
// with device.ErrDoubleFree. Closing a closed device does nothing and
// returns nil.
func (g *gpu) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	leaks := slices.SortedFunc(maps.Values(g.live), func(a, b *buffer) int { return cmp.Compare(a.id, b.id) })
	leaked := make([]device.Buffer, len(leaks))
	errs := []error{nil} // the leak error goes first
	for i, b := range leaks {
		errs = append(errs, g.memFree(b))
		g.release(b) // destroying the context frees it in any case
		leaked[i] = b
	}
	errs[0] = device.LeakError(leaked)
	errs = append(errs, g.host.close(g.ctx))
	// Leave no destroyed context current on cu's thread.
	g.ctx.Do(func() error { return cu.SetCurrentContext(cu.CUContext{}) })
	if err := g.ctx.Close(); err != nil {
		errs = append(errs, fmt.Errorf("cuda:%d: destroying the context: %w", g.ordinal, err))
	}
	return errors.Join(errs...)
}
