package device

import (
	"context"
	"errors"
	"fmt"
)

// Buffer is an opaque handle to one allocation on a Device. Handles are
// compared by identity; only the Device that made a Buffer may free it.
type Buffer interface {
	// Bytes is the size that was requested.
	Bytes() int64
	// ID is unique among the buffers of one device, never reused.
	ID() uint64
}

// Stats describes a device's memory at one moment.
type Stats struct {
	InUse    int64 // bytes allocated through this Device, not freed, on the device tier (see Tiered)
	Peak     int64 // highest InUse since the device was made (or the last ResetPeak)
	Capacity int64 // bytes the device may hand out in all
	// DriverUsed is what the driver reports as used on the whole device
	// (other processes included), or -1 when there is no driver (Sim).
	DriverUsed int64
}

// Device hands out and takes back memory. Implementations must be safe for
// concurrent use: node bodies on several workers allocate at once.
//
// The engine holds its accounting lock across every Alloc and Free, so that
// its count of bytes and the device's change together. A Device must
// therefore never call back into the engine, and Alloc must never wait for
// memory to be freed.
type Device interface {
	// Alloc reserves bytes and returns a live Buffer with Bytes() == bytes
	// and an ID the device never handed out before. Zero bytes is a valid
	// size: the buffer takes no capacity, even on a full device.
	//
	// Alloc fails, checking in this order:
	//   - when ctx is already done, with an error wrapping ctx.Err() (Sim
	//     and cuda return ctx.Err() itself);
	//   - when bytes < 0, with an error wrapping ErrInvalidSize;
	//   - after Close, with an error wrapping ErrClosed;
	//   - when InUse+bytes would exceed Capacity, or the hardware has no
	//     room, with an *OutOfMemoryError (wrapping ErrOutOfMemory).
	// A failed Alloc returns a nil Buffer and changes no accounting.
	//
	// Alloc never waits for memory: an allocation that does not fit fails
	// at once. It may block for as long as its driver call takes; an
	// implementation that can block longer (a queue, a remote device)
	// must return when ctx is done, with an error wrapping ctx.Err(), and
	// leave nothing allocated.
	Alloc(ctx context.Context, bytes int64) (Buffer, error)
	// Free releases b: its bytes leave InUse and b is dead for good (a
	// Checker reports it). Free fails, changing nothing:
	//   - when b is nil or not made by this device, with an error
	//     wrapping ErrForeignBuffer;
	//   - when b was freed already, by Free or by Close, with an error
	//     wrapping ErrDoubleFree. After Close every buffer is freed, so
	//     every Free of the device's buffers fails so;
	//   - when the driver cannot free b, with the driver's error; b then
	//     stays live and counted.
	// Of concurrent Frees of one buffer exactly one succeeds.
	Free(b Buffer) error
	// Stats reports current usage. It may be called at any time, also
	// after Close (InUse is then 0).
	Stats() Stats
	// Close frees every live buffer and closes the device. When buffers
	// were still live it returns an error wrapping ErrLeak that names them
	// (they are freed all the same); a driver's errors are joined to it;
	// otherwise it returns nil. After Close, Alloc fails with ErrClosed
	// and Free with ErrDoubleFree; a second Close does nothing and returns
	// nil.
	Close() error
}

// Checker is implemented by devices that can tell whether a buffer is still
// live. The engine calls Check on every input value before a node reads it,
// so a read of a released value is caught (Sim poisons freed buffers).
type Checker interface {
	Check(b Buffer) error
}

// PeakResetter is implemented by devices whose Peak can be restarted.
// ResetPeak sets Peak to the current InUse.
//
// The engine uses it for a per-run device peak (RunResult.Stats
// .DevicePeakBytes). When a run starts, the engine calls ResetPeak; when
// the run ends, it reports the larger of the device's Stats().Peak and the
// highest InUse it sampled right after each of its own allocations. So the
// figure also covers memory that others allocate on the device during the
// run. For a device without PeakResetter it is the sampled figure alone,
// which starts at the InUse of the run's start. ResetPeak restarts the
// peak for every user of the device: engines sharing a device and running
// at the same time reset each other's device peak (each still reports at
// least what it sampled).
type PeakResetter interface {
	ResetPeak()
}

// Sentinel errors. Every failure the Device contract names wraps one of
// these; the others are ctx.Err() from Alloc and a driver's own errors.
var (
	ErrOutOfMemory   = errors.New("device: out of memory")
	ErrInvalidSize   = errors.New("device: invalid size")
	ErrDoubleFree    = errors.New("device: double free")
	ErrUseAfterFree  = errors.New("device: use after free")
	ErrForeignBuffer = errors.New("device: buffer belongs to another device")
	ErrLeak          = errors.New("device: leaked buffers")
	ErrClosed        = errors.New("device: closed")
	ErrUnavailable   = errors.New("device: unavailable")
)

// OutOfMemoryError says how an allocation, or a move to a tier, did not
// fit. It wraps ErrOutOfMemory.
type OutOfMemoryError struct {
	Requested int64
	InUse     int64
	Capacity  int64
	Tier      Tier // where it did not fit: TierDevice for an Alloc
}

func (e *OutOfMemoryError) Error() string {
	where := ""
	if e.Tier != TierDevice {
		where = " (" + e.Tier.String() + " tier)"
	}
	return fmt.Sprintf("device: out of memory%s: requested %s with %s of %s in use",
		where, FormatBytes(e.Requested), FormatBytes(e.InUse), FormatBytes(e.Capacity))
}

// Unwrap makes errors.Is(err, ErrOutOfMemory) true.
func (e *OutOfMemoryError) Unwrap() error { return ErrOutOfMemory }

// GiB is 2^30 bytes.
const GiB = int64(1) << 30

// FormatBytes prints n in the largest binary unit that keeps it >= 1,
// with up to three decimals ("18.465 GiB", "512 B").
func FormatBytes(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	v := float64(n)
	i := 0
	for (v >= 1024 || v <= -1024) && i < len(units)-1 {
		v /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d B", n)
	}
	return trimFloat(v) + " " + units[i]
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.3f", v)
	for s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	if s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	return s
}
