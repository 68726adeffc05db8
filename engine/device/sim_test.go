package device_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/engine/device/devicetest"
)

func TestSimConformance(t *testing.T) {
	devicetest.Run(t, func(t *testing.T, capacity int64) device.Device {
		return device.NewSim(capacity)
	})
}

func TestSimLeaks(t *testing.T) {
	s := device.NewSim(0)
	ctx := context.Background()
	var bufs []device.Buffer
	for _, n := range []int64{10, 20, 30, 40} {
		b, err := s.Alloc(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		bufs = append(bufs, b)
	}
	if err := s.Free(bufs[1]); err != nil {
		t.Fatal(err)
	}
	leaks := s.Leaks()
	var got []int64
	for i, b := range leaks {
		got = append(got, b.Bytes())
		if i > 0 && leaks[i-1].ID() >= b.ID() {
			t.Fatalf("Leaks not ordered by ID: %v", leaks)
		}
	}
	if want := []int64{10, 30, 40}; !slices.Equal(got, want) {
		t.Fatalf("Leaks() sizes = %v, want %v", got, want)
	}
	if allocs, frees := s.Counts(); allocs != 4 || frees != 1 {
		t.Fatalf("Counts() = %d, %d; want 4, 1", allocs, frees)
	}
	err := s.Close()
	if !errors.Is(err, device.ErrLeak) {
		t.Fatalf("Close: %v, want ErrLeak", err)
	}
	for _, want := range []string{"3 still allocated at close", "80 B in all", "sim#1 (10 B)", "sim#3 (30 B)", "sim#4 (40 B)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Close error %q does not contain %q", err, want)
		}
	}
	if l := s.Leaks(); len(l) != 0 {
		t.Fatalf("Leaks after Close = %v, want none", l)
	}
	if st := s.Stats(); st.InUse != 0 || st.Peak != 100 {
		t.Fatalf("Stats after Close = %+v, want InUse 0, Peak 100", st)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v, want nil", err)
	}
	if err := s.Free(bufs[0]); !errors.Is(err, device.ErrDoubleFree) {
		t.Fatalf("Free of a buffer freed by Close: %v, want ErrDoubleFree", err)
	}
}

func TestSimLeakErrorListsFirstFew(t *testing.T) {
	s := device.NewSim(0)
	for range 10 {
		if _, err := s.Alloc(context.Background(), 1024); err != nil {
			t.Fatal(err)
		}
	}
	err := s.Close()
	msg := err.Error()
	if !strings.Contains(msg, "10 still allocated at close, 10 KiB in all") || !strings.Contains(msg, "sim#8 (1 KiB), and 2 more") || strings.Contains(msg, "sim#9") {
		t.Fatalf("Close error = %q", msg)
	}
}

func TestSimUnlimited(t *testing.T) {
	for _, c := range []int64{0, -5} {
		s := device.NewSim(c)
		b, err := s.Alloc(context.Background(), math.MaxInt64-1)
		if err != nil {
			t.Fatalf("NewSim(%d): Alloc(MaxInt64-1): %v", c, err)
		}
		if st := s.Stats(); st.Capacity != 0 || st.InUse != math.MaxInt64-1 || st.DriverUsed != -1 {
			t.Fatalf("NewSim(%d): Stats() = %+v", c, st)
		}
		// An allocation that would overflow InUse is out of memory.
		_, err = s.Alloc(context.Background(), 2)
		var oom *device.OutOfMemoryError
		if !errors.As(err, &oom) || oom.Capacity != 0 || oom.Requested != 2 {
			t.Fatalf("overflowing Alloc: %v, want an *OutOfMemoryError", err)
		}
		if err := s.Free(b); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSimCanceledContext(t *testing.T) {
	s := device.NewSim(0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Alloc(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("Alloc with a canceled context: %v, want context.Canceled", err)
	}
	if allocs, _ := s.Counts(); allocs != 0 {
		t.Fatalf("a canceled Alloc was counted")
	}
}

func TestOutOfMemoryErrorMessage(t *testing.T) {
	s := device.NewSim(22 * device.GiB)
	if _, err := s.Alloc(context.Background(), 20*device.GiB); err != nil {
		t.Fatal(err)
	}
	_, err := s.Alloc(context.Background(), 3*device.GiB)
	want := "device: out of memory: requested 3 GiB with 20 GiB of 22 GiB in use"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

func TestParseBytes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"0", 0},
		{"1024", 1024},
		{"1024B", 1024},
		{"22GiB", 22 << 30},
		{"22 GiB", 22 << 30},
		{"  22gib ", 22 << 30},
		{"22G", 22 << 30},
		{"22GB", 22 << 30},
		{"4gb", 4 << 30},
		{"1.5GiB", 3 << 29},
		{"1.5 GiB", 3 << 29},
		{".5GiB", 1 << 29},
		{"2.GiB", 2 << 30},
		{"512MiB", 512 << 20},
		{"512M", 512 << 20},
		{"512mb", 512 << 20},
		{"100KiB", 100 << 10},
		{"100k", 100 << 10},
		{"1TiB", 1 << 40},
		{"2tb", 2 << 40},
		{"1.1KiB", 1126}, // 1126.4: the fraction of a byte is dropped
		{"0.5B", 0},
		{"8388607TiB", 8388607 << 40},
		{"9223372036854775807", math.MaxInt64},
	} {
		got, err := device.ParseBytes(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ in, err string }{
		{"", "empty"},
		{"   ", "empty"},
		{"-1", "negative"},
		{"-1GiB", "negative"},
		{"+1GiB", "want a number"},
		{"GiB", "want a number"},
		{"1..5GiB", "want a number"},
		{"1.2.3", "want a number"},
		{".", "want a number"},
		{"1e9", `unknown unit "e9"`},
		{"12 parsecs", `unknown unit "parsecs"`},
		{"1GiBs", "unknown unit"},
		{"1 G iB", "unknown unit"},
		{"0x10", "unknown unit"},
		{"NaN", "want a number"},
		{"Inf", "want a number"},
		{"8388608TiB", "too large"},
		{"9223372036854775808", "too large"},
	} {
		got, err := device.ParseBytes(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("ParseBytes(%q) = %d, %v; want an error containing %q", tc.in, got, err, tc.err)
		}
	}
}

func TestParseFormatRoundTrip(t *testing.T) {
	for _, n := range []int64{0, 1, 1023, 1024, 1536, 5 << 20, 22 << 30, 3 << 29, 1 << 40} {
		got, err := device.ParseBytes(device.FormatBytes(n))
		if err != nil || got != n {
			t.Errorf("ParseBytes(FormatBytes(%d) = %q) = %d, %v", n, device.FormatBytes(n), got, err)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	for _, tc := range []struct {
		in   int64
		want string
	}{
		{0, "0 B"},
		{512, "512 B"},
		{1023, "1023 B"},
		{1024, "1 KiB"},
		{1536, "1.5 KiB"},
		{5 << 20, "5 MiB"},
		{22 << 30, "22 GiB"},
		{19826890342, "18.465 GiB"},
		{1 << 40, "1 TiB"},
		{2048 << 40, "2048 TiB"},
		{-2048, "-2 KiB"},
	} {
		if got := device.FormatBytes(tc.in); got != tc.want {
			t.Errorf("FormatBytes(%d) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
