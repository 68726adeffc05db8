// close.go: the Close cases: a clean close, leaks reported and freed, the device after Close.

package devicetest

import (
	"context"
	"errors"
	"testing"

	"github.com/ebbgraph/ebb/engine/device"
)

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
