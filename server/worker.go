// worker.go: the worker: runs queued prompts one after another on the
// engine, writes their history, empties the cache when asked.

package server

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/ebbgraph/ebb/engine"
)

// errInterrupted is the cause of a run cancelled by POST /interrupt.
var errInterrupted = errors.New("interrupted by POST /interrupt")

// work runs prompts until Close.
func (s *Server) work() {
	defer close(s.done)
	for {
		s.freeIfAsked()
		it, ok := s.queue.pop()
		if !ok {
			select {
			case <-s.queue.wake:
				continue
			case <-s.ctx.Done():
				return
			}
		}
		s.queueChanged()
		s.runItem(it)
		if s.ctx.Err() != nil {
			return
		}
	}
}

// freeIfAsked empties the engine's cache when POST /free asked for it,
// between prompts as ComfyUI does.
func (s *Server) freeIfAsked() {
	s.mu.Lock()
	free := s.freeReq
	s.freeReq = false
	s.mu.Unlock()
	if free {
		if err := s.eng.Close(); err != nil {
			s.cfg.Logf("ebb serve: emptying the cache: %v", err)
		}
	}
}

// runItem runs one prompt and records it.
func (s *Server) runItem(it *item) {
	ctx, cancel := context.WithCancelCause(s.ctx)
	defer cancel(nil)
	s.mu.Lock()
	s.running, s.interrupt = it.id, cancel
	s.mu.Unlock()

	rec := newRecorder(s, it)
	pol := s.pol
	ro := engine.RunOptions{
		Targets: it.targets, Policy: &pol, Order: s.cfg.Order, Observers: []engine.Observer{rec},
		Limits: s.cfg.Limits, KeepExecuted: s.cfg.KeepExecuted,
	}
	res, err := s.eng.Run(ctx, it.wf, ro)
	if res == nil {
		res = &engine.RunResult{Status: engine.StatusError, Err: err}
	}
	if res.Status == engine.StatusInvalid { // changed since it was validated: report it as an error
		res.Status = engine.StatusError
	}
	status := rec.finish(res)

	s.mu.Lock()
	s.running, s.interrupt = "", nil
	s.mu.Unlock()

	s.hist.add(it.id, s.historyEntry(it, res, rec, status))
	s.queue.done(it.id)
	s.queueChanged()
	if it.clientID != "" {
		s.hub.send(it.clientID, message("executing", map[string]any{"node": nil, "prompt_id": it.id}))
	}
}

// historyEntry encodes ComfyUI's history item, with ebb's memory report
// under "ebb".
func (s *Server) historyEntry(it *item, res *engine.RunResult, rec *recorder, status map[string]any) json.RawMessage {
	outputs := map[engine.NodeID]map[string][]any{}
	for id, ui := range res.Outputs {
		outputs[id] = ui
	}
	meta := rec.meta
	for id := range outputs {
		if meta[id] == nil {
			meta[id] = map[string]any{"node_id": id, "display_node": id, "parent_node": nil, "real_node_id": id}
		}
	}
	ebb := rec.summary(res)
	delete(ebb, "kind")
	ebb["timeline"] = nonNil(rec.timeline)
	ebb["timeline_truncated"] = rec.truncTL
	ebb["executed"] = nonNil(res.Executed)
	ebb["cached"] = nonNil(res.Cached)
	ebb["reexecuted"] = nonNil(res.Stats.Reexecuted)
	entry := map[string]any{
		"prompt":  it.wire(),
		"outputs": outputs,
		"status":  status,
		"meta":    meta,
		"ebb":     ebb,
	}
	b, err := json.Marshal(entry)
	if err != nil { // an output JSON cannot hold (NaN, ...): keep the rest
		entry["outputs"] = map[string]any{}
		status["messages"] = [][2]any{{"ebb.encoding_error", map[string]any{"message": err.Error()}}}
		b, _ = json.Marshal(entry)
	}
	return b
}

// interruptRun cancels the running prompt: any, or only id when id is
// not "". It reports whether a prompt was interrupted.
func (s *Server) interruptRun(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.interrupt == nil || (id != "" && id != s.running) {
		return false
	}
	s.interrupt(errInterrupted)
	return true
}
