//go:build cuda

package cuda_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/ebbgraph/ebb/cuda"
	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/engine/device/devicetest"
)

// These tests need an NVIDIA GPU and its driver: without one, cu's package
// init exits the test binary before any test runs. EBB_CUDA_DEVICE picks
// the GPU (default 0).

func ordinal(t *testing.T) int {
	s := os.Getenv("EBB_CUDA_DEVICE")
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("EBB_CUDA_DEVICE=%q: %v", s, err)
	}
	return n
}

func open(t *testing.T, opts ...cuda.Option) device.Device {
	t.Helper()
	d, err := cuda.New(ordinal(t), opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return d
}

func TestConformance(t *testing.T) {
	devicetest.Run(t, func(t *testing.T, capacity int64) device.Device {
		return open(t, cuda.WithCapacity(capacity))
	})
}

type driverPeaker interface{ DriverPeak() int64 }

func TestDriverSeesAllocations(t *testing.T) {
	const size = 256 << 20
	d := open(t)
	defer d.Close()
	t.Logf("device %v", d)
	before := d.Stats()
	if before.DriverUsed <= 0 || before.DriverUsed > before.Capacity {
		t.Fatalf("fresh device: DriverUsed = %d, want in (0, %d]", before.DriverUsed, before.Capacity)
	}
	b, err := d.Alloc(context.Background(), size)
	if err != nil {
		t.Fatal(err)
	}
	during := d.Stats()
	if err := d.Free(b); err != nil {
		t.Fatal(err)
	}
	after := d.Stats()
	t.Logf("driver used: %s before, %s with %s allocated, %s after free",
		device.FormatBytes(before.DriverUsed), device.FormatBytes(during.DriverUsed),
		device.FormatBytes(size), device.FormatBytes(after.DriverUsed))
	if got := during.DriverUsed - before.DriverUsed; got < size {
		t.Errorf("the driver's used memory grew by %d bytes for a %d-byte allocation", got, size)
	}
	if got := during.DriverUsed - after.DriverUsed; got < size {
		t.Errorf("the driver's used memory shrank by %d bytes when %d bytes were freed", got, size)
	}
	if during.InUse != size || after.InUse != 0 || after.Peak != size {
		t.Errorf("accounting: %+v with the buffer, %+v after", during, after)
	}
	dp, ok := d.(driverPeaker)
	if !ok {
		t.Fatalf("%T has no DriverPeak method", d)
	}
	if got := dp.DriverPeak(); got < during.DriverUsed {
		t.Errorf("DriverPeak() = %d, below the %d seen with the buffer allocated", got, during.DriverUsed)
	}
	d.(device.PeakResetter).ResetPeak()
	if got := dp.DriverPeak(); got >= during.DriverUsed {
		t.Errorf("DriverPeak() after ResetPeak = %d, want below %d", got, during.DriverUsed)
	}
}

func TestCapacity(t *testing.T) {
	d := open(t)
	total := d.Stats().Capacity
	d.Close()
	if total <= 0 {
		t.Fatalf("Capacity without a cap = %d", total)
	}
	for _, tc := range []struct {
		cap, want int64
	}{
		{0, total},
		{-1, total},
		{1 << 20, 1 << 20},
		{total + 1, total},
		{1 << 62, total},
	} {
		d := open(t, cuda.WithCapacity(tc.cap))
		if got := d.Stats().Capacity; got != tc.want {
			t.Errorf("WithCapacity(%d): Capacity = %d, want %d", tc.cap, got, tc.want)
		}
		if err := d.Close(); err != nil {
			t.Error(err)
		}
	}
}

// The device's capacity is the GPU's total memory, but the driver cannot
// hand all of it out: the context itself takes some. The driver's refusal
// must come back as an out-of-memory error and change nothing.
func TestDriverOutOfMemory(t *testing.T) {
	d := open(t)
	defer d.Close()
	keep, err := d.Alloc(context.Background(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	want := d.Stats()
	b, err := d.Alloc(context.Background(), want.Capacity-want.InUse)
	if err == nil {
		d.Free(b)
		t.Fatalf("Alloc of the whole GPU succeeded")
	}
	t.Logf("Alloc of the whole GPU: %v", err)
	var oom *device.OutOfMemoryError
	if !errors.Is(err, device.ErrOutOfMemory) || !errors.As(err, &oom) {
		t.Fatalf("Alloc of the whole GPU: %v, want an *device.OutOfMemoryError", err)
	}
	if oom.Requested != want.Capacity-want.InUse || oom.InUse != want.InUse || oom.Capacity != want.Capacity {
		t.Errorf("OutOfMemoryError = %+v, want the request, %d in use and capacity %d", *oom, want.InUse, want.Capacity)
	}
	if got := d.Stats(); got.InUse != want.InUse || got.Peak != want.Peak {
		t.Errorf("a refused Alloc changed the accounting: %+v, was %+v", got, want)
	}
	if err := d.Free(keep); err != nil {
		t.Fatal(err)
	}
}

func TestNoSuchGPU(t *testing.T) {
	for _, n := range []int{-1, 1 << 20} {
		d, err := cuda.New(n)
		if !errors.Is(err, device.ErrUnavailable) || d != nil {
			t.Errorf("New(%d) = %v, %v; want an error wrapping device.ErrUnavailable", n, d, err)
		}
	}
}

func TestString(t *testing.T) {
	d := open(t, cuda.WithCapacity(1<<20))
	defer d.Close()
	if s := fmt.Sprint(d); !strings.HasPrefix(s, fmt.Sprintf("cuda:%d (", ordinal(t))) {
		t.Errorf("String() = %q", s)
	}
	b, err := d.Alloc(context.Background(), 1024)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Free(b); err != nil {
		t.Fatal(err)
	}
	err = d.Free(b)
	if !errors.Is(err, device.ErrDoubleFree) || !strings.Contains(err.Error(), "#1 (1 KiB)") {
		t.Errorf("double free: %v", err)
	}
}
