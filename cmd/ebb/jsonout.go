package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
)

// runJSON is one run in "ebb run --json".
type runJSON struct {
	Status     engine.Status                      `json:"status"`
	Error      *errorJSON                         `json:"error"`
	NodeErrors map[engine.NodeID]*nodeErrorsJSON  `json:"node_errors"`
	Outputs    map[engine.NodeID]map[string][]any `json:"outputs"`
	Executed   []engine.NodeID                    `json:"executed"`
	Cached     []engine.NodeID                    `json:"cached"`
	Stats      statsJSON                          `json:"stats"`
}

// errorJSON is a run's error. NodeID and NodeType are null for errors of
// the whole workflow (validation) or of the run (cancellation); they name
// the workflow's real node also when a node its expansion added failed,
// and ExpandedNode then names that one.
type errorJSON struct {
	NodeID       *engine.NodeID    `json:"node_id"`
	NodeType     *string           `json:"node_type"`
	ExpandedNode *expandedNodeJSON `json:"expanded_node,omitempty"`
	Type         string            `json:"type"`
	Message      string            `json:"message"`
}

// expandedNodeJSON is the node an expansion added that failed.
type expandedNodeJSON struct {
	ID    engine.NodeID `json:"id"`
	Class string        `json:"class"`
}

type nodeErrorsJSON struct {
	Class            string           `json:"class_type"`
	Errors           []validationJSON `json:"errors"`
	DependentOutputs []engine.NodeID  `json:"dependent_outputs"`
}

type validationJSON struct {
	Type      string `json:"type"`
	Message   string `json:"message"`
	Details   string `json:"details"`
	InputName string `json:"input_name"`
}

// statsJSON is engine.Stats as --json prints it: reexecuted always
// present (an empty list when none), no timeline (--timeline draws it),
// times as finite numbers.
type statsJSON struct {
	engine.Stats
	Reexecuted []engine.Reexecution `json:"reexecuted"`
}

// statsOf is st for --json.
func statsOf(st engine.Stats) statsJSON {
	st.ComputeMs, st.TransferMs, st.SimMs = finite(st.ComputeMs), finite(st.TransferMs), finite(st.SimMs)
	st.Timeline = nil
	return statsJSON{Stats: st, Reexecuted: nonNil(st.Reexecuted)}
}

func toJSON(r *engine.RunResult) runJSON {
	out := runJSON{
		Status:     r.Status,
		Error:      errorOf(r.Err),
		NodeErrors: map[engine.NodeID]*nodeErrorsJSON{},
		Outputs:    map[engine.NodeID]map[string][]any{},
		Executed:   nonNil(r.Executed),
		Cached:     nonNil(r.Cached),
		Stats:      statsOf(r.Stats),
	}
	for id, nv := range nodeErrors(r) {
		out.NodeErrors[id] = nodeErrorsOf(nv)
	}
	for id, ui := range r.Outputs {
		m := make(map[string][]any, len(ui))
		for k, vs := range ui {
			m[k] = jsonSafe(vs).([]any)
		}
		out.Outputs[id] = m
	}
	return out
}

// nodeErrors returns the run's validation errors, taking them from the
// PromptError when the result has none of its own.
func nodeErrors(r *engine.RunResult) map[engine.NodeID]*engine.NodeValidation {
	if len(r.NodeErrors) > 0 {
		return r.NodeErrors
	}
	var pe *engine.PromptError
	if errors.As(r.Err, &pe) {
		return pe.Nodes
	}
	return nil
}

func nodeErrorsOf(nv *engine.NodeValidation) *nodeErrorsJSON {
	out := &nodeErrorsJSON{Class: nv.Class, Errors: []validationJSON{}, DependentOutputs: nonNil(nv.DependentOutputs)}
	for _, e := range nv.Errors {
		out.Errors = append(out.Errors, validationJSON{Type: e.Type, Message: e.Message, Details: e.Details, InputName: e.Input})
	}
	return out
}

// errorOf classifies a run's error: a node's runtime error (with the real
// node id and class, and the expanded node that failed), a validation
// error of the workflow, or an error of the whole run.
func errorOf(err error) *errorJSON {
	if err == nil {
		return nil
	}
	var ne *engine.NodeError
	if errors.As(err, &ne) {
		id, class := ne.Node, ne.Class
		if id == "" {
			id, class = ne.ID, ne.IDClass
		}
		typ := ne.Type
		if typ == "" {
			typ = engine.ErrorType(err)
		}
		msg := err.Error()
		if ne.Err != nil {
			msg = ne.Err.Error()
		}
		e := &errorJSON{NodeID: &id, NodeType: &class, Type: typ}
		if ne.ID != "" && ne.ID != id {
			msg = "in expanded node " + string(ne.ID) + ": " + msg
			e.ExpandedNode = &expandedNodeJSON{ID: ne.ID, Class: ne.IDClass}
		}
		e.Message = msg
		return e
	}
	var pe *engine.PromptError
	if errors.As(err, &pe) {
		typ := pe.Type
		if typ == "" {
			typ = "invalid_prompt"
		}
		return &errorJSON{Type: typ, Message: pe.Error()}
	}
	return &errorJSON{Type: engine.ErrorType(err), Message: err.Error()}
}

func writeJSON(w io.Writer, results []*engine.RunResult) error {
	out := make([]runJSON, len(results))
	for i, r := range results {
		out[i] = toJSON(r)
	}
	return writeJSONValue(w, out)
}

// writeJSONValue writes v as indented JSON.
func writeJSONValue(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("writing JSON: %w", err)
	}
	return nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// jsonSafe returns v when it encodes as JSON, and otherwise a copy whose
// unencodable parts (NaN, channels, cycles, ...) are replaced by their
// fmt form, so one odd UI value never loses a whole result.
func jsonSafe(v any) any {
	if _, err := json.Marshal(v); err == nil {
		return v
	}
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonSafe(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonSafe(e)
		}
		return out
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Sprint(x)
		}
	case float32:
		return jsonSafe(float64(x))
	}
	return fmt.Sprint(v)
}

// eventWriter writes events as JSON lines ("ebb run --events").
type eventWriter struct {
	enc  *json.Encoder
	w    io.Writer
	run  int
	file string
}

// eventJSON is an engine.Event plus the run it belongs to and its error's
// text (Event.Err itself is not encoded).
type eventJSON struct {
	Run      int    `json:"run"`
	Workflow string `json:"workflow"`
	engine.Event
	Error string `json:"error,omitempty"`
}

func newEventWriter(w io.Writer, run int, file string) *eventWriter {
	return &eventWriter{enc: json.NewEncoder(w), w: w, run: run + 1, file: file}
}

func (w *eventWriter) Observe(e engine.Event) {
	ev := eventJSON{Run: w.run, Workflow: w.file, Event: e}
	if e.Err != nil {
		ev.Error = e.Err.Error()
	}
	if e.Output != nil {
		m := make(map[string][]any, len(e.Output))
		for k, vs := range e.Output {
			m[k] = jsonSafe(vs).([]any)
		}
		ev.Output = m
	}
	if err := w.enc.Encode(ev); err != nil {
		fmt.Fprintf(w.w, "{\"run\":%d,\"type\":%q,\"error\":%q}\n", w.run, e.Type, "event not encodable: "+err.Error())
	}
}

// finite is x, or 0 for NaN and infinities (which JSON cannot hold).
func finite(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return x
}

// printSummary writes the human summary of one run.
func printSummary(w io.Writer, title string, r *engine.RunResult) {
	printRunSummary(w, title, r, nil)
}

// printRunSummary is printSummary with, when off is on, a line on what
// offload moved, and the simulated time when the run kept one.
func printRunSummary(w io.Writer, title string, r *engine.RunResult, off *offloadConfig) {
	fmt.Fprintf(w, "%s: %s\n", title, r.Status)
	if e := errorOf(r.Err); e != nil {
		where := ""
		if e.NodeID != nil {
			where = fmt.Sprintf("node %s (%s): ", *e.NodeID, *e.NodeType)
		}
		msg := e.Message
		if x := e.ExpandedNode; x != nil {
			where = fmt.Sprintf("node %s (%s), in expanded node %s (%s): ", *e.NodeID, *e.NodeType, x.ID, x.Class)
			msg = strings.TrimPrefix(msg, "in expanded node "+string(x.ID)+": ")
		}
		fmt.Fprintf(w, "  error: %s%s: %s\n", where, e.Type, msg)
		if e.Type == "missing_node_type" {
			fmt.Fprintf(w, "  hint: --profile FILE.json can simulate classes ebb does not have (see docs/cli.md)\n")
		}
	}
	ne := nodeErrors(r)
	for _, id := range sortedIDs(ne) {
		nv := ne[id]
		for _, ve := range nv.Errors {
			msg := ve.Type + ": " + ve.Message
			if ve.Details != "" {
				msg += ": " + ve.Details
			}
			if ve.Input != "" {
				msg += " (input " + ve.Input + ")"
			}
			fmt.Fprintf(w, "  node %s (%s): %s\n", id, nv.Class, msg)
		}
	}
	s := r.Stats
	fmt.Fprintf(w, "  executed %d, cached %d", s.Executions, len(r.Cached))
	if s.Reexecutions > 0 {
		fmt.Fprintf(w, ", re-executed %d", s.Reexecutions)
	}
	fmt.Fprintf(w, "; releases %d, pins %d\n", s.Releases, s.Pins)
	fmt.Fprintf(w, "  peak %s, bound %s, device peak %s, needs %s\n", gib(s.PeakBytes), gib(s.BoundBytes), gib(s.DevicePeakBytes), gib(s.NeedBytes))
	if off != nil && off.on() {
		fmt.Fprintf(w, "  %s: offloaded %s (%s to disk), reloaded %s; evictions %d, recomputes %d\n",
			off.describe(), gib(s.OffloadedBytes), gib(s.DiskBytes), gib(s.ReloadedBytes), s.Evictions, s.Recomputes)
	}
	if off != nil && (off.on() || s.SimMs > 0) {
		fmt.Fprintf(w, "  sim time %s (compute %s, transfers %s)\n", msText(s.SimMs), msText(s.ComputeMs), msText(s.TransferMs))
	}
	if len(r.Outputs) > 0 {
		fmt.Fprintf(w, "  outputs from %s\n", joinIDs(sortedIDs(r.Outputs)))
	}
}

// sortedIDs returns m's keys, numeric ids in numeric order first.
func sortedIDs[V any](m map[engine.NodeID]V) []engine.NodeID {
	return slices.SortedFunc(maps.Keys(m), compareIDs)
}

// msText formats milliseconds: "850 ms", or "12.345 s" from a second up.
func msText(ms float64) string {
	if ms >= 1000 {
		return fmt.Sprintf("%.3f s", ms/1000)
	}
	return fmt.Sprintf("%.0f ms", ms)
}

// gib formats bytes in GiB with three decimals.
func gib(n int64) string { return fmt.Sprintf("%.3f GiB", float64(n)/float64(device.GiB)) }

func joinIDs(ids []engine.NodeID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = string(id)
	}
	return strings.Join(s, ", ")
}
