// runner.go: Runner, which runs one job on an engine and makes its history
// entry; the in-process worker and cluster workers share it.

package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/policy"
)

// Sink receives a job's WebSocket messages, ComfyUI-encoded, for the
// client clientID ("" for every client).
type Sink func(clientID string, msg []byte)

// RunnerConfig configures a Runner.
type RunnerConfig struct {
	// Engine runs the jobs. Required.
	Engine *engine.Engine
	// Policy is the memory policy of every run; nil means policy.Default().
	Policy *policy.Policy
	// Order, Limits and KeepExecuted are passed to every run.
	Order        policy.Order
	Limits       engine.Limits
	KeepExecuted int
	// Offload and Evict are passed to every run.
	Offload policy.Offload
	Evict   policy.Evict
	// RenameFile, when set, gives the name under which the outputs (in
	// events and in the entry) name a file the run wrote: a cluster
	// worker puts its files under a subfolder of its own, so that two
	// workers' "ComfyUI_00001_.png" do not collide. Files lists both.
	RenameFile func(FileRef) FileRef
}

// Runner runs jobs on one engine, one at a time: Run must not be called
// concurrently (the engine runs one prompt at a time anyway).
type Runner struct {
	eng *engine.Engine
	cfg RunnerConfig
	pol policy.Policy
}

// NewRunner checks cfg.
func NewRunner(cfg RunnerConfig) (*Runner, error) {
	if cfg.Engine == nil {
		return nil, errors.New("server: RunnerConfig.Engine is nil")
	}
	pol := policy.Default()
	if cfg.Policy != nil {
		pol = *cfg.Policy
	}
	if err := pol.Validate(); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if !cfg.Order.Valid() {
		return nil, fmt.Errorf("server: %w: order %d", policy.ErrInvalid, int(cfg.Order))
	}
	return &Runner{eng: cfg.Engine, cfg: cfg, pol: pol}, nil
}

// Engine is the runner's engine.
func (r *Runner) Engine() *engine.Engine { return r.eng }

// Outcome is a finished job: its result and its history entry.
type Outcome struct {
	Job    *Job
	Result *engine.RunResult
	run    *Runner
	rec    *recorder
	status map[string]any
	failed bool // Fail was called: no outputs
}

// Run runs j, sending its messages to sink as they happen, up to the end
// of the run (execution_success, _error or _interrupted and the final
// ebb.memory). The caller stores the entry, then sends Done's message.
func (r *Runner) Run(ctx context.Context, j *Job, sink Sink) *Outcome {
	rec := newRecorder(r, j, sink)
	wf, err := j.Workflow()
	var res *engine.RunResult
	if err == nil {
		pol := r.pol
		ro := engine.RunOptions{
			Targets: j.Targets, Policy: &pol, Order: r.cfg.Order, Observers: []engine.Observer{rec},
			Limits: r.cfg.Limits, KeepExecuted: r.cfg.KeepExecuted,
			Offload: r.cfg.Offload, Evict: r.cfg.Evict,
		}
		res, err = r.eng.Run(ctx, wf, ro)
	}
	if res == nil {
		res = &engine.RunResult{Status: engine.StatusError, Err: err}
	}
	if res.Status == engine.StatusInvalid { // changed since it was validated: report it as an error
		res.Status = engine.StatusError
	}
	status := rec.finish(res)
	return &Outcome{Job: j, Result: res, run: r, rec: rec, status: status}
}

// Done is the message that ends a job for its client (ComfyUI's
// "executing" with node null), sent after the history entry is stored.
func Done(j *Job) (clientID string, msg []byte) {
	return j.ClientID, message("executing", map[string]any{"node": nil, "prompt_id": j.ID})
}

// Fail turns a finished job into a failed one after the run (a failure
// to store its files, say): the entry has no outputs, status error, and
// an execution_error of type typ, which is also sent to sink.
func (o *Outcome) Fail(typ, msg string, sink Sink) {
	o.failed = true
	o.status["status_str"] = "error"
	o.status["completed"] = false
	data := map[string]any{
		"prompt_id": o.Job.ID, "timestamp": now(), "node_id": nil, "node_type": nil, "executed": []string{},
		"exception_message": msg, "exception_type": typ, "traceback": []string{},
		"current_inputs": map[string]any{}, "current_outputs": map[string]any{},
	}
	o.status["messages"] = append(o.status["messages"].([][2]any), [2]any{"execution_error", data})
	if sink != nil && o.Job.ClientID != "" {
		sink(o.Job.ClientID, message("execution_error", data))
	}
}

// FileRef is one file a job's outputs name (ComfyUI's UI image entry).
type FileRef struct {
	Filename, Subfolder, Type string
}

// fileRefOf reads a UI entry {"filename", "subfolder", "type"}.
func fileRefOf(v any) (FileRef, map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return FileRef{}, nil, false
	}
	name, _ := m["filename"].(string)
	typ, _ := m["type"].(string)
	sub, _ := m["subfolder"].(string)
	return FileRef{Filename: name, Subfolder: sub, Type: typ}, m, name != "" && typ != ""
}

// renameUI returns ui with its file entries renamed by r.RenameFile
// (ui itself when there is none).
func (r *Runner) renameUI(ui map[string][]any) map[string][]any {
	if r.cfg.RenameFile == nil || ui == nil {
		return ui
	}
	out := make(map[string][]any, len(ui))
	for k, vals := range ui {
		nv := make([]any, len(vals))
		for i, v := range vals {
			nv[i] = v
			if ref, m, ok := fileRefOf(v); ok {
				to := r.cfg.RenameFile(ref)
				c := make(map[string]any, len(m))
				for mk, mv := range m {
					c[mk] = mv
				}
				c["filename"], c["subfolder"], c["type"] = to.Filename, to.Subfolder, to.Type
				nv[i] = c
			}
		}
		out[k] = nv
	}
	return out
}

// StoredFile is a file the run wrote (Local, where it is on disk) and the
// name the outputs give it (Name, the same without RenameFile).
type StoredFile struct {
	Local, Name FileRef
}

// Files lists the files the job's outputs name.
func (o *Outcome) Files() []StoredFile {
	var out []StoredFile
	for _, ui := range o.Result.Outputs {
		for _, vals := range ui {
			for _, v := range vals {
				if ref, _, ok := fileRefOf(v); ok {
					name := ref
					if o.run.cfg.RenameFile != nil {
						name = o.run.cfg.RenameFile(ref)
					}
					out = append(out, StoredFile{Local: ref, Name: name})
				}
			}
		}
	}
	return out
}

// Entry encodes ComfyUI's history item, with ebb's memory report under
// "ebb".
func (o *Outcome) Entry() json.RawMessage {
	res, rec, status := o.Result, o.rec, o.status
	outputs := map[engine.NodeID]map[string][]any{}
	if !o.failed {
		for id, ui := range res.Outputs {
			outputs[id] = o.run.renameUI(ui)
		}
	}
	meta := rec.meta
	for id := range outputs {
		if meta[id] == nil {
			meta[id] = map[string]any{"node_id": id, "display_node": id, "parent_node": nil, "real_node_id": id}
		}
	}
	ebb := rec.summary(res)
	delete(ebb, "kind")
	ebb["timeline"] = nonNil(rec.timeline)
	ebb["timeline_truncated"] = rec.truncTL
	ebb["executed"] = nonNil(res.Executed)
	ebb["cached"] = nonNil(res.Cached)
	ebb["reexecuted"] = nonNil(res.Stats.Reexecuted)
	entry := map[string]any{
		"prompt":  o.Job.Wire(),
		"outputs": outputs,
		"status":  status,
		"meta":    meta,
		"ebb":     ebb,
	}
	b, err := json.Marshal(entry)
	if err != nil { // an output JSON cannot hold (NaN, ...): keep the rest
		entry["outputs"] = map[string]any{}
		status["messages"] = [][2]any{{"ebb.encoding_error", map[string]any{"message": err.Error()}}}
		b, _ = json.Marshal(entry)
	}
	return b
}
