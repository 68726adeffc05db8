// alloc.go: the Alloc cases: accounting and peaks, out of memory, zero and negative sizes, done contexts, the order of errors.

package devicetest

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ebbgraph/ebb/engine/device"
)

func (s suite) allocFree(t *testing.T) {
	d := s.open(t)
	a := d.alloc(1 * MiB)
	d.want(1*MiB, 1*MiB)
	b := d.alloc(3 * MiB)
	d.want(4*MiB, 4*MiB)
	if a.ID() == b.ID() {
		t.Fatalf("two live buffers share ID %d", a.ID())
	}
	d.free(a)
	d.want(3*MiB, 4*MiB)
	c := d.alloc(2 * MiB)
	d.want(5*MiB, 5*MiB)
	d.free(b)
	d.free(c)
	d.want(0, 5*MiB)
	d.closeClean()
}

func (s suite) peakMonotonic(t *testing.T) {
	d := s.open(t)
	rng := rand.New(rand.NewPCG(1, 2))
	var live []device.Buffer
	var inUse, peak int64
	for i := range 200 {
		if len(live) > 0 && (rng.IntN(2) == 0 || inUse > Capacity/2) {
			j := rng.IntN(len(live))
			d.free(live[j])
			inUse -= live[j].Bytes()
			live = append(live[:j], live[j+1:]...)
		} else {
			n := rng.Int64N(4*MiB) + 1
			live = append(live, d.alloc(n))
			inUse += n
		}
		prev := peak
		peak = max(peak, inUse)
		st := d.Stats()
		if st.InUse != inUse || st.Peak != peak {
			t.Fatalf("step %d: Stats() InUse = %d, Peak = %d; want %d, %d", i, st.InUse, st.Peak, inUse, peak)
		}
		if st.Peak < prev {
			t.Fatalf("step %d: Peak went down from %d to %d", i, prev, st.Peak)
		}
	}
	for _, b := range live {
		d.free(b)
	}
	d.want(0, peak)
	d.closeClean()
}

// wantOOM checks that err is an out-of-memory error with these fields.
func wantOOM(t *testing.T, err error, requested, inUse int64) {
	t.Helper()
	if err == nil {
		t.Fatalf("Alloc(%d) with %d of %d in use: no error", requested, inUse, Capacity)
	}
	if !errors.Is(err, device.ErrOutOfMemory) {
		t.Fatalf("Alloc(%d): error %q does not wrap ErrOutOfMemory", requested, err)
	}
	var oom *device.OutOfMemoryError
	if !errors.As(err, &oom) {
		t.Fatalf("Alloc(%d): error %q is not an *OutOfMemoryError", requested, err)
	}
	want := device.OutOfMemoryError{Requested: requested, InUse: inUse, Capacity: Capacity}
	if *oom != want {
		t.Fatalf("Alloc(%d): OutOfMemoryError = %+v, want %+v", requested, *oom, want)
	}
}

func (s suite) outOfMemory(t *testing.T) {
	d := s.open(t)
	b, err := d.Alloc(context.Background(), Capacity+1)
	wantOOM(t, err, Capacity+1, 0)
	if b != nil {
		t.Fatalf("failed Alloc returned a buffer %v", b)
	}
	d.want(0, 0)

	a := d.alloc(40 * MiB)
	_, err = d.Alloc(context.Background(), 30*MiB)
	wantOOM(t, err, 30*MiB, 40*MiB)
	d.want(40*MiB, 40*MiB) // a failed Alloc changes nothing

	// Exactly full is allowed; one byte more is not.
	c := d.alloc(Capacity - 40*MiB)
	d.want(Capacity, Capacity)
	_, err = d.Alloc(context.Background(), 1)
	wantOOM(t, err, 1, Capacity)
	d.want(Capacity, Capacity)

	// Freeing makes room again.
	d.free(a)
	e := d.alloc(30 * MiB)
	d.want(Capacity-10*MiB, Capacity)
	d.free(c)
	d.free(e)
	d.want(0, Capacity)
	d.closeClean()
}

func (s suite) zeroBytes(t *testing.T) {
	d := s.open(t)
	a := d.alloc(0)
	b := d.alloc(0)
	if a.ID() == b.ID() {
		t.Fatalf("two zero-byte buffers share ID %d", a.ID())
	}
	d.want(0, 0)
	d.free(a)
	if err := d.Free(a); !errors.Is(err, device.ErrDoubleFree) {
		t.Fatalf("second Free of a zero-byte buffer: %v, want ErrDoubleFree", err)
	}
	// A full device still hands out zero bytes.
	c := d.alloc(Capacity)
	z := d.alloc(0)
	d.want(Capacity, Capacity)
	d.free(z)
	d.free(c)
	d.free(b)
	d.want(0, Capacity)
	d.closeClean()
}

func (s suite) negativeBytes(t *testing.T) {
	d := s.open(t)
	b, err := d.Alloc(context.Background(), -1)
	if err == nil {
		t.Fatalf("Alloc(-1) = %v, nil; want an error", b)
	}
	if errors.Is(err, device.ErrOutOfMemory) {
		t.Fatalf("Alloc(-1): %v; a negative size is not out of memory", err)
	}
	d.want(0, 0)
	for _, n := range []int64{-1, -Capacity, math.MinInt64} {
		b, err := d.Alloc(context.Background(), n)
		if !errors.Is(err, device.ErrInvalidSize) || b != nil {
			t.Fatalf("Alloc(%d) = %v, %v; want no buffer and ErrInvalidSize", n, b, err)
		}
	}
	d.want(0, 0)
	d.closeClean()
}

// doneContext: Alloc with a context that is already done fails with the
// context's error, whatever the size, and changes nothing.
func (s suite) doneContext(t *testing.T) {
	d := s.open(t)
	a := d.alloc(1 * MiB)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	for _, c := range []struct {
		ctx  context.Context
		want error
	}{{cancelled, context.Canceled}, {expired, context.DeadlineExceeded}} {
		for _, n := range []int64{0, 1, 1 * MiB, Capacity} { // Capacity would not fit
			b, err := d.Alloc(c.ctx, n)
			if !errors.Is(err, c.want) || b != nil {
				t.Fatalf("Alloc(%d) with a done context = %v, %v; want no buffer and %v", n, b, err, c.want)
			}
		}
	}
	d.want(1*MiB, 1*MiB)
	// A context that is not done yet does not stop Alloc.
	live, cancel3 := context.WithCancel(context.Background())
	b, err := d.Alloc(live, 2*MiB)
	cancel3()
	if err != nil {
		t.Fatalf("Alloc with a live context: %v", err)
	}
	d.want(3*MiB, 3*MiB)
	d.free(b) // cancelling ctx later does not touch the buffer
	d.free(a)
	d.closeClean()
}

// errorOrder: a done context goes before a negative size, which goes before
// a closed device, which goes before out of memory.
func (s suite) errorOrder(t *testing.T) {
	d := s.open(t)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.Alloc(cancelled, -1); !errors.Is(err, context.Canceled) {
		t.Fatalf("Alloc(-1) with a cancelled context: %v, want context.Canceled", err)
	}
	d.closeClean()
	for _, c := range []struct {
		ctx   context.Context
		bytes int64
		want  error
	}{
		{cancelled, 1, context.Canceled},
		{context.Background(), -1, device.ErrInvalidSize},
		{context.Background(), Capacity + 1, device.ErrClosed},
	} {
		if _, err := d.Alloc(c.ctx, c.bytes); !errors.Is(err, c.want) {
			t.Fatalf("Alloc(%d) on a closed device: %v, want %v", c.bytes, err, c.want)
		}
	}
}
