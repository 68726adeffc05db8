// job.go: Job, one submitted prompt, as the queue, the history and a
// Backend see it.

package server

import (
	"encoding/json"
	"fmt"

	"github.com/ebbgraph/ebb/engine"
)

// Job is one submitted prompt: what POST /prompt accepted and validated.
// It is encoded as JSON where it travels (a JetStream message).
type Job struct {
	// Number is ComfyUI's priority: lower runs first; Seq orders equal
	// numbers (the submission order; a Backend may set it).
	Number float64 `json:"number"`
	Seq    uint64  `json:"seq"`
	ID     string  `json:"id"`
	// Prompt is the workflow as submitted.
	Prompt json.RawMessage `json:"prompt"`
	// Extra is extra_data, with client_id.
	Extra   map[string]any  `json:"extra"`
	Outputs []engine.NodeID `json:"outputs"`
	// Targets are the partial-execution targets; nil runs every output node.
	Targets  []engine.NodeID `json:"targets,omitempty"`
	ClientID string          `json:"client_id,omitempty"`

	wf engine.Workflow // Prompt decoded; nil until Workflow is called
}

// Workflow decodes Prompt (once).
func (j *Job) Workflow() (engine.Workflow, error) {
	if j.wf != nil {
		return j.wf, nil
	}
	wf, err := engine.DecodeWorkflow(j.Prompt)
	if err != nil {
		return nil, fmt.Errorf("prompt %q: %w", j.ID, err)
	}
	j.wf = wf
	return wf, nil
}

// Wire is the job as ComfyUI lists it: [number, prompt_id, prompt,
// extra_data, outputs_to_execute].
func (j *Job) Wire() []any {
	outs := j.Outputs
	if outs == nil {
		outs = []engine.NodeID{}
	}
	extra := j.Extra
	if extra == nil {
		extra = map[string]any{}
	}
	return []any{j.Number, j.ID, j.Prompt, extra, outs}
}
