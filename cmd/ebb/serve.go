// serve.go: "ebb serve": ComfyUI's HTTP and WebSocket protocol over one
// engine (package server).

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/nodes/testpack"
	"github.com/ebbgraph/ebb/server"
)

// serveFlags are the flags of "ebb serve".
type serveFlags struct {
	listen    string
	outputDir string
	tempDir   string
	inputDir  string
	quiet     bool
	engine    engineFlags
	cluster   clusterFlags
}

// clusterFlags are serve's NATS JetStream flags.
type clusterFlags struct {
	nats       string
	natsListen string
	dataDir    string
	workers    int
	ackWait    time.Duration
	replicas   int
}

func (f *clusterFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.nats, "nats", "", "`URL` of a NATS cluster with JetStream to queue prompts on (no local worker unless --workers); \"off\": no NATS, one in-process queue; default: start an embedded NATS server")
	fs.StringVar(&f.natsListen, "nats-listen", "127.0.0.1:4222", "`ADDR` (loopback) the embedded NATS server listens on, for local \"ebb worker\" processes")
	fs.StringVar(&f.dataDir, "data-dir", "ebb-data", "`DIR` the embedded NATS server stores the queue, the history and the output files in")
	fs.IntVar(&f.workers, "workers", -1, "in-process workers, each with its own engine and device (`N`; default 1 with the embedded NATS server, 0 with --nats)")
	fs.DurationVar(&f.ackWait, "ack-wait", 30*time.Second, "how long a worker may go silent (dead, cut off) before its prompt goes to another worker")
	fs.IntVar(&f.replicas, "nats-replicas", 1, "replicas of the streams and buckets this server makes (`N`; 3 in a three-node NATS cluster)")
}

// serveReady, when set (tests), is told the address once the server
// listens.
var serveReady func(addr string)

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", "",
		"Serve ComfyUI's HTTP and WebSocket API (POST /prompt, /ws, /history, /view, ...) and a page at /, running prompts one after another on one engine.", stderr)
	var f serveFlags
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8188", "`ADDR` to listen on (loopback by default: anyone who can reach it can run workflows)")
	fs.StringVar(&f.outputDir, "output-dir", "output", "`DIR` SaveImage writes to (/view type output)")
	fs.StringVar(&f.tempDir, "temp-dir", "temp", "`DIR` PreviewImage writes to (/view type temp)")
	fs.StringVar(&f.inputDir, "input-dir", "input", "`DIR` /upload/image writes to (/view type input)")
	fs.BoolVar(&f.quiet, "quiet", false, "do not log dropped clients and other server events on stderr")
	f.engine.register(fs)
	f.cluster.register(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("serve takes no arguments (got %v)", pos)
	}
	setup, err := f.engine.open(func(r *engine.Registry) error {
		return testpack.ReplaceImageOutputs(r, testpack.ImageFiles{OutputDir: f.outputDir, TempDir: f.tempDir})
	})
	if err != nil {
		return err
	}
	defer setup.Close()
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, format+"\n", a...) }
	if f.quiet {
		logf = nil
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return usagef("--listen %s: %v", f.listen, err)
	}
	defer ln.Close()
	cl, err := startCluster(ctx, &f, setup, logf, stdout)
	if err != nil {
		return err
	}
	defer cl.close()
	srv, err := server.New(server.Config{
		Engine: setup.eng, Policy: &setup.pol, Order: setup.order, Limits: setup.limits, KeepExecuted: setup.keep,
		Offload: setup.offload.mode, Evict: setup.offload.evict,
		OutputDir: f.outputDir, TempDir: f.tempDir, InputDir: f.inputDir,
		DeviceName: setup.spec.String(), Logf: logf, Backend: cl.backend(),
	})
	if err != nil {
		return usagef("%v", err)
	}
	defer srv.Close()
	cl.startWorkers()
	if host, _, err := net.SplitHostPort(ln.Addr().String()); err == nil {
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			fmt.Fprintf(stderr, "ebb serve: warning: listening on %s, beyond this machine: anyone who reaches it can run workflows and read the output directory\n", ln.Addr())
		}
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "ebb serve: listening on http://%s (level %s, strategy %s, device %s)\n", ln.Addr(), setup.pol.Level, setup.pol.Strategy, setup.spec)
	if serveReady != nil {
		serveReady(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Stop: interrupt the running prompt, end the sockets, then the
	// listener (in-flight requests get a few seconds).
	srv.Close()
	cl.close()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	<-errc
	fmt.Fprintf(stdout, "ebb serve: stopped\n")
	return nil
}
