// handlers_files.go: GET /view and POST /upload/image, confined to their
// directories (os.Root: no "..", no absolute path, no symlink out).

package server

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// dirOf returns the directory of a ComfyUI file type ("" is output for
// /view, input for uploads).
func (s *Server) dirOf(typ, def string) (string, bool) {
	if typ == "" {
		typ = def
	}
	switch typ {
	case "output":
		return s.cfg.OutputDir, true
	case "temp":
		return s.cfg.TempDir, true
	case "input":
		return s.cfg.InputDir, true
	}
	return "", false
}

// cleanRel checks a relative path from a client (a subfolder, or a file
// name when file is set) and returns it slash-separated and clean ("" for
// none). It refuses absolute paths, "..", backslashes and NUL; a file
// name must have no directory part.
func cleanRel(p string, file bool) (string, error) {
	if strings.ContainsAny(p, "\\\x00") || path.IsAbs(p) || filepath.IsAbs(p) || filepath.VolumeName(p) != "" {
		return "", fmt.Errorf("%q is not a relative path", p)
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return "", fmt.Errorf("%q leaves its directory", p)
		}
	}
	c := path.Clean("/" + p)[1:]
	if file && (c == "" || strings.Contains(c, "/")) {
		return "", fmt.Errorf("%q is not a file name", p)
	}
	return c, nil
}

func (s *Server) handleView(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	dir, ok := s.dirOf(q.Get("type"), "output")
	if !ok {
		fail(w, http.StatusBadRequest, "invalid_request", "type %q: want output, input or temp", q.Get("type"))
		return
	}
	name, err := cleanRel(q.Get("filename"), true)
	if err != nil {
		fail(w, http.StatusBadRequest, "invalid_request", "filename: %v", err)
		return
	}
	sub, err := cleanRel(q.Get("subfolder"), false)
	if err != nil {
		fail(w, http.StatusForbidden, "forbidden", "subfolder: %v", err)
		return
	}
	typ := q.Get("type")
	if typ == "" {
		typ = "output"
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		s.viewRemote(w, r, FileRef{Filename: name, Subfolder: sub, Type: typ})
		return
	}
	defer root.Close()
	f, err := root.Open(path.Join(sub, name))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			s.viewRemote(w, r, FileRef{Filename: name, Subfolder: sub, Type: typ})
		} else {
			fail(w, http.StatusForbidden, "forbidden", "the file is outside its directory or unreadable")
		}
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		fail(w, http.StatusNotFound, "not_found", "no such file")
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": name}))
	http.ServeContent(w, r, "", st.ModTime(), f)
}

// viewRemote serves a file the local disk does not have from the
// Backend (a FileSource), or answers 404.
func (s *Server) viewRemote(w http.ResponseWriter, r *http.Request, ref FileRef) {
	src, ok := s.backend.(FileSource)
	if !ok {
		fail(w, http.StatusNotFound, "not_found", "no such file")
		return
	}
	rs, mod, err := src.OpenFile(r.Context(), ref)
	if err != nil {
		fail(w, http.StatusNotFound, "not_found", "no such file")
		return
	}
	ct := mime.TypeByExtension(path.Ext(ref.Filename))
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": ref.Filename}))
	http.ServeContent(w, r, "", mod, rs)
}

// handleUpload is POST /upload/image: multipart fields image (the file),
// type, subfolder and overwrite. Without overwrite an existing name gets
// " (1)", " (2)", ... before its extension.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxUpload)
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			fail(w, http.StatusRequestEntityTooLarge, "request_too_large", "upload larger than %d bytes", s.cfg.MaxUpload)
		} else {
			fail(w, http.StatusBadRequest, "invalid_request", "want a multipart form: %v", err)
		}
		return
	}
	defer r.MultipartForm.RemoveAll()
	file, hdr, err := r.FormFile("image")
	if err != nil {
		fail(w, http.StatusBadRequest, "invalid_request", "no image field: %v", err)
		return
	}
	defer file.Close()
	typ := r.FormValue("type")
	dir, ok := s.dirOf(typ, "input")
	if !ok {
		fail(w, http.StatusBadRequest, "invalid_request", "type %q: want input, temp or output", typ)
		return
	}
	if typ == "" {
		typ = "input"
	}
	name, err := cleanRel(hdr.Filename, true)
	if err != nil {
		fail(w, http.StatusBadRequest, "invalid_request", "filename: %v", err)
		return
	}
	sub, err := cleanRel(r.FormValue("subfolder"), false)
	if err != nil {
		fail(w, http.StatusBadRequest, "invalid_request", "subfolder: %v", err)
		return
	}
	overwrite := r.FormValue("overwrite") == "true" || r.FormValue("overwrite") == "1"
	saved, err := saveUpload(dir, sub, name, overwrite, file)
	if err != nil {
		fail(w, http.StatusBadRequest, "invalid_request", "saving the upload: %v", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": saved, "subfolder": sub, "type": typ})
}

// saveUpload writes src as sub/name under dir and returns the name used.
func saveUpload(dir, sub, name string, overwrite bool, src io.Reader) (string, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return "", err
	}
	defer root.Close()
	if sub != "" {
		if err := root.MkdirAll(sub, 0o755); err != nil {
			return "", errors.New("the subfolder is outside its directory or cannot be made")
		}
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if overwrite {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	ext := path.Ext(name)
	base := strings.TrimSuffix(name, ext)
	for i := 0; ; i++ {
		try := name
		if i > 0 {
			try = fmt.Sprintf("%s (%d)%s", base, i, ext)
		}
		f, err := root.OpenFile(path.Join(sub, try), flags, 0o644)
		if errors.Is(err, fs.ErrExist) && !overwrite && i < 10000 {
			continue
		}
		if err != nil {
			return "", errors.New("the file is outside its directory or cannot be written")
		}
		_, err = io.Copy(f, src)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			root.Remove(path.Join(sub, try))
			return "", err
		}
		return try, nil
	}
}
