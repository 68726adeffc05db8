// inputs.go: validation of one node's inputs: links, types, literals, ranges and custom validators.

package engine

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

func (n *vnode) fail(typ, input, message, details string) {
	n.errs = append(n.errs, ValidationError{Type: typ, Message: message, Details: details, Input: input})
}

// link returns n's link on input name.
func (n *vnode) link(name string) (vlink, bool) {
	if len(n.links) <= 8 { // most nodes: a scan costs less than a search
		for _, l := range n.links {
			if l.input == name {
				return l, true
			}
		}
		return vlink{}, false
	}
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

// CoerceLiterals converts in place the literal inputs of wf that
// validation would convert: a literal of a declared input to the input's
// type (a FLOAT written 1 becomes float64 1, an INT written "5" int64 5)
// and Literal wrappers unwrapped. Validation then has nothing to convert,
// so a run shares wf's nodes instead of copying each node it converts.
// Literals that do not convert, and nodes of classes reg does not have,
// are left for validation to report. It changes the nodes' input maps:
// call it only on a workflow nothing else reads, before running it.
// DecodeWorkflowFor does the same while it decodes.
func CoerceLiterals(reg *Registry, wf Workflow) {
	c := literalCoercer{reg: reg}
	for _, n := range wf {
		c.node(n)
	}
}

// literalCoercer converts nodes' literals for CoerceLiterals and
// DecodeWorkflowFor. Not safe for concurrent use.
type literalCoercer struct {
	reg       *Registry
	lastClass string
	t         *NodeType // lastClass's type
}

// node converts n's literals.
func (c *literalCoercer) node(n *Node) {
	if n == nil || len(n.Inputs) == 0 {
		return
	}
	if n.Class != c.lastClass || c.t == nil {
		c.lastClass = n.Class
		c.t, _ = c.reg.Lookup(n.Class)
	}
	t := c.t
	if t == nil {
		return
	}
	declared := 0
	for i := range t.Schema.Inputs {
		in := &t.Schema.Inputs[i]
		if in.Hidden != NotHidden {
			continue
		}
		raw, ok := n.Inputs[in.Name]
		if !ok {
			continue
		}
		declared++
		if _, isLink := raw.(Ref); isLink {
			continue
		}
		lit, unwrapped := unwrapLiteral(raw)
		if val, changed, err := coerce(in.Type, lit); err == nil && (unwrapped || changed) {
			n.Inputs[in.Name] = val
		}
	}
	if declared == len(n.Inputs) {
		return
	}
	for name, raw := range n.Inputs { // undeclared and hidden: only unwrapped
		if _, ok := raw.(Literal); !ok || isDeclared(t, name) {
			continue
		}
		if val, ok := unwrapLiteral(raw); ok {
			n.Inputs[name] = val
		}
	}
}

// isDeclared says whether t declares input name (not hidden).
func isDeclared(t *NodeType, name string) bool {
	for i := range t.Schema.Inputs {
		if in := &t.Schema.Inputs[i]; in.Name == name && in.Hidden == NotHidden {
			return true
		}
	}
	return false
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

// formatValue writes a literal for messages, numbers as Python would.
// Lists and maps are cut short (a few elements, a few levels), so a huge
// or self-containing literal still makes a short message.
func formatValue(v any) string {
	var b strings.Builder
	writeValue(&b, v, 0)
	return b.String()
}

const (
	formatMaxDepth = 3 // list and map levels shown
	formatMaxItems = 8 // elements shown per list or map
	formatMaxText  = 200
)

func writeValue(b *strings.Builder, v any, depth int) {
	switch x := v.(type) {
	case float64:
		b.WriteString(formatFloat(x))
	case string:
		if len(x) > formatMaxText {
			x = x[:formatMaxText] + "..."
		}
		b.WriteString(x)
	case Literal:
		writeValue(b, x.Value, depth)
	case []any:
		if depth == formatMaxDepth {
			fmt.Fprintf(b, "[... %d elements]", len(x))
			return
		}
		b.WriteByte('[')
		for i, e := range x {
			if i == formatMaxItems {
				fmt.Fprintf(b, " ... (%d more)", len(x)-i)
				break
			}
			if i > 0 {
				b.WriteByte(' ')
			}
			writeValue(b, e, depth+1)
		}
		b.WriteByte(']')
	case map[string]any:
		if depth == formatMaxDepth {
			fmt.Fprintf(b, "map[... %d keys]", len(x))
			return
		}
		b.WriteString("map[")
		for i, k := range slices.Sorted(maps.Keys(x)) {
			if i == formatMaxItems {
				fmt.Fprintf(b, " ... (%d more)", len(x)-i)
				break
			}
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(k + ":")
			writeValue(b, x[k], depth+1)
		}
		b.WriteByte(']')
	default:
		s := fmt.Sprint(v)
		if len(s) > formatMaxText {
			s = s[:formatMaxText] + "..."
		}
		b.WriteString(s)
	}
}

func formatBound(in *InputSpec, b float64) string {
	if in.Type == "INT" && b == math.Trunc(b) && math.Abs(b) < 1e18 {
		return strconv.FormatInt(int64(b), 10)
	}
	return formatFloat(b)
}
