// validate.go: validation of a workflow before it runs: discovery, outputs and the report.

package engine

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Validation error types: ComfyUI's vocabulary for prompt-level errors
// (PromptError.Type) and per-input errors (ValidationError.Type). A static
// cycle is TypeCycle.
const (
	TypeMissingNodeType  = "missing_node_type"
	TypeInvalidPrompt    = "invalid_prompt"
	TypeNoOutputs        = "prompt_no_outputs"
	TypeOutputsFailed    = "prompt_outputs_failed_validation"
	TypeRequiredMissing  = "required_input_missing"
	TypeBadLinkedInput   = "bad_linked_input"
	TypeReturnMismatch   = "return_type_mismatch"
	TypeInvalidInputType = "invalid_input_type"
	TypeSmallerThanMin   = "value_smaller_than_min"
	TypeBiggerThanMax    = "value_bigger_than_max"
	TypeNotInList        = "value_not_in_list"
	TypeCustomValidation = "custom_validation_failed"
	TypeValidationPanic  = "exception_during_inner_validation"
)

const (
	// maxCycleNames bounds the node names in a cycle's details.
	maxCycleNames = 12
	// maxDetailLines bounds the lines of prompt_outputs_failed_validation
	// details (every error is still in PromptError.Nodes).
	maxDetailLines = 100
)

// validated is what validation hands the scheduler.
type validated struct {
	// outputs are the output nodes to run (all valid), sorted by id.
	outputs []NodeID
	// wf is the caller's workflow; never mutated.
	wf Workflow
	// index numbers the nodes reachable from the outputs; vnodes[i].out
	// is node i with its literals coerced (INT to int64, FLOAT to float64,
	// ...) and Literal wrappers unwrapped (a clone when changed).
	index  *idIndex
	vnodes []vnode
	// errs has the validation errors by node, also for outputs skipped
	// while others run. Only nodes with errors of their own appear.
	errs map[NodeID]*NodeValidation
}

// def returns the definition of an original node as the run sees it.
func (v *validated) def(id NodeID) (*Node, bool) {
	if i, ok := v.index.get(id); ok {
		return v.vnodes[i].out, true
	}
	n, ok := v.wf[id]
	return n, ok
}

// outputSlots is how many output slots the original nodes make: what a
// run reserves in its tracker up front, so no slot table is copied while
// it grows.
func (v *validated) outputSlots() int {
	n := 0
	for i := range v.vnodes {
		if t := v.vnodes[i].typ; t != nil {
			n += len(t.Schema.Outputs)
		}
	}
	return n
}

// has reports whether validation reached id.
func (v *validated) has(id NodeID) bool {
	_, ok := v.index.get(id)
	return ok
}

// size is the number of nodes in the workflow.
func (v *validated) size() int { return len(v.wf) }

// validate checks wf against reg the way ComfyUI's validate_prompt does.
// targets, when non-nil, are the nodes to run instead of every output node.
// If at least one output is valid it returns the run's outputs and the
// errors of the skipped ones; otherwise a *PromptError (wrapping
// ErrInvalid).
//
// Only nodes reachable from the outputs are validated. Each is checked once,
// without recursion, so graph depth is not limited: nodes are found by an
// explicit-stack walk, cycles by an iterative Tarjan, and an output is valid
// when nothing upstream of it (itself included) has an error.
func validate(reg *Registry, wf Workflow, targets []NodeID) (*validated, error) {
	if reg == nil {
		return nil, &PromptError{Type: TypeInvalidPrompt, Message: "No node registry"}
	}
	var noClass, unknown, outputNodes []NodeID
	var lastClass string
	var t *NodeType
	for id, n := range wf { // one pass: classes, and the output nodes
		if n == nil || n.Class == "" {
			noClass = append(noClass, id)
			continue
		}
		if n.Class != lastClass || t == nil {
			lastClass = n.Class
			t, _ = reg.Lookup(n.Class)
		}
		if t == nil {
			unknown = append(unknown, id)
		} else if t.Schema.OutputNode {
			outputNodes = append(outputNodes, id)
		}
	}
	slices.Sort(noClass)
	slices.Sort(unknown)
	if len(noClass) > 0 {
		return nil, &PromptError{
			Type:    TypeInvalidPrompt,
			Message: "Cannot execute because a node is missing the class_type property.",
			Details: "Node ID " + joinIDs(noClass, func(id NodeID) string { return "'#" + string(id) + "'" }),
		}
	}
	if len(unknown) > 0 {
		return nil, missingTypes(wf, unknown)
	}
	outputs, err := selectOutputs(wf, targets, outputNodes)
	if err != nil {
		return nil, err
	}
	v := &validator{reg: reg, wf: wf, index: newIDIndex(len(wf)), nodes: make([]vnode, 0, len(wf))}
	v.discover(outputs) // checks each node too
	v.findCycles()
	return v.result(outputs)
}

func missingTypes(wf Workflow, unknown []NodeID) *PromptError {
	nodes := make(map[NodeID]*NodeValidation, len(unknown))
	var classes []string
	for _, id := range unknown {
		class := wf[id].Class
		if !slices.Contains(classes, class) {
			classes = append(classes, class)
		}
		nodes[id] = &NodeValidation{
			Class: class,
			Errors: []ValidationError{{
				Type:    TypeMissingNodeType,
				Message: fmt.Sprintf("Node '%s' not found. The custom node may not be installed.", class),
				Details: fmt.Sprintf("Node ID '#%s'", id),
			}},
			DependentOutputs: []NodeID{},
		}
	}
	msg := fmt.Sprintf("Node '%s' not found. The custom node may not be installed.", classes[0])
	if len(classes) > 1 {
		quoted := make([]string, len(classes))
		for i, c := range classes {
			quoted[i] = "'" + c + "'"
		}
		msg = fmt.Sprintf("Node types not found: %s. The custom nodes may not be installed.", strings.Join(quoted, ", "))
	}
	return &PromptError{
		Type:    TypeMissingNodeType,
		Message: msg,
		Details: "Node ID " + joinIDs(unknown, func(id NodeID) string { return fmt.Sprintf("'#%s' (%s)", id, wf[id].Class) }),
		Nodes:   nodes,
	}
}

// selectOutputs returns the sorted, deduplicated targets, or every output
// node when targets is nil.
func selectOutputs(wf Workflow, targets, outputNodes []NodeID) ([]NodeID, error) {
	var outputs []NodeID
	if targets != nil {
		if len(targets) == 0 {
			return nil, &PromptError{Type: TypeNoOutputs, Message: "Prompt has no outputs", Details: "the list of targets is empty"}
		}
		outputs = slices.Compact(slices.Sorted(slices.Values(targets)))
		var missing []NodeID
		for _, id := range outputs {
			if _, ok := wf[id]; !ok {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			return nil, &PromptError{
				Type:    TypeInvalidPrompt,
				Message: "Partial execution targets are not in the workflow",
				Details: joinIDs(missing, func(id NodeID) string { return strconv.Quote(string(id)) }),
			}
		}
		return outputs, nil
	}
	outputs = outputNodes
	if len(outputs) == 0 {
		return nil, &PromptError{Type: TypeNoOutputs, Message: "Prompt has no outputs"}
	}
	slices.Sort(outputs)
	return outputs, nil
}

func joinIDs(ids []NodeID, f func(NodeID) string) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = f(id)
	}
	return strings.Join(parts, ", ")
}

// validator holds the state of one validation. Not safe for concurrent use.
type validator struct {
	reg   *Registry
	wf    Workflow
	index *idIndex // numbers nodes as discovered: nodes[i] is index i
	nodes []vnode
	// comp is each node's strongly connected component; components are
	// numbered producers first (Tarjan's order for consumer->producer edges).
	comp []int32
	// bad says whether a component has a node with errors, or links to a
	// bad component.
	bad []bool
	// declared caches each class's declared (not hidden) input names.
	declared map[string]map[string]bool
}

// vnode is one node reachable from the outputs.
type vnode struct {
	id    NodeID
	def   *Node
	typ   *NodeType
	links []vlink // sorted by input name
	errs  []ValidationError
	out   *Node // def with literals coerced (def itself when unchanged)
}

// vlink is one linked input; to is the producer's index, -1 when the
// producer is not in the workflow.
type vlink struct {
	input string
	ref   Ref
	to    int32
}

// discover finds every node reachable from outputs through links, and
// checks each.
func (v *validator) discover(outputs []NodeID) {
	var stack []int32
	// slab has every node's links, back to back, in the order found; node
	// i's are slab[lo[i]:hi[i]]. Sized for one link a node.
	slab := make([]vlink, 0, len(v.wf))
	lo, hi := make([]int32, 0, len(v.wf)), make([]int32, 0, len(v.wf))
	var lastClass string
	var lastType *NodeType
	add := func(id NodeID) int32 {
		i, p, ok := v.index.find(id)
		if ok {
			return i
		}
		def, ok := v.wf[id]
		if !ok {
			return -1
		}
		i = v.index.insert(p, id)
		if def.Class != lastClass || lastType == nil { // chains repeat a class
			lastClass = def.Class
			lastType, _ = v.reg.Lookup(def.Class)
		}
		v.nodes = append(v.nodes, vnode{id: id, def: def, typ: lastType, out: def})
		lo, hi = append(lo, 0), append(hi, 0)
		stack = append(stack, i)
		return i
	}
	for _, o := range outputs {
		add(o)
	}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		start := len(slab)
		for name, val := range v.nodes[i].def.Inputs {
			if r, ok := val.(Ref); ok {
				slab = append(slab, vlink{input: name, ref: r, to: -1})
			}
		}
		links := slab[start:len(slab):len(slab)]
		if len(links) > 1 {
			slices.SortFunc(links, func(a, b vlink) int { return strings.Compare(a.input, b.input) })
		}
		for k := range links {
			links[k].to = add(links[k].ref.Node)
		}
		lo[i], hi[i] = int32(start), int32(len(slab))
		// v.nodes may have grown: index, not a pointer. The node is checked
		// now, while its definition is in cache: its producers' types are
		// known.
		n := &v.nodes[i]
		n.links = links
		v.check(n)
	}
	// slab may have moved since a node was checked: cut every node's links
	// from where it ended up.
	for i := range v.nodes {
		v.nodes[i].links = slab[lo[i]:hi[i]:hi[i]]
	}
}

// result decides which outputs are valid and builds the report.
func (v *validator) result(outputs []NodeID) (*validated, error) {
	bad := v.bad
	errs := map[NodeID]*NodeValidation{}
	for i := range v.nodes {
		if n := &v.nodes[i]; len(n.errs) > 0 {
			errs[n.id] = &NodeValidation{Class: n.def.Class, Errors: n.errs, DependentOutputs: []NodeID{}}
		}
	}
	var good []NodeID
	seen := make([]int32, len(v.nodes)) // stamp: output number + 1
	var stack []int32
	for k, o := range outputs {
		i, _ := v.index.get(o)
		if !bad[v.comp[i]] {
			good = append(good, o)
			continue
		}
		stamp := int32(k + 1)
		seen[i] = stamp
		stack = append(stack[:0], i)
		for len(stack) > 0 {
			u := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if nv := errs[v.nodes[u].id]; nv != nil {
				nv.DependentOutputs = append(nv.DependentOutputs, o)
			}
			for _, l := range v.nodes[u].links {
				if l.to >= 0 && seen[l.to] != stamp && bad[v.comp[l.to]] {
					seen[l.to] = stamp
					stack = append(stack, l.to)
				}
			}
		}
	}
	if len(good) == 0 {
		var lines []string
		more := 0
		for _, id := range slices.Sorted(maps.Keys(errs)) {
			nv := errs[id]
			for _, e := range nv.Errors {
				if len(lines) == maxDetailLines {
					more++
					continue
				}
				lines = append(lines, fmt.Sprintf("node %s (%s): %s", id, nv.Class, e.Error()))
			}
		}
		if more > 0 {
			lines = append(lines, fmt.Sprintf("... and %d more errors", more))
		}
		return nil, &PromptError{
			Type:    TypeOutputsFailed,
			Message: "Prompt outputs failed validation",
			Details: strings.Join(lines, "\n"),
			Nodes:   errs,
		}
	}
	return &validated{outputs: good, wf: v.wf, index: v.index, vnodes: v.nodes, errs: errs}, nil
}
