package device

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
)

// Sim is a Device that hands out no real memory, only exact accounting.
// It poisons freed buffers, so a double free or a read of a freed buffer
// (through Check) is an error, and it lists the buffers still live (Leaks).
// A Sim is safe for concurrent use.
type Sim struct {
	mu       sync.Mutex
	capacity int64 // 0: unlimited
	inUse    int64
	peak     int64
	lastID   uint64
	live     map[uint64]*simBuffer
	allocs   int
	frees    int
	closed   bool
	tiers    *simTiers // nil: the device tier only (NewSim)
}

// Compile-time checks of the optional interfaces.
var (
	_ Device       = (*Sim)(nil)
	_ Checker      = (*Sim)(nil)
	_ PeakResetter = (*Sim)(nil)
)

// simBuffer is a Sim's Buffer. freed is guarded by the Sim's mutex.
type simBuffer struct {
	sim   *Sim
	id    uint64
	bytes int64
	freed bool
	tier  Tier
	data  []byte // its content in Data mode, when on the device or host
	file  string // its disk file, when on the disk tier
}

func (b *simBuffer) Bytes() int64 { return b.bytes }
func (b *simBuffer) ID() uint64   { return b.id }

// String names the buffer in errors: "sim#3 (1 MiB)".
func (b *simBuffer) String() string {
	return fmt.Sprintf("sim#%d (%s)", b.id, FormatBytes(b.bytes))
}

// NewSim returns a Sim that hands out at most capacity bytes at once.
// A capacity <= 0 means unlimited; Stats then reports Capacity 0.
func NewSim(capacity int64) *Sim {
	return &Sim{capacity: max(capacity, 0), live: make(map[uint64]*simBuffer)}
}

// Alloc reserves bytes, as the Device contract says: it returns ctx.Err()
// when ctx is already done, an error wrapping ErrInvalidSize for a
// negative size, ErrClosed after Close and an *OutOfMemoryError when the
// capacity would be exceeded; a failed Alloc changes no accounting. It
// never blocks but on s's lock. A nil ctx counts as never done.
func (s *Sim) Alloc(ctx context.Context, bytes int64) (Buffer, error) {
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	if bytes < 0 {
		return nil, fmt.Errorf("%w: alloc of negative size %d", ErrInvalidSize, bytes)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("alloc %s: %w", FormatBytes(bytes), ErrClosed)
	}
	limit := s.capacity
	if limit == 0 {
		limit = math.MaxInt64
	}
	if bytes > limit-s.inUse {
		return nil, &OutOfMemoryError{Requested: bytes, InUse: s.inUse, Capacity: s.capacity}
	}
	s.lastID++
	b := &simBuffer{sim: s, id: s.lastID, bytes: bytes}
	if s.tiers != nil && s.tiers.cfg.Data {
		b.data = make([]byte, bytes)
	}
	s.live[b.id] = b
	s.inUse += bytes
	s.peak = max(s.peak, s.inUse)
	s.allocs++
	return b, nil
}

// own returns b as one of s's buffers, or an error wrapping
// ErrForeignBuffer.
func (s *Sim) own(b Buffer) (*simBuffer, error) {
	sb, ok := b.(*simBuffer)
	if !ok || sb == nil || sb.sim != s {
		return nil, fmt.Errorf("%w: %v", ErrForeignBuffer, b)
	}
	return sb, nil
}

// Free releases b and poisons it. It fails with ErrForeignBuffer when b
// is not s's and with ErrDoubleFree when b was freed, by Free or Close.
func (s *Sim) Free(b Buffer) error {
	sb, err := s.own(b)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sb.freed {
		return fmt.Errorf("%w: %v", ErrDoubleFree, sb)
	}
	s.release(sb)
	s.frees++
	return nil
}

// release marks sb freed and takes it out of the accounting, from
// whichever tier it is on. s.mu is held.
func (s *Sim) release(sb *simBuffer) {
	sb.freed = true
	delete(s.live, sb.id)
	if s.tiers == nil {
		s.inUse -= sb.bytes
		return
	}
	s.leave(sb)
	s.removeFile(sb)
	sb.data = nil
}

// Check reports an error wrapping ErrUseAfterFree when b was freed (by
// Free or Close), and ErrForeignBuffer when b is not s's.
func (s *Sim) Check(b Buffer) error {
	sb, err := s.own(b)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sb.freed {
		return fmt.Errorf("%w: %v", ErrUseAfterFree, sb)
	}
	return nil
}

// Stats reports the accounting; DriverUsed is -1.
func (s *Sim) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{InUse: s.inUse, Peak: s.peak, Capacity: s.capacity, DriverUsed: -1}
}

// ResetPeak sets Peak to the bytes now in use.
func (s *Sim) ResetPeak() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.peak = s.inUse
}

// Leaks returns the live buffers, ordered by ID.
func (s *Sim) Leaks() []Buffer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.liveSorted()
}

func (s *Sim) liveSorted() []Buffer {
	out := make([]Buffer, 0, len(s.live))
	for _, b := range s.live {
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b Buffer) int { return cmp.Compare(a.ID(), b.ID()) })
	return out
}

// Counts returns how many Allocs and Frees have succeeded. Buffers freed
// by Close are not counted as frees.
func (s *Sim) Counts() (allocs, frees int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.allocs, s.frees
}

// Close frees every live buffer and closes s: later Allocs fail with
// ErrClosed, later Frees of its buffers with ErrDoubleFree. It returns an
// error wrapping ErrLeak, naming the buffers, when some were still live.
// Closing a closed Sim does nothing and returns nil.
func (s *Sim) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	leaks := s.liveSorted()
	for _, b := range leaks {
		s.release(b.(*simBuffer))
	}
	return LeakError(leaks)
}

// LeakError returns nil when leaks is empty, and otherwise an error
// wrapping ErrLeak that gives their number and total size and names the
// first few. Devices use it in Close.
func LeakError(leaks []Buffer) error {
	if len(leaks) == 0 {
		return nil
	}
	const show = 8
	var total int64
	names := make([]string, 0, min(len(leaks), show))
	for i, b := range leaks {
		total += b.Bytes()
		if i < show {
			names = append(names, fmt.Sprint(b))
		}
	}
	more := ""
	if len(leaks) > show {
		more = fmt.Sprintf(", and %d more", len(leaks)-show)
	}
	return fmt.Errorf("%w: %d still allocated at close, %s in all: %s%s",
		ErrLeak, len(leaks), FormatBytes(total), strings.Join(names, ", "), more)
}
