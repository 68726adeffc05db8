package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ebbgraph/ebb/cluster"
	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/nodes/testpack"
	"github.com/ebbgraph/ebb/policy"
	"github.com/ebbgraph/ebb/server"
	"github.com/ebbgraph/ebb/server/client"
	"github.com/nats-io/nats.go/jetstream"
)

// benchCluster is a server on an embedded NATS server with in-process
// workers, each with its own engine, device and NATS connection.
type benchCluster struct {
	URL     string
	js      jetstream.JetStream
	workers []*cluster.Worker
	start   func() // starts the workers
}

// benchPolicy keeps every output (level 0) so the classic cache holds a
// prompt's loader for the next prompt: what cache affinity is about.
func benchPolicy() *policy.Policy {
	p := policy.Default()
	p.Level = policy.KeepAll
	return &p
}

func newEngine(tb testing.TB) (*engine.Engine, string, string) {
	dir := tb.TempDir()
	out, tmp := filepath.Join(dir, "out"), filepath.Join(dir, "temp")
	reg := testpack.Registry()
	if err := testpack.ReplaceImageOutputs(reg, testpack.ImageFiles{OutputDir: out, TempDir: tmp}); err != nil {
		tb.Fatal(err)
	}
	eng, err := engine.New(engine.Options{Registry: reg, Parallelism: 1})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { eng.Close() })
	return eng, out, tmp
}

// serveHTTP serves s on a loopback port until the test ends.
func serveHTTP(tb testing.TB, s *server.Server) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	hs := &http.Server{Handler: s}
	go hs.Serve(ln)
	tb.Cleanup(func() { s.Close(); hs.Close() })
	return "http://" + ln.Addr().String()
}

func newServerConfig(tb testing.TB) server.Config {
	eng, out, tmp := newEngine(tb)
	return server.Config{Engine: eng, Policy: benchPolicy(), OutputDir: out, TempDir: tmp, InputDir: filepath.Join(tb.TempDir(), "in")}
}

func startBenchCluster(tb testing.TB, workers, window int) *benchCluster {
	return startCluster(tb, workers, window, cluster.Config{})
}

// startCluster is startBenchCluster with the server's JetStream config.
func startCluster(tb testing.TB, workers, window int, ccfg cluster.Config) *benchCluster {
	emb, err := cluster.StartEmbedded("127.0.0.1:0", tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(emb.Close)
	nc, err := cluster.Connect(emb.URL(), "bench server")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	be, err := cluster.NewBackend(context.Background(), nc, ccfg, tb.Logf)
	if err != nil {
		tb.Fatal(err)
	}
	cfg := newServerConfig(tb)
	cfg.Backend = be
	s, err := server.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	bc := &benchCluster{URL: serveHTTP(tb, s)}
	bc.js, _ = jetstream.New(nc)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	tb.Cleanup(func() { cancel(); wg.Wait() })
	for i := range workers {
		wnc, err := cluster.Connect(emb.URL(), "bench worker")
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(wnc.Close)
		eng, out, tmp := newEngine(tb)
		w, err := cluster.NewWorker(ctx, cluster.WorkerConfig{Conn: wnc, Run: server.RunnerConfig{Engine: eng, Policy: benchPolicy()}, ID: fmt.Sprintf("w%d", i), OutputDir: out, TempDir: tmp, AffinityWindow: window})
		if err != nil {
			tb.Fatal(err)
		}
		bc.workers = append(bc.workers, w)
	}
	bc.start = func() {
		for _, w := range bc.workers {
			wg.Add(1)
			go func() { defer wg.Done(); w.Run(ctx) }()
		}
	}
	return bc
}

// smallPrompt loads one of models "models" (a StubImage of its own size)
// and runs one output node on it with value v: no file is written.
func smallPrompt(model int, v float64) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{
  "load": {"class_type": "StubImage", "inputs": {"content": "WHITE", "height": 8, "width": %d, "batch_size": 1}},
  "out": {"class_type": "TestOutputNodeWithSocketOutput", "inputs": {"image": ["load", 0], "value": %g}}
}`, 8+model, v))
}

// BenchmarkThroughput queues 1,000 small prompts (each loading one of 8
// models) through a server on JetStream, then starts 1, 2 or 4
// in-process workers and times the drain; it checks that each prompt
// completed exactly once, and reports prompts/s, the submission rate and
// the cache affinity hit rate (with the affinity window of 4, and with 1:
// off).
//
//	go test -run '^$' -bench Throughput -benchtime 1x ./cluster/
func BenchmarkThroughput(b *testing.B) {
	const prompts = 1000
	for _, tc := range []struct{ workers, window int }{{1, 4}, {2, 4}, {4, 4}, {4, 1}} {
		b.Run(fmt.Sprintf("workers=%d/window=%d", tc.workers, tc.window), func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				bc := startBenchCluster(b, tc.workers, tc.window)
				hist, err := bc.js.KeyValue(context.Background(), cluster.BucketHistory)
				if err != nil {
					b.Fatal(err)
				}
				watch, err := hist.WatchAll(context.Background(), jetstream.UpdatesOnly())
				if err != nil {
					b.Fatal(err)
				}
				c := client.New(bc.URL)
				rng := rand.New(rand.NewPCG(1, 2))
				models := make([]int, prompts)
				for i := range models {
					models[i] = rng.IntN(8)
				}
				submitStart := time.Now()
				var next atomic.Int64
				var wg sync.WaitGroup
				for range 4 { // submitters
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							i := int(next.Add(1)) - 1
							if i >= prompts {
								return
							}
							if _, err := c.Submit(context.Background(), client.Request{Prompt: smallPrompt(models[i], float64(i)/prompts), PromptID: fmt.Sprintf("p%04d", i), NoClientID: true}); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				submitted := time.Since(submitStart)
				b.StartTimer()
				start := time.Now()
				bc.start()
				seen := map[string]int{}
				timeout := time.After(5 * time.Minute)
				for len(seen) < prompts {
					select {
					case e := <-watch.Updates():
						if e != nil && e.Operation() == jetstream.KeyValuePut {
							seen[e.Key()]++
						}
					case <-timeout:
						b.Fatalf("%d of %d prompts finished", len(seen), prompts)
					}
				}
				elapsed := time.Since(start)
				b.StopTimer()
				watch.Stop()
				// A worker counts a run after its entry is stored and acked.
				deadline := time.Now().Add(30 * time.Second)
				for {
					var n int64
					for _, w := range bc.workers {
						n += w.Stats().Runs + w.Stats().Duplicates
					}
					if n >= prompts || time.Now().After(deadline) {
						break
					}
					time.Sleep(10 * time.Millisecond)
				}
				var runs, dups, hits, loaders, picks, cacheHits int64
				for _, w := range bc.workers {
					st := w.Stats()
					runs, dups, hits, loaders, picks, cacheHits = runs+st.Runs, dups+st.Duplicates, hits+st.AffinityHits, loaders+st.WithLoaders, picks+st.AffinityPicks, cacheHits+st.CacheHits
				}
				for k, n := range seen {
					if n != 1 {
						b.Errorf("prompt %s stored %d times", k, n)
					}
				}
				if runs != prompts || dups != 0 {
					b.Errorf("runs %d, duplicates %d; want %d and 0", runs, dups, prompts)
				}
				b.ReportMetric(float64(prompts)/elapsed.Seconds(), "prompts/s")
				b.ReportMetric(float64(prompts)/submitted.Seconds(), "submits/s")
				b.ReportMetric(100*float64(hits)/float64(max(loaders, 1)), "affinity-hit-%")
				b.ReportMetric(100*float64(cacheHits)/float64(prompts), "cache-hits/100prompts")
				b.ReportMetric(float64(picks), "affinity-picks")
				b.ReportMetric(0, "ns/op")
			}
		})
	}
}

// BenchmarkHop measures one prompt at a time end to end (POST /prompt to
// the client's final message and its history entry) on the in-process
// queue and through JetStream with one in-process worker, and reports
// the median and p90; the difference of the medians is what the
// JetStream hop adds.
//
//	go test -run '^$' -bench Hop -benchtime 1x ./cluster/
func BenchmarkHop(b *testing.B) {
	const prompts = 300
	for _, mode := range []string{"inprocess", "jetstream"} {
		b.Run(mode, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				var url string
				if mode == "jetstream" {
					bc := startBenchCluster(b, 1, 4)
					bc.start()
					url = bc.URL
				} else {
					s, err := server.New(newServerConfig(b))
					if err != nil {
						b.Fatal(err)
					}
					url = serveHTTP(b, s)
				}
				c := client.New(url)
				conn, err := c.Connect(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				lat := make([]time.Duration, 0, prompts)
				b.StartTimer()
				for i := range prompts + 20 {
					t0 := time.Now()
					r, err := c.Run(context.Background(), conn, client.Request{Prompt: smallPrompt(i%8, float64(i)/1000)})
					d := time.Since(t0)
					if err != nil || !r.Success || r.Entry == nil {
						b.Fatalf("prompt %d: %v (result %+v)", i, err, r)
					}
					if i >= 20 { // warm-up
						lat = append(lat, d)
					}
				}
				b.StopTimer()
				conn.Close()
				slices.Sort(lat)
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "median-ms")
				b.ReportMetric(float64(lat[len(lat)*9/10].Microseconds())/1000, "p90-ms")
				b.ReportMetric(0, "ns/op")
			}
		})
	}
}
