// handlers.go: routes and the helpers every handler uses.

package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// maxIDLen bounds prompt and client ids.
const maxIDLen = 256

// routes registers every endpoint, also under /api/.
func (s *Server) routes() {
	s.mux = http.NewServeMux()
	for _, p := range []string{"", "/api"} {
		s.mux.HandleFunc("POST "+p+"/prompt", s.handlePostPrompt)
		s.mux.HandleFunc("GET "+p+"/prompt", s.handleGetPrompt)
		s.mux.HandleFunc("GET "+p+"/queue", s.handleGetQueue)
		s.mux.HandleFunc("POST "+p+"/queue", s.handlePostQueue)
		s.mux.HandleFunc("GET "+p+"/history", s.handleGetHistory)
		s.mux.HandleFunc("GET "+p+"/history/{id}", s.handleGetHistoryItem)
		s.mux.HandleFunc("POST "+p+"/history", s.handlePostHistory)
		s.mux.HandleFunc("POST "+p+"/interrupt", s.handleInterrupt)
		s.mux.HandleFunc("POST "+p+"/free", s.handleFree)
		s.mux.HandleFunc("GET "+p+"/object_info", s.handleObjectInfo)
		s.mux.HandleFunc("GET "+p+"/object_info/{class}", s.handleObjectInfoClass)
		s.mux.HandleFunc("GET "+p+"/view", s.handleView)
		s.mux.HandleFunc("POST "+p+"/upload/image", s.handleUpload)
		s.mux.HandleFunc("GET "+p+"/system_stats", s.handleSystemStats)
		s.mux.HandleFunc("GET "+p+"/ws", s.handleWS)
	}
	s.mux.HandleFunc("GET /{$}", s.handlePage)
}

// writeJSON answers v as JSON with status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code = http.StatusInternalServerError
		b, _ = json.Marshal(map[string]any{"error": errBody("internal_error", "encoding the answer: "+err.Error())})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(b)
}

// errBody is ComfyUI's error object.
func errBody(typ, msg string) map[string]any {
	return map[string]any{"type": typ, "message": msg, "details": msg, "extra_info": map[string]any{}}
}

// fail answers a 4xx with {"error": {...}, "node_errors": {}}.
func fail(w http.ResponseWriter, code int, typ, format string, args ...any) {
	writeJSON(w, code, map[string]any{"error": errBody(typ, fmt.Sprintf(format, args...)), "node_errors": map[string]any{}})
}

// readBody reads a JSON body of at most s.cfg.MaxBody bytes; on failure it
// has answered (413 past the limit) and returns false. An empty body
// reads as {} when allowEmpty.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, v any, allowEmpty bool) bool {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			fail(w, http.StatusRequestEntityTooLarge, "request_too_large", "request body larger than %d bytes", s.cfg.MaxBody)
		} else {
			fail(w, http.StatusBadRequest, "invalid_request", "reading the body: %v", err)
		}
		return false
	}
	if len(bytes.TrimSpace(data)) == 0 && allowEmpty {
		return true
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		fail(w, http.StatusBadRequest, "invalid_json", "the body is not valid JSON for this endpoint: %v", err)
		return false
	}
	if dec.More() {
		fail(w, http.StatusBadRequest, "invalid_json", "the body has data after its JSON value")
		return false
	}
	return true
}
