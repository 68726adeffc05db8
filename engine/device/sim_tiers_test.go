package device_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/engine/device/devicetest"
)

func tiered(t *testing.T, capacity int64, tiers device.SimTiers) *device.Sim {
	t.Helper()
	s, err := device.NewTieredSim(capacity, tiers)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSimTiersConformance(t *testing.T) {
	for _, withData := range []bool{false, true} {
		var s *device.Sim
		newDev := func(t *testing.T) devicetest.TieredDevice {
			s = tiered(t, devicetest.Capacity, device.SimTiers{Host: true, HostCapacity: devicetest.HostCapacity, DiskDir: t.TempDir(), Data: withData})
			return s
		}
		var data func(device.Buffer) ([]byte, error)
		if withData {
			data = func(b device.Buffer) ([]byte, error) { return s.Data(b) }
		}
		t.Run(map[bool]string{false: "accounting", true: "data"}[withData], func(t *testing.T) {
			devicetest.RunTiers(t, newDev, data)
		})
	}
}

// A buffer goes to disk and back byte for byte; the file exists only
// while it is there; a move to disk takes the host link and the disk at
// their bandwidths.
func TestSimDiskRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := tiered(t, 0, device.SimTiers{Host: true, DiskDir: dir, Data: true, HostBandwidth: 1 << 30, DiskBandwidth: 1 << 28})
	b, _ := s.Alloc(context.Background(), 3<<20+5)
	p, _ := s.Data(b)
	for i := range p {
		p[i] = byte(i % 251)
	}
	d, err := s.Move(context.Background(), b, device.TierDisk)
	if err != nil {
		t.Fatal(err)
	}
	n := float64(3<<20 + 5)
	if want := time.Duration(n/(1<<30)*float64(time.Second)) + time.Duration(n/(1<<28)*float64(time.Second)); d != want {
		t.Errorf("device to disk took %v, want %v", d, want)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(files) != 1 {
		t.Fatalf("files on disk: %v", files)
	}
	if fi, _ := os.Stat(files[0]); fi.Size() != 3<<20+5 {
		t.Fatalf("file of %d bytes", fi.Size())
	}
	if _, err := s.Data(b); !errors.Is(err, device.ErrNoTier) {
		t.Errorf("Data of a buffer on disk: %v", err)
	}
	if _, err := s.Move(context.Background(), b, device.TierDevice); err != nil {
		t.Fatal(err)
	}
	q, _ := s.Data(b)
	for i := range q {
		if q[i] != byte(i%251) {
			t.Fatalf("byte %d is %d after the round trip", i, q[i])
		}
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*")); len(files) != 0 {
		t.Fatalf("files left after reload: %v", files)
	}
	s.Move(context.Background(), b, device.TierDisk)
	s.Free(b)
	if files, _ := filepath.Glob(filepath.Join(dir, "*")); len(files) != 0 {
		t.Fatalf("files left after Free: %v", files)
	}
	c, _ := s.Alloc(context.Background(), 10)
	s.Move(context.Background(), c, device.TierDisk)
	s.Close()
	if files, _ := filepath.Glob(filepath.Join(dir, "*")); len(files) != 0 {
		t.Fatalf("files left after Close: %v", files)
	}
}

// Without data, a buffer on disk is a sparse file: a terabyte takes no
// space.
func TestSimDiskSparse(t *testing.T) {
	dir := t.TempDir()
	s := tiered(t, 0, device.SimTiers{DiskDir: dir})
	b, _ := s.Alloc(context.Background(), 1<<40)
	if _, err := s.Move(context.Background(), b, device.TierDisk); err != nil {
		t.Fatal(err)
	}
	if ts := s.TierStats(); ts.Disk.InUse != 1<<40 || s.Stats().InUse != 0 {
		t.Fatalf("disk %+v, device %d", ts.Disk, s.Stats().InUse)
	}
	if err := s.Free(b); err != nil {
		t.Fatal(err)
	}
}

// failAfter is a context whose Err turns Canceled after n calls: a
// cancellation in the middle of a copy.
type failAfter struct {
	context.Context
	n int
}

func (c *failAfter) Err() error {
	if c.n--; c.n < 0 {
		return context.Canceled
	}
	return nil
}

// A move cancelled in the middle of its copy leaves the buffer where it
// was, and no file behind.
func TestSimDiskCancelMidCopy(t *testing.T) {
	dir := t.TempDir()
	s := tiered(t, 0, device.SimTiers{DiskDir: dir, Data: true})
	b, _ := s.Alloc(context.Background(), 8<<20)
	_, err := s.Move(&failAfter{Context: context.Background(), n: 3}, b, device.TierDisk)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Move cancelled mid-copy: %v", err)
	}
	if tier, _ := s.TierOf(b); tier != device.TierDevice || s.Stats().InUse != 8<<20 {
		t.Fatalf("after a cancelled move: tier %v, device InUse %d", tier, s.Stats().InUse)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*")); len(files) != 0 {
		t.Fatalf("a cancelled move left %v", files)
	}
}

// Faults are typed: a disk directory gone (unwritable), a full disk tier,
// a tier not offered, bad configurations.
func TestSimTierFaults(t *testing.T) {
	dir := t.TempDir()
	s := tiered(t, 0, device.SimTiers{DiskDir: dir, DiskCapacity: 1 << 20})
	b, _ := s.Alloc(context.Background(), 2<<20)
	var oom *device.OutOfMemoryError
	if _, err := s.Move(context.Background(), b, device.TierDisk); !errors.As(err, &oom) || oom.Tier != device.TierDisk {
		t.Errorf("a move past the disk's capacity: %v", err)
	}
	if _, err := s.Move(context.Background(), b, device.TierHost); !errors.Is(err, device.ErrNoTier) {
		t.Errorf("a move to a host tier not offered: %v", err)
	}
	small, _ := s.Alloc(context.Background(), 10)
	os.RemoveAll(dir)
	if _, err := s.Move(context.Background(), small, device.TierDisk); !errors.Is(err, device.ErrTierIO) {
		t.Errorf("a move into a directory that is gone: %v", err)
	}
	if tier, _ := s.TierOf(small); tier != device.TierDevice {
		t.Errorf("tier after a failed write: %v", tier)
	}
	for _, bad := range []device.SimTiers{
		{Host: true, HostCapacity: -1},
		{Host: true, HostBandwidth: -5},
		{Host: true, HostBandwidth: 1 << 62},
		{DiskDir: filepath.Join(dir, "nowhere")},
	} {
		if _, err := device.NewTieredSim(0, bad); err == nil {
			t.Errorf("NewTieredSim(%+v) accepted", bad)
		}
	}
	if _, err := device.NewSim(0).Move(context.Background(), small, device.TierHost); !errors.Is(err, device.ErrForeignBuffer) {
		t.Errorf("a move on another Sim: %v", err)
	}
	plain := device.NewSim(0)
	pb, _ := plain.Alloc(context.Background(), 1)
	if _, err := plain.Move(context.Background(), pb, device.TierHost); !errors.Is(err, device.ErrNoTier) {
		t.Errorf("a plain Sim moved: %v", err)
	}
}
