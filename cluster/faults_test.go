package cluster_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ebbgraph/ebb/cluster"
	"github.com/ebbgraph/ebb/server/client"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// A worker killed (SIGKILL) in the middle of a prompt: the prompt is
// redelivered after the ack wait, completes on the other worker, the
// history holds one entry and the client sees it finish. Then the server
// restarts: the queued prompts and the history are still there, and run
// once a worker comes.
func TestKilledWorkerRedeliveryAndRestart(t *testing.T) {
	data := t.TempDir()
	s := startServe(t, data, 0, "--workers", "0", "--ack-wait", "2s", "--quiet")
	_, j := js(t, s.NATS)
	workers := map[string]*proc{
		"a": startWorker(t, s.NATS, "a", "--quiet"),
		"b": startWorker(t, s.NATS, "b", "--quiet"),
	}
	c, conn := connect(t, s.URL)
	type result struct {
		r   *client.Result
		err error
	}
	done := make(chan result, 1)
	q, err := c.Submit(ctx(t), client.Request{Prompt: sleepWF(3, 1)})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		r, err := c.Follow(ctx(t), conn, q.PromptID)
		done <- result{r, err}
	}()
	var runner string
	waitFor(t, 30*time.Second, "a worker to start the prompt", func() bool {
		st, w, _ := queueRecord(t, j, q.PromptID)
		runner = w
		return st == "running"
	})
	workers[runner].kill()
	other := map[string]string{"a": "b", "b": "a"}[runner]
	var res result
	select {
	case res = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the prompt did not finish after its worker was killed")
	}
	if res.err != nil || !res.r.Success || res.r.Entry == nil || res.r.Entry.Status.StatusStr != "success" {
		t.Fatalf("after the kill: err %v, result %+v", res.err, res.r)
	}
	if n := historyRevisions(t, j, q.PromptID); n != 1 {
		t.Errorf("EBB_HISTORY holds %d values for the prompt, want 1", n)
	}
	waitFor(t, 10*time.Second, "the other worker's counters", func() bool {
		st := workerStats(t, j, other)
		return st.Runs == 1 && st.Redelivered == 1
	})
	// The file the entry names is served, from the object store.
	refs := res.r.Entry.Images("save")
	if len(refs) != 1 {
		t.Fatalf("images %+v", refs)
	}
	if png, err := c.View(ctx(t), refs[0]); err != nil || !strings.HasPrefix(string(png), "\x89PNG") {
		t.Fatalf("/view %+v: %v", refs[0], err)
	}

	// No worker: two prompts stay queued across a restart.
	workers[other].stop()
	var queued []string
	for i := range 2 {
		q, err := c.Submit(ctx(t), client.Request{Prompt: sleepWF(0, float64(10+i))})
		if err != nil {
			t.Fatal(err)
		}
		queued = append(queued, q.PromptID)
	}
	s.stop()
	if !strings.Contains(s.output(), "ebb serve: stopped") {
		t.Fatalf("serve did not stop cleanly:\n%s", s.output())
	}
	s2 := startServe(t, data, s.natsPort, "--workers", "0", "--ack-wait", "2s", "--quiet")
	c2 := client.New(s2.URL)
	_, pending, err := c2.Queue(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pending {
		got = append(got, p.PromptID())
	}
	if fmt.Sprint(got) != fmt.Sprint(queued) {
		t.Errorf("after the restart the queue holds %v, want %v", got, queued)
	}
	if e, ok, err := c2.History(ctx(t), q.PromptID); err != nil || !ok || e.Status.StatusStr != "success" {
		t.Errorf("after the restart the history of %s: %v %v", q.PromptID, ok, err)
	}
	startWorker(t, s2.NATS, "c", "--quiet")
	for _, id := range queued {
		waitFor(t, 60*time.Second, "queued prompt "+id+" to finish after the restart", func() bool {
			_, ok, _ := c2.History(ctx(t), id)
			return ok
		})
		if n := historyRevisions(t, j2(t, s2), id); n != 1 {
			t.Errorf("prompt %s has %d history values", id, n)
		}
	}
}

func j2(t *testing.T, s *serve) jetstream.JetStream {
	_, j := js(t, s.NATS)
	return j
}

// proxy forwards TCP to a NATS server and can cut every connection
// (a network partition between one worker and NATS).
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  []net.Conn
	wg     sync.WaitGroup
}

func startProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			if p.cut {
				p.mu.Unlock()
				c.Close()
				continue
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				p.mu.Unlock()
				c.Close()
				continue
			}
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			p.wg.Add(2)
			go func() { defer p.wg.Done(); io.Copy(u, c); u.Close() }()
			go func() { defer p.wg.Done(); io.Copy(c, u); c.Close() }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.setCut(true)
		p.wg.Wait()
	})
	return p
}

func (p *proxy) url() string { return "nats://" + p.ln.Addr().String() }

// setCut cuts (closing every connection, refusing new ones) or restores.
func (p *proxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for _, c := range p.conns {
			c.Close()
		}
		p.conns = nil
	}
}

// A worker that loses NATS mid-prompt and comes back after another worker
// completed the prompt: its own completion is dropped (the history keeps
// one entry) and counted.
func TestReconnectedWorkerDropsSecondCompletion(t *testing.T) {
	s := startServe(t, t.TempDir(), 0, "--workers", "0", "--ack-wait", "1s", "--quiet")
	_, j := js(t, s.NATS)
	px := startProxy(t, strings.TrimPrefix(s.NATS, "nats://"))
	startWorker(t, px.url(), "cut")
	c, conn := connect(t, s.URL)
	q, err := c.Submit(ctx(t), client.Request{Prompt: sleepWF(3, 2)})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the worker behind the proxy to start the prompt", func() bool {
		st, w, _ := queueRecord(t, j, q.PromptID)
		return st == "running" && w == "cut"
	})
	px.setCut(true)
	startWorker(t, s.NATS, "direct", "--quiet")
	r, err := c.Follow(ctx(t), conn, q.PromptID)
	if err != nil || !r.Success || r.Entry == nil {
		t.Fatalf("the prompt did not complete on the other worker: %v %+v", err, r)
	}
	px.setCut(false)
	waitFor(t, 60*time.Second, "the reconnected worker to drop its completion", func() bool {
		return workerStats(t, j, "cut").Duplicates == 1
	})
	if st := workerStats(t, j, "cut"); st.Runs != 0 {
		t.Errorf("the cut worker counts %d completed runs, want 0: %+v", st.Runs, st)
	}
	if st := workerStats(t, j, "direct"); st.Runs != 1 {
		t.Errorf("the direct worker: %+v, want 1 run", st)
	}
	if n := historyRevisions(t, j, q.PromptID); n != 1 {
		t.Errorf("EBB_HISTORY holds %d values for the prompt, want 1", n)
	}
}

// A malformed message on the stream is dead-lettered with a reason; the
// worker goes on with the next prompt.
func TestMalformedMessageDeadLettered(t *testing.T) {
	s := startServe(t, t.TempDir(), 0, "--workers", "0", "--quiet")
	nc, j := js(t, s.NATS)
	w := startWorker(t, s.NATS, "w")
	for _, bad := range []string{"not json", `{"id": "x", "prompt": 5}`, `{"prompt": {}}`} {
		if _, err := j.Publish(ctx(t), cluster.SubjectRun, []byte(bad)); err != nil {
			t.Fatal(err)
		}
	}
	c, conn := connect(t, s.URL)
	r, err := c.Run(ctx(t), conn, client.Request{Prompt: sleepWF(0, 3)})
	if err != nil || !r.Success {
		t.Fatalf("a good prompt after bad messages: %v %+v", err, r)
	}
	dlq, err := j.Stream(ctx(t), cluster.StreamDLQ)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "three dead letters", func() bool {
		info, err := dlq.Info(ctx(t))
		return err == nil && info.State.Msgs == 3
	})
	for seq := uint64(1); seq <= 3; seq++ {
		m, err := dlq.GetMsg(ctx(t), seq)
		if err != nil {
			t.Fatal(err)
		}
		if reason := m.Header.Get(cluster.HeaderReason); !strings.Contains(reason, "malformed") {
			t.Errorf("dead letter %d (%s) has reason %q", seq, m.Data, reason)
		}
	}
	// Nothing of them is left to deliver.
	st, _ := j.Stream(ctx(t), cluster.StreamPrompts)
	if info, err := st.Info(ctx(t)); err != nil || info.State.Msgs != 0 {
		t.Errorf("EBB_PROMPTS still holds %+v (%v)", info.State, err)
	}
	select {
	case <-w.done:
		t.Fatalf("the worker exited: %v", w.err)
	default:
	}
	if got := workerStats(t, j, "w").DeadLettered; got != 3 {
		t.Errorf("dead-lettered %d, want 3", got)
	}
	_ = nc
}

// An object store write failure fails the prompt with a typed error, and
// its entry names no file.
func TestObjectStoreFailureFailsPrompt(t *testing.T) {
	s := startServe(t, t.TempDir(), 0, "--workers", "0", "--quiet")
	_, j := js(t, s.NATS)
	// A bucket too small for any PNG.
	if err := j.DeleteObjectStore(ctx(t), cluster.BucketFiles); err != nil {
		t.Fatal(err)
	}
	if _, err := j.CreateObjectStore(ctx(t), jetstream.ObjectStoreConfig{Bucket: cluster.BucketFiles, MaxBytes: 64}); err != nil {
		t.Fatal(err)
	}
	startWorker(t, s.NATS, "w", "--quiet")
	c, conn := connect(t, s.URL)
	r, err := c.Run(ctx(t), conn, client.Request{Prompt: sleepWF(0, 4)})
	if err != nil {
		t.Fatal(err)
	}
	if r.Success && r.Error == nil || r.Error["exception_type"] != cluster.TypeObjectStore {
		t.Fatalf("want an %s error, got success %v error %v", cluster.TypeObjectStore, r.Success, r.Error)
	}
	if r.Entry == nil || r.Entry.Status.StatusStr != "error" || len(r.Entry.Outputs) != 0 {
		t.Fatalf("history entry %+v: want status error and no outputs", r.Entry)
	}
	obs, err := j.ObjectStore(ctx(t), cluster.BucketFiles)
	if err != nil {
		t.Fatal(err)
	}
	if list, err := obs.List(ctx(t)); err == nil && len(list) > 0 || err != nil && !errors.Is(err, jetstream.ErrNoObjectsFound) {
		t.Errorf("the object store holds %d objects (%v), want none", len(list), err)
	}
}

// NATS unreachable at start: a clear error and a non-zero exit.
func TestNATSUnreachable(t *testing.T) {
	bin := ebbBinary(t)
	port := freePort(t)
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	for _, args := range [][]string{
		{"worker", "--nats", url},
		{"serve", "--listen", "127.0.0.1:0", "--nats", url, "--data-dir", t.TempDir(),
			"--output-dir", filepath.Join(t.TempDir(), "o"), "--temp-dir", filepath.Join(t.TempDir(), "t"), "--input-dir", filepath.Join(t.TempDir(), "i")},
	} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() == 0 {
			t.Errorf("ebb %v: %v, want a non-zero exit\n%s", args, err, out)
		}
		if !strings.Contains(string(out), "cannot connect to NATS at "+url) {
			t.Errorf("ebb %v says %q, want it to name the NATS URL it cannot reach", args, out)
		}
	}
	_ = nats.DefaultURL
}

// The default "ebb serve" (embedded NATS) with two in-process workers,
// each with its own engine: prompts submitted at once all complete, on
// both workers.
func TestServeInProcessWorkers(t *testing.T) {
	s := startServe(t, t.TempDir(), 0, "--workers", "2", "--quiet")
	_, j := js(t, s.NATS)
	c := client.New(s.URL)
	var ids []string
	for i := range 6 {
		// The same file name prefix on both workers: their files must not
		// collide in the object store.
		wf := strings.Replace(string(sleepWF(0.3+0.01*float64(i), float64(20+i))), fmt.Sprintf(`"t%d"`, 20+i), `"same"`, 1)
		q, err := c.Submit(ctx(t), client.Request{Prompt: json.RawMessage(wf)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, q.PromptID)
	}
	files := map[string]bool{}
	for _, id := range ids {
		waitFor(t, 60*time.Second, "prompt "+id, func() bool {
			e, ok, _ := c.History(ctx(t), id)
			return ok && e.Status.StatusStr == "success"
		})
		e, _, _ := c.History(ctx(t), id)
		for _, ref := range e.Images("save") {
			files[ref.Subfolder+"/"+ref.Filename] = true
			if png, err := c.View(ctx(t), ref); err != nil || !strings.HasPrefix(string(png), "\x89PNG") {
				t.Errorf("/view %+v: %v", ref, err)
			}
		}
	}
	if len(files) != len(ids) {
		t.Errorf("%d prompts name %d distinct files %v, want one each", len(ids), len(files), files)
	}
	kv, err := j.KeyValue(ctx(t), cluster.BucketWorkers)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := kv.Keys(ctx(t))
	if err != nil || len(keys) != 2 {
		t.Fatalf("workers %v (%v), want 2", keys, err)
	}
	var runs int64
	for _, k := range keys {
		st := workerStats(t, j, k)
		if st.Runs == 0 {
			t.Errorf("worker %s ran nothing", k)
		}
		runs += st.Runs
	}
	if runs != 6 {
		t.Errorf("%d runs, want 6", runs)
	}
	s.stop()
	if !strings.Contains(s.output(), "ebb serve: stopped") {
		t.Errorf("serve did not stop cleanly:\n%s", s.output())
	}
}

// Heartbeats: a prompt three times longer than the ack wait, on a live
// worker, is not redelivered to the other one.
func TestHeartbeatsKeepLongPrompt(t *testing.T) {
	s := startServe(t, t.TempDir(), 0, "--workers", "0", "--ack-wait", "1s", "--quiet")
	_, j := js(t, s.NATS)
	startWorker(t, s.NATS, "x", "--quiet")
	startWorker(t, s.NATS, "y", "--quiet")
	c, conn := connect(t, s.URL)
	r, err := c.Run(ctx(t), conn, client.Request{Prompt: sleepWF(3, 30)})
	if err != nil || !r.Success {
		t.Fatalf("%v %+v", err, r)
	}
	waitFor(t, 10*time.Second, "the counters", func() bool {
		return workerStats(t, j, "x").Runs+workerStats(t, j, "y").Runs == 1
	})
	for _, id := range []string{"x", "y"} {
		if st := workerStats(t, j, id); st.Redelivered != 0 || st.Duplicates != 0 {
			t.Errorf("worker %s: %+v, want no redelivery", id, st)
		}
	}
	if n := historyRevisions(t, j, r.PromptID); n != 1 {
		t.Errorf("%d history values", n)
	}
}
