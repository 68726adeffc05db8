// Package devicetest is the conformance suite of the device.Device
// contract. Every Device implementation runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		devicetest.Run(t, func(t *testing.T, capacity int64) device.Device {
//			return device.NewSim(capacity)
//		})
//	}
//
// The suite asks for devices of at most Capacity bytes, small enough for
// any real GPU. Run it with -race: one subtest allocates and frees from many
// goroutines at once.
package devicetest

import (
	"context"
	"testing"

	"github.com/ebbgraph/ebb/engine/device"
)

const (
	// MiB is 2^20 bytes.
	MiB = int64(1) << 20
	// Capacity is the capacity of every device the suite asks for.
	Capacity = 64 * MiB
)

// Run runs the conformance suite as subtests of t. newDevice makes a fresh
// device that hands out at most capacity bytes; its Stats must report
// exactly that Capacity. newDevice may call t.Skip or t.Fatal.
func Run(t *testing.T, newDevice func(t *testing.T, capacity int64) device.Device) {
	s := suite{newDevice: newDevice}
	for _, tc := range []struct {
		name string
		fn   func(*testing.T)
	}{
		{"AllocFree", s.allocFree},
		{"PeakMonotonic", s.peakMonotonic},
		{"OutOfMemory", s.outOfMemory},
		{"ZeroBytes", s.zeroBytes},
		{"NegativeBytes", s.negativeBytes},
		{"DoneContext", s.doneContext},
		{"ErrorOrder", s.errorOrder},
		{"DoubleFree", s.doubleFree},
		{"ConcurrentDoubleFree", s.concurrentDoubleFree},
		{"ForeignBuffer", s.foreignBuffer},
		{"UniqueIDs", s.uniqueIDs},
		{"Concurrent", s.concurrent},
		{"CloseClean", s.closeClean},
		{"CloseReportsLeaks", s.closeReportsLeaks},
		{"AfterClose", s.afterClose},
		{"Check", s.check},
		{"ResetPeak", s.resetPeak},
	} {
		t.Run(tc.name, tc.fn)
	}
}

type suite struct {
	newDevice func(t *testing.T, capacity int64) device.Device
}

// open makes a device with the suite's capacity and closes it at the end
// of the test unless the test closed it.
func (s suite) open(t *testing.T) *dev {
	t.Helper()
	d := &dev{Device: s.newDevice(t, Capacity), t: t}
	if d.Device == nil {
		t.Fatal("newDevice returned nil")
	}
	t.Cleanup(func() {
		if !d.closed {
			d.Device.Close()
		}
	})
	if got := d.Stats(); got.Capacity != Capacity || got.InUse != 0 || got.Peak != 0 {
		t.Fatalf("fresh device: Stats() = %+v, want Capacity %d, InUse 0, Peak 0", got, Capacity)
	}
	return d
}

// dev wraps a Device under test with fatal-on-error helpers.
type dev struct {
	device.Device
	t      *testing.T
	closed bool
}

func (d *dev) alloc(bytes int64) device.Buffer {
	d.t.Helper()
	b, err := d.Alloc(context.Background(), bytes)
	if err != nil {
		d.t.Fatalf("Alloc(%d): %v", bytes, err)
	}
	if b == nil {
		d.t.Fatalf("Alloc(%d) returned a nil Buffer and no error", bytes)
	}
	if b.Bytes() != bytes {
		d.t.Fatalf("Alloc(%d).Bytes() = %d", bytes, b.Bytes())
	}
	return b
}

func (d *dev) free(b device.Buffer) {
	d.t.Helper()
	if err := d.Free(b); err != nil {
		d.t.Fatalf("Free(buffer %d, %d bytes): %v", b.ID(), b.Bytes(), err)
	}
}

func (d *dev) close() error {
	d.closed = true
	return d.Close()
}

// want checks InUse and Peak.
func (d *dev) want(inUse, peak int64) {
	d.t.Helper()
	st := d.Stats()
	if st.InUse != inUse || st.Peak != peak {
		d.t.Fatalf("Stats() InUse = %d, Peak = %d; want %d, %d", st.InUse, st.Peak, inUse, peak)
	}
	if st.Capacity != Capacity {
		d.t.Fatalf("Stats().Capacity = %d, want %d", st.Capacity, Capacity)
	}
}

func (d *dev) closeClean() {
	d.t.Helper()
	if err := d.close(); err != nil {
		d.t.Fatalf("Close with no live buffers: %v", err)
	}
}
