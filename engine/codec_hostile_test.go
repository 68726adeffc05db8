package engine

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// hostileInputs are inputs whose decoding differs easily between a
// scanner and encoding/json.
var hostileInputs = []string{
	`{"1": {"class_type": "A", "inputs": {"s": "a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00\ud800x\udc00"}}}`,
	"{\"1\": {\"class_type\": \"A\xff\", \"inputs\": {\"s\xfe\": \"\xc3\x28 ok \xe2\x82\xac\"}, \"_meta\": {\"title\": \"\xed\xa0\x80\"}}}",
	`{"1": {"class_type": "A", "inputs": {"l": ["\u0032", 0], "m": ["2" , 3 ], "n": [ "2",1.0e0], "o": ["2", -0], "p": ["2", 0, 1]}}}`,
	`{"1": {"class_type": "A", "inputs": {"a": 123456789012345678, "b": -123456789012345678, "c": 1234567890123456789, "d": -9223372036854775808, "e": 9223372036854775808, "f": -0.0, "g": 0e0, "h": 1E+2, "i": 1e-2}}}`,
	`{"1": {"class_type": "A", "inputs": {"a": {"__value__": 1e400, "__value__": 1}, "b": {"x": 1, "x": 2}}}}`,
	`{"1": {"class_type": "A", "inputs": {"a": [1e400, 2]}}}`,
	`{"1": {"class_type": "A", "inputs": {"a": {"k": [{"z": 1e999}]}}}}`,
	`{"1": {"class_type": "A", "inputs": {"a": ["2", 1e400]}}}`,
	`{"1": {"class_type": "A", "inputs": {"a": ["2", 01]}}}`,
	`{"1": {"class_type": "A", "inputs": {"a": ["2", 1.]}}}`,
	`{"1": {"class_type": "A", "inputs": {"a": ["2", -]}}}`,
	`{"1": {"class_type": "A", "inputs": {"a": ["2" 0]}}}`,
	`{"1": {"class_type": "A", "inputs": {"a": ["2", 0,]}}}`,
	`{"1": {"class_type": "A", "inputs": {"a": [tru]}}}`,
	`{"1": {"class_type": "A", "inputs": {"a": nul}}}`,
	`{"1": {"class_type": "A", "inputs": {"a": "x` + "\x01" + `"}}}`,
	`{"1": {"class_type": "A", "inputs": {"a": "\x"}}}`,
	`{"1": {"class_type": "A", "inputs": {"a": "\u12G4"}}}`,
	`{"1": {"class_type": "A", "inputs": {"a": 1 "b": 2}}}`,
	`{"1": {"class_type": "A", "inputs": {"a": 1,}}}`,
	`{"1": {"class_type": "A", "inputs": {"a": 1]}}`,
	`{"1": {"class_type": "A", "inputs": {"a" 1}}}`,
	`{"1": {"class_type": "A", "inputs": {"a": 1`,
	`{"1": {"class_type": "A", "inputs": {"a": 1,`,
	`{"1": {"class_type": "A", "inputs": {"a":`,
	`{"1": {"class_type": "A", "inputs": {"a": "`,
	`{"1": {"class_type": "A", "inputs": {"a": 1.5e`,
	`{"1": {"class_type": "A", "inputs": {"a": -`,
	`{"1": {"class_type": "A", "inputs": {"a": t`,
	`{"1": {"class_type": "A", "inputs": {5: 1}}}`,
	`{"1": {"class_type": "A", "inputs": {}, "inputs": {}}}`,
	`{"1": {"class_type": "A", "_meta": {"title": "a", "title": 5}}}`,
	`{"1": {"class_type": "A", "_meta": {"title": 5, "title": "a"}}}`,
	`{"1": {"class_type": "A", "_meta": {"title": null}}}`,
	`{"1": {"class_type": "A", "_meta": {"x": [1, {"y": 1e400}]}}}`,
	`{"1": {"class_type": "A", "_meta": [1, 2}}`,
	`{"1": {"class_type": [1, }}`,
	`{"1": {"class_type": "A", "is_changed": [1, {"a": [true, false, null]}], "extra": {}}}`,
	`{"1": {"class_type": "A", "override_display_id": "2", "inputs": {"x": {"__value__": {"__value__": ["2", 0]}}}}}`,
	`{"1": {"class\u005ftype": "A", "_m\u0065ta": {"t\u0069tle": "T"}}}`,
	`{"1": {"class_type": "A"}, "2": {"class_type": "A"}, "1": {}}`,
	`{"1": {"class_type": "A"},}`,
	`{"":{"":"","":`,
	`{"1": {"inputs": {"a": 1, "a"`,
	`{"1": {"1": 1}, "1"`,
	`{"1": {"class_type": "A"} "2": {}}`,
	`{"1" {"class_type": "A"}}`,
	`{"1": {"class_type": "A"}]`,
	`{"1": "x`,
	`{"1": "x"}`,
	`{"1": tru}`,
	`{"1": [}`,
	`{"1": {"class_type": "A", "inputs": "x`,
	`{"1": {"class_type": "A", "inputs": 12`,
	`{"1": {"class_type": "A", "inputs": [}`,
	`{}]`,
	`{} ,`,
	"{}\n\n  :",
	`,,,`,
	`}`,
	`tru`,
	`nullx`,
	`-`,
	`"x`,
	"\t\r\n {\"\": {\"class_type\": \"\", \"inputs\": {\"\": \"\"}}}\r\n",
	`{"1": {"class_type": "A", "inputs": {"a": [[[[[[]], {"b": [[]]}]]]}}}`,
}

func TestDecodeWorkflowHostile(t *testing.T) {
	for _, in := range hostileInputs {
		checkSameDecode(t, []byte(in))
	}
	// Deep nesting is refused as encoding/json refuses it.
	deep := `{"1": {"class_type": "A", "inputs": {"a": ` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}}}`
	_, err := DecodeWorkflow([]byte(deep))
	var de *DecodeError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "exceeded max depth") || de.Input != "a" {
		t.Fatalf("deep nesting: got %v", err)
	}
	if de.Offset != int64(strings.Index(deep, "[")+maxDepth-3) {
		t.Errorf("deep nesting: error at offset %d, want the bracket opening level %d", de.Offset, maxDepth+1)
	}
}

// checkSameDecode checks that DecodeWorkflow decodes data as the decoder
// built on encoding/json's Token API did (oldDecodeWorkflow): the same
// workflow, or an error of the same kind at the same place. Syntax errors
// only need to agree on where they are: the old decoder put some at
// offsets relative to the value they were in.
func checkSameDecode(t *testing.T, data []byte) {
	t.Helper()
	want, werr := oldDecodeWorkflow(data)
	got, gerr := DecodeWorkflow(data)
	if werr == nil && gerr == nil {
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%q: decoded differently (-old +new):\n%s", data, d)
		}
		return
	}
	if (werr == nil) != (gerr == nil) {
		t.Errorf("%q: old decoder: %v; new: %v", data, werr, gerr)
		return
	}
	var wd, gd *DecodeError
	if !errors.As(werr, &wd) || !errors.As(gerr, &gd) {
		t.Errorf("%q: not *DecodeErrors: %v; %v", data, werr, gerr)
		return
	}
	syntax := func(e *DecodeError) bool {
		return strings.HasPrefix(e.Msg, "malformed JSON") || strings.HasPrefix(e.Msg, "unexpected end of input") ||
			strings.HasPrefix(e.Msg, "empty input") || strings.HasPrefix(e.Msg, "unexpected data after")
	}
	same := wd.Node == gd.Node && wd.InNode == gd.InNode && wd.Input == gd.Input
	if syntax(wd) {
		same = same && syntax(gd)
	} else {
		same = same && wd.Msg == gd.Msg && wd.Offset == gd.Offset && errors.Is(gerr, ErrDuplicateID) == errors.Is(werr, ErrDuplicateID)
	}
	if !same {
		t.Errorf("%q: errors differ:\nold: %v (offset %d, node %q %v, input %q)\nnew: %v (offset %d, node %q %v, input %q)",
			data, werr, wd.Offset, wd.Node, wd.InNode, wd.Input, gerr, gd.Offset, gd.Node, gd.InNode, gd.Input)
	}
	if gd.Line == 0 || int(gd.Offset) > len(data) || gd.Offset < 0 {
		t.Errorf("%q: error %v at offset %d, line %d", data, gerr, gd.Offset, gd.Line)
	}
}

// FuzzDecodeWorkflowSame compares DecodeWorkflow with the decoder it
// replaced:
//
//	go test ./engine/ -run '^$' -fuzz FuzzDecodeWorkflowSame -fuzztime 5m
func FuzzDecodeWorkflowSame(f *testing.F) {
	f.Add(readCodecFixture(f, "seed-offload.json"))
	f.Add(readCodecFixture(f, "basic.json"))
	for _, s := range hostileInputs {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if bytes.HasPrefix(data, utf8BOM) {
			return // the old decoder refused these
		}
		checkSameDecode(t, data)
	})
}
