// backend.go: Backend, the server.Backend on JetStream.

package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ebbgraph/ebb/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Backend queues a server's prompts on JetStream; workers (Worker, in
// this process or others) run them. It mirrors EBB_QUEUE and EBB_HISTORY
// in memory (watchers), so listings never wait on NATS.
type Backend struct {
	nc   *nats.Conn
	js   jetstream.JetStream
	cfg  Config
	logf func(string, ...any)

	queue, hist jetstream.KeyValue
	files       jetstream.ObjectStore

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	sub    *nats.Subscription

	mu      sync.Mutex
	h       server.Hooks
	pending map[string]queued // by key
	histIDs map[string]bool   // keys of the history entries
	histAge []string          // the same keys, oldest first (some may be gone)
	maxNum  float64           // the highest number seen
	floor   float64           // numbers at or above go to ebb.prompts.run
}

type queued struct {
	rec record
	rev uint64
}

// NewBackend makes the JetStream objects (Ensure, with update: cfg's
// AckWait applies) and returns a Backend on nc. It does not own nc.
func NewBackend(ctx context.Context, nc *nats.Conn, cfg Config, logf func(string, ...any)) (*Backend, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	if err := Ensure(ctx, js, cfg, true); err != nil {
		return nil, err
	}
	b := &Backend{nc: nc, js: js, cfg: cfg.withDefaults(), logf: logf, pending: map[string]queued{}, histIDs: map[string]bool{}}
	if b.queue, err = js.KeyValue(ctx, BucketQueue); err != nil {
		return nil, err
	}
	if b.hist, err = js.KeyValue(ctx, BucketHistory); err != nil {
		return nil, err
	}
	if b.files, err = js.ObjectStore(ctx, BucketFiles); err != nil {
		return nil, err
	}
	return b, nil
}

// Start loads the queue and the history, then follows them and relays
// the prompts' events.
func (b *Backend) Start(h server.Hooks) error {
	b.mu.Lock()
	b.h = h
	b.mu.Unlock()
	b.ctx, b.cancel = context.WithCancel(context.Background())
	qw, err := b.queue.WatchAll(b.ctx)
	if err != nil {
		return fmt.Errorf("watching %s: %w", BucketQueue, err)
	}
	hw, err := b.hist.WatchAll(b.ctx)
	if err != nil {
		qw.Stop()
		return fmt.Errorf("watching %s: %w", BucketHistory, err)
	}
	// Both watchers first replay what is stored, then a nil entry.
	qready, hready := make(chan struct{}), make(chan struct{})
	b.wg.Add(2)
	go b.watch(qw, qready, b.onQueue)
	go b.watch(hw, hready, b.onHistory)
	for _, c := range []chan struct{}{qready, hready} {
		select {
		case <-c:
		case <-time.After(time.Minute):
			b.Close()
			return errors.New("loading the queue and the history from JetStream timed out")
		}
	}
	b.sub, err = b.nc.Subscribe(SubjectEvents+">", b.onEvent)
	if err != nil {
		b.Close()
		return err
	}
	return b.nc.Flush()
}

func (b *Backend) watch(w jetstream.KeyWatcher, ready chan struct{}, on func(jetstream.KeyValueEntry)) {
	defer b.wg.Done()
	defer w.Stop()
	once := sync.OnceFunc(func() { close(ready) })
	defer once()
	for {
		select {
		case <-b.ctx.Done():
			return
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			if e == nil {
				once()
				continue
			}
			on(e)
		}
	}
}

func (b *Backend) onQueue(e jetstream.KeyValueEntry) {
	b.mu.Lock()
	if e.Operation() == jetstream.KeyValuePut {
		var rec record
		if err := json.Unmarshal(e.Value(), &rec); err != nil || rec.Job == nil {
			b.mu.Unlock()
			b.logf("ebb serve: queue entry %s is not a prompt: %v", e.Key(), err)
			return
		}
		b.pending[e.Key()] = queued{rec, e.Revision()}
		b.maxNum = max(b.maxNum, rec.Job.Number)
	} else {
		delete(b.pending, e.Key())
	}
	h := b.h
	b.mu.Unlock()
	h.QueueChanged()
}

func (b *Backend) onHistory(e jetstream.KeyValueEntry) {
	id, ok := IDOf(e.Key())
	if !ok {
		return
	}
	b.mu.Lock()
	h := b.h
	if e.Operation() != jetstream.KeyValuePut {
		delete(b.histIDs, e.Key())
		b.mu.Unlock()
		h.Removed([]string{id}, false)
		return
	}
	var head struct {
		Prompt []json.RawMessage `json:"prompt"`
	}
	if json.Unmarshal(e.Value(), &head) == nil && len(head.Prompt) > 0 {
		var n float64
		if json.Unmarshal(head.Prompt[0], &n) == nil {
			b.maxNum = max(b.maxNum, n)
		}
	}
	b.mu.Unlock()
	h.Stored(id, e.Value())
	b.mu.Lock()
	if !b.histIDs[e.Key()] {
		b.histAge = append(b.histAge, e.Key())
	}
	b.histIDs[e.Key()] = true // after Stored: onEvent relies on it
	old := b.overHistory()
	b.mu.Unlock()
	for _, k := range old { // every server trims; a purge twice is harmless
		if err := b.hist.Purge(b.ctx, k); err != nil && b.ctx.Err() == nil {
			b.logf("ebb serve: trimming the history: purge %s: %v", k, err)
		}
	}
}

// overHistory takes from histAge the oldest keys past MaxHistory entries.
// b.mu is held.
func (b *Backend) overHistory() []string {
	var old []string
	for len(b.histIDs)-len(old) > b.cfg.MaxHistory && len(b.histAge) > 0 {
		k := b.histAge[0]
		b.histAge = b.histAge[1:]
		if b.histIDs[k] {
			old = append(old, k)
		}
	}
	if len(b.histAge) > 2*len(b.histIDs)+64 { // drop the keys already gone
		live := b.histAge[:0]
		for _, k := range b.histAge {
			if b.histIDs[k] {
				live = append(live, k)
			}
		}
		b.histAge = live
	}
	return old
}

// onEvent relays a prompt's message; before its last one it makes sure
// the entry is in the server's history (the watcher may lag), so a
// client that reads the history on that message finds it.
func (b *Backend) onEvent(m *nats.Msg) {
	b.mu.Lock()
	h := b.h
	b.mu.Unlock()
	if m.Header.Get(HeaderFinal) != "" {
		key := strings.TrimPrefix(m.Subject, SubjectEvents)
		b.mu.Lock()
		stored := b.histIDs[key]
		b.mu.Unlock()
		if id, ok := IDOf(key); ok && !stored {
			ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
			e, err := b.hist.Get(ctx, key)
			cancel()
			if err == nil {
				h.Stored(id, e.Value())
			}
		}
	}
	h.Send(m.Header.Get(HeaderClient), m.Data)
}

// Push queues j: a record in EBB_QUEUE (Create: an id already queued
// fails), then the message on the stream.
func (b *Backend) Push(ctx context.Context, j *server.Job) error {
	j.Seq = uint64(time.Now().UnixNano())
	key := Key(j.ID)
	data, err := json.Marshal(record{Job: j, State: "pending"})
	if err != nil {
		return err
	}
	rev, err := b.queue.Create(ctx, key, data)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return server.ErrQueued
	}
	if err != nil {
		return err
	}
	b.mu.Lock()
	subject := SubjectRun
	if j.Number < b.floor {
		subject = SubjectFront
	}
	b.maxNum = max(b.maxNum, j.Number)
	b.mu.Unlock()
	msg, _ := json.Marshal(j)
	if _, err := b.js.Publish(ctx, subject, msg, jetstream.WithMsgID(fmt.Sprintf("%s/%d", key, j.Seq))); err != nil {
		b.queue.Delete(context.Background(), key, jetstream.LastRevision(rev))
		return fmt.Errorf("publishing the prompt: %w", err)
	}
	return nil
}

// Snapshot lists the mirror of EBB_QUEUE.
func (b *Backend) Snapshot(context.Context) (running, pending []*server.Job, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, q := range b.pending {
		if q.rec.State == "running" {
			running = append(running, q.rec.Job)
		} else {
			pending = append(pending, q.rec.Job)
		}
	}
	slices.SortFunc(pending, server.CompareJobs)
	slices.SortFunc(running, server.CompareJobs)
	return running, pending, nil
}

// Remaining counts the mirror of EBB_QUEUE.
func (b *Backend) Remaining() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.pending)
}

// Remove deletes pending records (at the revision seen, so one a worker
// has just started stays); their messages are skipped by the workers.
func (b *Backend) Remove(ctx context.Context, ids []string, clear bool) error {
	b.mu.Lock()
	var del []string
	var revs []uint64
	for key, q := range b.pending {
		if q.rec.State == "pending" && (clear || slices.Contains(ids, q.rec.Job.ID)) {
			del, revs = append(del, key), append(revs, q.rev)
		}
	}
	b.mu.Unlock()
	var errs []error
	for i, key := range del {
		err := b.queue.Delete(ctx, key, jetstream.LastRevision(revs[i]))
		if err != nil && !isConflict(err) {
			errs = append(errs, err)
			continue
		}
		if err == nil {
			b.mu.Lock()
			if q, ok := b.pending[key]; ok && q.rev == revs[i] {
				delete(b.pending, key)
			}
			b.mu.Unlock()
		}
	}
	return errors.Join(errs...)
}

// RemoveHistory deletes entries from EBB_HISTORY.
func (b *Backend) RemoveHistory(ctx context.Context, ids []string, clear bool) error {
	var keys []string
	b.mu.Lock()
	if clear {
		for k := range b.histIDs {
			keys = append(keys, k)
		}
	} else {
		for _, id := range ids {
			keys = append(keys, Key(id))
		}
	}
	b.mu.Unlock()
	var errs []error
	for _, k := range keys {
		if err := b.hist.Purge(ctx, k); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Interrupt asks every worker to cancel prompt id (any for "").
func (b *Backend) Interrupt(_ context.Context, id string) error {
	return b.nc.Publish(SubjectInterr, []byte(id))
}

// Free asks every worker to empty its cache between prompts.
func (b *Backend) Free(context.Context) error { return b.nc.Publish(SubjectFree, nil) }

// NextNumber is past every number seen in the queue and the history, so
// numbers keep growing across restarts; it also sets the line between
// the run and the front subjects.
func (b *Backend) NextNumber(min float64) float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := max(min, b.maxNum+1)
	b.floor = n
	return n
}

// OpenFile reads an output file from EBB_FILES.
func (b *Backend) OpenFile(ctx context.Context, ref server.FileRef) (io.ReadSeeker, time.Time, error) {
	name := fileName(ref.Type, ref.Subfolder, ref.Filename)
	info, err := b.files.GetInfo(ctx, name)
	if err != nil {
		return nil, time.Time{}, err
	}
	data, err := b.files.GetBytes(ctx, name)
	if err != nil {
		return nil, time.Time{}, err
	}
	return bytes.NewReader(data), info.ModTime, nil
}

// Close stops the watchers and the relay.
func (b *Backend) Close() error {
	if b.cancel != nil {
		b.cancel()
	}
	if b.sub != nil {
		b.sub.Unsubscribe()
	}
	b.wg.Wait()
	return nil
}

// isConflict reports a KV revision mismatch.
func isConflict(err error) bool {
	var ae *jetstream.APIError
	return errors.As(err, &ae) && ae.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

var (
	_ server.Backend    = (*Backend)(nil)
	_ server.FileSource = (*Backend)(nil)
)
