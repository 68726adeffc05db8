// scan.go: the workflow decoder's byte scanner (whitespace, punctuation, strings, numbers, literals, skipping), its key sets and error positions.

package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"unicode/utf8"
)

// at is the byte at the read position, or -1 at the end of the input.
func (d *wfDecoder) at() int {
	if d.pos < len(d.data) {
		return int(d.data[d.pos])
	}
	return -1
}

// ws skips whitespace.
func (d *wfDecoder) ws() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\n', '\t', '\r':
			d.pos++
		default:
			return
		}
	}
}

// expect consumes c, after whitespace, and the whitespace after it.
func (d *wfDecoder) expect(c byte) error {
	d.ws()
	if d.at() != int(c) {
		return d.unexpected(d.pos)
	}
	d.pos++
	d.ws()
	return nil
}

// open consumes the '{' or '[' at the read position.
func (d *wfDecoder) open() error {
	if d.depth >= maxDepth {
		return d.unexpected(d.pos) // "exceeded max depth"
	}
	d.depth++
	d.pos++
	d.ws()
	return nil
}

// next consumes the ',' between two members or elements, or the '}' or
// ']' that closes the object or array (then more is false).
func (d *wfDecoder) next(end byte) (more bool, err error) {
	d.ws()
	switch d.at() {
	case ',':
		d.pos++
		d.ws()
		return true, nil
	case int(end):
		d.pos++
		d.depth--
		return false, nil
	}
	return false, d.unexpected(d.pos)
}

// empty consumes the '}' or ']' of an empty object or array just opened.
func (d *wfDecoder) empty(end byte) bool {
	if d.at() == int(end) {
		d.pos++
		d.depth--
		return true
	}
	return false
}

// key reads an object key and the ':' after it.
func (d *wfDecoder) key(t *internTable) (string, error) {
	if d.at() != '"' {
		return "", d.unexpected(d.pos)
	}
	k, err := d.str(t)
	if err != nil {
		return "", err
	}
	return k, d.expect(':')
}

// strSpecial marks the bytes that end the fast scan of a string.
var strSpecial = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c < 0x20 || c == '"' || c == '\\' || c >= 0x80
	}
	return t
}()

// scanString scans the string at the read position. raw is its contents as
// written; plain says they are its value (no escapes, valid UTF-8).
func (d *wfDecoder) scanString() (raw []byte, plain bool, err error) {
	data := d.data
	i := d.pos + 1
	ascii, esc := true, false
	for {
		for i < len(data) && !strSpecial[data[i]] {
			i++
		}
		if i >= len(data) {
			return nil, false, d.unexpected(i)
		}
		switch c := data[i]; {
		case c == '"':
			raw = data[d.pos+1 : i]
			d.pos = i + 1
			return raw, !esc && (ascii || utf8.Valid(raw)), nil
		case c == '\\':
			esc = true
			i++
			if i >= len(data) {
				return nil, false, d.unexpected(i)
			}
			switch data[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				i++
				for range 4 {
					if i >= len(data) || !isHex(data[i]) {
						return nil, false, d.unexpected(i)
					}
					i++
				}
			default:
				return nil, false, d.unexpected(i)
			}
		case c < 0x20:
			return nil, false, d.unexpected(i)
		default: // not ASCII
			ascii = false
			i++
		}
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// str reads a string, shared through t.
func (d *wfDecoder) str(t *internTable) (string, error) {
	open := d.pos
	raw, plain, err := d.scanString()
	if err != nil {
		return "", err
	}
	if !plain {
		return unquote(d.data[open:d.pos]), nil
	}
	return t.str(raw), nil
}

// unquote is the value of a valid JSON string with escapes or invalid
// UTF-8, as encoding/json makes it.
func unquote(quoted []byte) string {
	var s string
	if err := json.Unmarshal(quoted, &s); err != nil {
		panic(fmt.Sprintf("engine: unquoting a scanned string: %v", err))
	}
	return s
}

// scanNumber scans the number at the read position; float says it has a
// fraction or an exponent.
func (d *wfDecoder) scanNumber() (text []byte, float bool, err error) {
	data := d.data
	i := d.pos
	if data[i] == '-' {
		i++
	}
	digits := func() error {
		if i >= len(data) || !isDigit(data[i]) {
			return d.unexpected(i)
		}
		for i < len(data) && isDigit(data[i]) {
			i++
		}
		return nil
	}
	if i < len(data) && data[i] == '0' {
		i++
	} else if err := digits(); err != nil {
		return nil, false, err
	}
	if i < len(data) && data[i] == '.' {
		float = true
		i++
		if err := digits(); err != nil {
			return nil, false, err
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		float = true
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if err := digits(); err != nil {
			return nil, false, err
		}
	}
	text = data[d.pos:i]
	d.pos = i
	return text, float, nil
}

// word reads true, false or null.
func (d *wfDecoder) word() (any, error) {
	w, v := "null", any(nil)
	switch d.data[d.pos] {
	case 't':
		w, v = "true", true
	case 'f':
		w, v = "false", false
	}
	for i := range len(w) {
		if p := d.pos + i; p >= len(d.data) || d.data[p] != w[i] {
			return nil, d.unexpected(p)
		}
	}
	d.pos += len(w)
	return v, nil
}

// kind names the kind of JSON value that starts with c.
func kind(c int) string {
	switch c {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// skip checks and discards one whole JSON value.
func (d *wfDecoder) skip() error {
	switch c := d.at(); c {
	case '"':
		_, _, err := d.scanString()
		return err
	case '{':
		if err := d.open(); err != nil || d.empty('}') {
			return err
		}
		for {
			if _, _, err := d.scanKey(); err != nil {
				return err
			}
			if err := d.skip(); err != nil {
				return err
			}
			if more, err := d.next('}'); !more {
				return err
			}
		}
	case '[':
		if err := d.open(); err != nil || d.empty(']') {
			return err
		}
		for {
			if err := d.skip(); err != nil {
				return err
			}
			if more, err := d.next(']'); !more {
				return err
			}
		}
	case 't', 'f', 'n':
		_, err := d.word()
		return err
	default:
		if c == '-' || '0' <= c && c <= '9' {
			_, _, err := d.scanNumber()
			return err
		}
		return d.unexpected(d.pos)
	}
}

// scanKey scans an object key and the ':' after it.
func (d *wfDecoder) scanKey() ([]byte, bool, error) {
	if d.at() != '"' {
		return nil, false, d.unexpected(d.pos)
	}
	raw, plain, err := d.scanString()
	if err != nil {
		return nil, false, err
	}
	return raw, plain, d.expect(':')
}

// keySet is the keys of the object being read: a list while it is short,
// a map when it is long.
type keySet struct {
	list []string
	m    map[string]struct{}
}

func (s *keySet) reset() {
	clear(s.list)
	s.list, s.m = s.list[:0], nil
}

// add adds k and says whether it was there already.
func (s *keySet) add(k string) bool {
	if s.has(k) {
		return true
	}
	if s.m != nil {
		s.m[k] = struct{}{}
		return false
	}
	s.list = append(s.list, k)
	if len(s.list) > 16 {
		s.m = make(map[string]struct{}, 2*len(s.list))
		for _, x := range s.list {
			s.m[x] = struct{}{}
		}
	}
	return false
}

func (s *keySet) has(k string) bool {
	if s.m != nil {
		_, ok := s.m[k]
		return ok
	}
	return slices.Contains(s.list, k)
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
