// validate_api.go: Validate, validation without a run (for servers that
// answer a submission before the prompt runs).

package engine

// Validation is what Validate reports for a workflow that can run: the
// output nodes that will run, and the errors of the outputs that will be
// skipped (ComfyUI's node_errors of a partially valid prompt).
type Validation struct {
	Outputs    []NodeID
	NodeErrors map[NodeID]*NodeValidation
}

// Validate checks wf against reg exactly as Run does before it runs
// anything (targets as in RunOptions.Targets). It returns a *PromptError
// (wrapping ErrInvalid) when no output can run. It does not change wf and
// is safe to call while an Engine runs another workflow.
func Validate(reg *Registry, wf Workflow, targets []NodeID) (Validation, error) {
	v, err := validate(reg, wf, targets)
	if err != nil {
		return Validation{}, err
	}
	return Validation{Outputs: v.outputs, NodeErrors: v.errs}, nil
}
