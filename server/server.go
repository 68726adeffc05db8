// server.go: Config, Server, New and Close.

package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/policy"
)

// Defaults of the Config fields left zero.
const (
	DefaultMaxBody      = 16 << 20  // a JSON request body
	DefaultMaxUpload    = 100 << 20 // an uploaded file (ComfyUI's default)
	DefaultMaxHistory   = 10000     // ComfyUI's MAXIMUM_HISTORY_SIZE
	DefaultHistoryBytes = 512 << 20 // encoded history entries
	DefaultClientBuffer = 1024      // messages queued for one WebSocket client
	DefaultWriteTimeout = 10 * time.Second
)

// Config configures a Server.
type Config struct {
	// Engine runs the prompts. Required. For SaveImage and PreviewImage to
	// write files its registry should hold testpack.ReplaceImageOutputs'
	// versions, writing to OutputDir and TempDir.
	Engine *engine.Engine
	// Policy is the memory policy of every run; nil means policy.Default().
	Policy *policy.Policy
	// Order is every run's order (engine.RunOptions.Order).
	Order policy.Order
	// Limits and KeepExecuted are passed to every run (engine.RunOptions).
	Limits       engine.Limits
	KeepExecuted int
	// Offload and Evict are every run's (engine.RunOptions.Offload and
	// .Evict); offloading needs a tiered device.
	Offload policy.Offload
	Evict   policy.Evict
	// OutputDir, TempDir and InputDir are what /view serves and
	// /upload/image writes (type output, temp, input). Required; they are
	// created if missing.
	OutputDir, TempDir, InputDir string
	// DeviceName names the device in /system_stats (default "sim").
	DeviceName string
	// MaxBody bounds JSON request bodies, MaxUpload uploaded files (413
	// beyond); MaxHistory the history's entries and MaxHistoryBytes their
	// encoded size (the oldest go first); ClientBuffer the messages queued
	// for one WebSocket client (a client past it is disconnected);
	// WriteTimeout one WebSocket write. Zero takes the default.
	MaxBody         int64
	MaxUpload       int64
	MaxHistory      int
	MaxHistoryBytes int64
	ClientBuffer    int
	WriteTimeout    time.Duration
	// Backend queues and runs the prompts; nil runs them in this process,
	// one after another on Engine (package cluster runs them on NATS
	// JetStream workers). With a Backend, Engine still validates prompts
	// and answers /object_info and /system_stats.
	Backend Backend
	// Logf logs what the server does not answer to anyone (a dropped
	// client, a failed write); nil discards it.
	Logf func(format string, args ...any)
}

// Server is ebb's ComfyUI-compatible server. Its methods are safe for
// concurrent use.
type Server struct {
	cfg     Config
	eng     *engine.Engine
	mux     *http.ServeMux
	backend Backend
	hist    *history
	hub     *hub

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc

	mu     sync.Mutex // guards number
	number float64    // the next prompt's number

	closeOnce sync.Once
	dropped   atomic.Int64 // clients disconnected for not reading
}

// New checks cfg, makes the directories and starts the worker. Close
// stops it.
func New(cfg Config) (*Server, error) {
	if cfg.Engine == nil {
		return nil, errors.New("server: Config.Engine is nil")
	}
	for _, d := range []struct{ name, dir string }{{"OutputDir", cfg.OutputDir}, {"TempDir", cfg.TempDir}, {"InputDir", cfg.InputDir}} {
		if d.dir == "" {
			return nil, fmt.Errorf("server: Config.%s is empty", d.name)
		}
		if err := os.MkdirAll(d.dir, 0o755); err != nil {
			return nil, fmt.Errorf("server: %s: %w", d.name, err)
		}
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.MaxUpload <= 0 {
		cfg.MaxUpload = DefaultMaxUpload
	}
	if cfg.MaxHistory <= 0 {
		cfg.MaxHistory = DefaultMaxHistory
	}
	if cfg.MaxHistoryBytes <= 0 {
		cfg.MaxHistoryBytes = DefaultHistoryBytes
	}
	if cfg.ClientBuffer <= 0 {
		cfg.ClientBuffer = DefaultClientBuffer
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.DeviceName == "" {
		cfg.DeviceName = "sim"
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	runner, err := NewRunner(RunnerConfig{Engine: cfg.Engine, Policy: cfg.Policy, Order: cfg.Order, Limits: cfg.Limits, KeepExecuted: cfg.KeepExecuted, Offload: cfg.Offload, Evict: cfg.Evict})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg:     cfg,
		eng:     cfg.Engine,
		backend: cfg.Backend,
		hist:    newHistory(cfg.MaxHistory, cfg.MaxHistoryBytes),
		ctx:     ctx,
		cancel:  cancel,
	}
	if s.backend == nil {
		s.backend = newLocalBackend(runner, cfg.Logf)
	}
	s.hub = newHub(cfg.ClientBuffer, cfg.WriteTimeout, s.onDrop)
	s.routes()
	err = s.backend.Start(Hooks{
		Send:         s.hub.send,
		Stored:       s.hist.add,
		Removed:      s.hist.remove,
		QueueChanged: s.queueChanged,
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("server: starting the backend: %w", err)
	}
	return s, nil
}

// ServeHTTP serves the endpoints, each also under /api/. A request whose
// Origin header names another host than the one it was sent to (a page of
// another site calling into this server from a browser) is refused with
// 403, as ComfyUI refuses it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if o := r.Header.Get("Origin"); o != "" {
		if u, err := url.Parse(o); err != nil || !strings.EqualFold(u.Host, r.Host) {
			fail(w, http.StatusForbidden, "forbidden", "cross-origin request from %q refused", o)
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

// Close interrupts the running prompt, stops the worker (closes the
// Backend), disconnects every WebSocket client and waits for their
// goroutines. It does not close the engine or stop the http.Server the
// Server is mounted on.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.cancel()
		err = s.backend.Close()
		s.hub.close()
	})
	return err
}

// Dropped is the number of WebSocket clients disconnected because their
// queue was full (they did not read).
func (s *Server) Dropped() int64 { return s.dropped.Load() }

func (s *Server) onDrop(sid string) {
	s.dropped.Add(1)
	s.cfg.Logf("ebb serve: disconnected WebSocket client %q: it does not read its messages", sid)
}

// queueInfo is ComfyUI's {"exec_info": {"queue_remaining": N}}.
func (s *Server) queueInfo() map[string]any {
	return map[string]any{"exec_info": map[string]any{"queue_remaining": s.backend.Remaining()}}
}

// queueChanged tells every client the queue's length (ComfyUI's status).
func (s *Server) queueChanged() {
	s.hub.sendStatus(message("status", map[string]any{"status": s.queueInfo()}))
}

// now is a ComfyUI timestamp: milliseconds since the epoch.
func now() int64 { return time.Now().UnixMilli() }
