// errors.go: sentinel errors, error types, and the typed node, validation and prompt errors.

package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ebbgraph/ebb/engine/device"
)

// Sentinel errors of the engine. Errors returned by Run wrap one of these
// (or a device or lifetime sentinel) so callers can use errors.Is.
var (
	ErrInvalid      = errors.New("engine: workflow failed validation")
	ErrCycle        = errors.New("engine: dependency cycle")
	ErrInterrupted  = errors.New("engine: interrupted")
	ErrPanic        = errors.New("engine: node panicked")
	ErrUnknownClass = errors.New("engine: unknown node class")
	ErrMissingNode  = errors.New("engine: link to a missing node")
	ErrBadOutput    = errors.New("engine: link to an output index out of range")
	ErrDuplicateID  = errors.New("engine: duplicate node id")
	ErrBadResult    = errors.New("engine: node returned a malformed result")
	ErrCollected    = errors.New("engine: link to an ephemeral node that was already collected")
	// ErrInternal marks a bug in ebb itself: a failed release, a broken
	// invariant or an illegal node state move. Please report it, with the
	// workflow and the message, on ebb's issue tracker.
	ErrInternal = errors.New("engine: internal error (a bug in ebb: please report it with the workflow and this message)")
)

// Error types as reported in JSON results (ComfyUI's exception_type and
// validation type vocabulary, plus ebb's own).
const (
	TypeExecution   = "execution_error"
	TypeOutOfMemory = "out_of_memory"
	TypeCycle       = "dependency_cycle"
	TypeInterrupted = "interrupted"
	TypePanic       = "panic"
	TypeRestricted  = "restricted_late_edge"
	TypeBadGraph    = "invalid_expansion"
	TypeInternal    = "internal_error"
	TypeLimit       = "limit_exceeded"
)

// PanicError is a panic in node code, recovered. Its message is the panic
// value alone; the stack is kept apart, for logs.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("%v: %v", ErrPanic, e.Value) }

func (e *PanicError) Unwrap() error { return ErrPanic }

// ErrLimit is wrapped by LimitError.
var ErrLimit = errors.New("engine: run limit exceeded")

// LimitError reports a run that exceeded one of its Limits.
type LimitError struct {
	// Limit names the limit as the CLI flag does: max-executions,
	// max-expansion-depth, max-expansion-nodes, max-list-length, timeout.
	Limit string
	// Value is the limit that was exceeded (for timeout, in ms).
	Value int64
}

func (e *LimitError) Error() string {
	if e.Limit == "timeout" {
		return fmt.Sprintf("run limit exceeded: timeout of %s (raise it with --timeout or Limits.Timeout)", time.Duration(e.Value)*time.Millisecond)
	}
	return fmt.Sprintf("run limit exceeded: %s %d (raise it with --%s, or remove it with a negative value)", e.Limit, e.Value, e.Limit)
}

func (e *LimitError) Unwrap() error { return ErrLimit }

// NodeError is a runtime error of one node. Node is the real (original)
// node and Class its class; ID is the node that failed, which differs for
// expanded nodes, and then IDClass is that node's class.
type NodeError struct {
	Node    NodeID
	ID      NodeID
	Class   string
	Type    string
	Err     error
	IDClass string
}

func (e *NodeError) Error() string {
	if e.ID != "" && e.ID != e.Node {
		return fmt.Sprintf("node %s (%s), in expanded node %s (%s): %v", e.Node, e.Class, e.ID, e.IDClass, e.Err)
	}
	return fmt.Sprintf("node %s (%s): %v", e.Node, e.Class, e.Err)
}

func (e *NodeError) Unwrap() error { return e.Err }

// ValidationError is one problem with one input (or the node itself),
// typed with ComfyUI's vocabulary: required_input_missing,
// return_type_mismatch, value_bigger_than_max, custom_validation_failed, ...
type ValidationError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	Details string `json:"details"`
	Input   string `json:"input_name,omitempty"`
}

func (e ValidationError) Error() string {
	s := e.Message
	if e.Details != "" {
		s += ": " + e.Details
	}
	return s
}

// NodeValidation collects the validation errors of one node.
type NodeValidation struct {
	Class            string            `json:"class_type"`
	Errors           []ValidationError `json:"errors"`
	DependentOutputs []NodeID          `json:"dependent_outputs"`
}

// PromptError is a validation failure of the whole workflow (ComfyUI's
// prompt-level error: prompt_no_outputs, prompt_outputs_failed_validation,
// missing_node_type, invalid_prompt). It wraps ErrInvalid.
type PromptError struct {
	Type    string
	Message string
	Details string
	Nodes   map[NodeID]*NodeValidation
	// Err is the cause, when there is one (an offload mode the device
	// cannot serve wraps device.ErrNoTier).
	Err error
}

func (e *PromptError) Error() string {
	s := e.Message
	if e.Details != "" {
		s += ": " + e.Details
	}
	return s
}

func (e *PromptError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInvalid, e.Err}
	}
	return []error{ErrInvalid}
}

// ErrorType is err's type as results and events name it: a NodeError's
// Type when it has one, else the type of the sentinel err wraps
// (internal_error, limit_exceeded, interrupted for a cancelled or timed
// out context, out_of_memory, panic), else execution_error.
func ErrorType(err error) string {
	var ne *NodeError
	if errors.As(err, &ne) && ne.Type != "" {
		return ne.Type
	}
	switch {
	case errors.Is(err, ErrInternal):
		return TypeInternal
	case errors.Is(err, ErrLimit):
		return TypeLimit
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrInterrupted):
		return TypeInterrupted
	case errors.Is(err, device.ErrOutOfMemory):
		return TypeOutOfMemory
	case errors.Is(err, ErrPanic):
		return TypePanic
	}
	return TypeExecution
}
