package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/coder/websocket"
)

// Message is one WebSocket message.
type Message struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// PromptID is the message's prompt_id ("" if it has none).
func (m Message) PromptID() string {
	var d struct {
		PromptID string `json:"prompt_id"`
	}
	json.Unmarshal(m.Data, &d)
	return d.PromptID
}

// Conn is a WebSocket connection to the server. It is not safe for
// concurrent use.
type Conn struct {
	ws *websocket.Conn
	// SID is the id the server gave the connection (its first status).
	SID string
}

// Connect opens /ws?clientId=c.ID and reads the first status message.
func (c *Client) Connect(ctx context.Context) (*Conn, error) {
	return c.dial(ctx, url.Values{"clientId": {c.ID}})
}

// Watch opens a watching connection (an ebb extension): it gets the
// events of every prompt, whoever submitted it.
func (c *Client) Watch(ctx context.Context) (*Conn, error) {
	return c.dial(ctx, url.Values{"clientId": {c.ID + "-watch"}, "watch": {"1"}})
}

func (c *Client) dial(ctx context.Context, q url.Values) (*Conn, error) {
	u := strings.Replace(c.Base, "http", "ws", 1) + "/ws?" + q.Encode()
	opts := &websocket.DialOptions{HTTPClient: c.HTTP}
	ws, _, err := websocket.Dial(ctx, u, opts)
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(64 << 20)
	conn := &Conn{ws: ws}
	m, err := conn.Next(ctx)
	if err != nil {
		ws.CloseNow()
		return nil, err
	}
	var st struct {
		SID string `json:"sid"`
	}
	if m.Type != "status" || json.Unmarshal(m.Data, &st) != nil || st.SID == "" {
		ws.CloseNow()
		return nil, fmt.Errorf("first message %s %s, want status with sid", m.Type, m.Data)
	}
	conn.SID = st.SID
	return conn, nil
}

// Next reads the next message.
func (c *Conn) Next(ctx context.Context) (Message, error) {
	var m Message
	typ, data, err := c.ws.Read(ctx)
	if err != nil {
		return m, err
	}
	if typ != websocket.MessageText {
		return Message{Type: "binary", Data: nil}, nil
	}
	err = json.Unmarshal(data, &m)
	return m, err
}

// Close closes the connection.
func (c *Conn) Close() error { return c.ws.Close(websocket.StatusNormalClosure, "") }

// Result is what Follow saw of one prompt, ComfyUI's test client's view:
// Ran has the nodes of "executing" messages, Cached those of
// "execution_cached".
type Result struct {
	PromptID string
	// NodeErrors are the submission's node_errors (Run only): outputs
	// skipped because they failed validation.
	NodeErrors map[string]NodeErrors
	Ran        []string
	Cached     []string
	// Error is execution_error's data (nil without one); Interrupted
	// execution_interrupted's.
	Error       map[string]any
	Interrupted map[string]any
	Success     bool
	// Memory has the ebb.memory messages' data.
	Memory []map[string]any
	// Messages has every message of the prompt, in order.
	Messages []Message
	// Entry is the prompt's history entry (nil if there is none).
	Entry *HistoryEntry
}

// DidRun reports whether node got an executing message.
func (r *Result) DidRun(node string) bool { return contains(r.Ran, node) }

// WasCached reports whether node was listed by execution_cached.
func (r *Result) WasCached(node string) bool { return contains(r.Cached, node) }

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

// Follow reads conn until the prompt's final "executing" with node null,
// then fetches its history entry.
func (c *Client) Follow(ctx context.Context, conn *Conn, promptID string) (*Result, error) {
	r := &Result{PromptID: promptID}
	for {
		m, err := conn.Next(ctx)
		if err != nil {
			return r, fmt.Errorf("following prompt %s: %w", promptID, err)
		}
		if m.PromptID() != promptID {
			continue
		}
		r.Messages = append(r.Messages, m)
		var d map[string]any
		json.Unmarshal(m.Data, &d)
		switch m.Type {
		case "executing":
			node, _ := d["node"].(string)
			if d["node"] == nil {
				e, _, err := c.History(ctx, promptID)
				r.Entry = e
				return r, err
			}
			r.Ran = append(r.Ran, node)
		case "execution_cached":
			nodes, _ := d["nodes"].([]any)
			for _, n := range nodes {
				if s, ok := n.(string); ok {
					r.Cached = append(r.Cached, s)
				}
			}
		case "execution_error":
			if d["exception_type"] != "ExecutionBlocked" {
				r.Error = d
			}
		case "execution_interrupted":
			r.Interrupted = d
		case "execution_success":
			r.Success = true
		case "ebb.memory":
			r.Memory = append(r.Memory, d)
		}
	}
}

// Run submits a prompt and follows it on conn (which must be connected
// as c.ID, before submitting, to see every event).
func (c *Client) Run(ctx context.Context, conn *Conn, req Request) (*Result, error) {
	q, err := c.Submit(ctx, req)
	if err != nil {
		return nil, err
	}
	r, err := c.Follow(ctx, conn, q.PromptID)
	r.NodeErrors = q.NodeErrors
	return r, err
}
