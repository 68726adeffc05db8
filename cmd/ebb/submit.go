// submit.go: "ebb submit": run workflows on an ebb (or ComfyUI) server and
// print the results as "ebb run" does.

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/server/client"
)

func cmdSubmit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("submit", "WORKFLOW.json [more.json ...]",
		"Submit the workflows to a server (ebb serve, or ComfyUI) one after another, follow each over the WebSocket and print its result as \"ebb run\" does.", stderr)
	srv := fs.String("server", "http://127.0.0.1:8188", "the server's `URL`")
	asJSON := fs.Bool("json", false, "print one JSON array with one result object per workflow (as ebb run --json)")
	targets := fs.String("targets", "", "comma-separated output node ids to run (default: every output node)")
	size := fileSizeFlag(fs)
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		fs.Usage()
		return usagef("submit: no workflow given")
	}
	if u, err := url.Parse(*srv); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usagef("--server %q: want a URL such as http://127.0.0.1:8188", *srv)
	}
	maxSize, err := parseFileSize(*size)
	if err != nil {
		return err
	}
	var tg []string
	for _, id := range parseTargets(fs, *targets) {
		tg = append(tg, string(id))
	}
	if tg == nil && parseTargets(fs, *targets) != nil {
		tg = []string{}
	}
	prompts := make([][]byte, len(files))
	for i, path := range files {
		if prompts[i], err = readFile(path, maxSize); err != nil {
			return err
		}
		if _, err := decodeWorkflow(path, prompts[i]); err != nil {
			return err
		}
	}

	c := client.New(*srv)
	conn, err := c.Connect(ctx)
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", *srv, err)
	}
	defer conn.Close()
	var results []*engine.RunResult
	failed := false
	for i, p := range prompts {
		if i > 0 && ctx.Err() != nil {
			break
		}
		res, err := submitOne(ctx, c, conn, client.Request{Prompt: p, Targets: tg})
		if err != nil {
			return fmt.Errorf("%s: %w", files[i], err)
		}
		results = append(results, res)
		failed = failed || res.Status != engine.StatusSuccess
		if !*asJSON {
			printSummary(stdout, fmt.Sprintf("run %d (%s)", i+1, files[i]), res)
		}
	}
	if *asJSON {
		if err := writeJSON(stdout, results); err != nil {
			return err
		}
	}
	if failed {
		return errFailed
	}
	return nil
}

// submitOne runs one prompt on the server and returns its result in the
// engine's terms: a 400 is an invalid run, the history gives the rest.
func submitOne(ctx context.Context, c *client.Client, conn *client.Conn, req client.Request) (*engine.RunResult, error) {
	res := &engine.RunResult{Outputs: map[engine.NodeID]map[string][]any{}}
	r, err := c.Run(ctx, conn, req)
	var ae *client.APIError
	if errors.As(err, &ae) && ae.Status == 400 {
		res.Status = engine.StatusInvalid
		res.NodeErrors = nodeValidations(ae.NodeErrors)
		res.Err = &engine.PromptError{Type: ae.Type, Message: ae.Message, Nodes: res.NodeErrors}
		return res, nil
	}
	if err != nil {
		return nil, err
	}
	if r.Entry == nil {
		return nil, fmt.Errorf("prompt %s has no history entry", r.PromptID)
	}
	if len(r.NodeErrors) > 0 {
		res.NodeErrors = nodeValidations(r.NodeErrors)
	}
	for id, ui := range r.Entry.Outputs {
		res.Outputs[engine.NodeID(id)] = ui
	}
	switch {
	case r.Success:
		res.Status = engine.StatusSuccess
	case r.Interrupted != nil:
		res.Status = engine.StatusInterrupted
		res.Err = remoteError(r.Interrupted, engine.TypeInterrupted, "interrupted")
	default:
		res.Status = engine.StatusError
		res.Err = remoteError(r.Error, "", "the prompt failed")
	}
	if m := r.Entry.Ebb; m != nil {
		res.Executed, res.Cached = nodeIDs(m.Executed), nodeIDs(m.Cached)
		res.Stats = engine.Stats{
			Executions: m.Executions, Reexecutions: m.Reexecutions, CacheHits: m.CacheHits,
			Releases: m.Releases, Pins: m.Pins, PeakBytes: m.Peak, BoundBytes: m.Bound, NeedBytes: m.Need, DevicePeakBytes: m.DevicePeak,
			WorkingSetBytes: m.WorkingSetBytes, OffloadedBytes: m.OffloadedBytes, ReloadedBytes: m.ReloadedBytes, DiskBytes: m.DiskBytes,
			Evictions: m.Evictions, Recomputes: m.Recomputes,
			ComputeMs: m.ComputeMs, TransferMs: m.TransferMs, SimMs: m.SimMs,
		}
		for _, x := range m.Reexecuted {
			res.Stats.Reexecuted = append(res.Stats.Reexecuted, engine.Reexecution{Node: engine.NodeID(x.Node), Slot: x.Slot, Cause: engine.NodeID(x.Cause)})
		}
	} else { // a ComfyUI server: what the WebSocket said
		res.Executed, res.Cached = nodeIDs(r.Ran), nodeIDs(r.Cached)
	}
	return res, nil
}

// remoteError rebuilds a run error from execution_error or
// execution_interrupted data.
func remoteError(d map[string]any, typ, fallback string) error {
	msg, _ := d["exception_message"].(string)
	if msg == "" {
		msg = fallback
	}
	if typ == "" {
		typ, _ = d["exception_type"].(string)
	}
	node, _ := d["node_id"].(string)
	class, _ := d["node_type"].(string)
	if node == "" {
		return &remoteRunError{typ: typ, msg: msg}
	}
	return &engine.NodeError{Node: engine.NodeID(node), Class: class, Type: typ, Err: errors.New(msg)}
}

// remoteRunError is a run error that names no node; errorOf gives it the
// type "execution_error" unless it wraps a known sentinel.
type remoteRunError struct{ typ, msg string }

func (e *remoteRunError) Error() string { return e.msg }

func (e *remoteRunError) Unwrap() error {
	if e.typ == engine.TypeInterrupted {
		return engine.ErrInterrupted
	}
	return nil
}

func nodeIDs(s []string) []engine.NodeID {
	out := make([]engine.NodeID, len(s))
	for i, v := range s {
		out[i] = engine.NodeID(v)
	}
	return out
}

func nodeValidations(m map[string]client.NodeErrors) map[engine.NodeID]*engine.NodeValidation {
	out := map[engine.NodeID]*engine.NodeValidation{}
	for id, ne := range m {
		nv := &engine.NodeValidation{Class: ne.ClassType, DependentOutputs: nodeIDs(ne.DependentOutputs)}
		for _, e := range ne.Errors {
			input, _ := e.ExtraInfo["input_name"].(string)
			nv.Errors = append(nv.Errors, engine.ValidationError{Type: e.Type, Message: e.Message, Details: e.Details, Input: input})
		}
		out[engine.NodeID(id)] = nv
	}
	return out
}
