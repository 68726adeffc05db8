// sigwriter.go: the buffer a signature is hashed from, and how literals are written into it.

package engine

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"maps"
	"math"
	"slices"
)

// sigWriter collects what a signature hashes in a buffer and hashes it in
// one call; a big literal goes through a streaming hash in chunks.
type sigWriter struct {
	b     []byte
	h     hash.Hash // made for input beyond sigChunk
	names []string
}

// sigChunk is the most sigWriter buffers before it streams.
const sigChunk = 16 << 10

func (w *sigWriter) byte(c byte) { w.b = append(w.b, c) }

func (w *sigWriter) int(v int64) { w.b = binary.LittleEndian.AppendUint64(w.b, uint64(v)) }

func (w *sigWriter) bytes(p []byte) {
	w.flushFor(len(p))
	w.b = append(w.b, p...)
}

// str writes s with its length before it.
func (w *sigWriter) str(s string) {
	w.int(int64(len(s)))
	for len(s) > sigChunk { // a long string, a chunk at a time
		w.flushFor(sigChunk)
		w.b = append(w.b, s[:sigChunk]...)
		s = s[sigChunk:]
	}
	w.flushFor(len(s))
	w.b = append(w.b, s...)
}

// flushFor hashes the buffer when n more bytes would not fit in a chunk.
func (w *sigWriter) flushFor(n int) {
	if len(w.b)+n <= sigChunk {
		return
	}
	w.stream()
}

// stream moves the buffer into the streaming hash. (Through a copy: the
// buffer may be on the caller's stack, and a hash.Hash may keep what it
// is given, for all the compiler knows.)
func (w *sigWriter) stream() {
	if w.h == nil {
		w.h = sha256.New()
	}
	w.h.Write(bytes.Clone(w.b))
	w.b = w.b[:0]
}

// reset empties w for the next node, keeping its buffers unless one grew
// big for a big literal.
func (w *sigWriter) reset() {
	clear(w.names)
	w.b, w.names = w.b[:0], w.names[:0]
	if cap(w.b) > 2*sigChunk {
		w.b = nil
	}
	if w.h != nil {
		w.h.Reset()
	}
}

// sum returns the hash of everything written and resets w.
func (w *sigWriter) sum() (k sigKey) {
	if w.h == nil {
		k = sha256.Sum256(w.b)
	} else {
		w.stream()
		copy(k[:], w.h.Sum(nil))
		w.h.Reset()
	}
	w.b = w.b[:0]
	return k
}

// value writes a literal; it reports false for values with no stable
// encoding (which are then never cached, like ComfyUI's Unhashable), and
// for literals too big to hash cheaply: nested deeper than maxHashDepth (a
// list that contains itself is infinitely deep) or with more than
// maxHashItems elements in all, a string counting one per 64 bytes
// (counting a list shared n times n times, so a DAG of shared lists cannot
// take exponential time).
func (w *sigWriter) value(v any) bool {
	budget := maxHashItems
	return w.literal(v, 0, &budget)
}

const (
	maxHashDepth = 1000
	maxHashItems = 1 << 18
)

func (w *sigWriter) literal(v any, depth int, budget *int) bool {
	if *budget--; *budget < 0 || depth > maxHashDepth {
		return false
	}
	switch x := v.(type) {
	case nil:
		w.byte('n')
	case bool:
		if x {
			w.byte('t')
		} else {
			w.byte('f')
		}
	case int:
		w.byte('i')
		w.int(int64(x))
	case int64:
		w.byte('i')
		w.int(x)
	case float64:
		if math.IsNaN(x) {
			return false
		}
		w.byte('d')
		w.int(int64(math.Float64bits(x)))
	case string:
		if *budget -= len(x) / 64; *budget < 0 { // long strings count by size
			return false
		}
		w.byte('s')
		w.str(x)
	case Literal:
		return w.literal(x.Value, depth+1, budget)
	case []any:
		w.byte('[')
		w.int(int64(len(x)))
		for _, e := range x {
			if !w.literal(e, depth+1, budget) {
				return false
			}
		}
	case map[string]any:
		w.byte('{')
		w.int(int64(len(x)))
		for _, k := range slices.Sorted(maps.Keys(x)) {
			w.str(k)
			if !w.literal(x[k], depth+1, budget) {
				return false
			}
		}
	default:
		return false
	}
	return true
}
