package devicetest

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/ebbgraph/ebb/engine/device"
)

// HostCapacity is the host tier's capacity in the devices RunTiers asks
// for.
const HostCapacity = 32 * MiB

// TieredDevice is a Device with slower tiers.
type TieredDevice interface {
	device.Device
	device.Tiered
}

// RunTiers runs the conformance cases of the device.Tiered contract.
// newDevice makes a fresh device of Capacity bytes whose host tier holds
// HostCapacity bytes; data, when not nil, returns a device-resident
// buffer's bytes (for devices that can show them: a round trip must keep
// them).
func RunTiers(t *testing.T, newDevice func(t *testing.T) TieredDevice, data func(device.Buffer) ([]byte, error)) {
	open := func(t *testing.T) TieredDevice {
		t.Helper()
		d := newDevice(t)
		t.Cleanup(func() { d.Close() })
		if st := d.TierStats(); !st.Host.Offered || st.Host.Capacity != HostCapacity || st.Host.InUse != 0 {
			t.Fatalf("fresh device: host tier %+v, want offered with capacity %d, empty", st.Host, HostCapacity)
		}
		return d
	}
	alloc := func(t *testing.T, d TieredDevice, n int64) device.Buffer {
		t.Helper()
		b, err := d.Alloc(context.Background(), n)
		if err != nil {
			t.Fatalf("Alloc(%d): %v", n, err)
		}
		return b
	}
	move := func(t *testing.T, d TieredDevice, b device.Buffer, to device.Tier) {
		t.Helper()
		if _, err := d.Move(context.Background(), b, to); err != nil {
			t.Fatalf("Move(%v, %v): %v", b, to, err)
		}
	}
	bg := context.Background()

	t.Run("RoundTrip", func(t *testing.T) {
		d := open(t)
		b := alloc(t, d, 8*MiB)
		var want []byte
		if data != nil {
			p, err := data(b)
			if err != nil {
				t.Fatal(err)
			}
			for i := range p {
				p[i] = byte(i*7 + 3)
			}
			want = append([]byte(nil), p...)
		}
		move(t, d, b, device.TierHost)
		if st, ts := d.Stats(), d.TierStats(); st.InUse != 0 || ts.Host.InUse != 8*MiB || ts.Host.Peak != 8*MiB {
			t.Fatalf("on host: device InUse %d, host %+v", st.InUse, ts.Host)
		}
		if tier, err := d.TierOf(b); err != nil || tier != device.TierHost {
			t.Fatalf("TierOf = %v, %v; want host", tier, err)
		}
		if c, ok := d.(device.Checker); ok {
			if err := c.Check(b); err != nil {
				t.Fatalf("Check of an offloaded buffer: %v", err)
			}
		}
		move(t, d, b, device.TierDevice)
		if st, ts := d.Stats(), d.TierStats(); st.InUse != 8*MiB || ts.Host.InUse != 0 || ts.Moves != 2 || ts.Moved != 16*MiB {
			t.Fatalf("back: device InUse %d, tiers %+v", st.InUse, ts)
		}
		if data != nil {
			p, err := data(b)
			if err != nil || string(p) != string(want) {
				t.Fatalf("content after a round trip differs (err %v)", err)
			}
		}
		if err := d.Free(b); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("MoveTwice", func(t *testing.T) {
		d := open(t)
		b := alloc(t, d, MiB)
		move(t, d, b, device.TierHost)
		move(t, d, b, device.TierHost) // nothing to do
		if ts := d.TierStats(); ts.Moves != 1 || ts.Host.InUse != MiB {
			t.Fatalf("after two moves to host: %+v", ts)
		}
	})

	t.Run("HostFull", func(t *testing.T) {
		d := open(t)
		a, b := alloc(t, d, 24*MiB), alloc(t, d, 24*MiB)
		move(t, d, a, device.TierHost)
		_, err := d.Move(bg, b, device.TierHost)
		var oom *device.OutOfMemoryError
		if !errors.As(err, &oom) || oom.Tier != device.TierHost || oom.Requested != 24*MiB || oom.Capacity != HostCapacity {
			t.Fatalf("moving past the host's capacity: %v, want an OutOfMemoryError of the host tier", err)
		}
		if tier, _ := d.TierOf(b); tier != device.TierDevice || d.Stats().InUse != 24*MiB {
			t.Fatalf("a failed move moved something: tier %v, InUse %d", tier, d.Stats().InUse)
		}
	})

	t.Run("DeviceFullOnReload", func(t *testing.T) {
		d := open(t)
		a := alloc(t, d, 32*MiB)
		move(t, d, a, device.TierHost)
		alloc(t, d, Capacity-16*MiB) // the device has no room for a any more
		_, err := d.Move(bg, a, device.TierDevice)
		var oom *device.OutOfMemoryError
		if !errors.As(err, &oom) || oom.Tier != device.TierDevice {
			t.Fatalf("reloading into a full device: %v, want an OutOfMemoryError of the device tier", err)
		}
		if tier, _ := d.TierOf(a); tier != device.TierHost {
			t.Fatalf("tier after a failed reload: %v", tier)
		}
	})

	t.Run("FreeOffloaded", func(t *testing.T) {
		d := open(t)
		b := alloc(t, d, 4*MiB)
		move(t, d, b, device.TierHost)
		if err := d.Free(b); err != nil {
			t.Fatalf("Free of an offloaded buffer: %v", err)
		}
		if ts := d.TierStats(); ts.Host.InUse != 0 {
			t.Fatalf("host InUse %d after the free", ts.Host.InUse)
		}
		if _, err := d.Move(bg, b, device.TierDevice); !errors.Is(err, device.ErrUseAfterFree) {
			t.Fatalf("Move of a freed buffer: %v, want ErrUseAfterFree", err)
		}
		if err := d.Free(b); !errors.Is(err, device.ErrDoubleFree) {
			t.Fatalf("second Free: %v", err)
		}
	})

	t.Run("Errors", func(t *testing.T) {
		d := open(t)
		b := alloc(t, d, MiB)
		ctx, cancel := context.WithCancel(bg)
		cancel()
		if _, err := d.Move(ctx, b, device.TierHost); !errors.Is(err, context.Canceled) {
			t.Errorf("Move with a done ctx: %v", err)
		}
		if _, err := d.Move(bg, fakeBuffer{id: b.ID()}, device.TierHost); !errors.Is(err, device.ErrForeignBuffer) {
			t.Errorf("Move of a foreign buffer: %v", err)
		}
		if _, err := d.Move(bg, b, device.Tier(9)); !errors.Is(err, device.ErrNoTier) {
			t.Errorf("Move to an unknown tier: %v", err)
		}
		if ts := d.TierStats(); ts.Moves != 0 {
			t.Errorf("failed moves counted: %+v", ts)
		}
	})

	t.Run("ConcurrentMoves", func(t *testing.T) {
		d := open(t)
		bufs := make([]device.Buffer, 16)
		for i := range bufs {
			bufs[i] = alloc(t, d, MiB)
		}
		var wg sync.WaitGroup
		for i := range 64 {
			wg.Go(func() {
				b := bufs[i%len(bufs)]
				to := device.TierHost
				if i%3 == 0 {
					to = device.TierDevice
				}
				if _, err := d.Move(bg, b, to); err != nil {
					t.Errorf("concurrent Move: %v", err)
				}
			})
		}
		wg.Wait()
		var onHost int64
		for _, b := range bufs {
			if tier, _ := d.TierOf(b); tier == device.TierHost {
				onHost += b.Bytes()
			}
		}
		if st, ts := d.Stats(), d.TierStats(); ts.Host.InUse != onHost || st.InUse != 16*MiB-onHost {
			t.Fatalf("after concurrent moves: device %d, host %d, buffers on host %d", st.InUse, ts.Host.InUse, onHost)
		}
	})

	t.Run("CloseFreesOffloaded", func(t *testing.T) {
		d := open(t)
		b := alloc(t, d, MiB)
		move(t, d, b, device.TierHost)
		if err := d.Close(); !errors.Is(err, device.ErrLeak) {
			t.Fatalf("Close with an offloaded buffer live: %v, want ErrLeak", err)
		}
		if ts := d.TierStats(); ts.Host.InUse != 0 {
			t.Fatalf("host InUse %d after Close", ts.Host.InUse)
		}
		if _, err := d.Move(bg, b, device.TierDevice); err == nil {
			t.Fatal("Move after Close succeeded")
		}
	})
}
