// events.go: one run's engine events as ComfyUI's WebSocket messages, its
// status messages and outputs for the history, and ebb.memory.

package server

import (
	"errors"
	"slices"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
)

// maxTimeline bounds the memory points one history entry keeps.
const maxTimeline = 4096

// maxExecutedIDs bounds the "executed" list of execution_error and
// execution_interrupted: about the last this many nodes that ran (a loop
// of a million iterations would otherwise send millions of ids).
const maxExecutedIDs = 10000

// recorder observes one run. The engine serializes Observe calls, and the
// worker reads the recorder only after Run returned.
type recorder struct {
	run      *Runner
	it       *Job
	sink     Sink
	dev      device.Device
	executed []engine.NodeID // nodes that ran, for execution_error
	messages [][2]any        // ComfyUI's status messages
	meta     map[engine.NodeID]map[string]any
	timeline []memPoint
	truncTL  bool
	// Until execution_cached is sent, node messages wait in held: the
	// engine reports cache hits before it lists them, ComfyUI after.
	cachedSent bool
	held       []heldMsg
}

type heldMsg struct {
	typ  string
	data map[string]any
}

// memPoint is one point of a prompt's memory timeline.
type memPoint struct {
	Kind  string        `json:"kind"` // "node" or "release"
	Node  engine.NodeID `json:"node"`
	Class string        `json:"class_type,omitempty"`
	Live  int64         `json:"live"`
	Bytes int64         `json:"bytes,omitempty"` // a release's freed bytes
	// Cached marks a node that was a cache hit (it did not run).
	Cached bool `json:"cached,omitempty"`
}

func newRecorder(run *Runner, it *Job, sink Sink) *recorder {
	return &recorder{run: run, it: it, sink: sink, dev: run.eng.Device(), meta: map[engine.NodeID]map[string]any{}}
}

// send sends a message for this prompt: to its client, or, for a prompt
// without one, to everyone (ComfyUI's send_sync with client_id None).
func (r *recorder) send(typ string, data map[string]any) {
	if !r.cachedSent {
		r.held = append(r.held, heldMsg{typ, data})
		return
	}
	data["prompt_id"] = r.it.ID
	r.sink(r.it.ClientID, message(typ, data))
}

// status records a status message and sends it to the prompt's client
// (ComfyUI's add_message: a prompt without a client gets none, unless
// broadcast).
func (r *recorder) status(typ string, data map[string]any, broadcast bool) {
	data["prompt_id"] = r.it.ID
	data["timestamp"] = now()
	r.messages = append(r.messages, [2]any{typ, data})
	if r.it.ClientID != "" || broadcast {
		r.sink(r.it.ClientID, message(typ, data))
	}
}

func (r *recorder) Observe(ev engine.Event) {
	switch ev.Type {
	case engine.EventStart:
		r.status("execution_start", map[string]any{}, false)
	case engine.EventCached:
		r.sendCached(ev.Nodes)
	case engine.EventExecuting:
		r.sendCached(nil)
		r.executed = append(r.executed, ev.Node)
		if len(r.executed) >= 2*maxExecutedIDs { // keep the last ones
			r.executed = append([]engine.NodeID(nil), r.executed[len(r.executed)-maxExecutedIDs:]...)
		}
		r.send("executing", map[string]any{"node": ev.Node, "display_node": ev.Display})
	case engine.EventProgress:
		r.send("progress", map[string]any{"value": ev.Value, "max": ev.Max, "node": ev.Display})
	case engine.EventExecuted:
		r.point(memPoint{Kind: "node", Node: ev.Node, Class: ev.Class})
		if ev.Output != nil {
			r.meta[ev.Node] = map[string]any{"node_id": ev.Node, "display_node": ev.Display, "parent_node": parentOf(ev), "real_node_id": ev.Real}
			r.send("executed", map[string]any{"node": ev.Node, "display_node": ev.Display, "output": r.run.renameUI(ev.Output)})
		}
	case engine.EventReleased:
		r.point(memPoint{Kind: "release", Node: ev.Node, Class: ev.Class, Bytes: ev.Bytes})
	case engine.EventReexecuted:
		r.send("ebb.memory", map[string]any{"kind": "reexecute", "node": ev.Node, "slot": ev.Slot, "cause": ev.Cause})
	case engine.EventError:
		if ev.Err == nil { // a verbose blocker: reported, the run goes on
			r.status("execution_error", r.errorData(ev, "ExecutionBlocked"), false)
		}
	}
}

// sendCached sends execution_cached (ComfyUI sends it also when nothing
// was cached), once, then the messages held until then.
func (r *recorder) sendCached(nodes []engine.NodeID) {
	if r.cachedSent {
		return
	}
	r.status("execution_cached", map[string]any{"nodes": nonNil(nodes)}, false)
	r.cachedSent = true
	// The engine reported the cache hits' points before it listed them.
	for i := range r.timeline {
		if r.timeline[i].Kind == "node" && slices.Contains(nodes, r.timeline[i].Node) {
			r.timeline[i].Cached = true
		}
	}
	for _, m := range r.held {
		if m.typ == "ebb.memory" && m.data["kind"] == "node" && slices.Contains(nodes, m.data["node"].(engine.NodeID)) {
			m.data["cached"] = true
		}
		r.send(m.typ, m.data)
	}
	r.held = nil
}

// point records and sends one memory point.
func (r *recorder) point(p memPoint) {
	p.Live = r.dev.Stats().InUse
	if len(r.timeline) < maxTimeline {
		r.timeline = append(r.timeline, p)
	} else {
		r.truncTL = true
	}
	data := map[string]any{"kind": p.Kind, "node": p.Node, "class_type": p.Class, "live": p.Live}
	if p.Kind == "release" {
		data["bytes"] = p.Bytes
	}
	r.send("ebb.memory", data)
}

func parentOf(ev engine.Event) any {
	if ev.Real != "" && ev.Real != ev.Node {
		return ev.Real
	}
	return nil
}

// errorData is execution_error's payload.
func (r *recorder) errorData(ev engine.Event, typ string) map[string]any {
	var nodeID, nodeType any
	if ev.Real != "" {
		nodeID, nodeType = ev.Real, r.classOf(ev.Real, ev.Class)
	}
	return map[string]any{
		"node_id": nodeID, "node_type": nodeType, "executed": nonNil(r.executed),
		"exception_message": ev.Message, "exception_type": typ, "traceback": []string{},
		"current_inputs": map[string]any{}, "current_outputs": map[string]any{},
	}
}

// classOf is the class of a workflow node, as ComfyUI looks it up in the
// prompt.
func (r *recorder) classOf(id engine.NodeID, fallback string) string {
	if n := r.it.wf[id]; n != nil {
		return n.Class
	}
	return fallback
}

// finish sends the end of the run: its error or success, the memory
// summary; it returns the status for the history.
func (r *recorder) finish(res *engine.RunResult) map[string]any {
	r.sendCached(nil)
	switch res.Status {
	case engine.StatusSuccess:
		r.status("execution_success", map[string]any{}, false)
	case engine.StatusInterrupted:
		d := r.errorData(errEvent(res.Err), "")
		r.status("execution_interrupted", map[string]any{"node_id": d["node_id"], "node_type": d["node_type"], "executed": d["executed"]}, true)
	default:
		r.status("execution_error", r.errorData(errEvent(res.Err), engine.ErrorType(res.Err)), false)
	}
	r.send("ebb.memory", r.summary(res))
	ok := res.Status == engine.StatusSuccess
	str := "success"
	if !ok {
		str = "error"
	}
	return map[string]any{"status_str": str, "completed": ok, "messages": r.messages}
}

// summary is the final ebb.memory message and the history's "ebb" entry.
func (r *recorder) summary(res *engine.RunResult) map[string]any {
	st := res.Stats
	return map[string]any{
		"kind": "end", "status": res.Status, "peak": st.PeakBytes, "bound": st.BoundBytes, "need": st.NeedBytes,
		"device_peak": st.DevicePeakBytes, "reexecutions": st.Reexecutions, "releases": st.Releases,
		"pins": st.Pins, "executions": st.Executions, "cache_hits": st.CacheHits,
		"capacity": r.dev.Stats().Capacity, "live": r.dev.Stats().InUse,
		"level": int(r.run.pol.Level), "strategy": r.run.pol.Strategy.String(),
		"working_set_bytes": st.WorkingSetBytes, "offloaded_bytes": st.OffloadedBytes, "reloaded_bytes": st.ReloadedBytes, "disk_bytes": st.DiskBytes,
		"evictions": st.Evictions, "recomputes": st.Recomputes,
		"compute_ms": st.ComputeMs, "transfer_ms": st.TransferMs, "sim_ms": st.SimMs,
	}
}

// errEvent names the node of a run's error, as the engine's error event.
func errEvent(err error) engine.Event {
	ev := engine.Event{Err: err}
	if err != nil {
		ev.Message = err.Error()
	}
	var ne *engine.NodeError
	if errors.As(err, &ne) {
		ev.Real, ev.Class = ne.Node, ne.Class
		if ne.Err != nil {
			ev.Message = ne.Err.Error()
		}
	}
	return ev
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
