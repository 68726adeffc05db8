// handlers_prompt.go: POST/GET /prompt, /queue, /interrupt, /free.

package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/ebbgraph/ebb/engine"
)

// promptRequest is POST /prompt's body.
type promptRequest struct {
	Prompt    json.RawMessage `json:"prompt"`
	ClientID  string          `json:"client_id"`
	PromptID  *string         `json:"prompt_id"`
	Number    *json.Number    `json:"number"`
	Front     bool            `json:"front"`
	ExtraData map[string]any  `json:"extra_data"`
	Targets   *[]string       `json:"partial_execution_targets"`
}

// sensitiveKeys are extra_data keys ComfyUI keeps out of the queue and
// history listings.
var sensitiveKeys = []string{"auth_token_comfy_org", "api_key_comfy_org"}

func (s *Server) handlePostPrompt(w http.ResponseWriter, r *http.Request) {
	var req promptRequest
	if !s.readBody(w, r, &req, false) {
		return
	}
	if len(req.Prompt) == 0 || string(req.Prompt) == "null" {
		fail(w, http.StatusBadRequest, "no_prompt", "No prompt provided")
		return
	}
	wf, err := engine.DecodeWorkflow(req.Prompt)
	if err != nil {
		fail(w, http.StatusBadRequest, engine.TypeInvalidPrompt, "Invalid prompt: %v", err)
		return
	}
	it := &Job{Prompt: req.Prompt, wf: wf, ClientID: req.ClientID, Extra: req.ExtraData}
	if len(it.ClientID) > maxIDLen {
		fail(w, http.StatusBadRequest, "invalid_request", "client_id longer than %d bytes", maxIDLen)
		return
	}
	if req.PromptID != nil {
		it.ID = *req.PromptID
		if it.ID == "" || len(it.ID) > maxIDLen {
			fail(w, http.StatusBadRequest, "invalid_request", "prompt_id must be 1 to %d bytes", maxIDLen)
			return
		}
	} else {
		it.ID = newUUID()
	}
	if req.Targets != nil {
		it.Targets = make([]engine.NodeID, len(*req.Targets))
		for i, t := range *req.Targets {
			it.Targets[i] = engine.NodeID(t)
		}
	}
	v, err := engine.Validate(s.eng.Registry(), wf, it.Targets)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, promptErrorBody(err))
		return
	}
	it.Outputs = v.Outputs
	if it.Extra == nil {
		it.Extra = map[string]any{}
	}
	for _, k := range sensitiveKeys {
		delete(it.Extra, k)
	}
	if req.ClientID != "" {
		it.Extra["client_id"] = req.ClientID
	}
	if req.Number != nil {
		n, err := req.Number.Float64()
		if err != nil {
			fail(w, http.StatusBadRequest, "invalid_request", "number %s: %v", *req.Number, err)
			return
		}
		it.Number = n
	} else {
		s.mu.Lock()
		s.number = s.backend.NextNumber(s.number)
		it.Number = s.number
		s.number++
		s.mu.Unlock()
		if req.Front && it.Number != 0 { // no -0 on the wire
			it.Number = -it.Number
		}
	}
	if err := s.backend.Push(r.Context(), it); err != nil {
		if errors.Is(err, ErrQueued) {
			fail(w, http.StatusBadRequest, "invalid_request", "prompt_id %q is already queued or running", it.ID)
		} else {
			fail(w, http.StatusServiceUnavailable, "queue_unavailable", "queueing the prompt: %v", err)
		}
		return
	}
	s.queueChanged()
	writeJSON(w, http.StatusOK, map[string]any{"prompt_id": it.ID, "number": it.Number, "node_errors": nodeErrorsBody(v.NodeErrors)})
}

// promptErrorBody is ComfyUI's 400 body for a prompt that cannot run.
func promptErrorBody(err error) map[string]any {
	var pe *engine.PromptError
	if !errors.As(err, &pe) {
		return map[string]any{"error": errBody(engine.TypeInvalidPrompt, err.Error()), "node_errors": map[string]any{}}
	}
	return map[string]any{
		"error":       map[string]any{"type": pe.Type, "message": pe.Message, "details": pe.Details, "extra_info": map[string]any{}},
		"node_errors": nodeErrorsBody(pe.Nodes),
	}
}

// nodeErrorsBody is ComfyUI's node_errors: per node, its errors (each
// with extra_info.input_name), dependent_outputs and class_type.
func nodeErrorsBody(m map[engine.NodeID]*engine.NodeValidation) map[engine.NodeID]any {
	out := make(map[engine.NodeID]any, len(m))
	for id, nv := range m {
		errs := make([]any, len(nv.Errors))
		for i, e := range nv.Errors {
			extra := map[string]any{}
			if e.Input != "" {
				extra["input_name"] = e.Input
			}
			errs[i] = map[string]any{"type": e.Type, "message": e.Message, "details": e.Details, "extra_info": extra}
		}
		out[id] = map[string]any{"errors": errs, "dependent_outputs": nonNil(nv.DependentOutputs), "class_type": nv.Class}
	}
	return out
}

func (s *Server) handleGetPrompt(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.queueInfo())
}

func (s *Server) handleGetQueue(w http.ResponseWriter, r *http.Request) {
	running, pending, err := s.backend.Snapshot(r.Context())
	if err != nil {
		fail(w, http.StatusServiceUnavailable, "queue_unavailable", "listing the queue: %v", err)
		return
	}
	wire := func(items []*Job) []any {
		out := make([]any, len(items))
		for i, it := range items {
			out[i] = it.Wire()
		}
		return out
	}
	writeJSON(w, http.StatusOK, map[string]any{"queue_running": wire(running), "queue_pending": wire(pending)})
}

// deleteRequest is the body of POST /queue and POST /history.
type deleteRequest struct {
	Clear  bool     `json:"clear"`
	Delete []string `json:"delete"`
}

func (s *Server) handlePostQueue(w http.ResponseWriter, r *http.Request) {
	var req deleteRequest
	if !s.readBody(w, r, &req, true) {
		return
	}
	if req.Clear || len(req.Delete) > 0 {
		if err := s.backend.Remove(r.Context(), req.Delete, req.Clear); err != nil {
			fail(w, http.StatusServiceUnavailable, "queue_unavailable", "removing from the queue: %v", err)
			return
		}
		s.queueChanged()
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) handleInterrupt(w http.ResponseWriter, r *http.Request) {
	var req struct {
		PromptID string `json:"prompt_id"`
	}
	if !s.readBody(w, r, &req, true) {
		return
	}
	if err := s.backend.Interrupt(r.Context(), req.PromptID); err != nil {
		fail(w, http.StatusServiceUnavailable, "queue_unavailable", "interrupting: %v", err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) handleFree(w http.ResponseWriter, r *http.Request) {
	var req struct {
		UnloadModels bool `json:"unload_models"`
		FreeMemory   bool `json:"free_memory"`
	}
	if !s.readBody(w, r, &req, true) {
		return
	}
	if req.UnloadModels || req.FreeMemory {
		if err := s.backend.Free(r.Context()); err != nil {
			fail(w, http.StatusServiceUnavailable, "queue_unavailable", "freeing: %v", err)
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}

// newUUID is a random version-4 UUID (ComfyUI's default prompt id).
func newUUID() string {
	h := newID()
	b := []byte(h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-" + h[16:20] + "-" + h[20:32])
	// The variant nibble: 8, 9, a or b.
	v, _ := strconv.ParseUint(string(b[19]), 16, 8)
	b[19] = "89ab"[v&3]
	return string(b)
}
