// worker.go: "ebb worker": pull prompts from NATS JetStream and run them
// on one engine (package cluster); and the NATS side of "ebb serve".

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ebbgraph/ebb/cluster"
	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/nodes/testpack"
	"github.com/ebbgraph/ebb/server"
	"github.com/nats-io/nats.go"
)

func cmdWorker(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("worker", "",
		"Pull prompts from a NATS JetStream queue (one that \"ebb serve\" feeds) and run them one at a time on one engine and device.", stderr)
	var (
		url, id, outputDir, tempDir string
		maxAttempts, window         int
		ackWait                     time.Duration
		quiet                       bool
		eng                         engineFlags
	)
	fs.StringVar(&url, "nats", "", "`URL` of the NATS server or cluster (required), such as nats://127.0.0.1:4222")
	fs.StringVar(&id, "id", "", "worker `NAME` in the queue and the counters (default HOST-PID)")
	fs.StringVar(&outputDir, "output-dir", "", "`DIR` SaveImage writes to before the files go to the object store (default: a temporary directory)")
	fs.StringVar(&tempDir, "temp-dir", "", "`DIR` PreviewImage writes to (default: a temporary directory)")
	fs.IntVar(&maxAttempts, "max-attempts", 3, "times a prompt may start (on any worker) before it is dead-lettered (`N`)")
	fs.IntVar(&window, "affinity-window", 4, "queued prompts a free worker looks at for one whose loaders it holds (`N`; 1: none)")
	fs.DurationVar(&ackWait, "ack-wait", 30*time.Second, "ack wait of the consumers when this worker has to make them (a server sets it otherwise)")
	fs.BoolVar(&quiet, "quiet", false, "do not log dropped duplicates, dead letters and other worker events on stderr")
	eng.register(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("worker takes no arguments (got %v)", pos)
	}
	if url == "" {
		return usagef("worker needs --nats URL")
	}
	if maxAttempts < 1 || window < 1 {
		return usagef("--max-attempts and --affinity-window must be at least 1")
	}
	// The offload flags, before connecting (open checks the rest).
	spec, err := parseDeviceSpec(eng.device)
	if err != nil {
		return err
	}
	if _, err := eng.offload.parse(fs, spec); err != nil {
		return err
	}
	for _, d := range []*string{&outputDir, &tempDir} {
		if *d == "" {
			tmp, err := os.MkdirTemp("", "ebb-worker-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			*d = tmp
		} else if err := os.MkdirAll(*d, 0o755); err != nil {
			return usagef("%v", err)
		}
	}
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, format+"\n", a...) }
	if quiet {
		logf = nil
	}
	nc, err := cluster.Connect(url, "ebb worker")
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	defer nc.Close()
	setup, err := eng.open(imageOutputs(outputDir, tempDir))
	if err != nil {
		return err
	}
	defer setup.Close()
	w, err := newWorker(ctx, nc, setup, id, outputDir, tempDir, cluster.Config{AckWait: ackWait}, maxAttempts, window, logf)
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	fmt.Fprintf(stdout, "ebb worker %s: pulling prompts from %s (level %s, strategy %s, device %s)\n", w.Stats().ID, nc.ConnectedUrl(), setup.pol.Level, setup.pol.Strategy, setup.spec)
	err = w.Run(ctx)
	st := w.Stats()
	fmt.Fprintf(stdout, "ebb worker %s: stopped after %d prompts (%d duplicates dropped, %d dead-lettered)\n", st.ID, st.Runs, st.Duplicates, st.DeadLettered)
	return err
}

// imageOutputs makes SaveImage and PreviewImage write real files.
func imageOutputs(outputDir, tempDir string) func(*engine.Registry) error {
	return func(r *engine.Registry) error {
		return testpack.ReplaceImageOutputs(r, testpack.ImageFiles{OutputDir: outputDir, TempDir: tempDir})
	}
}

func newWorker(ctx context.Context, nc *nats.Conn, setup *engineSetup, id, outputDir, tempDir string, cfg cluster.Config, maxAttempts, window int, logf func(string, ...any)) (*cluster.Worker, error) {
	return cluster.NewWorker(ctx, cluster.WorkerConfig{
		Conn: nc, ID: id,
		Run: server.RunnerConfig{Engine: setup.eng, Policy: &setup.pol, Order: setup.order, Limits: setup.limits, KeepExecuted: setup.keep, Offload: setup.offload.mode, Evict: setup.offload.evict}, OutputDir: outputDir, TempDir: tempDir,
		Config: cfg, MaxAttempts: maxAttempts, AffinityWindow: window, Logf: logf,
	})
}

// serveCluster is the NATS side of "ebb serve": the embedded server (or
// the connection to a cluster), the Backend and the in-process workers.
type serveCluster struct {
	emb     *cluster.Embedded
	nc      *nats.Conn
	be      *cluster.Backend
	workers []*cluster.Worker
	extra   []*engineSetup // engines of workers after the first
	tmp     []string
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	once    sync.Once
}

// backend is the server's Backend: nil (in-process) with --nats off.
func (c *serveCluster) backend() server.Backend {
	if c.be == nil {
		return nil
	}
	return c.be
}

func startCluster(ctx context.Context, f *serveFlags, setup *engineSetup, logf func(string, ...any), stdout io.Writer) (_ *serveCluster, err error) {
	c := &serveCluster{}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	cf := f.cluster
	if cf.nats == "off" {
		if cf.workers > 0 {
			return nil, usagef("--workers needs NATS (not --nats off): without it the server runs prompts itself")
		}
		return c, nil
	}
	if cf.ackWait <= 0 {
		return nil, usagef("--ack-wait %v: want a positive duration", cf.ackWait)
	}
	defer func() {
		if err != nil {
			c.close()
		}
	}()
	url := cf.nats
	workers := cf.workers
	if url == "" {
		if workers < 0 {
			workers = 1
		}
		c.emb, err = cluster.StartEmbedded(cf.natsListen, filepath.Join(cf.dataDir, "jetstream"))
		if err != nil {
			return nil, usagef("--nats-listen %s: %v", cf.natsListen, err)
		}
		url = c.emb.URL()
		fmt.Fprintf(stdout, "ebb serve: embedded NATS JetStream at %s (data in %s)\n", url, cf.dataDir)
	} else if workers < 0 {
		workers = 0
	}
	if c.nc, err = cluster.Connect(url, "ebb serve"); err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	if cf.replicas < 1 {
		return nil, usagef("--nats-replicas %d: want at least 1", cf.replicas)
	}
	ccfg := cluster.Config{AckWait: cf.ackWait, Replicas: cf.replicas}
	if c.be, err = cluster.NewBackend(ctx, c.nc, ccfg, logf); err != nil {
		return nil, fmt.Errorf("serve: JetStream at %s: %w", url, err)
	}
	host, _ := os.Hostname()
	for i := range workers {
		s, out, tmp := setup, f.outputDir, f.tempDir
		if i > 0 { // its own engine and device, its own directories
			dir, err := os.MkdirTemp("", "ebb-serve-worker-")
			if err != nil {
				return nil, err
			}
			c.tmp = append(c.tmp, dir)
			out, tmp = filepath.Join(dir, "output"), filepath.Join(dir, "temp")
			for _, d := range []string{out, tmp} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					return nil, err
				}
			}
			if s, err = f.engine.open(imageOutputs(out, tmp)); err != nil {
				return nil, err
			}
			c.extra = append(c.extra, s)
		}
		w, err := newWorker(ctx, c.nc, s, fmt.Sprintf("%s-%d-serve%d", host, os.Getpid(), i), out, tmp, ccfg, 3, 4, logf)
		if err != nil {
			return nil, fmt.Errorf("serve: worker %d: %w", i, err)
		}
		c.workers = append(c.workers, w)
	}
	return c, nil
}

// startWorkers starts the in-process workers.
func (c *serveCluster) startWorkers() {
	for _, w := range c.workers {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			w.Run(c.ctx)
		}()
	}
}

// close stops the workers, then NATS (after the server closed the
// Backend).
func (c *serveCluster) close() {
	c.once.Do(func() {
		c.cancel()
		c.wg.Wait()
		if c.be != nil {
			c.be.Close()
		}
		if c.nc != nil {
			c.nc.Drain()
			c.nc.Close()
		}
		if c.emb != nil {
			c.emb.Close()
		}
		for _, s := range c.extra {
			s.Close()
		}
		for _, d := range c.tmp {
			os.RemoveAll(d)
		}
	})
}
