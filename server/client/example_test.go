package client_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/nodes/testpack"
	"github.com/ebbgraph/ebb/server"
	"github.com/ebbgraph/ebb/server/client"
)

// startServer starts an ebb server on a loopback port, as "ebb serve"
// does, and returns its URL and a function that stops it.
func startServer(dir string) (string, func()) {
	dirs := testpack.ImageFiles{OutputDir: filepath.Join(dir, "output"), TempDir: filepath.Join(dir, "temp")}
	reg := testpack.Registry()
	if err := testpack.ReplaceImageOutputs(reg, dirs); err != nil {
		log.Fatal(err)
	}
	eng, err := engine.New(engine.Options{Registry: reg, Parallelism: 1})
	if err != nil {
		log.Fatal(err)
	}
	srv, err := server.New(server.Config{Engine: eng, OutputDir: dirs.OutputDir, TempDir: dirs.TempDir, InputDir: filepath.Join(dir, "input")})
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	hs := &http.Server{Handler: srv}
	go hs.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close(); hs.Close(); eng.Close() }
}

// Submit a workflow, follow it over the WebSocket, read its history entry
// and fetch its image.
func Example() {
	dir, _ := os.MkdirTemp("", "ebb-client-example")
	defer os.RemoveAll(dir)
	url, stop := startServer(dir)
	defer stop()

	// snippet:client-run
	ctx := context.Background()
	c := client.New(url) // a random client id
	conn, err := c.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	prompt := []byte(`{
		"img":  {"class_type": "StubImage", "inputs": {"content": "WHITE", "height": 64, "width": 64, "batch_size": 1}},
		"half": {"class_type": "TestIsChangedWithConstants", "inputs": {"image": ["img", 0], "value": 0.5}},
		"save": {"class_type": "SaveImage", "inputs": {"images": ["half", 0], "filename_prefix": "walk"}}}`)
	r, err := c.Run(ctx, conn, client.Request{Prompt: prompt})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("success:", r.Success, "ran:", r.Ran)
	fmt.Println("peak:", r.Entry.Ebb.Peak, "bound:", r.Entry.Ebb.Bound, "releases:", r.Entry.Ebb.Releases)
	ref := r.Entry.Images("save")[0]
	img, err := c.Image(ctx, ref)
	if err != nil {
		log.Fatal(err)
	}
	red, _, _, _ := img.At(0, 0).RGBA()
	fmt.Println(ref.Filename, img.Bounds().Dx(), "x", img.Bounds().Dy(), "pixel", red>>8)
	// end-snippet

	// Output:
	// success: true ran: [img half save]
	// peak: 98304 bound: 98304 releases: 2
	// walk_00001_.png 64 x 64 pixel 127
}
