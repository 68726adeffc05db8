package server_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/ebbgraph/ebb/server"
	"github.com/ebbgraph/ebb/server/client"
)

// dialSlow opens a watching WebSocket (every prompt's events) with a tiny
// receive buffer, and never reads it.
func dialSlow(t testing.TB, ts *testServer) *websocket.Conn {
	t.Helper()
	d := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return setRecvBuffer(c, 2048)
	}}
	hc := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	u := strings.Replace(ts.URL, "http", "ws", 1) + "/ws?" + url.Values{"clientId": {"slow"}, "watch": {"1"}}.Encode()
	conn, _, err := websocket.Dial(ctx(t), u, &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	return conn
}

// heapInUse is the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// loadRound runs clients clients, each submitting prompts prompts and
// following them on its own WebSocket; it returns the ids that succeeded
// and the errors.
func loadRound(ctx context.Context, ts *testServer, clients, prompts int) (ids []string, errs []error) {
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for i := range clients {
		wg.Go(func() {
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			c := client.New(ts.URL)
			conn, err := c.Connect(ctx)
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return
			}
			defer conn.Close()
			for j := range prompts {
				// Some prompts repeat (cache hits), most differ.
				r, err := c.Run(ctx, conn, client.Request{Prompt: small(float64((i*prompts+j)%97) / 97).raw()})
				mu.Lock()
				switch {
				case err != nil:
					errs = append(errs, err)
				case !r.Success || r.Entry == nil || r.Entry.Status.StatusStr != "success":
					errs = append(errs, fmt.Errorf("prompt %s: success %v, error %v", r.PromptID, r.Success, r.Error))
				default:
					ids = append(ids, r.PromptID)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return ids, errs
}

// TestLoad: 50 clients submit 20 prompts each, following their own
// events, while a client that never reads watches every prompt. Every
// prompt completes with exactly one history entry, the silent client is
// disconnected instead of stalling anyone, and the heap after the load
// (clients gone, history cleared) is within 1.5x of the heap before it,
// measured after a warm-up round of one prompt per client (the runtime
// keeps the descriptors of as many goroutines as ever ran at once). A
// hang is caught by the context's deadline, not by a timing assertion.
func TestLoad(t *testing.T) {
	clients, prompts := 50, 20
	if testing.Short() {
		clients, prompts = 10, 5
	}
	cfg := defaults()
	cfg.edit = func(c *server.Config) { c.ClientBuffer = 64; c.WriteTimeout = time.Second }
	ts := start(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c := client.New(ts.URL)

	if _, errs := loadRound(ctx, ts, clients, 1); len(errs) > 0 {
		t.Fatal(errs[0])
	}
	if err := c.ClearHistory(ctx); err != nil {
		t.Fatal(err)
	}
	http.DefaultClient.CloseIdleConnections()
	beforeG := runtime.NumGoroutine()
	before := heapInUse()

	dialSlow(t, ts)
	ids, errs := loadRound(ctx, ts, clients, prompts)
	for _, err := range errs[:min(len(errs), 5)] {
		t.Error(err)
	}
	got, entries, err := c.HistoryPage(ctx, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != clients*prompts || len(entries) != len(got) {
		t.Errorf("history has %d entries (%d distinct), want %d", len(got), len(entries), clients*prompts)
	}
	slices.Sort(ids)
	if slices.Sort(got); !slices.Equal(ids, got) {
		t.Errorf("history ids differ from the %d prompts run", len(ids))
	}
	// Kernel buffers may have absorbed what the silent client was sent
	// (a short load): send more until they are full and it is dropped.
	driveUntilDropped(t, ts)
	withHistory := heapInUse()
	if err := c.ClearHistory(ctx); err != nil {
		t.Fatal(err)
	}
	http.DefaultClient.CloseIdleConnections()
	waitGoroutines(t, beforeG)
	after := heapInUse()
	t.Logf("heap before %d KiB, after the load %d KiB with %d history entries, %d KiB after clearing them",
		before>>10, withHistory>>10, len(got), after>>10)
	if float64(after) > 1.5*float64(before) {
		t.Errorf("heap after the load %d KiB, more than 1.5x the %d KiB before", after>>10, before>>10)
	}
}

// driveUntilDropped runs prompts until the server has dropped a client
// (the one that never reads), failing after 2,000 prompts.
func driveUntilDropped(t *testing.T, ts *testServer) {
	t.Helper()
	c, conn := ts.client(t)
	for i := 0; ts.Dropped() == 0; i++ {
		if i == 2000 {
			t.Fatal("the client that never reads was not disconnected after 2,000 more prompts")
		}
		ok(t, run(t, c, conn, small(float64(i%97)/97)))
	}
	conn.Close()
}

// waitGoroutines waits (polling, with a deadline) until at most n
// goroutines run: the connections' goroutines end after their sockets
// close.
func waitGoroutines(t testing.TB, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, want at most %d:\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// BenchmarkRoundTripCached is ComfyUI's cached round trip
// (test_async_caching_behavior allows 100 ms): submit a 3-node prompt
// that is entirely cached, follow its events to the end and fetch its
// history entry. It reports the p50 and p99 in milliseconds.
func BenchmarkRoundTripCached(b *testing.B) {
	ts := start(b, defaults())
	c, conn := ts.client(b)
	w := small(0.5)
	ok(b, run(b, c, conn, w))
	var times []time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		r := run(b, c, conn, w)
		times = append(times, time.Since(t0))
		if len(r.Ran) != 0 {
			b.Fatalf("nodes ran: %v", r.Ran)
		}
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	pct := func(p float64) float64 {
		return float64(times[min(len(times)-1, int(p*float64(len(times))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
