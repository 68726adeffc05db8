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
	"path/filepath"
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

// process runs one prompt: claim its queue record, run it with
// heartbeats, store its files and its entry, delete the record, ack.
func (w *Worker) process(ctx context.Context, c *candidate) {
	j, m := c.job, c.msg
	key := Key(j.ID)
	if md, err := m.Metadata(); err == nil && md.NumDelivered > 1 {
		w.mu.Lock()
		w.st.Redelivered++
		w.mu.Unlock()
		// Already finished (stored, then its worker died or lost the ack)?
		if _, err := w.hist.Get(ctx, key); err == nil {
			w.queue.Delete(ctx, key)
			m.Ack()
			return
		}
	}
	w.mu.Lock()
	w.claiming, w.interruptSoon = j.ID, false
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.claiming, w.interruptSoon = "", false
		w.mu.Unlock()
	}()
	rec, rev, err := w.claim(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		m.Ack() // deleted from the queue before it ran
		w.mu.Lock()
		w.st.Skipped++
		w.mu.Unlock()
		return
	}
	if err != nil {
		w.logf("ebb worker %s: claiming %s: %v", w.cfg.ID, j.ID, err)
		m.Nak()
		return
	}
	_ = rev
	if rec.Attempts > w.cfg.MaxAttempts {
		w.deadLetter(ctx, m, fmt.Sprintf("prompt %s started %d times without completing", j.ID, rec.Attempts-1))
		w.storeDeadEntry(ctx, j, rec.Attempts-1)
		w.queue.Delete(ctx, key)
		w.publish(j.ClientID, key, true, doneMsg(j))
		return
	}

	// Heartbeats while it runs.
	hbCtx, stopHB := context.WithCancel(ctx)
	var hbDone sync.WaitGroup
	hbDone.Add(1)
	go func() {
		defer hbDone.Done()
		t := time.NewTicker(max(w.ackW/3, 10*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-hbCtx.Done():
				return
			case <-t.C:
				m.InProgress()
			}
		}
	}()
	defer func() { stopHB(); hbDone.Wait() }()

	c.hitBefore = w.held.hits(c.sigs)
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	w.mu.Lock()
	w.running, w.interrupt = j.ID, cancel
	if w.interruptSoon {
		cancel(errors.New("interrupted by POST /interrupt"))
	}
	w.mu.Unlock()
	sink := func(clientID string, msg []byte) { w.publish(clientID, key, false, msg) }
	out := w.runner.Run(runCtx, j, sink)
	w.mu.Lock()
	w.running, w.interrupt = "", nil
	w.mu.Unlock()
	if ctx.Err() != nil {
		// Stopping: hand it back now rather than after the ack wait.
		stopHB()
		hbDone.Wait()
		m.Nak()
		return
	}
	w.held.clear() // the classic cache keeps the last prompt's outputs
	w.held.add(c.sigs)

	if err := w.storeFiles(ctx, j, out.Files()); err != nil {
		out.Fail(TypeObjectStore, fmt.Sprintf("storing the output files: %v", err), sink)
	}
	entry := out.Entry()
	_, err = retry(ctx, w.nc, func() (uint64, error) { return w.hist.Create(ctx, key, entry) })
	dup := errors.Is(err, jetstream.ErrKeyExists)
	if err != nil && !dup {
		w.logf("ebb worker %s: storing the entry of %s: %v (left unacked)", w.cfg.ID, j.ID, err)
		return
	}
	retry(ctx, w.nc, func() (uint64, error) { return 0, w.queue.Delete(ctx, key) })
	stopHB()
	hbDone.Wait()
	// A lost ack only redelivers the prompt, which then finds its entry.
	if err := m.Ack(); err != nil {
		w.logf("ebb worker %s: acking %s: %v", w.cfg.ID, j.ID, err)
	}
	w.mu.Lock()
	if dup {
		w.st.Duplicates++
	} else {
		w.st.Runs++
		w.st.CacheHits += int64(out.Result.Stats.CacheHits)
		if len(c.sigs) > 0 {
			w.st.WithLoaders++
			if c.hitBefore {
				w.st.AffinityHits++
			}
		}
	}
	w.mu.Unlock()
	if dup {
		w.logf("ebb worker %s: prompt %s was already completed elsewhere: this completion is dropped", w.cfg.ID, j.ID)
	} else {
		w.publish(j.ClientID, key, true, doneMsg(j))
	}
	w.putStats(ctx)
}

func doneMsg(j *server.Job) []byte {
	_, msg := server.Done(j)
	return msg
}

// claim marks the queue record running on this worker (one more
// attempt).
func (w *Worker) claim(ctx context.Context, key string) (record, uint64, error) {
	for range 5 {
		e, err := w.queue.Get(ctx, key)
		if err != nil {
			return record{}, 0, err
		}
		var rec record
		if err := json.Unmarshal(e.Value(), &rec); err != nil {
			return record{}, 0, err
		}
		rec.State, rec.Worker = "running", w.cfg.ID
		rec.Attempts++
		data, _ := json.Marshal(rec)
		rev, err := w.queue.Update(ctx, key, data, e.Revision())
		if isConflict(err) {
			continue
		}
		return rec, rev, err
	}
	return record{}, 0, errors.New("the queue record keeps changing")
}

// publish sends a prompt's message on its events subject. Events are
// live progress: while NATS is away they are dropped, not buffered, so a
// worker that comes back does not replay a stale run to the clients.
func (w *Worker) publish(clientID, key string, final bool, msg []byte) {
	if !final && !w.nc.IsConnected() {
		return
	}
	m := nats.NewMsg(SubjectEvents + key)
	m.Data = msg
	if clientID != "" {
		m.Header.Set(HeaderClient, clientID)
	}
	if final {
		m.Header.Set(HeaderFinal, "1")
	}
	if err := w.nc.PublishMsg(m); err != nil {
		w.logf("ebb worker %s: publishing an event: %v", w.cfg.ID, err)
	}
}

// storeFiles puts the files an entry names into EBB_FILES; on a failure
// it deletes those it put, so no entry names a half-stored set.
func (w *Worker) storeFiles(ctx context.Context, j *server.Job, files []server.StoredFile) error {
	var put []string
	for _, sf := range files {
		ref := sf.Local
		dir := w.cfg.OutputDir
		if ref.Type == "temp" {
			dir = w.cfg.TempDir
		}
		name := fileName(sf.Name.Type, sf.Name.Subfolder, sf.Name.Filename)
		_, err := retry(ctx, w.nc, func() (uint64, error) { // NATS away: wait for it
			f, err := os.Open(filepath.Join(dir, filepath.FromSlash(ref.Subfolder), ref.Filename))
			if err != nil {
				return 0, fmt.Errorf("%s: %w", ref.Filename, err)
			}
			defer f.Close()
			_, err = w.files.Put(ctx, jetstream.ObjectMeta{Name: name, Headers: nats.Header{"Ebb-Prompt": []string{j.ID}}}, f)
			return 0, err
		})
		if err == nil {
			put = append(put, name)
		}
		if err != nil {
			for _, name := range put {
				w.files.Delete(context.Background(), name)
			}
			return err
		}
	}
	return nil
}

// storeDeadEntry stores the failed entry of a dead-lettered prompt.
func (w *Worker) storeDeadEntry(ctx context.Context, j *server.Job, attempts int) {
	msg := fmt.Sprintf("prompt started %d times without completing (its workers died or lost NATS): dead-lettered", attempts)
	entry, _ := json.Marshal(map[string]any{
		"prompt": j.Wire(), "outputs": map[string]any{}, "meta": map[string]any{},
		"status": map[string]any{"status_str": "error", "completed": false, "messages": [][2]any{{"execution_error", map[string]any{
			"prompt_id": j.ID, "timestamp": time.Now().UnixMilli(), "node_id": nil, "node_type": nil, "executed": []string{},
			"exception_message": msg, "exception_type": TypeDeadLettered, "traceback": []string{},
			"current_inputs": map[string]any{}, "current_outputs": map[string]any{}}}}},
	})
	if _, err := w.hist.Create(ctx, Key(j.ID), entry); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		w.logf("ebb worker %s: storing the entry of %s: %v", w.cfg.ID, j.ID, err)
	}
}

// putStats stores the counters in EBB_WORKERS; when that fails (NATS
// away) the worker's loop tries again (statsDirty).
func (w *Worker) putStats(ctx context.Context) {
	st := w.Stats()
	data, _ := json.Marshal(st)
	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := w.stats.Put(sctx, Key(st.ID), data)
	w.mu.Lock()
	w.statsDirty = err != nil
	w.mu.Unlock()
}

// retry calls f until it succeeds, fails with an error that is not about
// the connection, or ctx ends: a worker that lost NATS finishes its
// prompt once it is back.
func retry(ctx context.Context, nc *nats.Conn, f func() (uint64, error)) (uint64, error) {
	delay := 50 * time.Millisecond
	for {
		v, err := f()
		if err == nil || !transient(nc, err) || ctx.Err() != nil {
			return v, err
		}
		select {
		case <-ctx.Done():
			return v, err
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
	}
}

func transient(nc *nats.Conn, err error) bool {
	return !nc.IsConnected() || errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, nats.ErrConnectionReconnecting) || errors.Is(err, nats.ErrDisconnected)
}
