// signature.go: input signatures: the cross-run cache's keys.

package engine

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"maps"
	"math"
	"slices"
)

// sigKey is a node's input signature: a hash of its class, fingerprint and
// literal inputs and, through its links, of the signatures of everything
// upstream. Equal keys mean equal outputs, so the cache is keyed by it.
type sigKey [sha256.Size]byte

type sigMemo struct {
	key sigKey
	ok  bool
}

// sig returns id's signature; ok is false when it must never be cached (an
// AlwaysChanged fingerprint, an unhashable literal, a cycle, or any of
// these upstream).
func (r *run) sig(id NodeID) (sigKey, bool) {
	if m, ok := r.sigs[id]; ok {
		return m.key, m.ok
	}
	// Iterative post-order over the definition graph.
	type frame struct {
		id       NodeID
		expanded bool
	}
	onStack := map[NodeID]bool{}
	stack := []frame{{id: id}}
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		if _, done := r.sigs[f.id]; done {
			stack = stack[:len(stack)-1]
			continue
		}
		def, _, ok := r.lookup(f.id)
		if !ok {
			r.sigs[f.id] = sigMemo{}
			stack = stack[:len(stack)-1]
			continue
		}
		if !f.expanded {
			f.expanded = true
			onStack[f.id] = true
			cur := f.id
			for _, name := range def.InputNames() {
				ref, isRef := def.Inputs[name].(Ref)
				if !isRef {
					continue
				}
				if _, done := r.sigs[ref.Node]; done {
					continue
				}
				if onStack[ref.Node] {
					r.sigs[cur] = sigMemo{} // a cycle: never cacheable
					continue
				}
				stack = append(stack, frame{id: ref.Node})
			}
			continue
		}
		onStack[f.id] = false
		cur := f.id
		stack = stack[:len(stack)-1]
		if _, done := r.sigs[cur]; done {
			continue
		}
		r.sigs[cur] = r.immediateSig(cur, def)
	}
	m := r.sigs[id]
	return m.key, m.ok
}

func (r *run) immediateSig(id NodeID, def *Node) sigMemo {
	t, ok := r.e.reg.Lookup(def.Class)
	if !ok {
		return sigMemo{}
	}
	h := sha256.New()
	writeStr(h, def.Class)
	fp, ok := r.fingerprint(id, t, def)
	if !ok || !hashValue(h, fp) {
		return sigMemo{}
	}
	for _, in := range t.Schema.Inputs {
		if in.Hidden == HiddenUniqueID {
			writeStr(h, "#id")
			writeStr(h, string(id))
		}
	}
	for _, name := range def.InputNames() {
		writeStr(h, name)
		v := def.Inputs[name]
		if ref, isRef := v.(Ref); isRef {
			m := r.sigs[ref.Node]
			if !m.ok {
				return sigMemo{}
			}
			h.Write([]byte{'L'})
			h.Write(m.key[:])
			writeInt(h, int64(ref.Out))
			continue
		}
		if !hashValue(h, v) {
			return sigMemo{}
		}
	}
	var m sigMemo
	h.Sum(m.key[:0])
	m.ok = true
	return m
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

func writeStr(h hash.Hash, s string) {
	writeInt(h, int64(len(s)))
	h.Write([]byte(s))
}

func writeInt(h hash.Hash, v int64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(v))
	h.Write(b[:])
}

// hashValue writes a literal; it reports false for values with no stable
// encoding (which are then never cached, like ComfyUI's Unhashable), and
// for literals too big to hash cheaply: nested deeper than maxHashDepth
// (a list that contains itself is infinitely deep) or with more than
// maxHashItems elements in all, a string counting one per 64 bytes
// (counting a list shared n times n times, so a DAG of shared lists
// cannot take exponential time).
func hashValue(h hash.Hash, v any) bool {
	budget := maxHashItems
	return hashLiteral(h, v, 0, &budget)
}

const (
	maxHashDepth = 1000
	maxHashItems = 1 << 18
)

func hashLiteral(h hash.Hash, v any, depth int, budget *int) bool {
	if *budget--; *budget < 0 || depth > maxHashDepth {
		return false
	}
	switch x := v.(type) {
	case nil:
		h.Write([]byte{'n'})
	case bool:
		if x {
			h.Write([]byte{'t'})
		} else {
			h.Write([]byte{'f'})
		}
	case int:
		h.Write([]byte{'i'})
		writeInt(h, int64(x))
	case int64:
		h.Write([]byte{'i'})
		writeInt(h, x)
	case float64:
		if math.IsNaN(x) {
			return false
		}
		h.Write([]byte{'d'})
		writeInt(h, int64(math.Float64bits(x)))
	case string:
		if *budget -= len(x) / 64; *budget < 0 { // long strings count by size
			return false
		}
		h.Write([]byte{'s'})
		writeStr(h, x)
	case Literal:
		return hashLiteral(h, x.Value, depth+1, budget)
	case []any:
		h.Write([]byte{'['})
		writeInt(h, int64(len(x)))
		for _, e := range x {
			if !hashLiteral(h, e, depth+1, budget) {
				return false
			}
		}
	case map[string]any:
		h.Write([]byte{'{'})
		writeInt(h, int64(len(x)))
		for _, k := range slices.Sorted(maps.Keys(x)) {
			writeStr(h, k)
			if !hashLiteral(h, x[k], depth+1, budget) {
				return false
			}
		}
	default:
		return false
	}
	return true
}
