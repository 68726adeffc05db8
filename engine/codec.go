// codec.go: decoding of ComfyUI API-format workflow JSON (DecodeWorkflow, ReadWorkflow).

package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// This file, inputvalue.go and encode.go are the ComfyUI API-format codec:
// a prompt such as
//
//	{"3": {"class_type": "KSampler", "inputs": {"seed": 5, "model": ["4", 0]}, "_meta": {"title": "KSampler"}}}
//
// to and from a Workflow. Numbers keep ComfyUI's (Python's) distinction
// between 5 and 5.0: integer text decodes to int64 and anything with '.',
// 'e' or 'E' to float64. A two-element array whose first element is a string
// and second a number is a link (a Ref); {"__value__": [...]} is a literal
// list. Classes and link targets are not checked here: validation does that.

// DecodeError is a problem with a workflow's JSON: where it is and what is
// wrong with it.
type DecodeError struct {
	// Offset is the byte offset of the problem; Line and Column (1-based)
	// say the same for people.
	Offset       int64
	Line, Column int
	// Node and Input name the node and input the problem is in, when it is
	// in one (InNode says whether Node is set: "" is a valid id).
	Node   NodeID
	InNode bool
	Input  string
	// Msg says what is wrong.
	Msg string
	// Err is the underlying error (a *json.SyntaxError, ErrDuplicateID, ...)
	// or nil.
	Err error
}

func (e *DecodeError) Error() string {
	var b strings.Builder
	b.WriteString("workflow JSON")
	if e.Line > 0 {
		fmt.Fprintf(&b, " line %d, column %d", e.Line, e.Column)
	}
	b.WriteString(": ")
	if e.InNode {
		fmt.Fprintf(&b, "node %q: ", string(e.Node))
		if e.Input != "" {
			fmt.Fprintf(&b, "input %q: ", e.Input)
		}
	}
	b.WriteString(e.Msg)
	return b.String()
}

func (e *DecodeError) Unwrap() error { return e.Err }

// DecodeWorkflow decodes a ComfyUI API-format prompt. The empty object is a
// valid (empty) workflow. One leading UTF-8 byte-order mark is skipped
// (offsets in errors still count it; columns do not).
func DecodeWorkflow(data []byte) (Workflow, error) {
	d := &wfDecoder{data: data}
	if bytes.HasPrefix(data, utf8BOM) {
		d.start = len(utf8BOM)
	}
	d.dec = json.NewDecoder(bytes.NewReader(data[d.start:]))
	d.dec.UseNumber()
	return d.workflow()
}

// utf8BOM is the byte-order mark some editors put at the start of a file.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// ReadWorkflow reads all of r and decodes it with DecodeWorkflow.
func ReadWorkflow(r io.Reader) (Workflow, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("engine: reading workflow: %w", err)
	}
	return DecodeWorkflow(data)
}

// wfDecoder walks a prompt token by token so that errors can say where they
// are and duplicate keys are caught. Input values are decoded whole.
type wfDecoder struct {
	data  []byte
	start int // where dec starts in data: after a byte-order mark
	dec   *json.Decoder
	// node and input are where the decoder is, for errors.
	node   NodeID
	inNode bool
	input  string
}

// errAt makes a DecodeError at byte offset off.
func (d *wfDecoder) errAt(off int64, err error, format string, args ...any) *DecodeError {
	e := &DecodeError{Offset: off, Node: d.node, InNode: d.inNode, Input: d.input, Msg: fmt.Sprintf(format, args...), Err: err}
	// Lines and columns are the text's: a byte-order mark is not in it.
	e.Line, e.Column = lineCol(d.data[d.start:], off-int64(d.start))
	return e
}

// tokenErr turns an error from the json.Decoder into a DecodeError.
func (d *wfDecoder) tokenErr(err error) *DecodeError {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return d.errAt(int64(d.start)+se.Offset, err, "malformed JSON: %v", se)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return d.errAt(int64(len(d.data)), io.ErrUnexpectedEOF, "unexpected end of input")
	}
	return d.errAt(int64(d.start)+d.dec.InputOffset(), err, "malformed JSON: %v", err)
}

// next returns the offset where the next token starts.
func (d *wfDecoder) next() int64 {
	off := int64(d.start) + d.dec.InputOffset()
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

func (d *wfDecoder) token() (json.Token, error) {
	t, err := d.dec.Token()
	if err != nil {
		return nil, d.tokenErr(err)
	}
	return t, nil
}

// key reads an object key (the decoder only yields strings there).
func (d *wfDecoder) key() (string, int64, error) {
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
func (d *wfDecoder) endObject() error {
	_, err := d.token()
	return err
}

// value decodes one whole JSON value (numbers as json.Number).
func (d *wfDecoder) value() (any, int64, error) {
	off := d.next()
	var v any
	if err := d.dec.Decode(&v); err != nil {
		return nil, off, d.tokenErr(err)
	}
	return v, off, nil
}

// skip discards one whole JSON value.
func (d *wfDecoder) skip() error {
	var raw json.RawMessage
	if err := d.dec.Decode(&raw); err != nil {
		return d.tokenErr(err)
	}
	return nil
}

func (d *wfDecoder) workflow() (Workflow, error) {
	off := d.next()
	t, err := d.token()
	if err != nil {
		if off >= int64(len(d.data)) {
			return nil, d.errAt(off, io.ErrUnexpectedEOF, "empty input (want a JSON object of nodes)")
		}
		return nil, err
	}
	if t != json.Delim('{') {
		return nil, d.errAt(off, nil, "top level must be a JSON object of nodes, got %s", tokenKind(t))
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

func (d *wfDecoder) nodeDef() (*Node, error) {
	off := d.next()
	t, err := d.token()
	if err != nil {
		return nil, err
	}
	if t != json.Delim('{') {
		return nil, d.errAt(off, nil, "node must be a JSON object, got %s", tokenKind(t))
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
				return nil, d.errAt(voff, nil, "class_type must be a string, got %s", valueKind(v))
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
				return nil, d.errAt(voff, nil, "_meta must be an object, got %s", valueKind(v))
			}
			if title, ok := m["title"]; ok {
				s, ok := title.(string)
				if !ok {
					return nil, d.errAt(voff, nil, "_meta.title must be a string, got %s", valueKind(title))
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
				return nil, d.errAt(voff, nil, "override_display_id must be a string, got %s", valueKind(v))
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

func (d *wfDecoder) inputs(n *Node) error {
	off := d.next()
	t, err := d.token()
	if err != nil {
		return err
	}
	if t != json.Delim('{') {
		return d.errAt(off, nil, "inputs must be a JSON object, got %s", tokenKind(t))
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
		iv, err := decodeInput(v)
		if err != nil {
			return d.errAt(voff, nil, "%v", err)
		}
		n.Inputs[k] = iv
	}
	d.input = ""
	return d.endObject()
}

func tokenKind(t json.Token) string {
	switch t {
	case json.Delim('['):
		return "an array"
	case json.Delim('{'):
		return "an object"
	}
	return valueKind(t)
}

func valueKind(v any) string {
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

// lineCol is the 1-based line and column (in bytes) of offset off.
func lineCol(data []byte, off int64) (line, col int) {
	if off < 0 {
		return 0, 0
	}
	off = min(off, int64(len(data)))
	before := data[:off]
	line = bytes.Count(before, []byte{'\n'}) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}
