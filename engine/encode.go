// encode.go: encoding of workflows to ComfyUI API-format JSON (EncodeWorkflow, WriteWorkflow).

package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// EncodeWorkflow writes w in ComfyUI's API format, deterministically: node
// ids and input names sorted, indented by two spaces. Refs become
// ["id", n], list literals {"__value__": [...]}, integral float64 values
// keep a ".0" so they decode as floats again.
func EncodeWorkflow(w Workflow) ([]byte, error) {
	var buf bytes.Buffer
	if err := WriteWorkflow(&buf, w); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteWorkflow writes w to wr as EncodeWorkflow does.
func WriteWorkflow(wr io.Writer, w Workflow) error {
	top := make(map[string]jsonNode, len(w))
	for id, n := range w {
		if n == nil {
			return fmt.Errorf("engine: encoding workflow: node %q is nil", string(id))
		}
		jn := jsonNode{Inputs: make(map[string]any, len(n.Inputs)), Class: n.Class, DisplayID: string(n.DisplayID)}
		if n.Title != "" {
			jn.Meta = &jsonMeta{Title: n.Title}
		}
		for name, v := range n.Inputs {
			ev, err := encodeInput(v)
			if err != nil {
				return fmt.Errorf("engine: encoding workflow: node %q input %q: %w", string(id), name, err)
			}
			jn.Inputs[name] = ev
		}
		top[string(id)] = jn
	}
	enc := json.NewEncoder(wr)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(top); err != nil {
		return fmt.Errorf("engine: encoding workflow: %w", err)
	}
	return nil
}

type jsonNode struct {
	Inputs    map[string]any `json:"inputs"`
	Class     string         `json:"class_type"`
	Meta      *jsonMeta      `json:"_meta,omitempty"`
	DisplayID string         `json:"override_display_id,omitempty"`
}

type jsonMeta struct {
	Title string `json:"title"`
}

// encodeInput encodes one input value so that decodeInput gives it back.
func encodeInput(v any) (any, error) {
	if x, ok := v.(Ref); ok {
		if x.Out < 0 {
			return nil, fmt.Errorf("link %v has a negative output index", x)
		}
		return []any{string(x.Node), x.Out}, nil
	}
	inner, err := encodeLiteral(v) // unwraps a Literal
	if err != nil {
		return nil, err
	}
	switch x := inner.(type) {
	case []any:
		// A bare list could read as a link.
		return map[string]any{"__value__": x}, nil
	case map[string]any:
		if _, ok := x["__value__"]; ok && len(x) == 1 {
			// Would be unwrapped on decode: wrap it once more.
			return map[string]any{"__value__": x}, nil
		}
	}
	return inner, nil
}

// encodeLiteral converts a literal to values encoding/json writes as the
// codec wants: numbers as json.Number text, lists as []any.
func encodeLiteral(v any) (any, error) {
	budget := maxEncodeItems
	return encodeLit(v, 0, &budget)
}

// maxEncodeItems bounds the elements of one encoded literal (a string
// counting one per 256 bytes, so 16 MiB of strings in all): its JSON stays
// small, and a shared DAG of lists cannot blow up into an exponential
// document.
const maxEncodeItems = 1 << 16

// encodeLit encodes v at depth, within a budget of elements: a literal
// that contains itself, or a DAG of shared lists whose JSON would be huge,
// is an error rather than a crash.
func encodeLit(v any, depth int, budget *int) (any, error) {
	if *budget--; *budget < 0 {
		return nil, fmt.Errorf("literal too large to encode (more than %d elements)", maxEncodeItems)
	}
	if depth > maxHashDepth {
		return nil, fmt.Errorf("literal nested deeper than %d levels (does it contain itself?)", maxHashDepth)
	}
	switch x := v.(type) {
	case string:
		if *budget -= len(x) >> 8; *budget < 0 {
			return nil, fmt.Errorf("literal too large to encode (strings of more than %d MiB in all)", maxEncodeItems>>12)
		}
		return x, nil
	case nil, bool:
		return x, nil
	case int64:
		return json.Number(strconv.FormatInt(x, 10)), nil
	case int:
		return json.Number(strconv.Itoa(x)), nil
	case float64:
		return encodeFloat(x)
	case json.Number:
		if _, err := decodeNumber(x); err != nil {
			return nil, err
		}
		return x, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			c, err := encodeLit(e, depth+1, budget)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			c, err := encodeLit(e, depth+1, budget)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case Literal:
		return encodeLit(x.Value, depth+1, budget)
	case Ref:
		return nil, fmt.Errorf("link %v inside a literal", x)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return json.Number(strconv.FormatInt(rv.Int(), 10)), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return json.Number(strconv.FormatUint(rv.Uint(), 10)), nil
	case reflect.Float32, reflect.Float64:
		return encodeFloat(rv.Float())
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.String:
		return rv.String(), nil
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			c, err := encodeLit(rv.Index(i).Interface(), depth+1, budget)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			break
		}
		out := make(map[string]any, rv.Len())
		for it := rv.MapRange(); it.Next(); {
			c, err := encodeLit(it.Value().Interface(), depth+1, budget)
			if err != nil {
				return nil, err
			}
			out[it.Key().String()] = c
		}
		return out, nil
	}
	return nil, fmt.Errorf("cannot encode a value of type %T", v)
}

func encodeFloat(f float64) (any, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("cannot encode %v in JSON", f)
	}
	return json.Number(formatFloat(f)), nil
}

// formatFloat writes f as Python's repr does: shortest digits, a ".0" on
// integral values, exponent form below 1e-4 and from 1e16.
func formatFloat(f float64) string {
	if a := math.Abs(f); a != 0 && (a < 1e-4 || a >= 1e16) {
		return strconv.FormatFloat(f, 'e', -1, 64)
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}
