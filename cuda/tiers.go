//go:build cuda

// tiers.go: the host tier (device.Tiered) in pinned host memory.

package cuda

import (
	"context"
	"fmt"
	"math"
	"time"
	"unsafe"

	"gorgonia.org/cu"

	"github.com/ebbgraph/ebb/engine/device"
)

var _ device.Tiered = (*gpu)(nil)

// hostTier is a gpu's host tier, guarded by the gpu's mutex. Its copies
// run on a stream of their own.
type hostTier struct {
	offered     bool
	capacity    int64 // 0: unlimited
	bandwidth   int64 // from WithHostBandwidth; 0: measured
	inUse, peak int64
	stream      cu.Stream
	stats       device.TierStats // moves so far
}

// newHostTier makes the host tier o asks for, with its copy stream.
func newHostTier(ctx *cu.Ctx, o options) (hostTier, error) {
	if !o.hostTier {
		return hostTier{}, nil
	}
	s, err := ctx.MakeStream(cu.DefaultStream)
	if err != nil {
		return hostTier{}, err
	}
	return hostTier{offered: true, capacity: o.hostCapacity, bandwidth: o.hostBandwidth, stream: s}, nil
}

// close destroys the copy stream. The buffers were freed before.
func (h *hostTier) close(ctx *cu.Ctx) error {
	if !h.offered {
		return nil
	}
	ctx.DestroyStream(&h.stream)
	if err := ctx.Error(); err != nil {
		return fmt.Errorf("destroying the copy stream: %w", err)
	}
	return nil
}

// copyChunk is how much one copy moves between checks of the caller's
// context.
const copyChunk = 64 << 20

// Move moves b's content between the device and the host tier as the
// device.Tiered contract says, and returns the copy's measured wall time.
// Moving out allocates pinned host memory (cuMemAllocHost), copies on the
// tier's stream (cuMemcpyDtoHAsync, then cuStreamSynchronize) and frees
// the VRAM; moving back allocates VRAM, copies (cuMemcpyHtoDAsync) and
// frees the pinned memory. The copy goes in chunks of 64 MiB, checking ctx
// between them. The disk tier is not offered: Move to it fails with
// device.ErrNoTier. Move holds the device's lock throughout, so Alloc and
// Free wait for a copy in progress.
func (g *gpu) Move(ctx context.Context, b device.Buffer, to device.Tier) (time.Duration, error) {
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
	}
	gb, err := g.own(b)
	if err != nil {
		return 0, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.closed:
		return 0, fmt.Errorf("cuda:%d: move %v: %w", g.ordinal, gb, device.ErrClosed)
	case gb.freed:
		return 0, fmt.Errorf("%w: move of %v", device.ErrUseAfterFree, gb)
	case to != device.TierDevice && (to != device.TierHost || !g.host.offered):
		return 0, fmt.Errorf("cuda:%d: %w: %s", g.ordinal, device.ErrNoTier, to)
	case gb.tier == to:
		return 0, nil
	}
	start := time.Now()
	if to == device.TierHost {
		err = g.offload(ctx, gb)
	} else {
		err = g.reload(ctx, gb)
	}
	if err != nil {
		return 0, err
	}
	d := time.Since(start)
	st := &g.host.stats
	st.Moves++
	st.Moved += gb.bytes
	st.Transfer += d
	return d, nil
}

// offload moves gb from the device to pinned host memory. g.mu is held.
func (g *gpu) offload(ctx context.Context, gb *buffer) error {
	h := &g.host
	limit := h.capacity
	if limit == 0 {
		limit = math.MaxInt64
	}
	if gb.bytes > limit-h.inUse {
		return g.hostOOM(gb.bytes)
	}
	var host unsafe.Pointer
	if gb.bytes > 0 {
		p, err := g.memAllocHost(gb.bytes)
		if err != nil {
			return fmt.Errorf("cuda:%d: offload %v: %w", g.ordinal, gb, err)
		}
		err = g.copy(ctx, gb, gb.ptr, p, true)
		if err == nil {
			err = g.freeDevice(gb, gb.ptr)
		}
		if err != nil {
			g.freeHost(gb, p)
			return err
		}
		host = p
	}
	g.inUse -= gb.bytes
	h.inUse += gb.bytes
	h.peak = max(h.peak, h.inUse)
	gb.ptr, gb.host, gb.tier = 0, host, device.TierHost
	return nil
}

// reload moves gb from pinned host memory back to the device. g.mu is
// held.
func (g *gpu) reload(ctx context.Context, gb *buffer) error {
	if gb.bytes > g.capacity-g.inUse {
		return g.oom(gb.bytes)
	}
	ptr, err := g.memAlloc(gb.bytes)
	if err != nil {
		return err
	}
	if gb.bytes > 0 {
		err = g.copy(ctx, gb, ptr, gb.host, false)
		if err == nil {
			err = g.freeHost(gb, gb.host)
		}
		if err != nil {
			g.freeDevice(gb, ptr)
			return err
		}
	}
	g.host.inUse -= gb.bytes
	g.inUse += gb.bytes
	g.peak = max(g.peak, g.inUse)
	gb.ptr, gb.host, gb.tier = ptr, nil, device.TierDevice
	return nil
}

// hostOOM is the host tier's out-of-memory error. g.mu is held.
func (g *gpu) hostOOM(bytes int64) *device.OutOfMemoryError {
	return &device.OutOfMemoryError{Requested: bytes, InUse: g.host.inUse, Capacity: g.host.capacity, Tier: device.TierHost}
}

// copy copies gb's bytes between dev and host on the tier's stream, one
// chunk at a time, waiting for each. g.mu is held.
func (g *gpu) copy(ctx context.Context, gb *buffer, dev cu.DevicePtr, host unsafe.Pointer, toHost bool) error {
	dir := "from"
	if toHost {
		dir = "to"
	}
	s := g.host.stream
	for off := int64(0); off < gb.bytes; off += copyChunk {
		if ctx != nil && ctx.Err() != nil {
			return fmt.Errorf("cuda:%d: move of %v %s host: %w", g.ordinal, gb, dir, ctx.Err())
		}
		n := min(copyChunk, gb.bytes-off)
		d, h := dev+cu.DevicePtr(off), unsafe.Add(host, off)
		if toHost {
			g.ctx.MemcpyDtoHAsync(h, d, n, s)
		} else {
			g.ctx.MemcpyHtoDAsync(d, h, n, s)
		}
		err := g.ctx.Error()
		if err == nil {
			g.ctx.SynchronizeStream(s)
			err = g.ctx.Error()
		}
		if err != nil {
			return fmt.Errorf("cuda:%d: copy of %v %s host: %w", g.ordinal, gb, dir, err)
		}
	}
	return nil
}

// freeHost frees gb's pinned host memory at p. g.mu is held.
func (g *gpu) freeHost(gb *buffer, p unsafe.Pointer) error {
	g.ctx.MemFreeHost(p)
	if err := g.ctx.Error(); err != nil {
		return fmt.Errorf("cuda:%d: free host memory of %v: %w", g.ordinal, gb, err)
	}
	return nil
}

// TierOf reports where b's content is: device.TierDevice or
// device.TierHost.
func (g *gpu) TierOf(b device.Buffer) (device.Tier, error) {
	gb, err := g.own(b)
	if err != nil {
		return 0, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if gb.freed {
		return 0, fmt.Errorf("%w: %v", device.ErrUseAfterFree, gb)
	}
	return gb.tier, nil
}

// TierStats reports the host tier's usage and the moves so far. The host
// tier's Bandwidth is the one set by WithHostBandwidth, else the average
// measured over the moves so far (bytes moved over their wall time, both
// ways), else device.DefaultHostBandwidth.
func (g *gpu) TierStats() device.TierStats {
	g.mu.Lock()
	defer g.mu.Unlock()
	h := &g.host
	st := h.stats
	if !h.offered {
		return st
	}
	bw := h.bandwidth
	if bw == 0 {
		bw = device.DefaultHostBandwidth
		if st.Moved > 0 && st.Transfer > 0 {
			bw = max(int64(float64(st.Moved)/st.Transfer.Seconds()), 1)
		}
	}
	st.Host = device.TierUsage{Offered: true, InUse: h.inUse, Peak: h.peak, Capacity: h.capacity, Bandwidth: bw}
	return st
}
