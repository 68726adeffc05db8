// worker.go: the in-process Backend: a priority queue and one worker
// goroutine that runs its prompts one after another on the server's
// engine, and empties the cache when asked.

package server

import (
	"context"
	"errors"
	"sync"
)

// errInterrupted is the cause of a run cancelled by POST /interrupt.
var errInterrupted = errors.New("interrupted by POST /interrupt")

// localBackend runs prompts in this process with one Runner.
type localBackend struct {
	run   *Runner
	queue *queue
	h     Hooks
	logf  func(string, ...any)

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when the worker has returned

	mu        sync.Mutex // guards the fields below
	running   string     // the id of the running prompt, "" when idle
	interrupt context.CancelCauseFunc
	freeReq   bool // POST /free asked to empty the cache
	started   bool
}

func newLocalBackend(run *Runner, logf func(string, ...any)) *localBackend {
	ctx, cancel := context.WithCancel(context.Background())
	return &localBackend{run: run, queue: newQueue(), logf: logf, ctx: ctx, cancel: cancel, done: make(chan struct{})}
}

func (b *localBackend) Start(h Hooks) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.started {
		return errors.New("server: backend already started")
	}
	b.started = true
	b.h = h
	go b.work()
	return nil
}

func (b *localBackend) Push(_ context.Context, j *Job) error {
	if !b.queue.push(j) {
		return ErrQueued
	}
	return nil
}

func (b *localBackend) Snapshot(context.Context) (running, pending []*Job, err error) {
	running, pending = b.queue.snapshot()
	return running, pending, nil
}

func (b *localBackend) Remaining() int { return b.queue.remaining() }

func (b *localBackend) Remove(_ context.Context, ids []string, clear bool) error {
	b.queue.remove(ids, clear)
	return nil
}

func (b *localBackend) RemoveHistory(context.Context, []string, bool) error { return nil }

func (b *localBackend) NextNumber(min float64) float64 { return min }

// Interrupt cancels the running prompt: any, or only id when id is not
// "".
func (b *localBackend) Interrupt(_ context.Context, id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.interrupt == nil || (id != "" && id != b.running) {
		if id != "" {
			b.logf("ebb serve: interrupt: prompt %q is not running", id)
		}
		return nil
	}
	b.interrupt(errInterrupted)
	return nil
}

func (b *localBackend) Free(context.Context) error {
	b.mu.Lock()
	b.freeReq = true
	b.mu.Unlock()
	b.queue.signal()
	return nil
}

func (b *localBackend) Close() error {
	b.cancel()
	b.mu.Lock()
	started := b.started
	b.mu.Unlock()
	if started {
		<-b.done
	}
	return nil
}

// work runs prompts until Close.
func (b *localBackend) work() {
	defer close(b.done)
	for {
		b.freeIfAsked()
		it, ok := b.queue.pop()
		if !ok {
			select {
			case <-b.queue.wake:
				continue
			case <-b.ctx.Done():
				return
			}
		}
		b.h.QueueChanged()
		b.runJob(it)
		if b.ctx.Err() != nil {
			return
		}
	}
}

// freeIfAsked empties the engine's cache when POST /free asked for it,
// between prompts as ComfyUI does.
func (b *localBackend) freeIfAsked() {
	b.mu.Lock()
	free := b.freeReq
	b.freeReq = false
	b.mu.Unlock()
	if free {
		if err := b.run.eng.Close(); err != nil {
			b.logf("ebb serve: emptying the cache: %v", err)
		}
	}
}

// runJob runs one prompt and records it.
func (b *localBackend) runJob(j *Job) {
	ctx, cancel := context.WithCancelCause(b.ctx)
	defer cancel(nil)
	b.mu.Lock()
	b.running, b.interrupt = j.ID, cancel
	b.mu.Unlock()

	out := b.run.Run(ctx, j, b.h.Send)

	b.mu.Lock()
	b.running, b.interrupt = "", nil
	b.mu.Unlock()

	b.h.Stored(j.ID, out.Entry())
	b.queue.done(j.ID)
	b.h.QueueChanged()
	if j.ClientID != "" {
		b.h.Send(Done(j))
	}
}
