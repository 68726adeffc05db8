// inputvalue.go: decoding of one input value of workflow JSON: links, literals and numbers.

package engine

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// decodeInput converts one decoded input value: a link becomes a Ref,
// {"__value__": x} becomes x as a literal, numbers become int64 or float64.
func decodeInput(v any) (any, error) {
	switch x := v.(type) {
	case []any:
		if len(x) == 2 {
			if id, ok := x[0].(string); ok {
				if num, ok := x[1].(json.Number); ok {
					out, err := linkIndex(num)
					if err != nil {
						return nil, err
					}
					return Ref{Node: NodeID(id), Out: out}, nil
				}
			}
		}
	case map[string]any:
		if inner, ok := x["__value__"]; ok && len(x) == 1 {
			return decodeLiteral(inner)
		}
	}
	return decodeLiteral(v)
}

// linkIndex is a link's output index: an integer, or an integral float as
// ComfyUI's is_link accepts.
func linkIndex(num json.Number) (int, error) {
	v, err := decodeNumber(num)
	if err != nil {
		return 0, err
	}
	const hint = ` (a literal list is written {"__value__": [...]})`
	var f float64
	switch x := v.(type) {
	case int64:
		f = float64(x)
	case float64:
		if x != math.Trunc(x) {
			return 0, fmt.Errorf("link output index %s is not an integer%s", num, hint)
		}
		f = x
	}
	if f < 0 {
		return 0, fmt.Errorf("link output index %s is negative%s", num, hint)
	}
	if f > math.MaxInt32 {
		return 0, fmt.Errorf("link output index %s is out of range%s", num, hint)
	}
	return int(f), nil
}

// decodeLiteral converts numbers everywhere inside v. Arrays inside a
// literal are never links.
func decodeLiteral(v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		return decodeNumber(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			c, err := decodeLiteral(e)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			c, err := decodeLiteral(e)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	}
	return v, nil
}

// decodeNumber is int64 for integer text that fits, float64 otherwise.
func decodeNumber(n json.Number) (any, error) {
	s := string(n)
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("number %s is out of range", s)
	}
	return f, nil
}
