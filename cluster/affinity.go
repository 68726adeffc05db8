// affinity.go: cache affinity: the signatures of a prompt's loader nodes.

package cluster

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
)

// loaderSignatures returns a signature per loader node of prompt (a node
// whose inputs are all literals: a checkpoint or model loader, a
// constant), from its class and its literal inputs, sorted. Two prompts
// that share a loader signature share that node's cache entry (and that
// of every node above it that also matches).
func loaderSignatures(prompt json.RawMessage) []string {
	var wf map[string]struct {
		Class  string                     `json:"class_type"`
		Inputs map[string]json.RawMessage `json:"inputs"`
	}
	if json.Unmarshal(prompt, &wf) != nil {
		return nil
	}
	var sigs []string
	for _, n := range wf {
		names := make([]string, 0, len(n.Inputs))
		link := false
		for name, v := range n.Inputs {
			if isLink(v) {
				link = true
				break
			}
			names = append(names, name)
		}
		if link {
			continue
		}
		slices.Sort(names)
		h := sha256.New()
		h.Write([]byte(n.Class))
		for _, name := range names {
			h.Write([]byte{0})
			h.Write([]byte(name))
			h.Write([]byte{0})
			h.Write(n.Inputs[name])
		}
		sigs = append(sigs, hex.EncodeToString(h.Sum(nil)[:12]))
	}
	slices.Sort(sigs)
	return slices.Compact(sigs)
}

// isLink reports an input that is a link [from_node_id, output_index].
func isLink(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || v[0] != '[' {
		return false
	}
	var l []json.RawMessage
	if json.Unmarshal(v, &l) != nil || len(l) != 2 {
		return false
	}
	var s string
	return json.Unmarshal(l[0], &s) == nil
}

// held is what a worker's cache is believed to hold: the loader
// signatures of its recent prompts (at most max, the oldest go first).
type held struct {
	max   int
	order []string
	set   map[string]bool
}

func newHeld(max int) *held { return &held{max: max, set: map[string]bool{}} }

func (h *held) hits(sigs []string) bool {
	for _, s := range sigs {
		if h.set[s] {
			return true
		}
	}
	return false
}

func (h *held) add(sigs []string) {
	for _, s := range sigs {
		if h.set[s] {
			continue
		}
		h.set[s] = true
		h.order = append(h.order, s)
	}
	for len(h.order) > h.max {
		delete(h.set, h.order[0])
		h.order = h.order[1:]
	}
}

func (h *held) clear() {
	h.order, h.set = nil, map[string]bool{}
}
