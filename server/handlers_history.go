// handlers_history.go: GET /history[/{id}], POST /history.

package server

import (
	"encoding/json"
	"net/http"
	"strconv"
)

func (s *Server) handleGetHistory(w http.ResponseWriter, r *http.Request) {
	maxItems, offset := -1, -1
	q := r.URL.Query()
	for _, p := range []struct {
		name string
		v    *int
		min  int
	}{{"max_items", &maxItems, 0}, {"offset", &offset, -1}} {
		if s := q.Get(p.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < p.min {
				fail(w, http.StatusBadRequest, "invalid_request", "%s=%q: want an integer of at least %d", p.name, s, p.min)
				return
			}
			*p.v = n
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(s.hist.page(maxItems, offset))
}

func (s *Server) handleGetHistoryItem(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	w.Header().Set("Content-Type", "application/json")
	e, ok := s.hist.get(id)
	if !ok {
		w.Write([]byte("{}"))
		return
	}
	key, _ := json.Marshal(id)
	w.Write([]byte("{"))
	w.Write(key)
	w.Write([]byte(":"))
	w.Write(e)
	w.Write([]byte("}"))
}

func (s *Server) handlePostHistory(w http.ResponseWriter, r *http.Request) {
	var req deleteRequest
	if !s.readBody(w, r, &req, true) {
		return
	}
	if req.Clear || len(req.Delete) > 0 {
		s.hist.remove(req.Delete, req.Clear)
		if err := s.backend.RemoveHistory(r.Context(), req.Delete, req.Clear); err != nil {
			fail(w, http.StatusServiceUnavailable, "history_unavailable", "removing from the history: %v", err)
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}
