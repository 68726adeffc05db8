// queue.go: the prompt queue, a priority queue ordered as ComfyUI's.

package server

import (
	"container/heap"
	"encoding/json"
	"slices"
	"sync"

	"github.com/ebbgraph/ebb/engine"
)

// item is one submitted prompt.
type item struct {
	number   float64
	seq      uint64 // submission order, for equal numbers
	id       string
	prompt   json.RawMessage // as submitted
	wf       engine.Workflow
	extra    map[string]any // extra_data, with client_id
	outputs  []engine.NodeID
	targets  []engine.NodeID // nil: every output node
	clientID string
}

// wire is the item as ComfyUI lists it: [number, prompt_id, prompt,
// extra_data, outputs_to_execute].
func (it *item) wire() []any {
	outs := it.outputs
	if outs == nil {
		outs = []engine.NodeID{}
	}
	return []any{it.number, it.id, it.prompt, it.extra, outs}
}

// queue holds pending prompts (a heap by number, then submission) and the
// running one. wake has room for one signal: the worker waits on it.
type queue struct {
	mu      sync.Mutex
	pending itemHeap
	running map[string]*item
	seq     uint64
	wake    chan struct{}
}

func newQueue() *queue {
	return &queue{running: map[string]*item{}, wake: make(chan struct{}, 1)}
}

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// has reports whether id is pending or running.
func (q *queue) has(id string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.running[id] != nil {
		return true
	}
	return slices.ContainsFunc(q.pending, func(it *item) bool { return it.id == id })
}

// push adds it unless a prompt with its id is pending or running.
func (q *queue) push(it *item) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.running[it.id] != nil || slices.ContainsFunc(q.pending, func(x *item) bool { return x.id == it.id }) {
		return false
	}
	q.seq++
	it.seq = q.seq
	heap.Push(&q.pending, it)
	q.signal()
	return true
}

// pop moves the first pending prompt to running.
func (q *queue) pop() (*item, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) == 0 {
		return nil, false
	}
	it := heap.Pop(&q.pending).(*item)
	q.running[it.id] = it
	return it, true
}

// done removes a running prompt.
func (q *queue) done(id string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.running, id)
}

// remove deletes pending prompts by id (and every one for clear) and
// reports how many went.
func (q *queue) remove(ids []string, clear bool) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := len(q.pending)
	if clear {
		q.pending = nil
		return n
	}
	q.pending = slices.DeleteFunc(q.pending, func(it *item) bool { return slices.Contains(ids, it.id) })
	heap.Init(&q.pending)
	return n - len(q.pending)
}

// remaining is ComfyUI's queue_remaining: pending plus running.
func (q *queue) remaining() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.pending) + len(q.running)
}

// snapshot returns the running and the pending prompts, pending in the
// order they will run.
func (q *queue) snapshot() (running, pending []*item) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, it := range q.running {
		running = append(running, it)
	}
	pending = slices.Clone(q.pending)
	slices.SortFunc(pending, compareItems)
	return running, pending
}

func compareItems(a, b *item) int {
	switch {
	case a.number < b.number:
		return -1
	case a.number > b.number:
		return 1
	case a.seq < b.seq:
		return -1
	case a.seq > b.seq:
		return 1
	}
	return 0
}

// itemHeap is a container/heap of items, lowest number first.
type itemHeap []*item

func (h itemHeap) Len() int           { return len(h) }
func (h itemHeap) Less(i, j int) bool { return compareItems(h[i], h[j]) < 0 }
func (h itemHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *itemHeap) Push(x any)        { *h = append(*h, x.(*item)) }
func (h *itemHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return it
}
