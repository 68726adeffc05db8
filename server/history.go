// history.go: the history of finished prompts, paged as ComfyUI pages it.

package server

import (
	"bytes"
	"encoding/json"
	"slices"
	"sync"
)

// history keeps the finished prompts in insertion order, each encoded
// once (an entry never changes), at most max of them and maxBytes of
// encoded entries: the oldest go first (the newest always stays).
type history struct {
	mu       sync.Mutex
	max      int
	maxBytes int64
	bytes    int64
	order    []string
	items    map[string]json.RawMessage
}

func newHistory(max int, maxBytes int64) *history {
	return &history{max: max, maxBytes: maxBytes, items: map[string]json.RawMessage{}}
}

// add stores an entry. A prompt id already there keeps its place, as a
// Python dict does.
func (h *history) add(id string, entry json.RawMessage) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if old, ok := h.items[id]; ok {
		h.bytes -= int64(len(old))
	} else {
		h.order = append(h.order, id)
	}
	h.items[id] = entry
	h.bytes += int64(len(entry))
	for len(h.order) > h.max || (h.bytes > h.maxBytes && len(h.order) > 1) {
		h.bytes -= int64(len(h.items[h.order[0]]))
		delete(h.items, h.order[0])
		h.order[0] = ""
		h.order = h.order[1:]
	}
	if cap(h.order) > 2*h.max+16 { // let the evicted prefix go
		h.order = slices.Clone(h.order)
	}
}

// get returns one entry.
func (h *history) get(id string) (json.RawMessage, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.items[id]
	return e, ok
}

// len is the number of entries.
func (h *history) len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.order)
}

// page encodes a JSON object of entries in insertion order, as ComfyUI's
// get_history(max_items, offset): from offset on, at most maxItems
// entries (maxItems < 0: all); a negative offset with maxItems means the
// last maxItems.
func (h *history) page(maxItems, offset int) []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	if offset < 0 && maxItems >= 0 {
		offset = len(h.order) - maxItems
	}
	offset = max(offset, 0)
	var b bytes.Buffer
	b.WriteByte('{')
	n := 0
	for i := offset; i < len(h.order); i++ {
		if maxItems >= 0 && n >= maxItems {
			break
		}
		if n > 0 {
			b.WriteByte(',')
		}
		key, _ := json.Marshal(h.order[i])
		b.Write(key)
		b.WriteByte(':')
		b.Write(h.items[h.order[i]])
		n++
	}
	b.WriteByte('}')
	return b.Bytes()
}

// remove deletes entries by id, or every entry for clear.
func (h *history) remove(ids []string, clear bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if clear {
		h.order, h.items, h.bytes = nil, map[string]json.RawMessage{}, 0
		return
	}
	for _, id := range ids {
		h.bytes -= int64(len(h.items[id]))
		delete(h.items, id)
	}
	h.order = slices.DeleteFunc(h.order, func(id string) bool { _, ok := h.items[id]; return !ok })
}
