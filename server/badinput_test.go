package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ebbgraph/ebb/server"
	"github.com/ebbgraph/ebb/server/client"
)

// post sends body to ts and returns the status and the answer.
func post(t testing.TB, ts *testServer, path, ctype string, body io.Reader) (int, []byte) {
	t.Helper()
	resp, err := http.Post(ts.URL+path, ctype, body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func get(t testing.TB, ts *testServer, path string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(ts.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// errorType is the error type of a ComfyUI error body.
func errorType(b []byte) string {
	var e struct {
		Error struct {
			Type string `json:"type"`
		} `json:"error"`
	}
	json.Unmarshal(b, &e)
	return e.Error.Type
}

// Bad prompts get a clear 4xx with ComfyUI's error body, and the server
// goes on.
func TestBadPrompts(t *testing.T) {
	cfg := defaults()
	cfg.edit = func(c *server.Config) { c.MaxBody = 4096 }
	ts := start(t, cfg)
	for _, tc := range []struct {
		name, body string
		code       int
		typ        string
	}{
		{"malformed JSON", `{"prompt": {`, 400, "invalid_json"},
		{"not an object", `[1, 2]`, 400, "invalid_json"},
		{"trailing data", `{"prompt": {}} x`, 400, "invalid_json"},
		{"missing prompt", `{"client_id": "x"}`, 400, "no_prompt"},
		{"null prompt", `{"prompt": null}`, 400, "no_prompt"},
		{"prompt not a workflow", `{"prompt": [1, 2]}`, 400, "invalid_prompt"},
		{"node without class", `{"prompt": {"1": {"inputs": {}}}}`, 400, "invalid_prompt"},
		{"unknown class", `{"prompt": {"1": {"class_type": "NoSuchNode", "inputs": {}}}}`, 400, "missing_node_type"},
		{"no outputs", `{"prompt": {"1": {"class_type": "StubInt", "inputs": {"value": 1}}}}`, 400, "prompt_no_outputs"},
		{"bad number", `{"prompt": {"1": {"class_type": "StubInt", "inputs": {"value": 1}}}, "number": "x"}`, 400, "invalid_json"},
		{"bad targets", `{"prompt": {"1": {"class_type": "StubInt", "inputs": {"value": 1}}}, "partial_execution_targets": "1"}`, 400, "invalid_json"},
		{"oversized", `{"prompt": "` + strings.Repeat("x", 5000) + `"}`, 413, "request_too_large"},
	} {
		code, b := post(t, ts, "/prompt", "application/json", strings.NewReader(tc.body))
		if code != tc.code || errorType(b) != tc.typ {
			t.Errorf("%s: %d %s, want %d with type %s", tc.name, code, b, tc.code, tc.typ)
		}
	}
	code, b := post(t, ts, "/api/prompt", "application/json", strings.NewReader(`{"prompt": {"1": {"class_type": "NoSuchNode", "inputs": {}}}}`))
	var body struct {
		NodeErrors map[string]struct {
			ClassType string `json:"class_type"`
		} `json:"node_errors"`
	}
	if json.Unmarshal(b, &body); code != 400 || body.NodeErrors["1"].ClassType != "NoSuchNode" {
		t.Errorf("unknown class under /api: %d %s", code, b)
	}
	for _, p := range []string{"/queue", "/history", "/interrupt", "/free"} {
		if code, b := post(t, ts, p, "application/json", strings.NewReader(`{"delete": `)); code != 400 {
			t.Errorf("POST %s with malformed JSON: %d %s", p, code, b)
		}
	}
	c, conn := ts.client(t)
	ok(t, run(t, c, conn, small(0.5)))
}

// /view serves files of its directories only: "..", absolute paths,
// names with a directory and symlinks out are refused, nothing outside
// is ever served.
func TestViewConfined(t *testing.T) {
	ts := start(t, defaults())
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret.png")
	os.WriteFile(secret, []byte("secret"), 0o644)
	os.WriteFile(filepath.Join(ts.cfg.OutputDir, "ok.png"), []byte("fine"), 0o644)
	os.Mkdir(filepath.Join(ts.cfg.OutputDir, "sub"), 0o755)
	os.WriteFile(filepath.Join(ts.cfg.OutputDir, "sub", "in.png"), []byte("sub"), 0o644)
	links := os.Symlink(secret, filepath.Join(ts.cfg.OutputDir, "link.png")) == nil &&
		os.Symlink(outside, filepath.Join(ts.cfg.OutputDir, "linkdir")) == nil
	view := func(q url.Values) (int, []byte) { return get(t, ts, "/view?"+q.Encode()) }
	if code, b := view(url.Values{"filename": {"ok.png"}}); code != 200 || string(b) != "fine" {
		t.Errorf("ok.png: %d %q", code, b)
	}
	if code, b := view(url.Values{"filename": {"in.png"}, "subfolder": {"sub"}, "type": {"output"}}); code != 200 || string(b) != "sub" {
		t.Errorf("sub/in.png: %d %q", code, b)
	}
	cases := []struct {
		q    url.Values
		code int
	}{
		{url.Values{"filename": {"../secret.png"}}, 400},
		{url.Values{"filename": {".."}}, 400},
		{url.Values{"filename": {secret}}, 400},
		{url.Values{"filename": {"sub/in.png"}}, 400},
		{url.Values{"filename": {`..\secret.png`}}, 400},
		{url.Values{"filename": {""}}, 400},
		{url.Values{"filename": {"secret.png"}, "subfolder": {".."}}, 403},
		{url.Values{"filename": {"secret.png"}, "subfolder": {outside}}, 403},
		{url.Values{"filename": {"secret.png"}, "subfolder": {"sub/../.."}}, 403},
		{url.Values{"filename": {"ok.png"}, "type": {"bogus"}}, 400},
		{url.Values{"filename": {"missing.png"}}, 404},
		{url.Values{"filename": {"sub"}}, 404},
	}
	if links {
		cases = append(cases,
			struct {
				q    url.Values
				code int
			}{url.Values{"filename": {"link.png"}}, 403},
			struct {
				q    url.Values
				code int
			}{url.Values{"filename": {"secret.png"}, "subfolder": {"linkdir"}}, 403})
	}
	for _, tc := range cases {
		code, b := view(tc.q)
		if code != tc.code {
			t.Errorf("/view?%s: %d %s, want %d", tc.q.Encode(), code, b, tc.code)
		}
		if bytes.Contains(b, []byte("secret")) && !bytes.Contains(b, []byte(`"`)) {
			t.Errorf("/view?%s served the file outside", tc.q.Encode())
		}
	}
}

// upload posts a multipart upload.
func upload(t testing.TB, ts *testServer, name string, content []byte, fields map[string]string) (int, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	h := make(map[string][]string)
	h["Content-Disposition"] = []string{`form-data; name="image"; filename="` + name + `"`}
	h["Content-Type"] = []string{"image/png"}
	pw, _ := mw.CreatePart(h)
	pw.Write(content)
	mw.Close()
	return post(t, ts, "/upload/image", mw.FormDataContentType(), &buf)
}

// /upload/image writes into its directory only, renames instead of
// overwriting unless asked, and bounds the size.
func TestUploadConfined(t *testing.T) {
	cfg := defaults()
	cfg.edit = func(c *server.Config) { c.MaxUpload = 64 << 10 }
	ts := start(t, cfg)
	outside := t.TempDir()
	links := os.Symlink(outside, filepath.Join(ts.cfg.InputDir, "linkdir")) == nil
	type answer struct{ Name, Subfolder, Type string }
	up := func(name string, content string, fields map[string]string) (int, answer) {
		code, b := upload(t, ts, name, []byte(content), fields)
		var a answer
		json.Unmarshal(b, &a)
		return code, a
	}
	if code, a := up("a.png", "one", nil); code != 200 || a != (answer{"a.png", "", "input"}) {
		t.Errorf("first upload: %d %+v", code, a)
	}
	if code, a := up("a.png", "two", nil); code != 200 || a.Name != "a (1).png" {
		t.Errorf("second upload: %d %+v, want a (1).png", code, a)
	}
	if code, a := up("a.png", "three", map[string]string{"overwrite": "true"}); code != 200 || a.Name != "a.png" {
		t.Errorf("overwrite: %d %+v", code, a)
	}
	if code, a := up("b.png", "sub", map[string]string{"subfolder": "x/y", "type": "temp"}); code != 200 || a != (answer{"b.png", "x/y", "temp"}) {
		t.Errorf("subfolder upload: %d %+v", code, a)
	}
	if b, _ := os.ReadFile(filepath.Join(ts.cfg.InputDir, "a.png")); string(b) != "three" {
		t.Errorf("a.png holds %q", b)
	}
	if code, b := get(t, ts, "/view?type=temp&subfolder=x/y&filename=b.png"); code != 200 || string(b) != "sub" {
		t.Errorf("view of the upload: %d %q", code, b)
	}
	bad := []struct {
		name   string
		fields map[string]string
		code   int
	}{
		{"..", nil, 400},
		{"c.png", map[string]string{"subfolder": "../../"}, 400},
		{"c.png", map[string]string{"subfolder": outside}, 400},
		{"c.png", map[string]string{"type": "bogus"}, 400},
	}
	if links {
		bad = append(bad, struct {
			name   string
			fields map[string]string
			code   int
		}{"c.png", map[string]string{"subfolder": "linkdir"}, 400})
	}
	for _, tc := range bad {
		if code, a := up(tc.name, "x", tc.fields); code != tc.code {
			t.Errorf("upload %q %v: %d %+v, want %d", tc.name, tc.fields, code, a, tc.code)
		}
	}
	if code, _ := upload(t, ts, "big.png", bytes.Repeat([]byte("x"), 100<<10), nil); code != 413 {
		t.Errorf("oversized upload: %d, want 413", code)
	}
	if code, _ := post(t, ts, "/upload/image", "text/plain", strings.NewReader("x")); code != 400 {
		t.Errorf("not multipart: %d", code)
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("upload wrote outside its directory: %v", ents)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(ts.cfg.InputDir), "c.png")); err == nil {
		t.Error("upload wrote next to the input directory")
	}
}

// A browser page of another site cannot call the server: a request whose
// Origin is another host is refused; the server's own page is not.
func TestCrossOriginRefused(t *testing.T) {
	ts := start(t, defaults())
	for _, tc := range []struct {
		origin string
		code   int
	}{
		{"http://evil.example", 403},
		{"null", 403},
		{ts.URL, 200},
	} {
		req, _ := http.NewRequest("POST", ts.URL+"/prompt", strings.NewReader(`{"prompt": `+string(small(0.5).raw())+`}`))
		req.Header.Set("Content-Type", "text/plain")
		req.Header.Set("Origin", tc.origin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("POST /prompt from origin %s: %d, want %d", tc.origin, resp.StatusCode, tc.code)
		}
	}
	if got := len(mustQueueAndHistory(t, ts)); got > 1 {
		t.Errorf("%d prompts accepted, want only the same-origin one", got)
	}
}

// mustQueueAndHistory returns the ids queued, running or finished, each
// once: a prompt that finishes between the two requests is in both.
func mustQueueAndHistory(t *testing.T, ts *testServer) []string {
	t.Helper()
	c := client.New(ts.URL)
	running, pending := pendingIDs(t, c)
	ids, _, err := c.HistoryPage(ctx(t), -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	all := append(append(running, pending...), ids...)
	slices.Sort(all)
	return slices.Compact(all)
}
