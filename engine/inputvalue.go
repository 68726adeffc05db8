// inputvalue.go: decoding of one input value of workflow JSON (links, literals, numbers) and the tables that share equal strings and numbers.

package engine

import (
	"encoding/json"
	"fmt"
	"hash/maphash"
	"math"
	"strconv"
	"strings"
)

// inputValue reads one input value: a link, {"__value__": literal} or a
// literal.
func (d *wfDecoder) inputValue() (any, error) {
	off := d.pos
	if d.at() == '[' {
		if r, ok, err := d.link(); ok || err != nil {
			return r, err
		}
	}
	d.bad = false
	v, err := d.literal()
	if err != nil {
		return nil, err
	}
	if m, ok := v.(map[string]any); ok && len(m) == 1 {
		if inner, ok := m["__value__"]; ok {
			v = inner
		}
	}
	if d.bad {
		if n, ok := findBadNumber(v); ok {
			return nil, d.errAt(off, nil, "number %s is out of range", string(n))
		}
	}
	return v, nil
}

// link reads the input value at the read position if it is a link: an
// array of a string and a number. ok is false, and nothing is read, if the
// value is something else.
func (d *wfDecoder) link() (v any, ok bool, err error) {
	off := d.pos
	d.pos++
	d.ws()
	if d.at() != '"' {
		d.pos = off
		return nil, false, nil
	}
	id, err := d.str(&d.vals)
	if err != nil {
		return nil, false, err
	}
	d.ws()
	if d.at() != ',' {
		d.pos = off
		return nil, false, nil
	}
	d.pos++
	d.ws()
	if c := d.at(); c != '-' && (c < '0' || c > '9') {
		d.pos = off
		return nil, false, nil
	}
	text, float, err := d.scanNumber()
	if err != nil {
		return nil, false, err
	}
	d.ws()
	if d.at() != ']' {
		d.pos = off
		return nil, false, nil
	}
	d.pos++
	out := 0
	if !float && text[0] != '-' && len(text) <= 9 {
		for _, c := range text {
			out = out*10 + int(c-'0')
		}
	} else if out, err = linkIndex(json.Number(text)); err != nil {
		return nil, false, d.errAt(off, nil, "%v", err)
	}
	return Ref{Node: NodeID(id), Out: out}, true, nil
}

// literal reads one JSON value as a literal: strings, int64, float64, bool,
// nil, []any and map[string]any.
func (d *wfDecoder) literal() (any, error) {
	switch c := d.at(); c {
	case '"':
		open := d.pos
		raw, plain, err := d.scanString()
		if err != nil {
			return nil, err
		}
		if !plain {
			return unquote(d.data[open:d.pos]), nil
		}
		return d.vals.box(raw), nil
	case '{':
		if err := d.open(); err != nil {
			return nil, err
		}
		base := len(d.members)
		for more := !d.empty('}'); more; {
			k, err := d.key(&d.names)
			if err != nil {
				return nil, err
			}
			v, err := d.literal()
			if err != nil {
				return nil, err
			}
			d.members = append(d.members, member{k, v})
			if more, err = d.next('}'); err != nil {
				return nil, err
			}
		}
		return d.makeMap(base), nil
	case '[':
		if err := d.open(); err != nil {
			return nil, err
		}
		base := len(d.elems)
		for more := !d.empty(']'); more; {
			v, err := d.literal()
			if err != nil {
				return nil, err
			}
			d.elems = append(d.elems, v)
			if more, err = d.next(']'); err != nil {
				return nil, err
			}
		}
		es := d.elems[base:]
		list := make([]any, len(es))
		copy(list, es)
		clear(es)
		d.elems = d.elems[:base]
		return list, nil
	case 't', 'f', 'n':
		return d.word()
	default:
		if c == '-' || '0' <= c && c <= '9' {
			text, float, err := d.scanNumber()
			if err != nil {
				return nil, err
			}
			return d.number(text, float), nil
		}
		return nil, d.unexpected(d.pos)
	}
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

// number is the value of JSON number text: int64 for integer text that
// fits, float64 otherwise (as decodeNumber), or a badNumber.
func (d *wfDecoder) number(text []byte, float bool) any {
	if !float && len(text) <= 18 { // fits in an int64
		neg := text[0] == '-'
		if neg {
			text = text[1:]
		}
		var n int64
		for _, c := range text {
			n = n*10 + int64(c-'0')
		}
		if neg {
			n = -n
		}
		return d.nums.box(uint64(n), false)
	}
	if !float {
		if n, err := strconv.ParseInt(string(text), 10, 64); err == nil {
			return d.nums.box(uint64(n), false)
		}
	}
	f, err := strconv.ParseFloat(string(text), 64)
	if err != nil {
		d.bad = true
		return badNumber(text)
	}
	return d.nums.box(math.Float64bits(f), true)
}

// badNumber stands in a literal for a number out of range until the whole
// input value is read (a later duplicate key may replace it); it is never
// returned.
type badNumber string

// findBadNumber finds a badNumber in v.
func findBadNumber(v any) (badNumber, bool) {
	switch x := v.(type) {
	case badNumber:
		return x, true
	case []any:
		for _, e := range x {
			if n, ok := findBadNumber(e); ok {
				return n, true
			}
		}
	case map[string]any:
		for _, e := range x {
			if n, ok := findBadNumber(e); ok {
				return n, true
			}
		}
	}
	return "", false
}

// internSeed seeds the hash of internTable.
var internSeed = maphash.MakeSeed()

// maxIntern is the longest string an internTable shares.
const maxIntern = 256

// internTable shares equal strings, and their boxes in interfaces, among
// the nodes of a decoded workflow. It is a hash table without chains: a
// string replaces the one in its slot, so it stays small however many
// strings differ, and the strings most nodes have (classes, input names)
// stay in it.
type internTable struct {
	slots []internSlot
	mask  uint64
}

type internSlot struct {
	s   string
	box any // s in an interface, made when first asked for
}

// init makes t with 1<<n slots.
func (t *internTable) init(n int) {
	t.slots = make([]internSlot, 1<<n)
	t.mask = 1<<n - 1
}

func (t *internTable) slot(b []byte) *internSlot {
	var h uint64
	if len(b) <= 16 { // most are: FNV-1a costs less than a call
		h = 14695981039346656037
		for _, c := range b {
			h = (h ^ uint64(c)) * 1099511628211
		}
		h ^= h >> 32
	} else {
		h = maphash.Bytes(internSeed, b)
	}
	e := &t.slots[h&t.mask]
	if e.s != string(b) {
		*e = internSlot{s: string(b)}
	}
	return e
}

// str returns b as a string, shared with the equal strings before it.
func (t *internTable) str(b []byte) string {
	if len(b) > maxIntern {
		return string(b)
	}
	return t.slot(b).s
}

// box returns b as a string in an interface, shared likewise.
func (t *internTable) box(b []byte) any {
	if len(b) > maxIntern {
		return string(b)
	}
	e := t.slot(b)
	if e.box == nil {
		e.box = e.s
	}
	return e.box
}

// numTable shares equal numbers in interfaces, as internTable strings.
type numTable struct {
	slots []numSlot
	shift uint
}

type numSlot struct {
	bits  uint64 // the int64 or the float64's bits
	float bool
	box   any
}

// init makes t with 1<<n slots.
func (t *numTable) init(n int) {
	t.slots = make([]numSlot, 1<<n)
	t.shift = uint(64 - n)
}

// box returns the int64 or float64 (float) whose bits are v in an
// interface.
func (t *numTable) box(v uint64, float bool) any {
	if v < 256 { // Go boxes these without allocating
		if float {
			return math.Float64frombits(v)
		}
		return int64(v)
	}
	e := &t.slots[(v*0x9E3779B97F4A7C15)>>t.shift]
	if e.box == nil || e.bits != v || e.float != float {
		var b any = int64(v)
		if float {
			b = math.Float64frombits(v)
		}
		*e = numSlot{bits: v, float: float, box: b}
	}
	return e.box
}
