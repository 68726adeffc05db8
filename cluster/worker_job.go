// worker_job.go: one prompt on a worker: claim, run with heartbeats, store files and entry, ack; and the writes that retry while NATS is away.

package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ebbgraph/ebb/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

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
