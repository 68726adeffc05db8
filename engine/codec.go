// codec.go: decoding of ComfyUI API-format workflow JSON (DecodeWorkflow, ReadWorkflow).

package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"strconv"
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
//
// The decoder reads data in one pass and allocates little besides the
// Workflow: equal class names, input names, node ids and string and number
// literals are shared by the nodes that have them (a string or a number in
// an interface cannot be changed, so the sharing cannot be seen).
func DecodeWorkflow(data []byte) (Workflow, error) {
	return newWfDecoder(data).workflow()
}

// DecodeWorkflowFor is DecodeWorkflow that also converts each node's
// literals for the classes of reg, as CoerceLiterals does, while the node
// is decoded: a run of the workflow then copies no node to convert its
// literals.
func DecodeWorkflowFor(reg *Registry, data []byte) (Workflow, error) {
	d := newWfDecoder(data)
	d.coercer = &literalCoercer{reg: reg}
	return d.workflow()
}

// ReadWorkflow reads all of r and decodes it with DecodeWorkflow.
func ReadWorkflow(r io.Reader) (Workflow, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("engine: reading workflow: %w", err)
	}
	return DecodeWorkflow(data)
}

// utf8BOM is the byte-order mark some editors put at the start of a file.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// maxDepth is encoding/json's nesting limit: objects and arrays open at
// once, the top-level object included.
const maxDepth = 10000

// wfDecoder scans a prompt byte by byte, so that errors can say where they
// are and duplicate keys are caught, and builds the Workflow as it goes.
// Syntax is JSON's, as encoding/json checks it; the wording of syntax
// errors is encoding/json's too.
type wfDecoder struct {
	data  []byte
	pos   int // the next byte to read
	start int // where the JSON starts: after a byte-order mark
	depth int // objects and arrays open
	// node and input are where the decoder is, for errors.
	node   NodeID
	inNode bool
	input  string
	// bad says a number out of range was decoded in the current input
	// value, as a badNumber.
	bad bool

	names internTable // object keys and class names
	vals  internTable // node ids and string literals
	nums  numTable    // number literals
	// elems and members hold the elements of the arrays and the members of
	// the objects being decoded, innermost last, until the array or map is
	// made with its exact size.
	elems              []any
	members            []member
	nodeKeys, inputSet keySet
	// coercer, when set, converts each node's literals once it is read.
	coercer *literalCoercer
}

type member struct {
	key string
	val any
}

func newWfDecoder(data []byte) *wfDecoder {
	d := &wfDecoder{data: data}
	if bytes.HasPrefix(data, utf8BOM) {
		d.pos, d.start = len(utf8BOM), len(utf8BOM)
	}
	// The tables grow with the input up to a fixed size: under a MiB for
	// a big file, a few KiB for a small one.
	n := min(max(bits.Len(uint(len(data)/64)), 6), 14)
	d.names.init(n - 2)
	d.vals.init(n)
	d.nums.init(n - 2)
	return d
}

// sizeHint guesses the number of nodes, so that the Workflow map is made
// once: every node has one "class_type" key. The guess is capped at what
// the smallest nodes could fill, so that a file of "class_type" strings
// makes no bigger a map than a real workflow of its size.
func (d *wfDecoder) sizeHint() int {
	const smallest = len(`"":{"class_type":""},`)
	return min(countClassType(d.data[d.pos:]), len(d.data)/smallest)
}

// countClassType counts `"class_type"` in data. It looks for its 'y',
// which JSON has far fewer of than '"' (bytes.Count stops at every '"').
func countClassType(data []byte) int {
	const key = `"class_type"`
	const y = 8 // key[y] == 'y'
	n := 0
	for i := y; i < len(data); {
		k := bytes.IndexByte(data[i:], 'y')
		if k < 0 {
			break
		}
		i += k
		if i+len(key)-y <= len(data) && string(data[i-y:i-y+len(key)]) == key {
			n++
		}
		i++
	}
	return n
}

// errAt makes a DecodeError at byte offset off.
func (d *wfDecoder) errAt(off int, err error, format string, args ...any) *DecodeError {
	e := &DecodeError{Offset: int64(off), Node: d.node, InNode: d.inNode, Input: d.input, Msg: fmt.Sprintf(format, args...), Err: err}
	// Lines and columns are the text's: a byte-order mark is not in it.
	e.Line, e.Column = lineCol(d.data[d.start:], int64(off-d.start))
	return e
}

// unexpected is the error for the byte at off, which JSON does not allow
// there, or for the end of the input when off is past it.
func (d *wfDecoder) unexpected(off int) error {
	if off >= len(d.data) {
		return d.errAt(len(d.data), io.ErrUnexpectedEOF, "unexpected end of input")
	}
	// The same check by encoding/json words it as encoding/json does (and
	// gives the *json.SyntaxError). Everything before off is valid, so it
	// stops at off.
	var se *json.SyntaxError
	if err := json.Unmarshal(d.data[d.start:], new(json.RawMessage)); errors.As(err, &se) && int(se.Offset)-1 == off-d.start {
		return d.errAt(off, se, "malformed JSON: %v", se)
	}
	return d.errAt(off, nil, "malformed JSON: invalid character %s", quoteChar(d.data[off]))
}

// quoteChar formats c as encoding/json's syntax errors do.
func quoteChar(c byte) string {
	switch c {
	case '\'':
		return `'\''`
	case '"':
		return `'"'`
	}
	s := strconv.Quote(string(rune(c)))
	return "'" + s[1:len(s)-1] + "'"
}

// notObject is the error for a value at the read position that must be an
// object, once its first token is read (msg says what it is).
func (d *wfDecoder) notObject(msg string) error {
	off, c := d.pos, d.at()
	if c != '[' {
		if err := d.skip(); err != nil {
			return err
		}
	}
	return d.errAt(off, nil, "%s, got %s", msg, kind(c))
}

// stringField reads the value of a node field that must be a string.
func (d *wfDecoder) stringField(t *internTable, name string) (string, error) {
	off, c := d.pos, d.at()
	if c == '"' {
		return d.str(t)
	}
	if err := d.skip(); err != nil {
		return "", err
	}
	return "", d.errAt(off, nil, "%s must be a string, got %s", name, kind(c))
}

func (d *wfDecoder) workflow() (Workflow, error) {
	d.ws()
	if d.pos >= len(d.data) {
		return nil, d.errAt(d.pos, io.ErrUnexpectedEOF, "empty input (want a JSON object of nodes)")
	}
	if d.at() != '{' {
		return nil, d.notObject("top level must be a JSON object of nodes")
	}
	if err := d.open(); err != nil {
		return nil, err
	}
	wf := make(Workflow, d.sizeHint())
	for more := !d.empty('}'); more; {
		koff := d.pos
		if d.at() != '"' {
			return nil, d.unexpected(d.pos)
		}
		k, err := d.str(&d.vals)
		if err != nil {
			return nil, err
		}
		id := NodeID(k)
		d.node, d.inNode, d.input = id, true, ""
		// The node goes in now and is filled in after: one map operation
		// finds a duplicate and adds the node (on an error wf is dropped).
		n, size := new(Node), len(wf)
		if wf[id] = n; len(wf) == size {
			return nil, d.errAt(koff, ErrDuplicateID, "duplicate node id")
		}
		if err := d.expect(':'); err != nil {
			return nil, err
		}
		if err := d.nodeDef(n); err != nil {
			return nil, err
		}
		if d.coercer != nil {
			d.coercer.node(n)
		}
		d.inNode = false
		if more, err = d.next('}'); err != nil {
			return nil, err
		}
	}
	d.ws()
	if d.pos < len(d.data) {
		return nil, d.errAt(d.pos, nil, "unexpected data after the workflow object")
	}
	return wf, nil
}

// nodeDef reads a node definition into n.
func (d *wfDecoder) nodeDef(n *Node) error {
	off := d.pos
	if d.at() != '{' {
		return d.notObject("node must be a JSON object")
	}
	if err := d.open(); err != nil {
		return err
	}
	d.nodeKeys.reset()
	for more := !d.empty('}'); more; {
		koff := d.pos
		if d.at() != '"' {
			return d.unexpected(d.pos)
		}
		k, err := d.str(&d.names)
		if err != nil {
			return err
		}
		if d.nodeKeys.add(k) {
			return d.errAt(koff, nil, "duplicate key %q", k)
		}
		if err := d.expect(':'); err != nil {
			return err
		}
		switch k {
		case "class_type":
			n.Class, err = d.stringField(&d.names, "class_type")
		case "inputs":
			n.Inputs, err = d.inputs()
		case "_meta":
			n.Title, err = d.meta()
		case "override_display_id":
			var s string
			s, err = d.stringField(&d.vals, "override_display_id")
			n.DisplayID = NodeID(s)
		default: // "is_changed" and anything else ComfyUI ignores
			err = d.skip()
		}
		if err != nil {
			return err
		}
		if more, err = d.next('}'); err != nil {
			return err
		}
	}
	if !d.nodeKeys.has("class_type") {
		return d.errAt(off, nil, "missing class_type")
	}
	if n.Inputs == nil {
		n.Inputs = map[string]any{}
	}
	return nil
}

// meta reads _meta and returns its title.
func (d *wfDecoder) meta() (string, error) {
	off := d.pos
	if d.at() != '{' {
		c := d.at()
		if err := d.skip(); err != nil {
			return "", err
		}
		return "", d.errAt(off, nil, "_meta must be an object, got %s", kind(c))
	}
	if err := d.open(); err != nil {
		return "", err
	}
	title, titleKind := "", ""
	for more := !d.empty('}'); more; {
		k, err := d.key(&d.names)
		if err != nil {
			return "", err
		}
		if k == "title" { // the last one counts
			title, titleKind = "", kind(d.at())
			if d.at() == '"' {
				title, err = d.str(&d.names)
			} else {
				err = d.skip()
			}
		} else {
			err = d.skip()
		}
		if err != nil {
			return "", err
		}
		if more, err = d.next('}'); err != nil {
			return "", err
		}
	}
	if titleKind != "" && titleKind != kind('"') {
		return "", d.errAt(off, nil, "_meta.title must be a string, got %s", titleKind)
	}
	return title, nil
}

func (d *wfDecoder) inputs() (map[string]any, error) {
	if d.at() != '{' {
		return nil, d.notObject("inputs must be a JSON object")
	}
	if err := d.open(); err != nil {
		return nil, err
	}
	base := len(d.members)
	d.inputSet.reset()
	for more := !d.empty('}'); more; {
		koff := d.pos
		if d.at() != '"' {
			return nil, d.unexpected(d.pos)
		}
		k, err := d.str(&d.names)
		if err != nil {
			return nil, err
		}
		d.input = k
		if d.inputSet.add(k) {
			return nil, d.errAt(koff, nil, "duplicate input")
		}
		if err := d.expect(':'); err != nil {
			return nil, err
		}
		v, err := d.inputValue()
		if err != nil {
			return nil, err
		}
		d.members = append(d.members, member{k, v})
		// The input is over at the end of the object (as encoding/json's
		// Decoder.More tells), not at a ',' or anything else.
		d.ws()
		if c := d.at(); c == -1 || c == '}' || c == ']' {
			d.input = ""
		}
		if more, err = d.next('}'); err != nil {
			return nil, err
		}
	}
	d.input = ""
	return d.makeMap(base), nil
}

// makeMap makes the map of the members from base on and pops them.
func (d *wfDecoder) makeMap(base int) map[string]any {
	ms := d.members[base:]
	m := make(map[string]any, len(ms))
	for _, kv := range ms {
		m[kv.key] = kv.val // the last of equal keys counts
	}
	clear(ms)
	d.members = d.members[:base]
	return m
}
