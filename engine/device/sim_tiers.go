// sim_tiers.go: Sim's host and disk tiers, and its data-carrying mode.

package device

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"
)

// Default bandwidths of Sim's tiers, each way.
const (
	DefaultHostBandwidth = 24 * GiB // PCIe 4 x16, roughly
	DefaultDiskBandwidth = 3 * GiB  // an NVMe drive, roughly
)

// SimTiers configures the tiers of a Sim made by NewTieredSim.
type SimTiers struct {
	// Host offers a host-memory tier of HostCapacity bytes (0: unlimited).
	Host         bool
	HostCapacity int64
	// HostBandwidth is bytes per second each way; 0 means
	// DefaultHostBandwidth.
	HostBandwidth int64
	// DiskDir, when set, offers a disk tier: one file per buffer in that
	// directory (which must exist), removed when the buffer comes back,
	// is freed, or the Sim closes. DiskCapacity bounds it (0: unlimited).
	DiskDir       string
	DiskCapacity  int64
	DiskBandwidth int64 // 0: DefaultDiskBandwidth
	// Data makes buffers hold real bytes (zeroed at Alloc; see Sim.Data),
	// which moves copy, so a round trip can be checked byte for byte.
	// Without it a disk file is sparse: it takes no space.
	Data bool
}

// maxBandwidth bounds bandwidths: above 1 PiB/s a value is a mistake.
const maxBandwidth = 1 << 50

// NewTieredSim returns a Sim of the given device capacity (<= 0:
// unlimited) with the tiers t asks for. A negative capacity or bandwidth,
// or an absurd bandwidth, is an error wrapping ErrInvalidSize; a disk
// directory that is not a directory, one wrapping ErrTierIO.
func NewTieredSim(capacity int64, t SimTiers) (*Sim, error) {
	for _, v := range []struct {
		name  string
		n     int64
		limit int64
	}{
		{"host capacity", t.HostCapacity, math.MaxInt64},
		{"host bandwidth", t.HostBandwidth, maxBandwidth},
		{"disk capacity", t.DiskCapacity, math.MaxInt64},
		{"disk bandwidth", t.DiskBandwidth, maxBandwidth},
	} {
		if v.n < 0 || v.n > v.limit {
			return nil, fmt.Errorf("%w: %s %d", ErrInvalidSize, v.name, v.n)
		}
	}
	if t.HostBandwidth == 0 {
		t.HostBandwidth = DefaultHostBandwidth
	}
	if t.DiskBandwidth == 0 {
		t.DiskBandwidth = DefaultDiskBandwidth
	}
	if t.DiskDir != "" {
		if fi, err := os.Stat(t.DiskDir); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("%w: disk directory %q: not a directory (%v)", ErrTierIO, t.DiskDir, err)
		}
	}
	s := NewSim(capacity)
	s.tiers = &simTiers{cfg: t}
	return s, nil
}

// simTiers is a Sim's tier state, guarded by the Sim's mutex.
type simTiers struct {
	cfg                 SimTiers
	hostInUse, hostPeak int64
	diskInUse, diskPeak int64
	stats               TierStats
}

var _ Tiered = (*Sim)(nil)

func (s *Sim) offers(t Tier) bool {
	switch t {
	case TierDevice:
		return true
	case TierHost:
		return s.tiers != nil && s.tiers.cfg.Host
	case TierDisk:
		return s.tiers != nil && s.tiers.cfg.DiskDir != ""
	}
	return false
}

// Move moves b's content as the Tiered contract says. A Sim copies real
// bytes only in Data mode; the time returned is the copy at the tiers'
// bandwidths (a move between device and disk goes through host memory).
// Disk I/O happens under the Sim's lock.
func (s *Sim) Move(ctx context.Context, b Buffer, to Tier) (time.Duration, error) {
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
	}
	sb, err := s.own(b)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return 0, fmt.Errorf("move %v: %w", sb, ErrClosed)
	case sb.freed:
		return 0, fmt.Errorf("%w: move of %v", ErrUseAfterFree, sb)
	case !s.offers(to):
		return 0, fmt.Errorf("%w: %s", ErrNoTier, to)
	case sb.tier == to:
		return 0, nil
	}
	if err := s.fits(sb.bytes, to); err != nil {
		return 0, err
	}
	if to == TierDisk {
		if err := s.writeFile(ctx, sb); err != nil {
			return 0, err
		}
	}
	if sb.tier == TierDisk {
		if err := s.readFile(ctx, sb); err != nil {
			return 0, err
		}
	}
	d := s.hopTime(sb.bytes, sb.tier, to)
	s.leave(sb)
	sb.tier = to
	s.enter(sb)
	st := &s.tiers.stats
	st.Moves++
	st.Moved += sb.bytes
	st.Transfer += d
	return d, nil
}

// fits reports an *OutOfMemoryError when bytes do not fit tier t. s.mu
// is held.
func (s *Sim) fits(bytes int64, t Tier) error {
	inUse, capacity := s.inUse, s.capacity
	switch t {
	case TierHost:
		inUse, capacity = s.tiers.hostInUse, s.tiers.cfg.HostCapacity
	case TierDisk:
		inUse, capacity = s.tiers.diskInUse, s.tiers.cfg.DiskCapacity
	}
	limit := capacity
	if limit == 0 {
		limit = math.MaxInt64
	}
	if bytes > limit-inUse {
		return &OutOfMemoryError{Requested: bytes, InUse: inUse, Capacity: capacity, Tier: t}
	}
	return nil
}

// hopTime is the copy time from one tier to another: each hop across the
// host link and the disk at their bandwidths.
func (s *Sim) hopTime(bytes int64, from, to Tier) time.Duration {
	c := s.tiers.cfg
	var d time.Duration
	if (from == TierDevice) != (to == TierDevice) { // crosses the host link
		d += TransferTime(bytes, c.HostBandwidth)
	}
	if (from == TierDisk) != (to == TierDisk) {
		d += TransferTime(bytes, c.DiskBandwidth)
	}
	return d
}

// leave and enter move sb's bytes out of and into its tier's count. s.mu
// is held.
func (s *Sim) leave(sb *simBuffer) {
	switch sb.tier {
	case TierDevice:
		s.inUse -= sb.bytes
	case TierHost:
		s.tiers.hostInUse -= sb.bytes
	case TierDisk:
		s.tiers.diskInUse -= sb.bytes
	}
}

func (s *Sim) enter(sb *simBuffer) {
	switch sb.tier {
	case TierDevice:
		s.inUse += sb.bytes
		s.peak = max(s.peak, s.inUse)
	case TierHost:
		s.tiers.hostInUse += sb.bytes
		s.tiers.hostPeak = max(s.tiers.hostPeak, s.tiers.hostInUse)
	case TierDisk:
		s.tiers.diskInUse += sb.bytes
		s.tiers.diskPeak = max(s.tiers.diskPeak, s.tiers.diskInUse)
	}
}

// diskChunk is how much a disk copy writes or reads between checks of ctx.
const diskChunk = 1 << 20

// writeFile stores sb's content in its file: its bytes in Data mode, else
// a sparse file of its size. A failure or a done ctx removes the file.
func (s *Sim) writeFile(ctx context.Context, sb *simBuffer) (err error) {
	path := filepath.Join(s.tiers.cfg.DiskDir, fmt.Sprintf("ebb-sim-%d-%p-%d.bin", os.Getpid(), s, sb.id))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrTierIO, err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("%w: %v", ErrTierIO, cerr)
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	if !s.tiers.cfg.Data {
		if err := f.Truncate(sb.bytes); err != nil {
			return fmt.Errorf("%w: %v", ErrTierIO, err)
		}
		sb.file = path
		return nil
	}
	for off := 0; off < len(sb.data); off += diskChunk {
		if ctx != nil && ctx.Err() != nil {
			return fmt.Errorf("move of %v to disk: %w", sb, ctx.Err())
		}
		if _, err := f.Write(sb.data[off:min(off+diskChunk, len(sb.data))]); err != nil {
			return fmt.Errorf("%w: %v", ErrTierIO, err)
		}
	}
	sb.file = path
	return nil
}

// readFile brings sb's content back from its file and removes the file.
// On failure the buffer stays on disk.
func (s *Sim) readFile(ctx context.Context, sb *simBuffer) error {
	if s.tiers.cfg.Data {
		f, err := os.Open(sb.file)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrTierIO, err)
		}
		defer f.Close()
		var buf bytes.Buffer
		buf.Grow(len(sb.data))
		for {
			if ctx != nil && ctx.Err() != nil {
				return fmt.Errorf("move of %v from disk: %w", sb, ctx.Err())
			}
			n, err := io.CopyN(&buf, f, diskChunk)
			if errors.Is(err, io.EOF) || (err == nil && n < diskChunk) {
				break
			}
			if err != nil {
				return fmt.Errorf("%w: %v", ErrTierIO, err)
			}
		}
		if int64(buf.Len()) != sb.bytes {
			return fmt.Errorf("%w: %s holds %d bytes, want %d", ErrTierIO, sb.file, buf.Len(), sb.bytes)
		}
		sb.data = buf.Bytes()
	}
	s.removeFile(sb)
	return nil
}

// removeFile deletes sb's disk file, if any. s.mu is held.
func (s *Sim) removeFile(sb *simBuffer) {
	if sb.file != "" {
		os.Remove(sb.file)
		sb.file = ""
	}
}

// TierOf reports where b's content is.
func (s *Sim) TierOf(b Buffer) (Tier, error) {
	sb, err := s.own(b)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sb.freed {
		return 0, fmt.Errorf("%w: %v", ErrUseAfterFree, sb)
	}
	return sb.tier, nil
}

// TierStats reports the tiers' usage and the moves so far.
func (s *Sim) TierStats() TierStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tiers == nil {
		return TierStats{}
	}
	t := s.tiers
	st := t.stats
	if t.cfg.Host {
		st.Host = TierUsage{Offered: true, InUse: t.hostInUse, Peak: t.hostPeak, Capacity: t.cfg.HostCapacity, Bandwidth: t.cfg.HostBandwidth}
	}
	if t.cfg.DiskDir != "" {
		st.Disk = TierUsage{Offered: true, InUse: t.diskInUse, Peak: t.diskPeak, Capacity: t.cfg.DiskCapacity, Bandwidth: t.cfg.DiskBandwidth}
	}
	return st
}

// Data returns the bytes of b in Data mode, for the caller to read and
// write. It fails with ErrNoTier when the Sim does not carry data, and
// when b's content is not on the device (it must be moved back first).
func (s *Sim) Data(b Buffer) ([]byte, error) {
	sb, err := s.own(b)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case sb.freed:
		return nil, fmt.Errorf("%w: %v", ErrUseAfterFree, sb)
	case s.tiers == nil || !s.tiers.cfg.Data:
		return nil, fmt.Errorf("%w: this Sim carries no data", ErrNoTier)
	case sb.tier != TierDevice:
		return nil, fmt.Errorf("%w: %v is on the %s tier", ErrNoTier, sb, sb.tier)
	}
	return sb.data, nil
}
