// node.go: node types: Runner and its capability interfaces, Call, Result, Expansion, Blocker.

package engine

import (
	"context"
	"fmt"
	"strconv"
)

// NodeType is a class of node: data (Class, Schema) plus behaviour (Runner).
type NodeType struct {
	Class  string
	Schema Schema
	Runner Runner
}

// hasListOutput reports whether an output of t is a list (OutputSpec.IsList).
func (t *NodeType) hasListOutput() bool {
	for i := range t.Schema.Outputs {
		if t.Schema.Outputs[i].IsList {
			return true
		}
	}
	return false
}

// Runner is a node's behaviour. Run is called once per list element (or
// once with whole lists for InputIsList types), on a worker goroutine; it
// must not touch state shared with other nodes except through Call.
type Runner interface {
	Run(ctx context.Context, c *Call) (Result, error)
}

// RunFunc adapts a function to Runner.
type RunFunc func(ctx context.Context, c *Call) (Result, error)

// Run calls f.
func (f RunFunc) Run(ctx context.Context, c *Call) (Result, error) { return f(ctx, c) }

// LazyChecker is implemented by Runners with lazy inputs. CheckLazy is
// called with the inputs available so far (unevaluated lazy inputs are
// absent) and returns the names of the lazy inputs it still needs. It is
// asked again after those are evaluated, until it needs nothing more.
type LazyChecker interface {
	CheckLazy(ctx context.Context, c *Call) ([]string, error)
}

// Fingerprinter is implemented by Runners whose output depends on more than
// their inputs (ComfyUI's IS_CHANGED). Fingerprint sees literal inputs only
// (linked inputs are absent). Returning AlwaysChanged means never cached.
type Fingerprinter interface {
	Fingerprint(c *Call) (any, error)
}

// AlwaysChanged is a fingerprint that never equals another (ComfyUI's NaN).
var AlwaysChanged any = alwaysChanged{}

type alwaysChanged struct{}

// Validator is implemented by Runners with custom input validation
// (ComfyUI's VALIDATE_INPUTS). Schema.Validation says which built-in
// checks it replaces. A non-nil error rejects the node before the run.
type Validator interface {
	ValidateInputs(v ValidationInput) error
}

// ValidationInput is what a Validator sees: literal values (linked inputs
// are nil) and, when Schema.Validation.InputTypes is set, the types of
// linked inputs.
type ValidationInput struct {
	Values map[string]any
	Types  map[string]string
}

// MayExpand is implemented by Runners that may return an expansion. The
// restrict and auto strategies pin the upstream outputs of such nodes while
// they are pending.
type MayExpand interface {
	MayExpand()
}

// NotReexecutable is implemented by Runners that are non-deterministic or
// have side effects. Under the reexecute and auto strategies their outputs
// are pinned instead of released, so they never run twice.
type NotReexecutable interface {
	NotReexecutable()
}

// Call is one invocation of a node. Its contract:
//
//   - Lifetime. The Call and its Inputs map belong to the engine and are
//     valid only until Run (or CheckLazy) returns; the engine then reuses
//     both for another call. A node must not keep either, nor use them
//     from a goroutine that outlives the call.
//   - Inputs are shared and read-only. An input value may also be the
//     input of other nodes (running at the same time on other workers), an
//     output held in the cache, or a literal of the workflow, which is
//     reused by later runs. A node must not modify an input value or
//     anything reachable from it: not a []any list (an InputIsList input is
//     the producer's own list), not a map or a slice, not what a pointer
//     points to. To change one, copy it and return the copy.
//   - Buffers. An *engine.Buffer among the inputs (alone or inside a []any)
//     is valid only during the call. The engine frees it when no node will
//     read it again, at release level 2 as soon as its last known reader
//     returns; a buffer kept past the call (in the Runner, a global, a
//     closure, a goroutine) may be freed under the node, and reading it is
//     then a use-after-free (Buffer.Check reports device.ErrUseAfterFree).
//     The exception is a buffer the node returns as an output: the engine
//     then keeps it alive as that output, counted once however many outputs
//     and nodes hold it. A node never calls Release on an input. Buffers the
//     node allocates with Alloc and does not return are freed when the call
//     returns.
//   - Other values are never freed by the engine: a node may keep a number,
//     a string or a Go value it received past the call, still read-only
//     (a kept []any may hold buffers, which the rule above covers).
type Call struct {
	// Node is the id of the node being run (ephemeral id for expanded nodes).
	Node NodeID
	// Class is the node's class.
	Class string
	// Index is the list call index (0 when the node is not mapped).
	Index int
	// Inputs holds the input values of this call: literals, linked values,
	// and defaults of absent optional inputs. For InputIsList types each
	// value is a []any. RawLink inputs hold the Ref.
	Inputs map[string]any
	// Graph is the run's dynamic graph (for nodes with HiddenDynPrompt).
	Graph GraphReader

	real    NodeID // the real node, for ephemeral prefixes
	eph     bool
	prefix  string // computed on first NewPrefix
	graphs  int
	alloc   *callAlloc
	em      *emitter
	display NodeID
}

// Progress reports how far the call is (value of max), as a progress event
// (ComfyUI's "progress" message) for the node's display node. It may be
// called from the node's goroutine at any time during the call.
func (c *Call) Progress(value, max float64) {
	c.em.emit(Event{Type: EventProgress, Node: c.Node, Display: c.display, Real: c.real, Class: c.Class, Value: value, Max: max})
}

// Has reports whether the input is present.
func (c *Call) Has(name string) bool { _, ok := c.Inputs[name]; return ok }

// Int returns an integer input, accepting any integer or integral float.
func (c *Call) Int(name string) (int64, error) { return AsInt(c.Inputs[name]) }

// Float returns a numeric input as float64.
func (c *Call) Float(name string) (float64, error) { return AsFloat(c.Inputs[name]) }

// String returns a string input.
func (c *Call) String(name string) (string, error) {
	s, ok := c.Inputs[name].(string)
	if !ok {
		return "", fmt.Errorf("input %q: want a string, got %T", name, c.Inputs[name])
	}
	return s, nil
}

// Bool returns a boolean input.
func (c *Call) Bool(name string) (bool, error) {
	b, ok := c.Inputs[name].(bool)
	if !ok {
		return false, fmt.Errorf("input %q: want a boolean, got %T", name, c.Inputs[name])
	}
	return b, nil
}

// NewPrefix returns a fresh id prefix for one graph of an expansion made by
// this call: deterministic for a given node, call index and graph index,
// and short however deep the expansion nests.
func (c *Call) NewPrefix() string {
	if c.prefix == "" {
		c.prefix = idPrefix(c.Node, c.real, c.eph) + strconv.Itoa(c.Index) + "."
	}
	p := c.prefix + strconv.Itoa(c.graphs) + "."
	c.graphs++
	return p
}

// Result is what one call returns: output values, or an expansion, plus an
// optional UI result.
type Result struct {
	// Outputs has one value per declared output (a []any for list outputs).
	Outputs []any
	// UI is shown to the user (ComfyUI's "ui"); results of several calls
	// are concatenated key by key.
	UI map[string][]any
	// Expand, when set, replaces Outputs: the node's outputs are resolved
	// from the expansion's subgraph.
	Expand *Expansion
}

// Expansion is a subgraph a node returns in place of its outputs.
type Expansion struct {
	// Nodes are the new nodes, with full ids (use Call.NewPrefix, or the
	// expand package's GraphBuilder). They may link to each other and to
	// nodes already in the run.
	Nodes Workflow
	// Outputs has one item per declared output: a Ref (into Nodes or the
	// run's graph) or a literal.
	Outputs []any
}

// Outputs is a shorthand for a Result with the given output values.
func Outputs(values ...any) Result { return Result{Outputs: values} }

// Blocker is an output value that blocks every consumer (ComfyUI's
// ExecutionBlocker). A consumer call that receives one is skipped and
// yields the blocker. A non-empty Message is also reported as an error
// event; an empty one blocks silently.
type Blocker struct{ Message string }

// Blocked is a Result whose outputs are all the blocker b.
func Blocked(message string, outputs int) Result {
	b := &Blocker{Message: message}
	vals := make([]any, outputs)
	for i := range vals {
		vals[i] = b
	}
	return Result{Outputs: vals}
}
