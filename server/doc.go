// Package server is ebb's HTTP and WebSocket layer: it speaks ComfyUI's
// executor protocol over an engine.Engine, so ComfyUI clients (the web
// frontend, scripts that POST /prompt and read /ws) run workflows on ebb
// unchanged. The engine does not import it.
//
// Where prompts queue and run is a Backend. Without one (Config.Backend
// nil) a Server owns one engine (one device) and one worker goroutine that
// runs prompts one after another from a priority queue ordered as
// ComfyUI's (number, then submission), so the cross-run cache carries
// over. Package cluster is the other Backend: the queue, the history and
// the files in NATS JetStream, prompts run by workers elsewhere, each a
// Runner on its own engine (runner.go, shared by both). Each
// prompt is validated when it is submitted (400 with ComfyUI's error and
// node_errors), runs with the server's memory policy and limits, and ends
// in the history (at most Config.MaxHistory items, ComfyUI's UI dicts as
// outputs, and ebb's memory report under the extra key "ebb").
//
// Events go to the submitting client's WebSocket (/ws?clientId=ID) with
// ComfyUI's names and fields; "ebb.memory" adds the device bytes after
// each node, each release, and at the end the peak, the bound and the
// re-executions. A client that does not read its socket never slows the
// run or other clients: each client has a bounded queue, and a client
// whose queue is full is disconnected.
//
// Files: backend.go is the Backend interface, job.go a queued prompt,
// runner.go runs one; queue.go and history.go hold the state, worker.go
// is the in-process Backend,
// events.go turns engine events into messages, ws.go is the WebSocket
// hub, handlers_*.go are the endpoints, page.go serves the page at /.
// docs/server.md describes the protocol and what differs from ComfyUI.
package server
