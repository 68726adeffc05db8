package server_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ebbgraph/ebb/server/client"
)

// blocker is a prompt whose "sleep" node sleeps until interrupted, then
// "after" would run.
func blocker() wf {
	return wf{
		"black": {"class_type": "StubImage", "inputs": map[string]any{"content": "BLACK", "height": 8, "width": 8, "batch_size": 1}},
		"sleep": {"class_type": "TestSleep", "inputs": map[string]any{"value": []any{"black", 0}, "seconds": 9999.0}},
		"after": {"class_type": "TestSleep", "inputs": map[string]any{"value": []any{"sleep", 0}, "seconds": 0.0}},
		"out":   {"class_type": "PreviewImage", "inputs": map[string]any{"images": []any{"after", 0}}},
	}
}

// small is a 3-node prompt; v makes it differ from other small prompts.
func small(v float64) wf {
	return wf{
		"img":  {"class_type": "StubConstantImage", "inputs": map[string]any{"value": v, "height": 8, "width": 8, "batch_size": 1}},
		"mul":  {"class_type": "TestIsChangedWithConstants", "inputs": map[string]any{"image": []any{"img", 0}, "value": 1.0}},
		"save": {"class_type": "SaveImage", "inputs": map[string]any{"images": []any{"mul", 0}, "filename_prefix": "small"}},
	}
}

// waitFor reads conn until a message satisfies f, and returns it and
// every message read.
func waitFor(t testing.TB, conn *client.Conn, f func(client.Message) bool) (client.Message, []client.Message) {
	t.Helper()
	var seen []client.Message
	for {
		m, err := conn.Next(ctx(t))
		if err != nil {
			t.Fatalf("waiting for a message: %v (after %d messages)", err, len(seen))
		}
		seen = append(seen, m)
		if f(m) {
			return m, seen
		}
	}
}

// data decodes a message's data.
func data(m client.Message) map[string]any {
	var d map[string]any
	json.Unmarshal(m.Data, &d)
	return d
}

// executingNode matches "executing" of node in prompt id.
func executingNode(id, node string) func(client.Message) bool {
	return func(m client.Message) bool {
		return m.Type == "executing" && m.PromptID() == id && data(m)["node"] == node
	}
}

// finished matches the final "executing" (node null) of prompt id.
func finished(id string) func(client.Message) bool {
	return func(m client.Message) bool {
		d := data(m)
		n, has := d["node"]
		return m.Type == "executing" && m.PromptID() == id && has && n == nil
	}
}

func submit(t testing.TB, c *client.Client, req client.Request) string {
	t.Helper()
	q, err := c.Submit(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	return q.PromptID
}

func pendingIDs(t testing.TB, c *client.Client) (running, pending []string) {
	t.Helper()
	r, p, err := c.Queue(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range r {
		running = append(running, it.PromptID())
	}
	for _, it := range p {
		pending = append(pending, it.PromptID())
	}
	return running, pending
}

// The queue runs by number (front negates the counter, an explicit number
// wins), lists running and pending prompts, deletes and clears pending
// ones; an interrupt of the running prompt stops it between nodes and the
// next prompt runs.
func TestQueueOrderDeleteInterrupt(t *testing.T) {
	ts := start(t, defaults())
	c, conn := ts.client(t)
	blk := submit(t, c, client.Request{Prompt: blocker().raw(), PromptID: "block"})
	waitFor(t, conn, executingNode(blk, "sleep"))

	num := func(v float64) *float64 { return &v }
	for _, req := range []client.Request{
		{Prompt: small(0.1).raw(), PromptID: "p1"},
		{Prompt: small(0.2).raw(), PromptID: "p2"},
		{Prompt: small(0.3).raw(), PromptID: "p3", Front: true},
		{Prompt: small(0.4).raw(), PromptID: "p4", Number: num(-100)},
		{Prompt: small(0.5).raw(), PromptID: "p5"},
	} {
		submit(t, c, req)
	}
	if _, err := c.Submit(ctx(t), client.Request{Prompt: small(0.6).raw(), PromptID: "p1"}); err == nil {
		t.Error("a second prompt with a queued id was accepted")
	}
	running, pending := pendingIDs(t, c)
	if !slices.Equal(running, []string{"block"}) || !slices.Equal(pending, []string{"p4", "p3", "p1", "p2", "p5"}) {
		t.Fatalf("queue running %v pending %v, want [block] [p4 p3 p1 p2 p5]", running, pending)
	}
	var info map[string]map[string]json.Number
	if err := c.Get(ctx(t), "/prompt", &info); err != nil || info["exec_info"]["queue_remaining"] != "6" {
		t.Errorf("GET /prompt: %v %v, want queue_remaining 6", info, err)
	}
	if err := c.DeleteQueued(ctx(t), "p1", "p3"); err != nil {
		t.Fatal(err)
	}
	if _, pending = pendingIDs(t, c); !slices.Equal(pending, []string{"p4", "p2", "p5"}) {
		t.Errorf("after delete: pending %v", pending)
	}
	if err := c.ClearQueue(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if _, pending = pendingIDs(t, c); len(pending) != 0 {
		t.Errorf("after clear: pending %v", pending)
	}
	next := submit(t, c, client.Request{Prompt: small(0.7).raw(), PromptID: "next"})
	if err := c.Interrupt(ctx(t), blk); err != nil {
		t.Fatal(err)
	}
	r, err := c.Follow(ctx(t), conn, blk)
	if err != nil {
		t.Fatal(err)
	}
	if r.Interrupted == nil || r.Interrupted["node_id"] != "sleep" || r.Success || r.DidRun("after") {
		t.Errorf("interrupted %v, success %v, ran %v: want stopped at sleep", r.Interrupted, r.Success, r.Ran)
	}
	if r.Entry.Status.StatusStr != "error" || r.Entry.Status.Completed {
		t.Errorf("history status %+v", r.Entry.Status)
	}
	rn, err := c.Follow(ctx(t), conn, next)
	if err != nil {
		t.Fatal(err)
	}
	ok(t, rn)
	for _, id := range []string{"p1", "p2", "p3", "p4", "p5"} {
		if _, found, _ := c.History(ctx(t), id); found {
			t.Errorf("deleted prompt %s ran", id)
		}
	}
}

// A global interrupt (no prompt id) stops the running prompt too.
func TestInterruptGlobal(t *testing.T) {
	ts := start(t, defaults())
	c, conn := ts.client(t)
	blk := submit(t, c, client.Request{Prompt: blocker().raw()})
	waitFor(t, conn, executingNode(blk, "sleep"))
	if err := c.Interrupt(ctx(t), ""); err != nil {
		t.Fatal(err)
	}
	r, err := c.Follow(ctx(t), conn, blk)
	if err != nil {
		t.Fatal(err)
	}
	if r.Interrupted == nil || r.Interrupted["prompt_id"] != blk {
		t.Errorf("no execution_interrupted for %s: %v", blk, r.Messages)
	}
	ok(t, run(t, c, conn, small(0.5)))
}

// Two clients each get only their own prompts' events.
func TestClientIsolation(t *testing.T) {
	ts := start(t, defaults())
	a, aconn := ts.client(t)
	b, bconn := ts.client(t)
	pa := submit(t, a, client.Request{Prompt: small(0.25).raw()})
	pb := submit(t, b, client.Request{Prompt: small(0.75).raw()})
	_, bseen := waitFor(t, bconn, finished(pb))
	// b's prompt ran after a's: whatever a's socket got for it came
	// before the end of a's next prompt.
	_, aseen := waitFor(t, aconn, finished(pa))
	pa2 := submit(t, a, client.Request{Prompt: small(0.5).raw()})
	_, more := waitFor(t, aconn, finished(pa2))
	aseen = append(aseen, more...)
	check := func(name string, seen []client.Message, own ...string) {
		n := 0
		for _, m := range seen {
			id := m.PromptID()
			if id != "" && !slices.Contains(own, id) {
				t.Errorf("client %s got %s of another prompt %s", name, m.Type, id)
			}
			if m.Type == "executing" {
				n++
			}
		}
		if n == 0 {
			t.Errorf("client %s got no executing message", name)
		}
	}
	check("a", aseen, pa, pa2)
	check("b", bseen, pb)
	for _, m := range aseen {
		if m.Type == "executed" && m.PromptID() == pa {
			return
		}
	}
	t.Errorf("client a got no executed message for its prompt")
}

// A prompt without client_id still runs and is in the history, with the
// UI of cache hits (ComfyUI's test_cached_outputs_in_job_without_client_id);
// its node events go to every client, as in ComfyUI.
func TestNoClientID(t *testing.T) {
	ts := start(t, defaults())
	c, conn := ts.client(t)
	ok(t, run(t, c, conn, small(0.5)))
	id := submit(t, c, client.Request{Prompt: small(0.5).raw(), NoClientID: true})
	_, seen := waitFor(t, conn, func(m client.Message) bool {
		return m.Type == "status" && fmt.Sprint(data(m)["status"]) == "map[exec_info:map[queue_remaining:0]]"
	})
	for _, m := range seen {
		if m.PromptID() == id && m.Type != "executed" && m.Type != "executing" && m.Type != "ebb.memory" {
			t.Errorf("a client got %s of a prompt without client id", m.Type)
		}
	}
	e, found, err := c.History(ctx(t), id)
	if err != nil || !found {
		t.Fatalf("prompt without client id not in the history: %v", err)
	}
	if e.Status.StatusStr != "success" || len(e.Images("save")) != 1 {
		t.Errorf("history %+v, want success with save's image", e.Status)
	}
	if !slices.Contains(e.Ebb.Cached, "save") {
		t.Errorf("save was not a cache hit: %v", e.Ebb.Cached)
	}
}

// sleeper is BLACK -> TestSleep(seconds) -> PreviewImage; v tells prompts
// apart.
func sleeper(seconds, v float64) wf {
	return wf{
		"img":   {"class_type": "StubConstantImage", "inputs": map[string]any{"value": v, "height": 8, "width": 8, "batch_size": 1}},
		"sleep": {"class_type": "TestSleep", "inputs": map[string]any{"value": []any{"img", 0}, "seconds": seconds}},
		"out":   {"class_type": "PreviewImage", "inputs": map[string]any{"images": []any{"sleep", 0}}},
	}
}

// ComfyUI's test_progress_isolation_between_clients: two clients each
// get progress messages for their own prompt only, and at least one.
func TestProgressIsolation(t *testing.T) {
	ts := start(t, defaults())
	type side struct {
		c    *client.Client
		conn *client.Conn
		id   string
	}
	var sides []*side
	for i := range 2 {
		c, conn := ts.client(t)
		sides = append(sides, &side{c: c, conn: conn})
		sides[i].id = submit(t, c, client.Request{Prompt: sleeper(0.15, float64(i)/4).raw()})
	}
	for _, s := range sides {
		_, seen := waitFor(t, s.conn, finished(s.id))
		n := 0
		for _, m := range seen {
			if m.Type != "progress" {
				continue
			}
			d := data(m)
			if m.PromptID() != s.id || d["node"] != "sleep" || d["max"] != 0.15 {
				t.Errorf("client of %s got progress %v", s.id, d)
			}
			n++
		}
		if n == 0 {
			t.Errorf("client of %s got no progress message", s.id)
		}
	}
}

// ComfyUI's test_progress_with_missing_client_id: a socket opened without
// a clientId gets one (its status's sid), and a prompt submitted with it
// gets its progress.
func TestProgressWithServerAssignedClientID(t *testing.T) {
	ts := start(t, defaults())
	c := client.New(ts.URL)
	c.ID = ""
	conn, err := c.Connect(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if conn.SID == "" {
		t.Fatal("no sid in the first status")
	}
	c.ID = conn.SID
	id := submit(t, c, client.Request{Prompt: sleeper(0.1, 0.5).raw()})
	_, seen := waitFor(t, conn, finished(id))
	if !slices.ContainsFunc(seen, func(m client.Message) bool { return m.Type == "progress" && m.PromptID() == id }) {
		t.Errorf("no progress for %s among %d messages", id, len(seen))
	}
}

// A verbose ExecutionBlocker is reported with execution_error (type
// ExecutionBlocked, on the node that received the blocker, as ComfyUI's
// execution_block_cb reports it) to the prompt's client, and the prompt
// goes on to succeed.
func TestVerboseBlockerReported(t *testing.T) {
	ts := start(t, defaults())
	c, conn := ts.client(t)
	w := wf{
		"img":   {"class_type": "StubImage", "inputs": map[string]any{"content": "BLACK", "height": 8, "width": 8, "batch_size": 1}},
		"block": {"class_type": "TestExecutionBlocker", "inputs": map[string]any{"input": []any{"img", 0}, "block": true, "verbose": true}},
		"out":   {"class_type": "PreviewImage", "inputs": map[string]any{"images": []any{"block", 0}}},
		"other": {"class_type": "PreviewImage", "inputs": map[string]any{"images": []any{"img", 0}}},
	}
	id := submit(t, c, client.Request{Prompt: w.raw()})
	_, seen := waitFor(t, conn, finished(id))
	var blocked, success bool
	for _, m := range seen {
		d := data(m)
		switch {
		case m.Type == "execution_error" && d["exception_type"] == "ExecutionBlocked":
			blocked = d["node_id"] == "out" && d["node_type"] == "PreviewImage" && strings.Contains(fmt.Sprint(d["exception_message"]), "Blocked")
		case m.Type == "execution_success":
			success = true
		}
	}
	if !blocked || !success {
		t.Errorf("blocked %v, success %v in %d messages", blocked, success, len(seen))
	}
	e, _, _ := c.History(ctx(t), id)
	if e == nil || len(e.Images("other")) != 1 || len(e.Images("out")) != 0 {
		t.Errorf("history %+v: want other's image and none from the blocked output", e)
	}
}
