package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Client talks to one server as one client id.
type Client struct {
	// Base is the server's URL, such as http://127.0.0.1:8188.
	Base string
	// ID is the client id sent with prompts and on the WebSocket.
	ID string
	// HTTP is the HTTP client (http.DefaultClient when nil).
	HTTP *http.Client
}

// New returns a client of the server at base with a random id.
func New(base string) *Client {
	var b [16]byte
	rand.Read(b[:])
	return &Client{Base: strings.TrimSuffix(base, "/"), ID: hex.EncodeToString(b[:])}
}

// Request is a prompt submission (POST /prompt).
type Request struct {
	// Prompt is the workflow in ComfyUI's API format.
	Prompt json.RawMessage
	// PromptID is the prompt's id; "" lets the server choose.
	PromptID string
	// Targets restricts the run to these output nodes when non-nil
	// (partial_execution_targets).
	Targets []string
	// Number is the queue priority (lower runs first) when non-nil; Front
	// puts the prompt before those queued without a number.
	Number *float64
	Front  bool
	// ExtraData is passed through (extra_data).
	ExtraData map[string]any
	// NoClientID submits without a client id: the prompt's events then go
	// to everyone, as ComfyUI does.
	NoClientID bool
}

// Queued is the answer to a submission.
type Queued struct {
	PromptID string  `json:"prompt_id"`
	Number   float64 `json:"number"`
	// NodeErrors has the errors of outputs that will not run, in a
	// prompt whose other outputs will.
	NodeErrors map[string]NodeErrors `json:"node_errors"`
}

// APIError is an answer other than 200. For POST /prompt, Type, Message
// and NodeErrors come from ComfyUI's error body.
type APIError struct {
	Status     int
	Body       []byte
	Type       string
	Message    string
	NodeErrors map[string]NodeErrors
}

// NodeErrors is one node's validation errors.
type NodeErrors struct {
	Errors           []ValidationError `json:"errors"`
	DependentOutputs []string          `json:"dependent_outputs"`
	ClassType        string            `json:"class_type"`
}

// ValidationError is one validation error of a node.
type ValidationError struct {
	Type      string         `json:"type"`
	Message   string         `json:"message"`
	Details   string         `json:"details"`
	ExtraInfo map[string]any `json:"extra_info"`
}

func (e *APIError) Error() string {
	if e.Type != "" {
		return fmt.Sprintf("server answered %d: %s: %s", e.Status, e.Type, e.Message)
	}
	return fmt.Sprintf("server answered %d: %s", e.Status, bytes.TrimSpace(e.Body))
}

// Submit queues a prompt.
func (c *Client) Submit(ctx context.Context, req Request) (*Queued, error) {
	body := map[string]any{"prompt": req.Prompt}
	if !req.NoClientID {
		body["client_id"] = c.ID
	}
	if req.PromptID != "" {
		body["prompt_id"] = req.PromptID
	}
	if req.Targets != nil {
		body["partial_execution_targets"] = req.Targets
	}
	if req.Number != nil {
		body["number"] = *req.Number
	}
	if req.Front {
		body["front"] = true
	}
	if req.ExtraData != nil {
		body["extra_data"] = req.ExtraData
	}
	var q Queued
	if err := c.post(ctx, "/prompt", body, &q); err != nil {
		return nil, err
	}
	return &q, nil
}

// do sends a request and decodes a 200 answer's JSON into out (if not
// nil); any other status is an *APIError.
func (c *Client) do(ctx context.Context, method, path string, body io.Reader, ctype string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, body)
	if err != nil {
		return err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		e := &APIError{Status: resp.StatusCode, Body: data}
		var eb struct {
			Error struct {
				Type    string `json:"type"`
				Message string `json:"message"`
			} `json:"error"`
			NodeErrors map[string]NodeErrors `json:"node_errors"`
		}
		if json.Unmarshal(data, &eb) == nil {
			e.Type, e.Message, e.NodeErrors = eb.Error.Type, eb.Error.Message, eb.NodeErrors
		}
		return e
	}
	if out == nil {
		return nil
	}
	if b, ok := out.(*[]byte); ok {
		*b = data
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(out)
}

func (c *Client) post(ctx context.Context, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, path, bytes.NewReader(b), "application/json", out)
}

func (c *Client) get(ctx context.Context, path string, out any) error {
	return c.do(ctx, http.MethodGet, path, nil, "", out)
}

// History returns a prompt's history entry; ok is false when there is none.
func (c *Client) History(ctx context.Context, promptID string) (e *HistoryEntry, ok bool, err error) {
	var m map[string]*HistoryEntry
	if err := c.get(ctx, "/history/"+url.PathEscape(promptID), &m); err != nil {
		return nil, false, err
	}
	e, ok = m[promptID]
	return e, ok, nil
}

// HistoryPage returns GET /history?max_items&offset (negative: not sent)
// as ids in the server's order and their entries.
func (c *Client) HistoryPage(ctx context.Context, maxItems, offset int) ([]string, map[string]*HistoryEntry, error) {
	q := url.Values{}
	if maxItems >= 0 {
		q.Set("max_items", strconv.Itoa(maxItems))
	}
	if offset >= 0 {
		q.Set("offset", strconv.Itoa(offset))
	}
	var raw []byte
	if err := c.get(ctx, "/history?"+q.Encode(), &raw); err != nil {
		return nil, nil, err
	}
	ids, err := objectKeys(raw)
	if err != nil {
		return nil, nil, err
	}
	var m map[string]*HistoryEntry
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, nil, err
	}
	return ids, m, nil
}

// objectKeys returns a JSON object's keys in order.
func objectKeys(raw []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	var keys []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		keys = append(keys, t.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// QueueItem is one entry of GET /queue: [number, prompt_id, prompt,
// extra_data, outputs_to_execute].
type QueueItem []json.RawMessage

// PromptID is the item's prompt id.
func (q QueueItem) PromptID() string {
	var s string
	if len(q) > 1 {
		json.Unmarshal(q[1], &s)
	}
	return s
}

// Queue returns the running and pending prompts.
func (c *Client) Queue(ctx context.Context) (running, pending []QueueItem, err error) {
	var q struct {
		Running []QueueItem `json:"queue_running"`
		Pending []QueueItem `json:"queue_pending"`
	}
	err = c.get(ctx, "/queue", &q)
	return q.Running, q.Pending, err
}

// DeleteQueued removes pending prompts; ClearQueue removes them all.
func (c *Client) DeleteQueued(ctx context.Context, ids ...string) error {
	return c.post(ctx, "/queue", map[string]any{"delete": ids}, nil)
}

// ClearQueue removes every pending prompt.
func (c *Client) ClearQueue(ctx context.Context) error {
	return c.post(ctx, "/queue", map[string]any{"clear": true}, nil)
}

// DeleteHistory removes history entries; ClearHistory removes them all.
func (c *Client) DeleteHistory(ctx context.Context, ids ...string) error {
	return c.post(ctx, "/history", map[string]any{"delete": ids}, nil)
}

// ClearHistory removes every history entry.
func (c *Client) ClearHistory(ctx context.Context) error {
	return c.post(ctx, "/history", map[string]any{"clear": true}, nil)
}

// Interrupt stops the running prompt: promptID only, or any when "".
func (c *Client) Interrupt(ctx context.Context, promptID string) error {
	body := map[string]any{}
	if promptID != "" {
		body["prompt_id"] = promptID
	}
	return c.post(ctx, "/interrupt", body, nil)
}

// Free asks the server to empty its cache between prompts.
func (c *Client) Free(ctx context.Context) error {
	return c.post(ctx, "/free", map[string]any{"free_memory": true, "unload_models": true}, nil)
}

// View fetches a file of the server's output, temp or input directory.
func (c *Client) View(ctx context.Context, ref ImageRef) ([]byte, error) {
	q := url.Values{"filename": {ref.Filename}, "subfolder": {ref.Subfolder}, "type": {ref.Type}}
	var b []byte
	err := c.get(ctx, "/view?"+q.Encode(), &b)
	return b, err
}

// Image fetches and decodes a PNG image.
func (c *Client) Image(ctx context.Context, ref ImageRef) (image.Image, error) {
	b, err := c.View(ctx, ref)
	if err != nil {
		return nil, err
	}
	return png.Decode(bytes.NewReader(b))
}

// Get fetches a JSON endpoint (such as /object_info or /system_stats)
// into out.
func (c *Client) Get(ctx context.Context, path string, out any) error {
	return c.get(ctx, path, out)
}
