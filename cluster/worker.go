// worker.go: Worker, which pulls prompts from JetStream and runs them on
// one engine.

package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"sync"
	"time"

	"github.com/ebbgraph/ebb/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TypeObjectStore is the exception_type of a prompt whose output files
// could not be stored: the prompt fails and its entry names no files.
const TypeObjectStore = "ebb.object_store_error"

// TypeDeadLettered is the exception_type of a prompt that was delivered
// more than WorkerConfig.MaxAttempts times without completing.
const TypeDeadLettered = "ebb.dead_lettered"

// WorkerConfig configures a Worker.
type WorkerConfig struct {
	// Conn is the worker's NATS connection (not owned). Required.
	Conn *nats.Conn
	// Run is how the worker's engine runs prompts (Engine required). Its
	// RenameFile is set by NewWorker: the files a worker writes are named
	// under a subfolder of its own ("w-" and random hex), so the files of
	// two workers never collide in EBB_FILES.
	Run server.RunnerConfig
	// ID names the worker in EBB_QUEUE, EBB_WORKERS and the logs
	// (default host-pid).
	ID string
	// OutputDir and TempDir are where the engine's SaveImage and
	// PreviewImage write: the files an entry names are read from there
	// and stored in EBB_FILES.
	OutputDir, TempDir string
	// Config makes missing JetStream objects (existing ones are kept).
	Config Config
	// MaxAttempts is how many times a prompt may start on a worker before
	// it is dead-lettered (default 3).
	MaxAttempts int
	// AffinityWindow is how many queued prompts a free worker looks at to
	// find one whose loaders it holds (default 4; 1 turns affinity off).
	AffinityWindow int
	// Logf logs; nil discards.
	Logf func(format string, args ...any)
}

// Stats are a worker's counters, also stored in EBB_WORKERS under its ID.
type Stats struct {
	ID string `json:"id"`
	// Runs counts prompts run to the end; Duplicates those whose entry
	// was already stored (another worker completed them: dropped).
	Runs       int64 `json:"runs"`
	Duplicates int64 `json:"duplicates"`
	// DeadLettered counts messages sent to EBB_DLQ; Skipped prompts
	// deleted from the queue before they ran.
	DeadLettered int64 `json:"dead_lettered"`
	Skipped      int64 `json:"skipped"`
	// Redelivered counts prompts that had been delivered before.
	Redelivered int64 `json:"redelivered"`
	// WithLoaders counts prompts that have loader nodes; AffinityHits
	// those that ran here while this worker held one of their loaders;
	// AffinityPicks those it took out of queue order for that.
	WithLoaders   int64 `json:"with_loaders"`
	AffinityHits  int64 `json:"affinity_hits"`
	AffinityPicks int64 `json:"affinity_picks"`
	// CacheHits sums the engine's cache hits (nodes not run).
	CacheHits int64 `json:"cache_hits"`
}

// Worker pulls prompts and runs them, one at a time.
type Worker struct {
	cfg    WorkerConfig
	runner *server.Runner
	nc     *nats.Conn
	js     jetstream.JetStream
	run    jetstream.Consumer
	front  jetstream.Consumer
	queue  jetstream.KeyValue
	hist   jetstream.KeyValue
	stats  jetstream.KeyValue
	files  jetstream.ObjectStore
	ackW   time.Duration
	held   *held
	logf   func(string, ...any)

	mu        sync.Mutex
	st        Stats
	running   string
	interrupt context.CancelCauseFunc
	// claiming is the prompt this worker took before it runs it, and
	// interruptSoon an interrupt for it that came before the run began.
	claiming      string
	interruptSoon bool
	freeReq       bool
	statsDirty    bool // the last putStats failed
}

// NewWorker connects the worker to the stream and the buckets (making
// what is missing).
func NewWorker(ctx context.Context, cfg WorkerConfig) (*Worker, error) {
	if cfg.Conn == nil || cfg.Run.Engine == nil {
		return nil, errors.New("cluster: WorkerConfig needs Conn and Run.Engine")
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	prefix := "w-" + hex.EncodeToString(rnd[:])
	cfg.Run.RenameFile = func(ref server.FileRef) server.FileRef {
		ref.Subfolder = path.Join(prefix, ref.Subfolder)
		return ref
	}
	runner, err := server.NewRunner(cfg.Run)
	if err != nil {
		return nil, err
	}
	if cfg.ID == "" {
		host, _ := os.Hostname()
		cfg.ID = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.AffinityWindow <= 0 {
		cfg.AffinityWindow = 4
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	js, err := jetstream.New(cfg.Conn)
	if err != nil {
		return nil, err
	}
	if err := Ensure(ctx, js, cfg.Config, false); err != nil {
		return nil, err
	}
	w := &Worker{cfg: cfg, runner: runner, nc: cfg.Conn, js: js, held: newHeld(64), logf: cfg.Logf}
	w.st.ID = cfg.ID
	if w.run, err = js.Consumer(ctx, StreamPrompts, ConsumerRun); err != nil {
		return nil, err
	}
	if w.front, err = js.Consumer(ctx, StreamPrompts, ConsumerFront); err != nil {
		return nil, err
	}
	info, err := w.run.Info(ctx)
	if err != nil {
		return nil, err
	}
	w.ackW = info.Config.AckWait
	if w.queue, err = js.KeyValue(ctx, BucketQueue); err != nil {
		return nil, err
	}
	if w.hist, err = js.KeyValue(ctx, BucketHistory); err != nil {
		return nil, err
	}
	if w.stats, err = js.KeyValue(ctx, BucketWorkers); err != nil {
		return nil, err
	}
	if w.files, err = js.ObjectStore(ctx, BucketFiles); err != nil {
		return nil, err
	}
	return w, nil
}

// Stats returns the worker's counters.
func (w *Worker) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.st
}

// Run pulls and runs prompts until ctx ends; the running prompt is then
// interrupted and handed back (NAK: another worker starts it again).
func (w *Worker) Run(ctx context.Context) error {
	isub, err := w.nc.Subscribe(SubjectInterr, func(m *nats.Msg) {
		id := string(m.Data)
		w.mu.Lock()
		defer w.mu.Unlock()
		switch {
		case w.interrupt != nil && (id == "" || id == w.running):
			w.interrupt(errors.New("interrupted by POST /interrupt"))
		case w.claiming != "" && (id == "" || id == w.claiming):
			w.interruptSoon = true // the run about to start begins interrupted
		}
	})
	if err != nil {
		return err
	}
	defer isub.Unsubscribe()
	fsub, err := w.nc.Subscribe(SubjectFree, func(*nats.Msg) {
		w.mu.Lock()
		w.freeReq = true
		w.mu.Unlock()
	})
	if err != nil {
		return err
	}
	defer fsub.Unsubscribe()
	w.putStats(ctx)
	for ctx.Err() == nil {
		w.freeIfAsked()
		w.mu.Lock()
		dirty := w.statsDirty
		w.mu.Unlock()
		if dirty {
			w.putStats(ctx)
		}
		c, err := w.next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			w.logf("ebb worker %s: fetching: %v", w.cfg.ID, err)
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
			continue
		}
		if c != nil {
			w.process(ctx, c)
		}
	}
	return nil
}

func (w *Worker) freeIfAsked() {
	w.mu.Lock()
	free := w.freeReq
	w.freeReq = false
	w.mu.Unlock()
	if free {
		w.held.clear()
		if err := w.runner.Engine().Close(); err != nil {
			w.logf("ebb worker %s: emptying the cache: %v", w.cfg.ID, err)
		}
	}
}

// candidate is a fetched message and its decoded job.
type candidate struct {
	msg   jetstream.Msg
	job   *server.Job
	sigs  []string
	front bool
	// hitBefore: the worker held one of sigs when it started the prompt.
	hitBefore bool
}

// next picks the prompt to run: the lowest (number, seq) among the front
// prompts and the head of the run subject; among run prompts, the first
// of the affinity window whose loaders this worker holds, else the
// head. The others are handed back (Nak: redelivered at once).
func (w *Worker) next(ctx context.Context) (*candidate, error) {
	var msgs []jetstream.Msg
	var fronts int
	fb, err := w.front.FetchNoWait(16)
	if err != nil {
		return nil, err
	}
	for m := range fb.Messages() {
		msgs = append(msgs, m)
	}
	fronts = len(msgs)
	rb, err := w.run.FetchNoWait(w.cfg.AffinityWindow)
	if err != nil {
		return nil, err
	}
	for m := range rb.Messages() {
		msgs = append(msgs, m)
	}
	if len(msgs) == 0 {
		b, err := w.run.Fetch(1, jetstream.FetchMaxWait(500*time.Millisecond))
		if err != nil {
			return nil, err
		}
		for m := range b.Messages() {
			msgs = append(msgs, m)
		}
		if len(msgs) == 0 {
			return nil, nil
		}
		if w.cfg.AffinityWindow > 1 {
			if rb, err := w.run.FetchNoWait(w.cfg.AffinityWindow - 1); err == nil {
				for m := range rb.Messages() {
					msgs = append(msgs, m)
				}
			}
		}
	}
	var cands []*candidate
	for i, m := range msgs {
		var j server.Job
		err := json.Unmarshal(m.Data(), &j)
		if err == nil && j.ID == "" {
			err = errors.New("no prompt id")
		}
		if err == nil {
			_, err = j.Workflow()
		}
		if err != nil {
			w.deadLetter(ctx, m, fmt.Sprintf("malformed prompt message: %v", err))
			continue
		}
		cands = append(cands, &candidate{msg: m, job: &j, sigs: loaderSignatures(j.Prompt), front: i < fronts})
	}
	if len(cands) == 0 {
		return nil, nil
	}
	best := 0
	for i, c := range cands {
		if server.CompareJobs(c.job, cands[best].job) < 0 {
			best = i
		}
	}
	if !cands[best].front && !w.held.hits(cands[best].sigs) {
		for i, c := range cands {
			if !c.front && w.held.hits(c.sigs) {
				best = i
				w.mu.Lock()
				w.st.AffinityPicks++
				w.mu.Unlock()
				break
			}
		}
	}
	for i, c := range cands {
		if i != best {
			c.msg.Nak()
		}
	}
	return cands[best], nil
}

// deadLetter moves a message to EBB_DLQ with the reason and terminates
// it, so it is never delivered again.
func (w *Worker) deadLetter(ctx context.Context, m jetstream.Msg, reason string) {
	out := nats.NewMsg(SubjectDLQ)
	out.Data = m.Data()
	out.Header.Set(HeaderReason, reason)
	out.Header.Set(HeaderSubject, m.Subject())
	out.Header.Set(HeaderWorker, w.cfg.ID)
	if _, err := w.js.PublishMsg(ctx, out); err != nil {
		w.logf("ebb worker %s: dead-lettering: %v (the message is left to be redelivered)", w.cfg.ID, err)
		return
	}
	m.TermWithReason(reason)
	w.mu.Lock()
	w.st.DeadLettered++
	w.mu.Unlock()
	w.logf("ebb worker %s: dead-lettered a message: %s", w.cfg.ID, reason)
	w.putStats(ctx)
}
