// ws.go: the WebSocket hub: clients by id, bounded per-client queues.

package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// message encodes a ComfyUI WebSocket message {"type", "data"}.
func message(typ string, data any) []byte {
	b, err := json.Marshal(struct {
		Type string `json:"type"`
		Data any    `json:"data"`
	}{typ, data})
	if err != nil { // a UI value JSON cannot hold: say so instead
		b, _ = json.Marshal(map[string]any{"type": typ, "data": map[string]any{"error": err.Error()}})
	}
	return b
}

// client is one WebSocket connection. out is its bounded queue; kill is
// closed (once) to disconnect it. status is a queue status kept aside
// while out is backed up (see hub.sendStatus).
type client struct {
	sid      string
	watch    bool // an ebb extension: gets every prompt's events
	out      chan []byte
	kill     chan struct{}
	once     sync.Once
	status   atomic.Pointer[[]byte]
	statusCh chan struct{} // capacity 1: a status is waiting
	closing  atomic.Bool   // stopped because the server closes: flush what is queued first
}

func (c *client) stop() { c.once.Do(func() { close(c.kill) }) }

// hub routes messages to clients. A send never blocks: a client whose
// queue is full is disconnected (onDrop is told).
type hub struct {
	mu       sync.Mutex
	clients  map[string]*client
	watchers map[*client]struct{}
	closed   bool
	wg       sync.WaitGroup // connection handlers

	buf          int
	writeTimeout time.Duration
	onDrop       func(sid string)
}

func newHub(buf int, writeTimeout time.Duration, onDrop func(string)) *hub {
	return &hub{clients: map[string]*client{}, watchers: map[*client]struct{}{}, buf: buf, writeTimeout: writeTimeout, onDrop: onDrop}
}

// send queues msg for client sid and every watcher; sid "" broadcasts.
func (h *hub) send(sid string, msg []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if sid == "" {
		for _, c := range h.clients {
			h.deliver(c, msg)
		}
		return
	}
	c := h.clients[sid]
	if c != nil {
		h.deliver(c, msg)
	}
	for w := range h.watchers {
		if w != c {
			h.deliver(w, msg)
		}
	}
}

// sendStatus gives every client the queue status msg: queued in order
// while its queue is less than half full, else kept aside (replacing one
// kept before) and written once the queue is empty, so a reader that
// falls behind in a burst of queue changes gets the latest status, not a
// full queue.
func (h *hub) sendStatus(msg []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.clients {
		if len(c.out) < cap(c.out)/2 && c.status.Load() == nil {
			h.deliver(c, msg)
			continue
		}
		c.status.Store(&msg)
		select {
		case c.statusCh <- struct{}{}:
		default: // already signalled
		}
	}
}

// deliver queues msg for c or, when c's queue is full, disconnects c.
// h.mu is held.
func (h *hub) deliver(c *client, msg []byte) {
	select {
	case c.out <- msg:
	default:
		h.unregister(c)
		c.stop()
		h.onDrop(c.sid)
	}
}

// register adds c, replacing (and disconnecting) a client with its id. It
// fails once the hub is closed.
func (h *hub) register(c *client) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	if old := h.clients[c.sid]; old != nil {
		h.unregister(old)
		old.stop()
	}
	h.clients[c.sid] = c
	if c.watch {
		h.watchers[c] = struct{}{}
	}
	h.wg.Add(1)
	return true
}

// unregister removes c if it is still registered. h.mu is held.
func (h *hub) unregister(c *client) {
	if h.clients[c.sid] == c {
		delete(h.clients, c.sid)
	}
	delete(h.watchers, c)
}

func (h *hub) leave(c *client) {
	h.mu.Lock()
	h.unregister(c)
	h.mu.Unlock()
	h.wg.Done()
}

// connected reports whether a client with id sid is connected.
func (h *hub) connected(sid string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.clients[sid] != nil
}

// close disconnects every client and waits for their handlers.
func (h *hub) close() {
	h.mu.Lock()
	h.closed = true
	for _, c := range h.clients {
		c.closing.Store(true)
		c.stop()
	}
	for c := range h.watchers {
		c.closing.Store(true)
		c.stop()
	}
	h.mu.Unlock()
	h.wg.Wait()
}

// newID is a random hex id (ComfyUI uses uuid4().hex for client ids).
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// handleWS is GET /ws?clientId=ID[&watch=1]: status on connect, then the
// client's messages until it goes, is replaced, is dropped or the server
// closes.
func (s *Server) handleWS(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sid := q.Get("clientId")
	if sid == "" || len(sid) > maxIDLen {
		sid = newID()
	}
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return // Accept answered the request
	}
	conn.SetReadLimit(1 << 20)
	c := &client{sid: sid, watch: q.Get("watch") == "1", out: make(chan []byte, s.hub.buf), kill: make(chan struct{}), statusCh: make(chan struct{}, 1)}
	c.out <- message("status", map[string]any{"status": s.queueInfo(), "sid": sid})
	if !s.hub.register(c) {
		conn.CloseNow()
		return
	}
	defer s.hub.leave(c)

	// The reader discards what the client sends (ComfyUI's frontend sends
	// feature flags) and ends when the client goes.
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		defer cancel()
		for {
			if _, _, err := conn.Read(ctx); err != nil {
				return
			}
		}
	}()
	defer func() {
		cancel()
		conn.CloseNow()
		<-readDone
	}()
	write := func(msg []byte) bool {
		return s.write(ctx, conn, sid, msg, s.hub.writeTimeout)
	}
	// flush writes what is queued when the server closes (the last
	// events of an interrupted prompt), for at most a second.
	flush := func() {
		if !c.closing.Load() {
			return
		}
		deadline := time.Now().Add(time.Second)
		for {
			select {
			case msg := <-c.out:
				if !s.write(ctx, conn, sid, msg, time.Until(deadline)) {
					return
				}
			default:
				return
			}
		}
	}
	if !write(<-c.out) { // the hello (status with sid) goes before any status
		return
	}
	for {
		var msg []byte
		select {
		case <-c.kill:
			// Dropped, replaced or the server is closing: no close
			// handshake, which a client that does not read would make
			// last seconds.
			flush()
			return
		case <-ctx.Done():
			return
		case msg = <-c.out: // queued events go before a waiting status
		default:
			select {
			case <-c.kill:
				flush()
				return
			case <-ctx.Done():
				return
			case msg = <-c.out:
			case <-c.statusCh:
				p := c.status.Swap(nil)
				if p == nil {
					continue
				}
				msg = *p
			}
		}
		if !write(msg) {
			return
		}
	}
}

// write writes msg to conn within timeout; a client that does not read
// within it is reported dropped.
func (s *Server) write(ctx context.Context, conn *websocket.Conn, sid string, msg []byte, timeout time.Duration) bool {
	wctx, wcancel := context.WithTimeout(ctx, timeout)
	err := conn.Write(wctx, websocket.MessageText, msg)
	timedOut := wctx.Err() == context.DeadlineExceeded
	wcancel()
	if err != nil && timedOut && ctx.Err() == nil { // the client does not read
		s.onDrop(sid)
	}
	return err == nil
}
