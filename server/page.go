// page.go: the page at GET / (embedded, no build step).

package server

import (
	_ "embed"
	"net/http"
)

//go:embed page/index.html
var pageHTML []byte

func (s *Server) handlePage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(pageHTML)
}
