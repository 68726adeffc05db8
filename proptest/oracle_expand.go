// oracle_expand.go: the oracle's expansions: new nodes checked and added, restrict violations recorded.

package proptest

import (
	"fmt"
	"reflect"

	"github.com/ebbgraph/ebb/engine"
)

// expand adds an expansion of id to the graph, records restrict
// violations and evaluates the expansion's output nodes.
func (o *Oracle) expand(id engine.NodeID, nout int, x *engine.Expansion) error {
	o.res.Expansions[id]++
	if len(x.Outputs) != nout {
		return fmt.Errorf("%w: expansion has %d outputs, want %d", engine.ErrBadResult, len(x.Outputs), nout)
	}
	anc := o.ancestors(id)
	check := func(ref engine.Ref) error {
		def, isNew := x.Nodes[ref.Node]
		if !isNew {
			def = o.defs[ref.Node]
			if !anc[ref.Node] {
				o.res.Violations = append(o.res.Violations, Violation{Expander: id, Target: ref.Node})
			}
		}
		if def == nil {
			return fmt.Errorf("%w: %q", engine.ErrMissingNode, ref.Node)
		}
		t, ok := o.reg.Lookup(def.Class)
		if !ok {
			return fmt.Errorf("%w: %q", engine.ErrUnknownClass, def.Class)
		}
		if ref.Out < 0 || ref.Out >= len(t.Schema.Outputs) {
			return fmt.Errorf("%w: %v", engine.ErrBadOutput, ref)
		}
		return nil
	}
	ids := x.Nodes.IDs()
	for _, nid := range ids {
		def := x.Nodes[nid]
		for _, name := range def.InputNames() {
			if ref, ok := def.Inputs[name].(engine.Ref); ok {
				if err := check(ref); err != nil {
					return err
				}
			}
		}
	}
	for _, item := range x.Outputs {
		if ref, ok := item.(engine.Ref); ok {
			if err := check(ref); err != nil {
				return err
			}
		}
	}
	m := o.meta[id]
	var added []engine.NodeID
	for _, nid := range ids {
		def := x.Nodes[nid]
		if old, ok := o.defs[nid]; ok {
			if !reflect.DeepEqual(old, def) {
				return fmt.Errorf("%w: expansion node %q already exists with another definition", engine.ErrDuplicateID, nid)
			}
			continue
		}
		if _, ok := o.reg.Lookup(def.Class); !ok {
			return fmt.Errorf("%w: %q", engine.ErrUnknownClass, def.Class)
		}
		display := m.display
		if def.DisplayID != "" {
			display = def.DisplayID
		}
		o.defs[nid] = def
		o.meta[nid] = &onode{parent: id, real: m.real, display: display}
		added = append(added, nid)
	}
	for _, nid := range added {
		if t, _ := o.reg.Lookup(o.defs[nid].Class); t.Schema.OutputNode {
			o.evalOutput(nid, t)
		}
	}
	return nil
}

// ancestors returns every node id's definition transitively links to.
func (o *Oracle) ancestors(id engine.NodeID) map[engine.NodeID]bool {
	seen := map[engine.NodeID]bool{}
	stack := []engine.NodeID{id}
	for len(stack) > 0 {
		d := o.defs[stack[len(stack)-1]]
		stack = stack[:len(stack)-1]
		if d == nil {
			continue
		}
		for _, v := range d.Inputs {
			if ref, ok := v.(engine.Ref); ok && !seen[ref.Node] {
				seen[ref.Node] = true
				stack = append(stack, ref.Node)
			}
		}
	}
	return seen
}
