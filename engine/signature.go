// signature.go: input signatures: the cross-run cache's keys.

package engine

import (
	"crypto/sha256"
	"slices"
	"strings"
)

// sigKey is a node's input signature: a hash of its class, fingerprint and
// literal inputs and, through its links, of the signatures of everything
// upstream. Equal keys mean equal outputs, so the cache is keyed by it.
type sigKey [sha256.Size]byte

type sigMemo struct {
	key  sigKey
	ok   bool
	busy bool // being computed: its walk has not finished it
	done bool // computed (in sigScratch.orig; an entry of run.sigs is done unless busy)
}

// sig returns id's signature; ok is false when it must never be cached (an
// AlwaysChanged fingerprint, an unhashable literal, a cycle, or any of
// these upstream). The signatures of original nodes are kept by their
// validation index, and computed from validation's links; the others
// (expanded nodes, original nodes validation did not reach) by id.
func (r *run) sig(id NodeID) (sigKey, bool) {
	if i, ok := r.v.index.get(id); ok {
		m := r.origSig(i)
		return m.key, m.ok
	}
	return r.sigByID(id)
}

// sigByID is sig for a node validation did not reach: memoized by id.
func (r *run) sigByID(id NodeID) (sigKey, bool) {
	if m, ok := r.sigs[id]; ok {
		return m.key, m.ok
	}
	def, _, ok := r.lookup(id)
	if !ok {
		r.sigs[id] = sigMemo{}
		return sigKey{}, false
	}
	if r.producersSigned(def) { // the common case: producers ran first
		m := r.immediateSig(id, def, nil)
		r.sigs[id] = m
		return m.key, m.ok
	}
	// Iterative post-order over the definition graph; a node being
	// visited is memoized busy, so a link to it closes a cycle.
	stack := append(r.sigx.stack[:0], sigFrame{id: id, def: def})
	defer func() { r.sigx.stack = stack[:0] }()
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		if m, seen := r.sigs[f.id]; seen && (!m.busy || !f.expanded) {
			stack = stack[:len(stack)-1]
			continue
		}
		if f.def == nil {
			if f.def, _, ok = r.lookup(f.id); !ok {
				r.sigs[f.id] = sigMemo{}
				stack = stack[:len(stack)-1]
				continue
			}
		}
		if !f.expanded {
			f.expanded = true
			cur, def := f.id, f.def
			r.sigs[cur] = sigMemo{busy: true}
			for _, v := range def.Inputs {
				ref, isRef := v.(Ref)
				if !isRef {
					continue
				}
				if i, ok := r.v.index.get(ref.Node); ok {
					r.origSig(i) // original nodes link only to original nodes
					continue
				}
				m, seen := r.sigs[ref.Node]
				switch {
				case m.busy:
					r.sigs[cur] = sigMemo{} // a cycle: never cacheable
				case !seen:
					stack = append(stack, sigFrame{id: ref.Node})
				}
			}
			continue
		}
		cur, def := f.id, f.def
		stack = stack[:len(stack)-1]
		r.sigs[cur] = r.immediateSig(cur, def, nil)
	}
	m := r.sigs[id]
	return m.key, m.ok
}

// nodeSig is sig for a node the run made, with no lookup in the id index:
// an original node's signature by its validation index, an expanded node's
// by id.
func (r *run) nodeSig(n *rnode) (sigKey, bool) {
	if n.vi >= 0 {
		m := r.origSig(n.vi)
		return m.key, m.ok
	}
	if n.info != nil {
		return r.sigByID(n.id)
	}
	return r.sig(n.id)
}

// producersSigned reports whether the signature of every node def links
// to is already known, so def's needs no walk.
func (r *run) producersSigned(def *Node) bool {
	for _, v := range def.Inputs {
		ref, isRef := v.(Ref)
		if !isRef {
			continue
		}
		if i, ok := r.v.index.get(ref.Node); ok {
			if r.sigx.orig == nil || !r.sigx.orig[i].done {
				return false
			}
			continue
		}
		if m, seen := r.sigs[ref.Node]; !seen || m.busy {
			return false
		}
	}
	return true
}

// origSig returns the signature of original node i, walking its
// producers by validation index (no lookup by id).
func (r *run) origSig(i int32) sigMemo {
	if r.sigx.orig == nil {
		r.sigx.orig = make([]sigMemo, len(r.v.vnodes))
	}
	if m := r.sigx.orig[i]; m.done {
		return m
	}
	// Iterative post-order; a negative entry is a node to finish.
	stack := []int32{i}
	for len(stack) > 0 {
		j := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if j < 0 {
			j = ^j
			if m := &r.sigx.orig[j]; m.busy {
				vn := &r.v.vnodes[j]
				*m = r.immediateSig(vn.id, vn.out, vn.links)
				m.done = true
			}
			continue
		}
		m := &r.sigx.orig[j]
		if m.done || m.busy {
			continue
		}
		m.busy = true
		stack = append(stack, ^j)
		for _, l := range r.v.vnodes[j].links {
			if l.to < 0 {
				continue // not in the workflow: immediateSig says not cacheable
			}
			switch p := &r.sigx.orig[l.to]; {
			case p.busy:
				*m = sigMemo{done: true} // a cycle: never cacheable
			case !p.done:
				stack = append(stack, l.to)
			}
		}
	}
	return r.sigx.orig[i]
}

// linkMemo is the signature of the producer of def's input name, which
// links to ref; links are def's links by validation index (sorted by
// input name) for an original node, nil for the others.
func (r *run) linkMemo(ref Ref, name string, links []vlink) sigMemo {
	if links != nil {
		k, ok := slices.BinarySearchFunc(links, name, func(l vlink, name string) int { return strings.Compare(l.input, name) })
		if !ok || links[k].to < 0 {
			return sigMemo{}
		}
		return r.sigx.orig[links[k].to]
	}
	if i, ok := r.v.index.get(ref.Node); ok && r.sigx.orig != nil {
		return r.sigx.orig[i] // computed by sig's walk before its consumer
	}
	return r.sigs[ref.Node]
}

// sigScratch is a run's signature state: the signatures of original
// nodes by validation index, and a writer reused for every node.
type sigScratch struct {
	orig  []sigMemo
	w     sigWriter
	stack []sigFrame // sigByID's walk, reused
}

// sigFrame is a node on sigByID's walk.
type sigFrame struct {
	id       NodeID
	def      *Node
	expanded bool
}

// immediateSig hashes id's class, fingerprint and inputs, its links by
// the signatures of their producers (computed before). links are its
// links by validation index for an original node (see linkMemo).
func (r *run) immediateSig(id NodeID, def *Node, links []vlink) sigMemo {
	t, ok := r.e.reg.Lookup(def.Class)
	if !ok {
		return sigMemo{}
	}
	w := &r.sigx.w
	defer w.reset()
	w.str(def.Class)
	fp, ok := r.fingerprint(id, t, def)
	if !ok || !w.value(fp) {
		return sigMemo{}
	}
	for _, in := range t.Schema.Inputs {
		if in.Hidden == HiddenUniqueID {
			w.str("#id")
			w.str(string(id))
		}
	}
	w.names = sortedNames(w.names[:0], def.Inputs)
	for _, name := range w.names {
		w.str(name)
		v := def.Inputs[name]
		if ref, isRef := v.(Ref); isRef {
			m := r.linkMemo(ref, name, links)
			if !m.ok {
				return sigMemo{}
			}
			w.byte('L')
			w.bytes(m.key[:])
			w.int(int64(ref.Out))
			continue
		}
		if !w.value(v) {
			return sigMemo{}
		}
	}
	return sigMemo{key: w.sum(), ok: true}
}

// sortedNames appends the keys of m to names, sorted.
func sortedNames(names []string, m map[string]any) []string {
	for k := range m {
		names = append(names, k)
	}
	if len(names) <= 8 { // most nodes: an insertion sort
		for i := 1; i < len(names); i++ {
			for j := i; j > 0 && names[j] < names[j-1]; j-- {
				names[j], names[j-1] = names[j-1], names[j]
			}
		}
	} else {
		slices.Sort(names)
	}
	return names
}

// fingerprint asks a Fingerprinter with the node's literal inputs.
func (r *run) fingerprint(id NodeID, t *NodeType, def *Node) (fp any, ok bool) {
	f, isF := t.Runner.(Fingerprinter)
	if !isF {
		return nil, true
	}
	c := &Call{Node: id, Class: def.Class, Inputs: map[string]any{}}
	for name, v := range def.Inputs {
		if _, isRef := v.(Ref); isRef {
			continue
		}
		if l, isL := v.(Literal); isL {
			v = l.Value
		}
		c.Inputs[name] = v
	}
	for _, in := range t.Schema.Inputs {
		if _, has := def.Inputs[in.Name]; !has && in.Default != nil {
			c.Inputs[in.Name] = in.Default
		}
	}
	defer func() {
		if recover() != nil {
			fp, ok = nil, false
		}
	}()
	v, err := f.Fingerprint(c)
	if err != nil || v == AlwaysChanged {
		return nil, false
	}
	return v, true
}
