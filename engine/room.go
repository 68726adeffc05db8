// room.go: offload when an allocation does not fit: on the run goroutine at once, or asked for by a worker.

package engine

import "slices"

// roomNow evicts, while a call runs on the run goroutine (parallelism 1),
// until bytes fit on the device now; the call's inputs stay (guarded when
// it was admitted). It reports whether they fit.
func (r *run) roomNow(bytes int64) bool { return r.roomFor(bytes, r.runningNode) }

// roomFor evicts until bytes fit on the device now, for n's call; the
// inputs of every call in flight stay (guarded, or read).
func (r *run) roomFor(bytes int64, n *rnode) bool {
	for r.e.acct.used()+bytes > r.capacity {
		v, how := r.victim()
		if v == nil {
			return false
		}
		if err := r.evict(v, how, n); err != nil {
			r.offFail(n, err)
			return false
		}
	}
	return true
}

// roomReq is a worker's request for room: its call's allocation of bytes
// did not fit.
type roomReq struct {
	bytes int64
	d     *callJob
	reply chan bool
}

// roomRemote is a worker's Call.Alloc hook at parallelism above 1: it asks
// the run goroutine, which evicts while it waits for jobs to return
// (waitReturn), and reports whether the bytes fit then. Another worker
// may take the room first; the allocation then fails as without offload.
func (r *run) roomRemote(d *callJob) func(int64) bool {
	ch := r.roomCh
	return func(bytes int64) bool {
		reply := make(chan bool)
		ch <- roomReq{bytes: bytes, d: d, reply: reply}
		return <-reply
	}
}

// askRoom answers q at once when eviction makes room (or the run failed);
// otherwise q waits for a job to retire, whose outputs may be evicted
// then (retryRoom).
func (r *run) askRoom(q roomReq) {
	switch {
	case r.err != nil:
		q.reply <- false
	case r.roomFor(q.bytes, q.d.n):
		q.reply <- true
	default:
		r.roomWait = append(r.roomWait, q)
	}
}

// retryRoom answers the waiting asks that fit now, after a job retired.
func (r *run) retryRoom() {
	k := 0
	for _, q := range r.roomWait {
		if r.err == nil && r.roomFor(q.bytes, q.d.n) {
			q.reply <- true
			continue
		}
		r.roomWait[k] = q
		k++
	}
	clear(r.roomWait[k:])
	r.roomWait = r.roomWait[:k]
}

// roomStuck answers no to the waiting asks when no retirement can come
// first: the run failed, or every job in flight (oldest, being waited for,
// and r.inflight) has returned or waits for room itself (jobs retire in
// order, so a waiting oldest job would wait for ever). Their allocations
// then fail with out_of_memory.
func (r *run) roomStuck(oldest *callJob) {
	if len(r.roomWait) == 0 {
		return
	}
	if r.err == nil {
		busy := func(d *callJob) bool {
			return d != nil && !d.returned && !slices.ContainsFunc(r.roomWait, func(q roomReq) bool { return q.d == d })
		}
		if busy(oldest) || slices.ContainsFunc(r.inflight, busy) {
			return
		}
	}
	for _, q := range r.roomWait {
		q.reply <- false
	}
	clear(r.roomWait)
	r.roomWait = r.roomWait[:0]
}
