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
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

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

func (s suite) doubleFree(t *testing.T) {
	d := s.open(t)
	a := d.alloc(2 * MiB)
	keep := d.alloc(1 * MiB)
	d.free(a)
	for range 2 {
		if err := d.Free(a); !errors.Is(err, device.ErrDoubleFree) {
			t.Fatalf("Free of a freed buffer: %v, want ErrDoubleFree", err)
		}
		d.want(1*MiB, 3*MiB) // a failed Free changes nothing
	}
	d.free(keep)
	d.closeClean()
}

func (s suite) concurrentDoubleFree(t *testing.T) {
	d := s.open(t)
	const racers = 8
	for range 20 {
		b := d.alloc(1 * MiB)
		errs := make(chan error, racers)
		var wg sync.WaitGroup
		for range racers {
			wg.Go(func() { errs <- d.Free(b) })
		}
		wg.Wait()
		close(errs)
		ok := 0
		for err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, device.ErrDoubleFree):
				t.Fatalf("racing Free: %v, want nil or ErrDoubleFree", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d racing Frees of one buffer succeeded, want exactly 1", ok)
		}
		d.want(0, 1*MiB)
	}
	d.closeClean()
}

// fakeBuffer is a Buffer no device made.
type fakeBuffer struct{ id uint64 }

func (f fakeBuffer) Bytes() int64 { return 1 }
func (f fakeBuffer) ID() uint64   { return f.id }

func (s suite) foreignBuffer(t *testing.T) {
	d1 := s.open(t)
	d2 := s.open(t)
	a := d1.alloc(1 * MiB)
	b := d2.alloc(2 * MiB)
	for _, f := range []device.Buffer{a, fakeBuffer{a.ID()}, nil} {
		if err := d2.Free(f); !errors.Is(err, device.ErrForeignBuffer) {
			t.Fatalf("Free(%v) on a device that did not make it: %v, want ErrForeignBuffer", f, err)
		}
		if c, ok := d2.Device.(device.Checker); ok {
			if err := c.Check(f); !errors.Is(err, device.ErrForeignBuffer) {
				t.Fatalf("Check(%v) on a device that did not make it: %v, want ErrForeignBuffer", f, err)
			}
		}
	}
	d1.want(1*MiB, 1*MiB)
	d2.want(2*MiB, 2*MiB)
	d1.free(a) // still live on its own device
	d2.free(b)
	d1.closeClean()
	d2.closeClean()
}

func (s suite) uniqueIDs(t *testing.T) {
	d := s.open(t)
	seen := map[uint64]bool{}
	var live []device.Buffer
	for i := range 300 {
		b := d.alloc(int64(i%7) * 1024)
		if seen[b.ID()] {
			t.Fatalf("ID %d handed out twice", b.ID())
		}
		seen[b.ID()] = true
		live = append(live, b)
		if i%3 == 2 { // free some, so a reusing allocator would show it
			d.free(live[0])
			d.free(live[1])
			live = live[2:]
		}
	}
	for _, b := range live {
		d.free(b)
	}
	d.closeClean()
}

func (s suite) concurrent(t *testing.T) {
	d := s.open(t)
	const (
		workers = 16
		held    = 4 // per worker: 16*4*256 KiB = 16 MiB < Capacity
		churn   = 100
		maxSize = 256 << 10
	)
	var barrier1, barrier2, done sync.WaitGroup
	barrier1.Add(workers)
	barrier2.Add(1)
	sums := make([]int64, workers)
	kept := make([][]device.Buffer, workers)
	errs := make(chan error, workers+1)
	stop := make(chan struct{})
	go func() { // read Stats while the workers run
		for {
			select {
			case <-stop:
				return
			default:
				if st := d.Stats(); st.InUse > st.Peak || st.InUse < 0 || st.Peak > Capacity {
					errs <- fmt.Errorf("inconsistent Stats during churn: %+v", st)
					return
				}
				time.Sleep(20 * time.Microsecond)
			}
		}
	}()
	for w := range workers {
		done.Add(1)
		go func() {
			defer done.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			alloc := func() (device.Buffer, error) {
				n := rng.Int64N(maxSize) + 1
				b, err := d.Alloc(context.Background(), n)
				if err == nil && b.Bytes() != n {
					err = fmt.Errorf("Alloc(%d).Bytes() = %d", n, b.Bytes())
				}
				return b, err
			}
			var mine []device.Buffer
			for range held {
				b, err := alloc()
				if err != nil {
					errs <- err
					barrier1.Done()
					return
				}
				mine = append(mine, b)
				sums[w] += b.Bytes()
			}
			barrier1.Done()
			barrier2.Wait()
			for range churn {
				b, err := alloc()
				if err != nil {
					errs <- err
					return
				}
				j := rng.IntN(len(mine))
				if err := d.Free(mine[j]); err != nil {
					errs <- err
					return
				}
				sums[w] += b.Bytes() - mine[j].Bytes()
				mine[j] = b
			}
			kept[w] = mine
		}()
	}
	barrier1.Wait()
	var total int64
	for _, n := range sums {
		total += n
	}
	if st := d.Stats(); st.InUse != total || st.Peak < total {
		t.Errorf("after concurrent allocs: Stats() = %+v, want InUse %d and Peak >= it", st, total)
	}
	barrier2.Done()
	done.Wait()
	close(stop)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	total = 0
	ids := map[uint64]bool{}
	for w := range workers {
		total += sums[w]
		for _, b := range kept[w] {
			if ids[b.ID()] {
				t.Fatalf("ID %d held by two live buffers", b.ID())
			}
			ids[b.ID()] = true
		}
	}
	if st := d.Stats(); st.InUse != total {
		t.Fatalf("after churn: InUse = %d, want %d", st.InUse, total)
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for _, b := range kept[w] {
				if err := d.Free(b); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if st := d.Stats(); st.InUse != 0 || st.Peak > Capacity {
		t.Fatalf("after freeing all: Stats() = %+v, want InUse 0", st)
	}
	d.closeClean()
}

func (s suite) closeClean(t *testing.T) {
	d := s.open(t)
	d.free(d.alloc(1 * MiB))
	d.closeClean()
	b, err := d.Alloc(context.Background(), 1)
	if !errors.Is(err, device.ErrClosed) {
		t.Fatalf("Alloc after Close = %v, %v; want ErrClosed", b, err)
	}
}

func (s suite) closeReportsLeaks(t *testing.T) {
	d := s.open(t)
	a := d.alloc(1 * MiB)
	b := d.alloc(2 * MiB)
	d.free(d.alloc(4 * MiB))
	err := d.close()
	if !errors.Is(err, device.ErrLeak) {
		t.Fatalf("Close with 2 live buffers: %v, want ErrLeak", err)
	}
	if _, err := d.Alloc(context.Background(), 1); !errors.Is(err, device.ErrClosed) {
		t.Fatalf("Alloc after Close: %v, want ErrClosed", err)
	}
	// Close freed the leaked buffers: they are poisoned now.
	for _, x := range []device.Buffer{a, b} {
		if err := d.Free(x); err == nil {
			t.Fatalf("Free of a buffer that Close freed: no error")
		}
		if c, ok := d.Device.(device.Checker); ok {
			if err := c.Check(x); !errors.Is(err, device.ErrUseAfterFree) {
				t.Fatalf("Check of a buffer that Close freed: %v, want ErrUseAfterFree", err)
			}
		}
	}
}

// afterClose: Close frees everything; then Alloc fails with ErrClosed,
// Free of the device's buffers with ErrDoubleFree, Stats still answers
// with InUse 0, and a second Close is a no-op.
func (s suite) afterClose(t *testing.T) {
	d := s.open(t)
	freed := d.alloc(2 * MiB)
	d.free(freed)
	leaked := d.alloc(1 * MiB)
	zero := d.alloc(0)
	if err := d.close(); !errors.Is(err, device.ErrLeak) {
		t.Fatalf("Close with 2 live buffers: %v, want ErrLeak", err)
	}
	if st := d.Stats(); st.InUse != 0 {
		t.Fatalf("Stats() after Close = %+v, want InUse 0", st)
	}
	for _, n := range []int64{0, 1} {
		if b, err := d.Alloc(context.Background(), n); !errors.Is(err, device.ErrClosed) || b != nil {
			t.Fatalf("Alloc(%d) after Close = %v, %v; want no buffer and ErrClosed", n, b, err)
		}
	}
	for _, b := range []device.Buffer{freed, leaked, zero} {
		if err := d.Free(b); !errors.Is(err, device.ErrDoubleFree) {
			t.Fatalf("Free(%v) after Close: %v, want ErrDoubleFree", b, err)
		}
	}
	if err := d.Free(fakeBuffer{leaked.ID()}); !errors.Is(err, device.ErrForeignBuffer) {
		t.Fatalf("Free of a foreign buffer after Close: %v, want ErrForeignBuffer", err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close: %v, want nil", err)
	}
	if st := d.Stats(); st.InUse != 0 {
		t.Fatalf("Stats() after a second Close = %+v, want InUse 0", st)
	}
}

func (s suite) check(t *testing.T) {
	d := s.open(t)
	c, ok := d.Device.(device.Checker)
	if !ok {
		t.Skip("device does not implement device.Checker")
	}
	a := d.alloc(1 * MiB)
	z := d.alloc(0)
	for _, b := range []device.Buffer{a, z} {
		if err := c.Check(b); err != nil {
			t.Fatalf("Check of a live buffer: %v", err)
		}
		d.free(b)
		if err := c.Check(b); !errors.Is(err, device.ErrUseAfterFree) {
			t.Fatalf("Check of a freed buffer: %v, want ErrUseAfterFree", err)
		}
	}
	d.want(0, 1*MiB)
	d.closeClean()
}

func (s suite) resetPeak(t *testing.T) {
	d := s.open(t)
	r, ok := d.Device.(device.PeakResetter)
	if !ok {
		t.Skip("device does not implement device.PeakResetter")
	}
	a := d.alloc(8 * MiB)
	b := d.alloc(8 * MiB)
	d.free(a)
	d.want(8*MiB, 16*MiB)
	r.ResetPeak()
	d.want(8*MiB, 8*MiB)
	c := d.alloc(4 * MiB)
	d.want(12*MiB, 12*MiB)
	d.free(b)
	d.free(c)
	r.ResetPeak()
	d.want(0, 0)
	d.closeClean()
}
