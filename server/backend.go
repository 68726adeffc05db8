// backend.go: Backend, where prompts queue and run: in this process
// (localBackend, worker.go) or elsewhere (package cluster, on NATS
// JetStream).

package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"time"
)

// ErrQueued is returned by Backend.Push for a prompt id that is already
// pending or running.
var ErrQueued = errors.New("prompt id is already queued or running")

// Hooks are how a Backend reaches the Server: it calls them from its own
// goroutines. They never block for long.
type Hooks struct {
	// Send relays a job's WebSocket message to client clientID ("" for
	// every client).
	Send Sink
	// Stored adds a finished job's entry to the server's history; it is
	// called before the job's Done message is sent.
	Stored func(id string, entry json.RawMessage)
	// Removed removes history entries (every one for clear) that another
	// server removed.
	Removed func(ids []string, clear bool)
	// QueueChanged says that Remaining may have changed.
	QueueChanged func()
}

// Backend holds the prompt queue and runs its prompts. The Server
// validates prompts, numbers them, keeps the history it is told of, and
// relays messages; everything else is the Backend's. Its methods are safe
// for concurrent use.
type Backend interface {
	// Start begins work; New calls it once, before serving.
	Start(h Hooks) error
	// Push queues a validated job (ErrQueued if its id is pending or
	// running).
	Push(ctx context.Context, j *Job) error
	// Snapshot lists the running and the pending jobs, pending in the
	// order they will run.
	Snapshot(ctx context.Context) (running, pending []*Job, err error)
	// Remaining is ComfyUI's queue_remaining: pending plus running.
	Remaining() int
	// Remove deletes pending jobs by id (every pending one for clear).
	Remove(ctx context.Context, ids []string, clear bool) error
	// RemoveHistory deletes stored history entries by id (every one for
	// clear); the Server has already removed them from its own.
	RemoveHistory(ctx context.Context, ids []string, clear bool) error
	// Interrupt cancels the running job id, or any running job for "".
	Interrupt(ctx context.Context, id string) error
	// Free empties the engines' caches between prompts.
	Free(ctx context.Context) error
	// NextNumber is the number the next prompt without one gets, at
	// least min (the Server's own count).
	NextNumber(min float64) float64
	// Close stops the work (interrupting a running prompt of this
	// process) and waits for it.
	Close() error
}

// FileSource is a Backend that also serves output files /view does not
// find on the local disk (the files of prompts that ran elsewhere).
type FileSource interface {
	OpenFile(ctx context.Context, ref FileRef) (io.ReadSeeker, time.Time, error)
}
