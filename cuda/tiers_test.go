//go:build cuda

package cuda_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/ebbgraph/ebb/cuda"
	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/engine/device/devicetest"
)

func tiered(t *testing.T, opts ...cuda.Option) devicetest.TieredDevice {
	t.Helper()
	d := open(t, opts...)
	td, ok := d.(devicetest.TieredDevice)
	if !ok {
		d.Close()
		t.Fatalf("%T does not implement device.Tiered", d)
	}
	return td
}

// RunTiers gets no data hook: VRAM is not host memory. TestHostTierContent
// checks the bytes instead.
func TestTiers(t *testing.T) {
	devicetest.RunTiers(t, func(t *testing.T) devicetest.TieredDevice {
		return tiered(t, cuda.WithCapacity(devicetest.Capacity), cuda.WithHostTier(devicetest.HostCapacity))
	}, nil)
}

// A round trip through the host tier keeps every byte, for a buffer of
// several copy chunks and an odd size.
func TestHostTierContent(t *testing.T) {
	const size = 2*64<<20 + 13 // three copy chunks
	d := tiered(t, cuda.WithHostTier(0))
	defer d.Close()
	ctx := context.Background()
	b, err := d.Alloc(ctx, size)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, size)
	for i := range want {
		want[i] = byte(i*7 + i>>20 + 3)
	}
	if err := cuda.WriteBuffer(d, b, want); err != nil {
		t.Fatal(err)
	}
	out, err := d.Move(ctx, b, device.TierHost)
	if err != nil {
		t.Fatal(err)
	}
	if d.Stats().InUse != 0 {
		t.Fatalf("device InUse %d with the buffer on the host", d.Stats().InUse)
	}
	back, err := d.Move(ctx, b, device.TierDevice)
	if err != nil {
		t.Fatal(err)
	}
	got, err := cuda.ReadBuffer(d, b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		i := 0
		for got[i] == want[i] {
			i++
		}
		t.Fatalf("content differs after a round trip, first at byte %d: %#x, want %#x", i, got[i], want[i])
	}
	ts := d.TierStats()
	t.Logf("%s out in %v, back in %v; host bandwidth %s/s", device.FormatBytes(size), out, back, device.FormatBytes(ts.Host.Bandwidth))
	if out <= 0 || back <= 0 || ts.Transfer != out+back || ts.Host.Capacity != 0 || ts.Host.Peak != size {
		t.Errorf("measured times %v, %v; tier stats %+v", out, back, ts)
	}
	if err := d.Free(b); err != nil {
		t.Fatal(err)
	}
}

func TestHostBandwidth(t *testing.T) {
	d := tiered(t, cuda.WithHostTier(0))
	if bw := d.TierStats().Host.Bandwidth; bw != device.DefaultHostBandwidth {
		t.Errorf("bandwidth before any move = %d, want the default %d", bw, device.DefaultHostBandwidth)
	}
	d.Close()
	d = tiered(t, cuda.WithHostTier(0), cuda.WithHostBandwidth(1<<30))
	defer d.Close()
	b, err := d.Alloc(context.Background(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Move(context.Background(), b, device.TierHost); err != nil {
		t.Fatal(err)
	}
	if bw := d.TierStats().Host.Bandwidth; bw != 1<<30 {
		t.Errorf("configured bandwidth reported as %d", bw)
	}
	if err := d.Free(b); err != nil {
		t.Fatal(err)
	}
}

// Without WithHostTier, and for the disk tier always, Move fails with
// ErrNoTier and TierStats offers nothing.
func TestNoTier(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []cuda.Option
		to   device.Tier
	}{
		{"NoHostTier", nil, device.TierHost},
		{"Disk", []cuda.Option{cuda.WithHostTier(0)}, device.TierDisk},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := tiered(t, tc.opts...)
			defer d.Close()
			b, err := d.Alloc(context.Background(), 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.Move(context.Background(), b, tc.to); !errors.Is(err, device.ErrNoTier) {
				t.Errorf("Move to %v: %v, want ErrNoTier", tc.to, err)
			}
			if st := d.TierStats(); st.Disk.Offered || st.Host.Offered != (tc.opts != nil) || st.Moves != 0 {
				t.Errorf("TierStats = %+v", st)
			}
			if err := d.Free(b); err != nil {
				t.Fatal(err)
			}
		})
	}
}
