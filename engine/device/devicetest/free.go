// free.go: the Free cases: double frees (racing ones too), foreign buffers, unique IDs.

package devicetest

import (
	"errors"
	"sync"
	"testing"

	"github.com/ebbgraph/ebb/engine/device"
)

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
