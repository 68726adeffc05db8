package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
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
	for id, n := range wf { // one pass: classes, and the output nodes
		if n == nil || n.Class == "" {
			noClass = append(noClass, id)
			continue
		}
		t, ok := reg.Lookup(n.Class)
		if !ok {
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

func (n *vnode) fail(typ, input, message, details string) {
	n.errs = append(n.errs, ValidationError{Type: typ, Message: message, Details: details, Input: input})
}

// link returns n's link on input name.
func (n *vnode) link(name string) (vlink, bool) {
	i, ok := slices.BinarySearchFunc(n.links, name, func(l vlink, name string) int { return strings.Compare(l.input, name) })
	if !ok {
		return vlink{}, false
	}
	return n.links[i], true
}

// linkType checks that l points at an existing output and returns its type.
func (v *validator) linkType(n *vnode, l vlink) (string, bool) {
	if l.to < 0 {
		n.fail(TypeBadLinkedInput, l.input, "Bad linked input",
			fmt.Sprintf("%s: linked to node %q, which is not in the workflow", l.input, string(l.ref.Node)))
		return "", false
	}
	p := &v.nodes[l.to]
	outs := p.typ.Schema.Outputs
	if l.ref.Out < 0 || l.ref.Out >= len(outs) {
		n.fail(TypeBadLinkedInput, l.input, "Bad linked input",
			fmt.Sprintf("%s: output index %d is out of range: node %q (%s) has %d output(s)",
				l.input, l.ref.Out, string(p.id), p.def.Class, len(outs)))
		return "", false
	}
	return outs[l.ref.Out].Type, true
}

// check validates n on its own (ComfyUI's validate_inputs without the
// recursion) and records its coerced definition.
func (v *validator) check(n *vnode) {
	s := &n.typ.Schema
	cv, hasValidator := n.typ.Runner.(Validator)
	skipTypes := hasValidator && s.Validation.InputTypes
	var types map[string]string
	if skipTypes {
		types = map[string]string{}
	}
	set := func(name string, val any) {
		if n.out == n.def {
			n.out = n.def.Clone()
		}
		n.out.Inputs[name] = val
	}
	present := 0 // declared inputs the workflow sets
	for i := range s.Inputs {
		in := &s.Inputs[i]
		if in.Hidden != NotHidden {
			continue // never required from the workflow; checked below as undeclared
		}
		raw, ok := n.def.Inputs[in.Name]
		if !ok {
			if !in.Optional {
				n.fail(TypeRequiredMissing, in.Name, "Required input is missing", in.Name)
			}
			continue
		}
		present++
		if _, isLink := raw.(Ref); isLink {
			l, _ := n.link(in.Name)
			got, ok := v.linkType(n, l)
			if !ok {
				continue
			}
			if skipTypes {
				types[in.Name] = got
			} else if !typesMatch(got, in.Type) {
				n.fail(TypeReturnMismatch, in.Name, "Return type mismatch between linked nodes",
					fmt.Sprintf("%s, received_type(%s) mismatch input_type(%s)", in.Name, got, in.Type))
			}
			continue
		}
		lit, unwrapped := unwrapLiteral(raw)
		val, changed, err := coerce(in.Type, lit)
		if err != nil {
			n.fail(TypeInvalidInputType, in.Name, fmt.Sprintf("Failed to convert an input value to a %s value", in.Type),
				fmt.Sprintf("%s, %s, %v", in.Name, formatValue(lit), err))
			continue
		}
		if unwrapped || changed {
			set(in.Name, val)
		}
		if hasValidator && (s.Validation.AllInputs || slices.Contains(s.Validation.Inputs, in.Name)) {
			continue // the Validator owns this input's range and choices
		}
		checkRange(n, in, val)
	}
	// Undeclared and hidden inputs: links must resolve; literals are only
	// unwrapped.
	if present < len(n.def.Inputs) {
		v.checkUndeclared(n, types, set)
	}
	if hasValidator {
		in := ValidationInput{Values: make(map[string]any, len(n.out.Inputs)), Types: types}
		for name, val := range n.out.Inputs {
			if _, isLink := val.(Ref); isLink {
				val = nil
			}
			in.Values[name] = val
		}
		if p, err := runValidator(cv, in); p != nil {
			n.fail(TypeValidationPanic, "", "Exception when validating node", fmt.Sprintf("panic: %v", p))
		} else if err != nil {
			var ve ValidationError
			var pve *ValidationError
			switch {
			case errors.As(err, &pve) && pve != nil:
				ve = *pve
			case errors.As(err, &ve):
			default:
				ve = ValidationError{Message: err.Error()}
			}
			if ve.Type == "" {
				ve.Type = TypeCustomValidation
			}
			n.errs = append(n.errs, ve)
		}
	}
}

// checkUndeclared checks the inputs n sets that its class does not
// declare (or declares hidden): links must resolve; literals are only
// unwrapped.
func (v *validator) checkUndeclared(n *vnode, types map[string]string, set func(string, any)) {
	declared := v.declaredInputs(n.typ)
	for _, l := range n.links {
		if declared[l.input] {
			continue
		}
		if got, ok := v.linkType(n, l); ok && types != nil {
			types[l.input] = got
		}
	}
	for name, raw := range n.def.Inputs {
		if declared[name] {
			continue
		}
		if val, ok := unwrapLiteral(raw); ok {
			set(name, val)
		}
	}
}

// declaredInputs returns the names of t's inputs that are not hidden.
func (v *validator) declaredInputs(t *NodeType) map[string]bool {
	if d, ok := v.declared[t.Class]; ok {
		return d
	}
	d := make(map[string]bool, len(t.Schema.Inputs))
	for _, in := range t.Schema.Inputs {
		if in.Hidden == NotHidden {
			d[in.Name] = true
		}
	}
	if v.declared == nil {
		v.declared = map[string]map[string]bool{}
	}
	v.declared[t.Class] = d
	return d
}

// runValidator calls the Validator, turning a panic into p.
func runValidator(cv Validator, in ValidationInput) (p any, err error) {
	defer func() {
		if r := recover(); r != nil {
			p = r
		}
	}()
	return nil, cv.ValidateInputs(in)
}

// checkRange applies min, max and choices to a literal, as ComfyUI does:
// the first failure is reported.
func checkRange(n *vnode, in *InputSpec, val any) {
	if in.Min != nil {
		if c, ok := compareNum(val, *in.Min); ok && c < 0 {
			n.fail(TypeSmallerThanMin, in.Name,
				fmt.Sprintf("Value %s smaller than min of %s", formatValue(val), formatBound(in, *in.Min)), in.Name)
			return
		}
	}
	if in.Max != nil {
		if c, ok := compareNum(val, *in.Max); ok && c > 0 {
			n.fail(TypeBiggerThanMax, in.Name,
				fmt.Sprintf("Value %s bigger than max of %s", formatValue(val), formatBound(in, *in.Max)), in.Name)
			return
		}
	}
	if len(in.Choices) > 0 {
		if s, ok := val.(string); !ok || !slices.Contains(in.Choices, s) {
			list := fmt.Sprintf("(list of length %d)", len(in.Choices))
			if len(in.Choices) <= 20 {
				q := make([]string, len(in.Choices))
				for i, c := range in.Choices {
					q[i] = "'" + c + "'"
				}
				list = "[" + strings.Join(q, ", ") + "]"
			}
			n.fail(TypeNotInList, in.Name, "Value not in list", fmt.Sprintf("%s: '%v' not in %s", in.Name, val, list))
		}
	}
}

// typesMatch is ComfyUI's validate_node_input (not strict): the types are
// equal, either side is "*", or their comma-separated sets intersect.
func typesMatch(received, expected string) bool {
	if received == expected {
		return true
	}
	r := splitTypes(received)
	e := splitTypes(expected)
	if slices.Contains(r, "*") || slices.Contains(e, "*") {
		return true
	}
	for _, t := range r {
		if slices.Contains(e, t) {
			return true
		}
	}
	return false
}

func splitTypes(s string) []string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
	}
	return parts
}

// unwrapLiteral returns the value inside Literal wrappers. A Literal of a
// Ref stays wrapped: unwrapping it would turn it into a link.
func unwrapLiteral(v any) (any, bool) {
	unwrapped := false
	for {
		l, ok := v.(Literal)
		if !ok {
			return v, unwrapped
		}
		if _, isRef := l.Value.(Ref); isRef {
			return v, unwrapped
		}
		v, unwrapped = l.Value, true
	}
}

// coerce converts a literal for an input of type typ as ComfyUI's int(),
// float() (and, stricter, str() and bool()) do. changed says whether the
// value is different from v.
func coerce(typ string, v any) (out any, changed bool, err error) {
	switch typ {
	case "INT":
		i, changed, err := coerceInt(v)
		return i, changed, err
	case "FLOAT":
		f, changed, err := coerceFloat(v)
		return f, changed, err
	case "STRING":
		if _, ok := v.(string); !ok {
			return v, false, fmt.Errorf("want a string, got %s", goKind(v))
		}
	case "BOOLEAN":
		if _, ok := v.(bool); !ok {
			return v, false, fmt.Errorf("want a boolean, got %s", goKind(v))
		}
	}
	return v, false, nil
}

func coerceInt(v any) (int64, bool, error) {
	switch x := v.(type) {
	case int64:
		return x, false, nil
	case int:
		return int64(x), true, nil
	case int32:
		return int64(x), true, nil
	case int16:
		return int64(x), true, nil
	case int8:
		return int64(x), true, nil
	case uint8:
		return int64(x), true, nil
	case uint16:
		return int64(x), true, nil
	case uint32:
		return int64(x), true, nil
	case uint:
		if uint64(x) > math.MaxInt64 {
			return 0, false, fmt.Errorf("%d is out of the int64 range", x)
		}
		return int64(x), true, nil
	case uint64:
		if x > math.MaxInt64 {
			return 0, false, fmt.Errorf("%d is out of the int64 range", x)
		}
		return int64(x), true, nil
	case float32:
		return coerceInt(float64(x))
	case float64:
		switch {
		case math.IsNaN(x) || math.IsInf(x, 0):
			return 0, false, fmt.Errorf("cannot convert %v to an integer", x)
		case x != math.Trunc(x):
			return 0, false, fmt.Errorf("%s is not an integer", formatFloat(x))
		case x < -(1<<63) || x >= 1<<63:
			return 0, false, fmt.Errorf("%s is out of the int64 range", formatFloat(x))
		}
		return int64(x), true, nil
	case bool:
		if x {
			return 1, true, nil
		}
		return 0, true, nil
	case json.Number:
		n, err := decodeNumber(x)
		if err != nil {
			return 0, false, err
		}
		i, _, err := coerceInt(n)
		return i, true, err
	case string:
		i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return 0, false, fmt.Errorf("%q is out of the int64 range", x)
			}
			return 0, false, fmt.Errorf("invalid literal for int() with base 10: %q", x)
		}
		return i, true, nil
	}
	return 0, false, fmt.Errorf("want an integer, got %s", goKind(v))
}

func coerceFloat(v any) (float64, bool, error) {
	switch x := v.(type) {
	case float64:
		return x, false, nil
	case float32:
		return float64(x), true, nil
	case bool:
		if x {
			return 1, true, nil
		}
		return 0, true, nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return 0, false, fmt.Errorf("could not convert string to float: %q", x)
		}
		return f, true, nil
	case json.Number:
		n, err := decodeNumber(x)
		if err != nil {
			return 0, false, err
		}
		f, _, err := coerceFloat(n)
		return f, true, err
	case uint64:
		return float64(x), true, nil
	case int64, int, int32, int16, int8, uint, uint32, uint16, uint8:
		i, _, err := coerceInt(v)
		return float64(i), true, err
	}
	return 0, false, fmt.Errorf("want a number, got %s", goKind(v))
}

func goKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64, float64:
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}

// compareNum compares a numeric literal with a bound exactly (int64 values
// are not rounded through float64). ok is false for non-numbers and NaN.
func compareNum(v any, b float64) (c int, ok bool) {
	if math.IsNaN(b) {
		return 0, false
	}
	switch x := v.(type) {
	case int64:
		return compareIntFloat(x, b), true
	case int:
		return compareIntFloat(int64(x), b), true
	case float64:
		if math.IsNaN(x) {
			return 0, false
		}
		switch {
		case x < b:
			return -1, true
		case x > b:
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func compareIntFloat(i int64, f float64) int {
	switch {
	case f >= 1<<63:
		return -1
	case f < -(1 << 63):
		return 1
	}
	t := math.Trunc(f)
	ti := int64(t)
	switch {
	case i < ti:
		return -1
	case i > ti:
		return 1
	case f > t:
		return -1
	case f < t:
		return 1
	}
	return 0
}

// formatValue writes a literal for messages, numbers as Python would.
func formatValue(v any) string {
	switch x := v.(type) {
	case float64:
		return formatFloat(x)
	case string:
		return x
	}
	return fmt.Sprint(v)
}

func formatBound(in *InputSpec, b float64) string {
	if in.Type == "INT" && b == math.Trunc(b) && math.Abs(b) < 1e18 {
		return strconv.FormatInt(int64(b), 10)
	}
	return formatFloat(b)
}

// findCycles numbers the strongly connected components of the reachable
// graph (iterative Tarjan over consumer->producer edges) and gives every
// node of a cycle a dependency_cycle error naming it.
func (v *validator) findCycles() {
	n := len(v.nodes)
	index := make([]int32, n) // 0: unvisited, else visit order + 1
	low := make([]int32, n)
	onStack := make([]bool, n)
	v.comp = make([]int32, n)
	// Both stacks can hold every node (a chain): sized once.
	stack := make([]int32, 0, n)
	type frame struct{ node, next int32 }
	calls := make([]frame, 0, n)
	counter := int32(0)
	visit := func(w int32) {
		counter++
		index[w], low[w] = counter, counter
		stack = append(stack, w)
		onStack[w] = true
		calls = append(calls, frame{node: w})
	}
	for s := range int32(n) {
		if index[s] != 0 {
			continue
		}
		visit(s)
		for len(calls) > 0 {
			f := &calls[len(calls)-1]
			u := f.node
			if links := v.nodes[u].links; int(f.next) < len(links) {
				w := links[f.next].to
				f.next++
				switch {
				case w < 0:
				case index[w] == 0:
					visit(w)
				case onStack[w]:
					low[u] = min(low[u], index[w])
				}
				continue
			}
			calls = calls[:len(calls)-1]
			if len(calls) > 0 {
				p := calls[len(calls)-1].node
				low[p] = min(low[p], low[u])
			}
			if low[u] != index[u] {
				continue
			}
			// u roots a component: the stack from u up.
			c := int32(len(v.bad))
			k := len(stack) - 1
			for stack[k] != u {
				k--
			}
			members := stack[k:]
			for _, w := range members {
				onStack[w] = false
				v.comp[w] = c
			}
			if len(members) > 1 || v.selfLoop(u) {
				v.reportCycle(members)
			}
			// Every other component a member links to is finished.
			bad := false
			for _, w := range members {
				if len(v.nodes[w].errs) > 0 {
					bad = true
				}
				for _, l := range v.nodes[w].links {
					if l.to >= 0 && v.comp[l.to] != c && v.bad[v.comp[l.to]] {
						bad = true
					}
				}
			}
			v.bad = append(v.bad, bad)
			stack = stack[:k]
		}
	}
}

func (v *validator) selfLoop(u int32) bool {
	for _, l := range v.nodes[u].links {
		if l.to == u {
			return true
		}
	}
	return false
}

// reportCycle finds the shortest cycle through the smallest id of one
// strongly connected component and reports it on every member.
func (v *validator) reportCycle(members []int32) {
	start := slices.MinFunc(members, func(a, b int32) int { return strings.Compare(string(v.nodes[a].id), string(v.nodes[b].id)) })
	c := v.comp[start]
	// Breadth-first from start inside the component until an edge comes
	// back to start.
	parent := map[int32]int32{start: -1}
	queue := []int32{start}
	last := int32(-1)
search:
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		for _, l := range v.nodes[u].links {
			w := l.to
			if w < 0 || v.comp[w] != c {
				continue
			}
			if w == start {
				last = u
				break search
			}
			if _, seen := parent[w]; !seen {
				parent[w] = u
				queue = append(queue, w)
			}
		}
	}
	var path []int32
	for u := last; u != -1; u = parent[u] {
		path = append(path, u)
	}
	slices.Reverse(path)
	path = append(path, start)
	name := func(i int32) string { return fmt.Sprintf("%s (%s)", v.nodes[i].id, v.nodes[i].def.Class) }
	var parts []string
	if len(path) > maxCycleNames {
		for _, i := range path[:maxCycleNames-2] {
			parts = append(parts, name(i))
		}
		parts = append(parts, fmt.Sprintf("... (%d more)", len(path)-maxCycleNames))
		for _, i := range path[len(path)-2:] {
			parts = append(parts, name(i))
		}
	} else {
		for _, i := range path {
			parts = append(parts, name(i))
		}
	}
	details := strings.Join(parts, " -> ")
	for _, m := range members {
		v.nodes[m].fail(TypeCycle, "", "Dependency cycle detected", details)
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
