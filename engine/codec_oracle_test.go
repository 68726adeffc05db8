package engine

// The decoder as it was before the hand-written scanner (encoding/json's
// Token API), kept as the oracle the new one is compared with.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// oldDecodeWorkflow decodes data as DecodeWorkflow did before.
func oldDecodeWorkflow(data []byte) (Workflow, error) {
	d := &oldDecoder{data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	d.dec.UseNumber()
	return d.workflow()
}

// oldDecoder walks a prompt token by token so that errors can say where they
// are and duplicate keys are caught. Input values are decoded whole.
type oldDecoder struct {
	data []byte
	dec  *json.Decoder
	// node and input are where the decoder is, for errors.
	node   NodeID
	inNode bool
	input  string
}

// errAt makes a DecodeError at byte offset off.
func (d *oldDecoder) errAt(off int64, err error, format string, args ...any) *DecodeError {
	e := &DecodeError{Offset: off, Node: d.node, InNode: d.inNode, Input: d.input, Msg: fmt.Sprintf(format, args...), Err: err}
	e.Line, e.Column = lineCol(d.data, off)
	return e
}

// tokenErr turns an error from the json.Decoder into a DecodeError.
func (d *oldDecoder) tokenErr(err error) *DecodeError {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return d.errAt(se.Offset, err, "malformed JSON: %v", se)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return d.errAt(int64(len(d.data)), io.ErrUnexpectedEOF, "unexpected end of input")
	}
	return d.errAt(d.dec.InputOffset(), err, "malformed JSON: %v", err)
}

// next returns the offset where the next token starts.
func (d *oldDecoder) next() int64 {
	off := d.dec.InputOffset()
	for off < int64(len(d.data)) {
		switch d.data[off] {
		case ' ', '\t', '\r', '\n', ':', ',':
			off++
			continue
		}
		break
	}
	return off
}

func (d *oldDecoder) token() (json.Token, error) {
	t, err := d.dec.Token()
	if err != nil {
		return nil, d.tokenErr(err)
	}
	return t, nil
}

// key reads an object key (the decoder only yields strings there).
func (d *oldDecoder) key() (string, int64, error) {
	off := d.next()
	t, err := d.token()
	if err != nil {
		return "", off, err
	}
	s, ok := t.(string)
	if !ok {
		return "", off, d.errAt(off, nil, "malformed JSON: object key is not a string")
	}
	return s, off, nil
}

// endObject consumes the '}' that closes the current object.
func (d *oldDecoder) endObject() error {
	_, err := d.token()
	return err
}

// value decodes one whole JSON value (numbers as json.Number).
func (d *oldDecoder) value() (any, int64, error) {
	off := d.next()
	var v any
	if err := d.dec.Decode(&v); err != nil {
		return nil, off, d.tokenErr(err)
	}
	return v, off, nil
}

// skip discards one whole JSON value.
func (d *oldDecoder) skip() error {
	var raw json.RawMessage
	if err := d.dec.Decode(&raw); err != nil {
		return d.tokenErr(err)
	}
	return nil
}

func (d *oldDecoder) workflow() (Workflow, error) {
	off := d.next()
	t, err := d.token()
	if err != nil {
		if off >= int64(len(d.data)) {
			return nil, d.errAt(off, io.ErrUnexpectedEOF, "empty input (want a JSON object of nodes)")
		}
		return nil, err
	}
	if t != json.Delim('{') {
		return nil, d.errAt(off, nil, "top level must be a JSON object of nodes, got %s", oldTokenKind(t))
	}
	wf := Workflow{}
	for d.dec.More() {
		k, koff, err := d.key()
		if err != nil {
			return nil, err
		}
		id := NodeID(k)
		d.node, d.inNode, d.input = id, true, ""
		if _, dup := wf[id]; dup {
			return nil, d.errAt(koff, ErrDuplicateID, "duplicate node id")
		}
		n, err := d.nodeDef()
		if err != nil {
			return nil, err
		}
		wf[id] = n
		d.inNode = false
	}
	if err := d.endObject(); err != nil {
		return nil, err
	}
	off = d.next()
	if _, err := d.dec.Token(); err != io.EOF {
		return nil, d.errAt(off, nil, "unexpected data after the workflow object")
	}
	return wf, nil
}

func (d *oldDecoder) nodeDef() (*Node, error) {
	off := d.next()
	t, err := d.token()
	if err != nil {
		return nil, err
	}
	if t != json.Delim('{') {
		return nil, d.errAt(off, nil, "node must be a JSON object, got %s", oldTokenKind(t))
	}
	n := &Node{Inputs: map[string]any{}}
	seen := map[string]bool{}
	for d.dec.More() {
		k, koff, err := d.key()
		if err != nil {
			return nil, err
		}
		if seen[k] {
			return nil, d.errAt(koff, nil, "duplicate key %q", k)
		}
		seen[k] = true
		switch k {
		case "class_type":
			v, voff, err := d.value()
			if err != nil {
				return nil, err
			}
			s, ok := v.(string)
			if !ok {
				return nil, d.errAt(voff, nil, "class_type must be a string, got %s", oldValueKind(v))
			}
			n.Class = s
		case "inputs":
			if err := d.inputs(n); err != nil {
				return nil, err
			}
		case "_meta":
			v, voff, err := d.value()
			if err != nil {
				return nil, err
			}
			m, ok := v.(map[string]any)
			if !ok {
				return nil, d.errAt(voff, nil, "_meta must be an object, got %s", oldValueKind(v))
			}
			if title, ok := m["title"]; ok {
				s, ok := title.(string)
				if !ok {
					return nil, d.errAt(voff, nil, "_meta.title must be a string, got %s", oldValueKind(title))
				}
				n.Title = s
			}
		case "override_display_id":
			v, voff, err := d.value()
			if err != nil {
				return nil, err
			}
			s, ok := v.(string)
			if !ok {
				return nil, d.errAt(voff, nil, "override_display_id must be a string, got %s", oldValueKind(v))
			}
			n.DisplayID = NodeID(s)
		default: // "is_changed" and anything else ComfyUI ignores
			if err := d.skip(); err != nil {
				return nil, err
			}
		}
	}
	if err := d.endObject(); err != nil {
		return nil, err
	}
	if !seen["class_type"] {
		return nil, d.errAt(off, nil, "missing class_type")
	}
	return n, nil
}

func (d *oldDecoder) inputs(n *Node) error {
	off := d.next()
	t, err := d.token()
	if err != nil {
		return err
	}
	if t != json.Delim('{') {
		return d.errAt(off, nil, "inputs must be a JSON object, got %s", oldTokenKind(t))
	}
	for d.dec.More() {
		k, koff, err := d.key()
		if err != nil {
			return err
		}
		d.input = k
		if _, dup := n.Inputs[k]; dup {
			return d.errAt(koff, nil, "duplicate input")
		}
		v, voff, err := d.value()
		if err != nil {
			return err
		}
		iv, err := oldDecodeInput(v)
		if err != nil {
			return d.errAt(voff, nil, "%v", err)
		}
		n.Inputs[k] = iv
	}
	d.input = ""
	return d.endObject()
}

func oldTokenKind(t json.Token) string {
	switch t {
	case json.Delim('['):
		return "an array"
	case json.Delim('{'):
		return "an object"
	}
	return oldValueKind(t)
}

func oldValueKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// oldDecodeInput converts one decoded input value: a link becomes a Ref,
// {"__value__": x} becomes x as a literal, numbers become int64 or float64.
func oldDecodeInput(v any) (any, error) {
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
			return oldDecodeLiteral(inner)
		}
	}
	return oldDecodeLiteral(v)
}

// oldDecodeLiteral converts numbers everywhere inside v. Arrays inside a
// literal are never links.
func oldDecodeLiteral(v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		return decodeNumber(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			c, err := oldDecodeLiteral(e)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			c, err := oldDecodeLiteral(e)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	}
	return v, nil
}
