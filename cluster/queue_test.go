package cluster_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ebbgraph/ebb/cluster"
	"github.com/ebbgraph/ebb/server/client"
)

// Priority, delete and clear keep ComfyUI's meaning through JetStream:
// GET /queue lists pending prompts in run order (explicit low numbers and
// front first), a deleted prompt never runs, and a worker runs the rest
// in that order.
func TestQueuePriorityDeleteClear(t *testing.T) {
	bc := startBenchCluster(t, 1, 1)
	c := client.New(bc.URL)
	ctx := context.Background()
	submit := func(id string, req client.Request) {
		t.Helper()
		req.Prompt, req.PromptID, req.NoClientID = smallPrompt(0, float64(len(id))/10), id, true
		if _, err := c.Submit(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	low := -100.0
	submit("p1", client.Request{})
	submit("p2", client.Request{})
	submit("p3", client.Request{})
	submit("p4", client.Request{Front: true})
	submit("p5", client.Request{Number: &low})
	pendingIDs := func() []string {
		_, pending, err := c.Queue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, p := range pending {
			ids = append(ids, p.PromptID())
		}
		return ids
	}
	waitFor(t, 10*time.Second, "five pending prompts", func() bool { return len(pendingIDs()) == 5 })
	if got, want := fmt.Sprint(pendingIDs()), "[p5 p4 p1 p2 p3]"; got != want {
		t.Errorf("pending %s, want %s", got, want)
	}
	if err := c.DeleteQueued(ctx, "p2"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "p2 to leave the queue", func() bool { return len(pendingIDs()) == 4 })
	bc.start()
	waitFor(t, 30*time.Second, "four prompts to finish", func() bool {
		ids, _, err := c.HistoryPage(ctx, -1, 0)
		return err == nil && len(ids) == 4
	})
	ids, _, _ := c.HistoryPage(ctx, -1, 0)
	if got, want := fmt.Sprint(ids), "[p5 p4 p1 p3]"; got != want {
		t.Errorf("ran %s, want %s", got, want)
	}
	st := bc.workers[0].Stats()
	if st.Runs != 4 || st.Skipped != 1 {
		t.Errorf("worker counters %+v: want 4 runs and 1 skipped (the deleted prompt)", st)
	}

	// Clear: nothing queued runs. The worker is busy with a slow prompt
	// while the others are queued and cleared.
	if _, err := c.Submit(ctx, client.Request{Prompt: sleepWF(1, 9), PromptID: "slow", NoClientID: true}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the slow prompt to start", func() bool {
		running, _, _ := c.Queue(ctx)
		return len(running) == 1
	})
	submit("q1", client.Request{})
	submit("q2", client.Request{})
	waitFor(t, 10*time.Second, "q1 and q2 queued", func() bool { return len(pendingIDs()) == 2 })
	if err := c.ClearQueue(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the slow prompt to finish", func() bool {
		_, ok, _ := c.History(ctx, "slow")
		return ok
	})
	waitFor(t, 10*time.Second, "the cleared prompts' messages to be dropped", func() bool {
		return bc.workers[0].Stats().Skipped == 3
	})
	for _, id := range []string{"q1", "q2"} {
		if _, ok, _ := c.History(ctx, id); ok {
			t.Errorf("cleared prompt %s ran", id)
		}
	}
	_ = cluster.Key
}

// POST /interrupt reaches the worker running the prompt.
func TestInterruptThroughNATS(t *testing.T) {
	bc := startBenchCluster(t, 1, 1)
	bc.start()
	c := client.New(bc.URL)
	conn, err := c.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	q, err := c.Submit(context.Background(), client.Request{Prompt: sleepWF(30, 1)})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the prompt to start", func() bool {
		running, _, _ := c.Queue(context.Background())
		return len(running) == 1
	})
	if err := c.Interrupt(context.Background(), q.PromptID); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := c.Follow(ctx, conn, q.PromptID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Interrupted == nil || r.Success || r.Entry == nil || r.Entry.Status.StatusStr != "error" {
		t.Fatalf("interrupted %v, success %v, entry %+v", r.Interrupted, r.Success, r.Entry)
	}
}
