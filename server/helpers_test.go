package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/nodes/testpack"
	"github.com/ebbgraph/ebb/policy"
	"github.com/ebbgraph/ebb/server"
	"github.com/ebbgraph/ebb/server/client"
)

// testServer is a Server on a real loopback listener.
type testServer struct {
	*server.Server
	URL    string
	cfg    server.Config
	eng    *engine.Engine
	http   *http.Server
	closed bool
}

// config is a test server's configuration.
type config struct {
	cache    engine.CacheMode
	pol      policy.Policy
	capacity int64
	parallel int
	edit     func(*server.Config)
}

func defaults() config {
	return config{pol: policy.Default()}
}

// start starts a server with the test pack (file-writing outputs) and
// closes it when the test ends.
func start(t testing.TB, c config) *testServer {
	t.Helper()
	dir := t.TempDir()
	cfg := server.Config{
		OutputDir: filepath.Join(dir, "output"),
		TempDir:   filepath.Join(dir, "temp"),
		InputDir:  filepath.Join(dir, "input"),
		Policy:    &c.pol,
		Logf:      t.Logf,
	}
	for _, d := range []string{cfg.OutputDir, cfg.TempDir, cfg.InputDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	reg := testpack.Registry()
	if err := testpack.ReplaceImageOutputs(reg, testpack.ImageFiles{OutputDir: cfg.OutputDir, TempDir: cfg.TempDir}); err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(engine.Options{Registry: reg, Cache: c.cache, Device: simDevice(c.capacity), Parallelism: c.parallel})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Engine = eng
	if c.edit != nil {
		c.edit(&cfg)
	}
	s, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{Server: s, URL: "http://" + ln.Addr().String(), cfg: cfg, eng: eng, http: &http.Server{Handler: s}}
	go ts.http.Serve(ln)
	t.Cleanup(ts.stop)
	return ts
}

// stop closes the server, then the listener and the engine.
func (ts *testServer) stop() {
	if ts.closed {
		return
	}
	ts.closed = true
	ts.Server.Close()
	ts.http.Close()
	ts.eng.Close()
}

// client returns a client connected to ts's WebSocket.
func (ts *testServer) client(t testing.TB) (*client.Client, *client.Conn) {
	t.Helper()
	c := client.New(ts.URL)
	conn, err := c.Connect(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return c, conn
}

// ctx is a context that ends with the test or after two minutes.
func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// wf is an API-format workflow as generic JSON, to change before sending.
type wf map[string]map[string]any

// loadWF reads a conformance fixture of the test pack.
func loadWF(t testing.TB, name string) wf {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "nodes", "testpack", "testdata", "conformance", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return parseWF(t, data)
}

func parseWF(t testing.TB, data []byte) wf {
	t.Helper()
	var w wf
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&w); err != nil {
		t.Fatal(err)
	}
	return w
}

// set returns a copy of w with input name of node id set to v.
func (w wf) set(id, name string, v any) wf {
	out := w.clone()
	out[id]["inputs"].(map[string]any)[name] = v
	return out
}

// replace returns a copy of w with node id replaced (or added).
func (w wf) replace(id, class string, inputs map[string]any) wf {
	out := w.clone()
	out[id] = map[string]any{"class_type": class, "inputs": inputs}
	return out
}

func (w wf) clone() wf {
	var out wf
	b, _ := json.Marshal(w)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	dec.Decode(&out)
	return out
}

func (w wf) raw() json.RawMessage {
	b, _ := json.Marshal(w)
	return b
}

// run submits w (to targets when not nil) and follows it to the end.
func run(t testing.TB, c *client.Client, conn *client.Conn, w wf, targets ...string) *client.Result {
	t.Helper()
	return runTargets(t, c, conn, w, targets)
}

func runTargets(t testing.TB, c *client.Client, conn *client.Conn, w wf, targets []string) *client.Result {
	t.Helper()
	r, err := c.Run(ctx(t), conn, client.Request{Prompt: w.raw(), Targets: targets})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if r.Entry == nil {
		t.Fatalf("prompt %s has no history entry", r.PromptID)
	}
	return r
}

// ok fails the test unless the prompt succeeded.
func ok(t testing.TB, r *client.Result) *client.Result {
	t.Helper()
	if !r.Success || r.Error != nil || r.Entry.Status.StatusStr != "success" {
		t.Fatalf("prompt %s failed: error %v, status %s", r.PromptID, r.Error, r.Entry.Status.StatusStr)
	}
	return r
}

// rejected submits w expecting a 400 and returns the error.
func rejected(t testing.TB, c *client.Client, w wf, targets ...string) *client.APIError {
	t.Helper()
	req := client.Request{Prompt: w.raw()}
	if targets != nil {
		req.Targets = targets
	}
	_, err := c.Submit(ctx(t), req)
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest {
		t.Fatalf("submission answered %v, want HTTP 400", err)
	}
	return ae
}

// pixels fetches the PNGs of output node id through /view and returns,
// per image, its value, failing unless each image is constant.
func pixels(t testing.TB, c *client.Client, r *client.Result, id string) []int {
	t.Helper()
	var px []int
	for i, ref := range r.Entry.Images(id) {
		img, err := c.Image(ctx(t), ref)
		if err != nil {
			t.Fatalf("node %s image %d (%+v): %v", id, i, ref, err)
		}
		lo, hi := imageRange(img)
		if lo != hi {
			t.Fatalf("node %s image %d is not constant: %d..%d", id, i, lo, hi)
		}
		px = append(px, lo)
	}
	return px
}

// imageRange is the lowest and highest 8-bit channel value of img.
func imageRange(img image.Image) (lo, hi int) {
	lo, hi = 255, 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			for _, v := range []uint32{r >> 8, g >> 8, bl >> 8} {
				lo, hi = min(lo, int(v)), max(hi, int(v))
			}
		}
	}
	return lo, hi
}

// simDevice is a Sim of capacity bytes, or nil (the engine's unlimited
// Sim) for 0.
func simDevice(capacity int64) device.Device {
	if capacity == 0 {
		return nil
	}
	return device.NewSim(capacity)
}
