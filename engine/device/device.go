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
	InUse    int64 // bytes allocated through this Device and not freed
	Peak     int64 // highest InUse since the device was made (or the last ResetPeak)
	Capacity int64 // bytes the device may hand out in all
	// DriverUsed is what the driver reports as used on the whole device
	// (other processes included), or -1 when there is no driver (Sim).
	DriverUsed int64
}

// Device hands out and takes back memory. Implementations must be safe for
// concurrent use: node bodies on several workers allocate at once.
type Device interface {
	// Alloc reserves bytes (>= 0). It fails with an error wrapping
	// ErrOutOfMemory when the capacity would be exceeded.
	Alloc(ctx context.Context, bytes int64) (Buffer, error)
	// Free releases b. Freeing a buffer twice wraps ErrDoubleFree; a buffer
	// of another device wraps ErrForeignBuffer.
	Free(b Buffer) error
	// Stats reports current usage.
	Stats() Stats
	// Close releases the device. Buffers still allocated are reported as
	// an error wrapping ErrLeak; they are freed all the same.
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

// Sentinel errors. Errors returned by devices wrap one of these.
var (
	ErrOutOfMemory   = errors.New("device: out of memory")
	ErrDoubleFree    = errors.New("device: double free")
	ErrUseAfterFree  = errors.New("device: use after free")
	ErrForeignBuffer = errors.New("device: buffer belongs to another device")
	ErrLeak          = errors.New("device: leaked buffers")
	ErrClosed        = errors.New("device: closed")
	ErrUnavailable   = errors.New("device: unavailable")
)

// OutOfMemoryError says how an allocation did not fit. It wraps
// ErrOutOfMemory.
type OutOfMemoryError struct {
	Requested int64
	InUse     int64
	Capacity  int64
}

func (e *OutOfMemoryError) Error() string {
	return fmt.Sprintf("device: out of memory: requested %s with %s of %s in use",
		FormatBytes(e.Requested), FormatBytes(e.InUse), FormatBytes(e.Capacity))
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
