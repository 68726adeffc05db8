package engine

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeWorkflowBOM(t *testing.T) {
	const doc = `{"1": {"class_type": "A", "inputs": {"x": ["2", 0]}}}`
	want := Workflow{"1": {Class: "A", Inputs: map[string]any{"x": Ref{"2", 0}}}}
	bom := "\xEF\xBB\xBF"
	w, err := DecodeWorkflow([]byte(bom + doc))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, w); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
	if w, err = ReadWorkflow(strings.NewReader(bom + "\n" + doc)); err != nil || len(w) != 1 {
		t.Fatalf("ReadWorkflow: %v, %v", w, err)
	}
	for _, tc := range []struct {
		in, msg         string
		off, line, col  int
		node            NodeID
		inNode, isEOF   bool
		isSyntaxFromStd bool
	}{
		// Only one mark is skipped.
		{in: bom + bom + doc, msg: "malformed JSON", off: 3, line: 1, col: 1, isSyntaxFromStd: true},
		{in: bom, msg: "empty input", off: 3, line: 1, col: 1, isEOF: true},
		{in: bom + "  ", msg: "empty input", off: 5, line: 1, col: 3, isEOF: true},
		// Offsets count the mark; columns do not (it is not text).
		{in: bom + `[]`, msg: "got an array", off: 3, line: 1, col: 1},
		{in: bom + `{"1": 5}`, msg: "node must be a JSON object, got a number", off: 9, line: 1, col: 7, node: "1", inNode: true},
		{in: bom + "{\n\"1\": 5}", msg: "got a number", off: 10, line: 2, col: 6, node: "1", inNode: true},
		{in: bom + `{"1": {"class_type": "A",}}`, msg: "looking for beginning of object key string", off: 28, line: 1, col: 26, node: "1", inNode: true, isSyntaxFromStd: true},
		// A mark anywhere else is not whitespace.
		{in: " " + bom + doc, msg: "malformed JSON", off: 1, line: 1, col: 2},
	} {
		_, err := DecodeWorkflow([]byte(tc.in))
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Errorf("%q: error %v is not a *DecodeError", tc.in, err)
			continue
		}
		if !strings.Contains(de.Error(), tc.msg) || int(de.Offset) != tc.off || de.Line != tc.line || de.Column != tc.col || de.Node != tc.node || de.InNode != tc.inNode {
			t.Errorf("%q: got %v at offset %d (line %d, column %d), node %q (%v); want %q at %d (%d, %d), node %q (%v)",
				tc.in, err, de.Offset, de.Line, de.Column, de.Node, de.InNode, tc.msg, tc.off, tc.line, tc.col, tc.node, tc.inNode)
		}
		if tc.isEOF != errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%q: errors.Is(%v, io.ErrUnexpectedEOF) = %v", tc.in, err, !tc.isEOF)
		}
		var se *json.SyntaxError
		if tc.isSyntaxFromStd && !errors.As(err, &se) {
			t.Errorf("%q: error %v does not wrap a *json.SyntaxError", tc.in, err)
		}
	}
}
