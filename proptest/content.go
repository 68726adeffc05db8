// content.go: the pack's values: contents, the buffers (or Bufs) that carry them, and how nodes read their inputs.

package proptest

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/ebbgraph/ebb/engine"
)

// Buf is the oracle's stand-in for a device buffer of Bytes bytes holding
// Content.
type Buf struct {
	Content int64
	Bytes   int64
}

// labelPrefix starts the Label of every buffer the pack allocates.
const labelPrefix = "pt "

// Content returns the content of a pack value: an int64, a live
// *engine.Buffer made by the pack, or a Buf. A released buffer is an
// error wrapping device.ErrUseAfterFree.
func Content(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case Buf:
		return x.Content, nil
	case *engine.Buffer:
		if err := x.Check(); err != nil {
			return 0, err
		}
		s, ok := strings.CutPrefix(x.Label, labelPrefix)
		if !ok {
			return 0, fmt.Errorf("proptest: buffer %v was not made by the pack", x)
		}
		return strconv.ParseInt(s, 10, 64)
	case bool: // testpack conditions
		if x {
			return 1, nil
		}
		return 0, nil
	}
	return 0, fmt.Errorf("proptest: %T %v is not a pack value", v, v)
}

// mix combines two contents (a 64-bit mixing step; wraps around).
func mix(h, x int64) int64 {
	u := (uint64(h) ^ uint64(x)) * 0x9E3779B97F4A7C15
	u ^= u >> 29
	u *= 0xBF58476D1CE4E5B9
	u ^= u >> 32
	return int64(u)
}

// makeValue returns content as a value of size bytes: the int64 itself
// when size is 0, a Buf in the oracle, else a new device buffer.
func makeValue(ctx context.Context, c *engine.Call, content, size int64) (any, error) {
	if size <= 0 {
		return content, nil
	}
	if InOracle(ctx) {
		return Buf{Content: content, Bytes: size}, nil
	}
	return c.Alloc(ctx, size, labelPrefix+strconv.FormatInt(content, 10))
}

// param reads an integer literal input; absent is 0. For InputIsList
// nodes the literal arrives as a one-element list.
func param(c *engine.Call, name string) int64 {
	v, ok := c.Inputs[name]
	if !ok {
		return 0
	}
	if l, ok := v.([]any); ok && len(l) > 0 {
		v = l[0]
	}
	n, _ := engine.AsInt(v)
	return n
}

// mixInputs mixes the contents of the present inputs among names into h,
// tagging each with its position so absent and present inputs differ.
func mixInputs(c *engine.Call, h int64, names ...string) (int64, error) {
	for i, name := range names {
		v, ok := c.Inputs[name]
		if !ok {
			h = mix(h, int64(-1-i))
			continue
		}
		x, err := Content(v)
		if err != nil {
			return 0, fmt.Errorf("input %q: %w", name, err)
		}
		h = mix(mix(h, int64(i)), x)
	}
	return h, nil
}

// work allocates working memory (freed by the engine when the call
// returns; nothing in the oracle).
func work(ctx context.Context, c *engine.Call, bytes int64) error {
	if bytes <= 0 || InOracle(ctx) {
		return nil
	}
	_, err := c.Alloc(ctx, bytes, "work")
	return err
}
