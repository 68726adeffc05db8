// queue.go: the in-process prompt queue, a priority queue ordered as
// ComfyUI's.

package server

import (
	"container/heap"
	"slices"
	"sync"
)

// queue holds pending prompts (a heap by number, then submission) and the
// running one. wake has room for one signal: the worker waits on it.
type queue struct {
	mu      sync.Mutex
	pending itemHeap
	running map[string]*Job
	seq     uint64
	wake    chan struct{}
}

func newQueue() *queue {
	return &queue{running: map[string]*Job{}, wake: make(chan struct{}, 1)}
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
	return slices.ContainsFunc(q.pending, func(it *Job) bool { return it.ID == id })
}

// push adds it unless a prompt with its id is pending or running.
func (q *queue) push(it *Job) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.running[it.ID] != nil || slices.ContainsFunc(q.pending, func(x *Job) bool { return x.ID == it.ID }) {
		return false
	}
	q.seq++
	it.Seq = q.seq
	heap.Push(&q.pending, it)
	q.signal()
	return true
}

// pop moves the first pending prompt to running.
func (q *queue) pop() (*Job, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) == 0 {
		return nil, false
	}
	it := heap.Pop(&q.pending).(*Job)
	q.running[it.ID] = it
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
	q.pending = slices.DeleteFunc(q.pending, func(it *Job) bool { return slices.Contains(ids, it.ID) })
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
func (q *queue) snapshot() (running, pending []*Job) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, it := range q.running {
		running = append(running, it)
	}
	pending = slices.Clone(q.pending)
	slices.SortFunc(pending, CompareJobs)
	return running, pending
}

// CompareJobs orders jobs as ComfyUI's queue runs them: by number, then
// by submission (Seq).
func CompareJobs(a, b *Job) int {
	switch {
	case a.Number < b.Number:
		return -1
	case a.Number > b.Number:
		return 1
	case a.Seq < b.Seq:
		return -1
	case a.Seq > b.Seq:
		return 1
	}
	return 0
}

// itemHeap is a container/heap of items, lowest number first.
type itemHeap []*Job

func (h itemHeap) Len() int           { return len(h) }
func (h itemHeap) Less(i, j int) bool { return CompareJobs(h[i], h[j]) < 0 }
func (h itemHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *itemHeap) Push(x any)        { *h = append(*h, x.(*Job)) }
func (h *itemHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return it
}
