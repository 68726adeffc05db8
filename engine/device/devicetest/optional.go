// optional.go: the cases of the optional interfaces device.Checker and device.PeakResetter.

package devicetest

import (
	"errors"
	"testing"

	"github.com/ebbgraph/ebb/engine/device"
)

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
