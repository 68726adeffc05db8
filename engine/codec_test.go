package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

func readCodecFixture(t testing.TB, name string) []byte {
	t.Helper()
	path := filepath.Join("testdata", "codec", name)
	if name == "seed-offload.json" { // the bundled reference workflow
		path = filepath.Join("..", "workflows", name)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// roundTrip checks that decode(encode(w)) == w and returns the encoding.
func roundTrip(t testing.TB, w Workflow) []byte {
	t.Helper()
	data, err := EncodeWorkflow(w)
	if err != nil {
		t.Fatalf("EncodeWorkflow: %v", err)
	}
	back, err := DecodeWorkflow(data)
	if err != nil {
		t.Fatalf("DecodeWorkflow(EncodeWorkflow(w)): %v\n%s", err, data)
	}
	if d := cmp.Diff(w, back); d != "" {
		t.Fatalf("round trip changed the workflow (-before +after):\n%s\nencoded:\n%s", d, data)
	}
	return data
}

func TestDecodeWorkflowBasic(t *testing.T) {
	got, err := DecodeWorkflow(readCodecFixture(t, "basic.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := Workflow{
		"10": {Class: "KSampler", Title: "Sampler", Inputs: map[string]any{
			"seed": int64(42), "cfg": 7.0, "denoise": int64(1), "big": 1e20, "tiny": 1e-7,
			"model": Ref{"4", 0}, "clip": Ref{"4", 1},
			"list":   []any{"4", int64(0)},
			"pair":   []any{int64(1), int64(2)},
			"nested": map[string]any{"a": []any{int64(1), 2.5, map[string]any{"b": nil}}},
			"text":   "<a & b>", "flag": true, "none": nil,
		}},
		"4":       {Class: "CheckpointLoaderSimple", Inputs: map[string]any{"ckpt_name": "model.safetensors"}},
		"2.0.0.x": {Class: "Pass", Inputs: map[string]any{"in": Ref{"10", 0}}, DisplayID: "10"},
		"9":       {Class: "SaveImage", Inputs: map[string]any{}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("decoded workflow (-want +got):\n%s", d)
	}
}

func TestEncodeWorkflowGolden(t *testing.T) {
	w, err := DecodeWorkflow(readCodecFixture(t, "basic.json"))
	if err != nil {
		t.Fatal(err)
	}
	got := roundTrip(t, w)
	want := readCodecFixture(t, "basic.golden.json")
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Fatalf("encoding differs from testdata/codec/basic.golden.json (-want +got):\n%s", d)
	}
	// Deterministic: encoding again, or encoding the decoded golden, gives
	// the same bytes.
	again, err := EncodeWorkflow(w)
	if err != nil || !bytes.Equal(again, got) {
		t.Fatalf("second encoding differs (err %v)", err)
	}
	w2, err := DecodeWorkflow(want)
	if err != nil {
		t.Fatal(err)
	}
	if got2, _ := EncodeWorkflow(w2); !bytes.Equal(got2, want) {
		t.Fatalf("encoding the golden file is not a fixed point:\n%s", got2)
	}
}

func TestDecodeWorkflowSeed(t *testing.T) {
	w, err := ReadWorkflow(bytes.NewReader(readCodecFixture(t, "seed-offload.json")))
	if err != nil {
		t.Fatal(err)
	}
	if len(w) != 14 {
		t.Fatalf("seed workflow has %d nodes, want 14", len(w))
	}
	n := w["4"]
	checks := map[string]any{
		"yolo_world_model": Ref{"2", 0}, "box_thickness": int64(2), "text_scale": 1.0,
		"confidence_threshold": 0.1, "with_confidence": true, "categories": "car, person",
	}
	for name, want := range checks {
		if d := cmp.Diff(want, n.Inputs[name]); d != "" {
			t.Errorf("node 4 input %s (-want +got):\n%s", name, d)
		}
	}
	if got := w["24"].Inputs["cfg"]; got != 7.0 {
		t.Errorf("KSampler cfg = %#v, want float64 7", got)
	}
	if got := w["24"].Inputs["seed"]; got != int64(42) {
		t.Errorf("KSampler seed = %#v, want int64 42", got)
	}
	roundTrip(t, w)
}

func TestDecodeWorkflowValues(t *testing.T) {
	for _, tc := range []struct {
		json string
		want any
	}{
		{`5`, int64(5)},
		{`-5`, int64(-5)},
		{`-0`, int64(0)},
		{`5.0`, 5.0},
		{`5e0`, 5.0},
		{`5E2`, 500.0},
		{`9223372036854775807`, int64(math.MaxInt64)},
		{`-9223372036854775808`, int64(math.MinInt64)},
		{`9223372036854775808`, 9223372036854775808.0},
		{`1e-400`, 0.0},
		{`"5"`, "5"},
		{`null`, nil},
		{`false`, false},
		// Links: [string, integer] or an integral float index.
		{`["4", 0]`, Ref{"4", 0}},
		{`["4", 2.0]`, Ref{"4", 2}},
		{`["4", 1e0]`, Ref{"4", 1}},
		{`["", 0]`, Ref{"", 0}},
		// Not links.
		{`[4, 0]`, []any{int64(4), int64(0)}},
		{`["4", "0"]`, []any{"4", "0"}},
		{`["4", true]`, []any{"4", true}},
		{`["4", 0, 1]`, []any{"4", int64(0), int64(1)}},
		{`["4"]`, []any{"4"}},
		{`[]`, []any{}},
		{`[["4", 0]]`, []any{[]any{"4", int64(0)}}},
		{`{"__value__": ["4", 0]}`, []any{"4", int64(0)}},
		{`{"__value__": [1.0, [2]]}`, []any{1.0, []any{int64(2)}}},
		{`{"__value__": 5}`, int64(5)},
		{`{"__value__": {"__value__": 5}}`, map[string]any{"__value__": int64(5)}},
		{`{"__value__": 1, "x": 2}`, map[string]any{"__value__": int64(1), "x": int64(2)}},
		{`{"a": {"b": [1, 2.0]}}`, map[string]any{"a": map[string]any{"b": []any{int64(1), 2.0}}}},
	} {
		w, err := DecodeWorkflow([]byte(`{"1": {"class_type": "X", "inputs": {"v": ` + tc.json + `}}}`))
		if err != nil {
			t.Errorf("%s: %v", tc.json, err)
			continue
		}
		if d := cmp.Diff(tc.want, w["1"].Inputs["v"]); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.json, d)
		}
	}
}

func TestDecodeWorkflowEmpty(t *testing.T) {
	for _, in := range []string{`{}`, " \n{ }\n"} {
		w, err := DecodeWorkflow([]byte(in))
		if err != nil || w == nil || len(w) != 0 {
			t.Errorf("%q: got %v, %v; want an empty workflow", in, w, err)
		}
	}
	// A node without inputs gets an empty input map.
	w, err := DecodeWorkflow([]byte(`{"1": {"class_type": "X"}}`))
	if err != nil || w["1"].Inputs == nil {
		t.Fatalf("got %#v, %v", w["1"], err)
	}
}

func TestDecodeWorkflowErrors(t *testing.T) {
	for _, tc := range []struct {
		name, json string
		want       string // substring of the message
		line, col  int
		node       NodeID // "" with inNode false: not in a node
		inNode     bool
		input      string
		is         error
	}{
		{name: "empty", json: ``, want: "empty input", line: 1, col: 1},
		{name: "blank", json: "  \n ", want: "empty input"},
		{name: "syntax", json: "{\n  \"1\": {\"class_type\": \"A\",}\n}", want: "malformed JSON", line: 2, node: "1", inNode: true},
		{name: "truncated", json: `{"1": {"class_type": "A"`, want: "unexpected end", node: "1", inNode: true},
		{name: "top array", json: `[1, 2]`, want: "top level must be a JSON object of nodes, got an array", line: 1, col: 1},
		{name: "top string", json: ` "x"`, want: "got a string", line: 1, col: 2},
		{name: "node not object", json: `{"1": ["A"]}`, want: "node must be a JSON object, got an array", line: 1, col: 7, node: "1", inNode: true},
		{name: "node null", json: `{"1": null}`, want: "got null", node: "1", inNode: true},
		{name: "no class", json: `{"1": {"inputs": {}}}`, want: "missing class_type", node: "1", inNode: true},
		{name: "class not string", json: "{\"1\": {\n\"class_type\": 5}}", want: "class_type must be a string, got a number", line: 2, col: 15, node: "1", inNode: true},
		{name: "inputs array", json: `{"1": {"class_type": "A", "inputs": [1]}}`, want: "inputs must be a JSON object, got an array", node: "1", inNode: true},
		{name: "inputs null", json: `{"1": {"class_type": "A", "inputs": null}}`, want: "inputs must be a JSON object, got null", node: "1", inNode: true},
		{name: "negative link", json: `{"1": {"class_type": "A", "inputs": {"image": ["2", -1]}}}`, want: "link output index -1 is negative", node: "1", inNode: true, input: "image"},
		{name: "fractional link", json: `{"1": {"class_type": "A", "inputs": {"image": ["2", 0.5]}}}`, want: "not an integer", node: "1", inNode: true, input: "image"},
		{name: "huge link", json: `{"1": {"class_type": "A", "inputs": {"image": ["2", 1e12]}}}`, want: "out of range", node: "1", inNode: true, input: "image"},
		{name: "number range", json: `{"1": {"class_type": "A", "inputs": {"x": [1e400]}}}`, want: "number 1e400 is out of range", node: "1", inNode: true, input: "x"},
		{name: "duplicate node", json: `{"1": {"class_type": "A"}, "1": {"class_type": "B"}}`, want: "duplicate node id", node: "1", inNode: true, is: ErrDuplicateID},
		{name: "duplicate input", json: `{"1": {"class_type": "A", "inputs": {"x": 1, "x": 2}}}`, want: "duplicate input", node: "1", inNode: true, input: "x"},
		{name: "duplicate key", json: `{"1": {"class_type": "A", "class_type": "B"}}`, want: `duplicate key "class_type"`, node: "1", inNode: true},
		{name: "meta not object", json: `{"1": {"class_type": "A", "_meta": "t"}}`, want: "_meta must be an object", node: "1", inNode: true},
		{name: "title not string", json: `{"1": {"class_type": "A", "_meta": {"title": 1}}}`, want: "_meta.title must be a string", node: "1", inNode: true},
		{name: "display id", json: `{"1": {"class_type": "A", "override_display_id": 3}}`, want: "override_display_id must be a string", node: "1", inNode: true},
		{name: "trailing", json: `{} {}`, want: "unexpected data after the workflow object", line: 1, col: 4},
		{name: "trailing junk", json: "{}\nx", want: "unexpected data after the workflow object", line: 2, col: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := DecodeWorkflow([]byte(tc.json))
			if err == nil {
				t.Fatalf("decoded %v; want an error", w)
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v (%T) is not a *DecodeError", err, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if tc.line != 0 && de.Line != tc.line {
				t.Errorf("line %d, want %d (%v)", de.Line, tc.line, err)
			}
			if tc.col != 0 && de.Column != tc.col {
				t.Errorf("column %d, want %d (%v)", de.Column, tc.col, err)
			}
			if de.InNode != tc.inNode || de.Node != tc.node || de.Input != tc.input {
				t.Errorf("error is at node %q (in node: %v) input %q; want %q (%v) %q: %v", de.Node, de.InNode, de.Input, tc.node, tc.inNode, tc.input, err)
			}
			if tc.inNode && !strings.Contains(err.Error(), `node "`+string(tc.node)+`"`) {
				t.Errorf("error %q does not name node %q", err, tc.node)
			}
			if tc.input != "" && !strings.Contains(err.Error(), `input "`+tc.input+`"`) {
				t.Errorf("error %q does not name input %q", err, tc.input)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v does not wrap %v", err, tc.is)
			}
		})
	}
}

func TestDecodeWorkflowReader(t *testing.T) {
	boom := errors.New("boom")
	if _, err := ReadWorkflow(iotest.ErrReader(boom)); !errors.Is(err, boom) {
		t.Fatalf("got %v, want an error wrapping %v", err, boom)
	}
	w, err := ReadWorkflow(iotest.OneByteReader(strings.NewReader(`{"1": {"class_type": "A", "inputs": {"x": ["2", 0]}}}`)))
	if err != nil || w["1"].Inputs["x"] != (Ref{"2", 0}) {
		t.Fatalf("got %v, %v", w, err)
	}
}

func TestEncodeWorkflowRoundTrip(t *testing.T) {
	for name, w := range map[string]Workflow{
		"empty": {},
		"values": {
			"1": {Class: "A", Inputs: map[string]any{
				"int": int64(5), "float": 5.0, "neg": -0.5, "zero": 0.0, "negzero": math.Copysign(0, -1),
				"bigint": int64(math.MinInt64), "bigfloat": 1e300, "small": 5e-324, "million": 1e6, "huge": 1e16,
				"str": "a \"quoted\" <html> & \u00e9 \U0001F600", "t": true, "nil": nil,
				"link": Ref{"2", 3}, "self": Ref{"1", 0}, "emptylink": Ref{"", 0},
				"list": []any{"2", int64(3)}, "empty": []any{}, "nested": []any{[]any{"x", int64(1)}, map[string]any{}},
				"map":  map[string]any{"k": []any{1.5, nil}},
				"wrap": map[string]any{"__value__": []any{int64(1)}},
			}, Title: "Title \"A\"", DisplayID: "9"},
			"2":       {Class: "B", Inputs: map[string]any{}},
			"10":      {Class: "", Inputs: map[string]any{}},
			"weird\n": {Class: "C\t", Inputs: map[string]any{"": ""}},
		},
	} {
		t.Run(name, func(t *testing.T) { roundTrip(t, w) })
	}
}

func TestEncodeWorkflowConversions(t *testing.T) {
	w := Workflow{"1": {Class: "A", Inputs: map[string]any{
		"lit":     Literal{Value: []any{"2", int64(0)}},
		"litnum":  Literal{Value: 3.0},
		"ints":    []int{1, 2},
		"int":     7,
		"i32":     int32(-3),
		"u8":      uint8(200),
		"f32":     float32(0.5),
		"strs":    []string{"a"},
		"typed":   map[string]int{"a": 1},
		"jsonnum": jsonNumber("12"),
	}}}
	data, err := EncodeWorkflow(w)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeWorkflow(data)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"lit": []any{"2", int64(0)}, "litnum": 3.0, "ints": []any{int64(1), int64(2)}, "int": int64(7),
		"i32": int64(-3), "u8": int64(200), "f32": 0.5, "strs": []any{"a"}, "typed": map[string]any{"a": int64(1)},
		"jsonnum": int64(12),
	}
	if d := cmp.Diff(want, got["1"].Inputs); d != "" {
		t.Fatalf("(-want +got):\n%s\n%s", d, data)
	}
	if !bytes.Contains(data, []byte(`"litnum": 3.0`)) {
		t.Errorf("integral float not written with .0:\n%s", data)
	}
}

func TestEncodeWorkflowErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		w    Workflow
		want string
	}{
		"nil node":     {Workflow{"1": nil}, `node "1" is nil`},
		"nan":          {Workflow{"1": {Class: "A", Inputs: map[string]any{"x": math.NaN()}}}, `node "1" input "x": cannot encode NaN`},
		"inf in list":  {Workflow{"1": {Class: "A", Inputs: map[string]any{"x": []any{math.Inf(1)}}}}, "cannot encode +Inf"},
		"nested ref":   {Workflow{"1": {Class: "A", Inputs: map[string]any{"x": []any{Ref{"2", 0}}}}}, "inside a literal"},
		"negative ref": {Workflow{"1": {Class: "A", Inputs: map[string]any{"x": Ref{"2", -1}}}}, "negative output index"},
		"struct":       {Workflow{"1": {Class: "A", Inputs: map[string]any{"x": struct{}{}}}}, "cannot encode a value of type struct {}"},
		"bad number":   {Workflow{"1": {Class: "A", Inputs: map[string]any{"x": jsonNumber("1e999")}}}, "out of range"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := EncodeWorkflow(tc.w)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestEncodeWorkflowWriterError(t *testing.T) {
	boom := errors.New("boom")
	err := WriteWorkflow(errWriter{boom}, Workflow{"1": {Class: "A"}})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want an error wrapping %v", err, boom)
	}
}

type errWriter struct{ err error }

func (w errWriter) Write([]byte) (int, error) { return 0, w.err }

var _ io.Writer = errWriter{}

func FuzzDecodeWorkflow(f *testing.F) {
	f.Add(readCodecFixture(f, "seed-offload.json"))
	f.Add(readCodecFixture(f, "basic.json"))
	for _, s := range []string{
		`{}`,
		`{"1": {"class_type": "A", "inputs": {"x": ["2", 0], "y": 5, "z": 5.0}}}`,
		`{"1": {"class_type": "A", "inputs": {"x": {"__value__": ["2", 0]}, "y": [1, [2, 3]], "z": {"__value__": {"__value__": 1}}}}}`,
		`{"1": {"class_type": "A", "inputs": {"x": ["2", 1.0], "n": -0, "f": -0.0, "b": 1e308, "i": 99999999999999999999}}}`,
		`{"a": {"class_type": "B", "_meta": {"title": "t"}, "override_display_id": "c", "inputs": {}}}`,
		`{"1": {"class_type": "A", "inputs": {"x": ["2", -1]}}}`,
		`[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		w, err := DecodeWorkflow(data)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v (%T) is not a *DecodeError", err, err)
			}
			return
		}
		roundTrip(t, w)
	})
}

func jsonNumber(s string) json.Number { return json.Number(s) }

// countClassType counts what bytes.Count counts.
func TestCountClassType(t *testing.T) {
	for _, s := range []string{"", "y", `"class_type"`, `class_type"`, `{"a":{"class_type":"X"},"b":{"class_type":"y"}}`, `"class_type""class_type"yy"class_type`, `x"class_typ"`} {
		if got, want := countClassType([]byte(s)), strings.Count(s, `"class_type"`); got != want {
			t.Errorf("countClassType(%q) = %d, want %d", s, got, want)
		}
	}
}
