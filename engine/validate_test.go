package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Fake node types for validation tests (independent of nodes/testpack).

type vtNop struct{}

func (vtNop) Run(context.Context, *Call) (Result, error) { return Result{}, nil }

// vtValidator is a Runner with custom validation.
type vtValidator struct {
	vtNop
	fn func(ValidationInput) error
}

func (v vtValidator) ValidateInputs(in ValidationInput) error { return v.fn(in) }

var _ Validator = vtValidator{}

// floatsOrLinks is TestCustomValidation1's VALIDATE_INPUTS: values must be
// floats (linked inputs are nil).
func floatsOrLinks(in ValidationInput) error {
	for _, k := range []string{"input1", "input2"} {
		switch in.Values[k].(type) {
		case nil, float64:
		default:
			return fmt.Errorf("Invalid input of type %T for %s", in.Values[k], k)
		}
	}
	return nil
}

func vtSchema(outputs string, inputs ...InputSpec) Schema {
	s := Schema{Inputs: inputs}
	if outputs != "" {
		for _, o := range strings.Split(outputs, " ") {
			s.Outputs = append(s.Outputs, OutputSpec{Name: o, Type: o})
		}
	}
	return s
}

func vtOutputNode(s Schema) Schema { s.OutputNode = true; return s }

func vtRegistry(extra ...*NodeType) *Registry {
	nop := vtNop{}
	pair := func(typ string) []InputSpec {
		return []InputSpec{{Name: "input1", Type: typ}, {Name: "input2", Type: typ}}
	}
	cv := func(class string, s Schema, fn func(ValidationInput) error) *NodeType {
		return &NodeType{Class: class, Schema: s, Runner: vtValidator{fn: fn}}
	}
	cv1 := vtSchema("IMAGE", pair("IMAGE,FLOAT")...)
	cv1.Validation.Inputs = []string{"input1", "input2"}
	cv2 := cv1
	cv2.Validation.InputTypes = true
	cv4 := vtSchema("IMAGE", pair("FLOAT")...)
	cv4.Validation.Inputs = []string{"input1", "input2"}
	cv5 := vtSchema("IMAGE",
		InputSpec{Name: "input1", Type: "FLOAT", Min: F(0), Max: F(1)},
		InputSpec{Name: "input2", Type: "FLOAT", Min: F(0), Max: F(1)})
	cv5.Validation.AllInputs = true
	r := NewRegistry().MustRegister(
		&NodeType{Class: "Image", Runner: nop, Schema: vtSchema("IMAGE",
			InputSpec{Name: "content", Type: "COMBO", Choices: []string{"WHITE", "BLACK", "NOISE"}},
			InputSpec{Name: "height", Type: "INT", Default: int64(512), Min: F(1), Max: F(4096)},
			InputSpec{Name: "width", Type: "INT", Optional: true, Default: int64(512), Min: F(1), Max: F(4096)})},
		&NodeType{Class: "Int", Runner: nop, Schema: vtSchema("INT", InputSpec{Name: "value", Type: "INT", Min: F(-100), Max: F(100)})},
		&NodeType{Class: "Float", Runner: nop, Schema: vtSchema("FLOAT", InputSpec{Name: "value", Type: "FLOAT", Min: F(-1e38), Max: F(1e38)})},
		&NodeType{Class: "Mask", Runner: nop, Schema: vtSchema("MASK", InputSpec{Name: "value", Type: "FLOAT", Min: F(0), Max: F(1)})},
		&NodeType{Class: "Big", Runner: nop, Schema: vtSchema("INT", InputSpec{Name: "value", Type: "INT", Min: F(-0xffffffffffffffff), Max: F(0xffffffffffffffff)})},
		&NodeType{Class: "Step", Runner: nop, Schema: vtSchema("INT", InputSpec{Name: "value", Type: "INT", Min: F(-2.5), Max: F(2.5)})},
		&NodeType{Class: "Mix", Runner: nop, Schema: vtSchema("IMAGE",
			InputSpec{Name: "image1", Type: "IMAGE", Lazy: true},
			InputSpec{Name: "image2", Type: "IMAGE", Lazy: true},
			InputSpec{Name: "mask", Type: "MASK"})},
		&NodeType{Class: "Save", Runner: nop, Schema: vtOutputNode(vtSchema("",
			InputSpec{Name: "images", Type: "IMAGE"},
			InputSpec{Name: "prefix", Type: "STRING", Optional: true},
			InputSpec{Name: "id", Type: "UNIQUE_ID", Hidden: HiddenUniqueID}))},
		&NodeType{Class: "Preview", Runner: nop, Schema: vtOutputNode(vtSchema("", InputSpec{Name: "value", Type: "*"}))},
		&NodeType{Class: "OutPass", Runner: nop, Schema: vtOutputNode(vtSchema("IMAGE", InputSpec{Name: "image", Type: "IMAGE"}))},
		&NodeType{Class: "Text", Runner: nop, Schema: vtSchema("STRING",
			InputSpec{Name: "text", Type: "STRING"},
			InputSpec{Name: "flag", Type: "BOOLEAN", Optional: true})},
		&NodeType{Class: "Any", Runner: nop, Schema: vtSchema("*", InputSpec{Name: "value", Type: "*", Optional: true})},
		&NodeType{Class: "Multi", Runner: nop, Schema: vtSchema("IMAGE", InputSpec{Name: "value", Type: "IMAGE,FLOAT"})},
		&NodeType{Class: "Pass", Runner: nop, Schema: vtSchema("IMAGE", InputSpec{Name: "image", Type: "IMAGE"})},
		&NodeType{Class: "Two", Runner: nop, Schema: vtSchema("IMAGE MASK")},
		cv("CV1", cv1, floatsOrLinks),
		cv("CV2", cv2, func(in ValidationInput) error {
			if err := floatsOrLinks(in); err != nil {
				return err
			}
			for k, t := range in.Types {
				if t != "IMAGE" && t != "FLOAT" {
					return fmt.Errorf("Invalid type of %s: %s", k, t)
				}
			}
			return nil
		}),
		cv("CV4", cv4, floatsOrLinks),
		cv("CV5", cv5, func(in ValidationInput) error {
			if in.Values["input2"] == 7.0 {
				return errors.New("7s are not allowed. I've never liked 7s.")
			}
			return nil
		}),
		cv("Panicky", vtSchema("INT", InputSpec{Name: "value", Type: "INT"}), func(ValidationInput) error { panic("validator exploded") }),
		cv("Typed", vtSchema("INT", InputSpec{Name: "value", Type: "INT"}), func(in ValidationInput) error {
			return fmt.Errorf("wrapped: %w", ValidationError{Type: "custom_kind", Input: "value", Message: "bad value", Details: "value is odd"})
		}),
	)
	for _, t := range extra {
		r.MustRegister(t)
	}
	return r
}

// vn builds a node from class and name/value pairs.
func vn(class string, kv ...any) *Node {
	n := &Node{Class: class, Inputs: map[string]any{}}
	for i := 0; i < len(kv); i += 2 {
		n.Inputs[kv[i].(string)] = kv[i+1]
	}
	return n
}

func vl(id NodeID, out int) Ref { return Ref{Node: id, Out: out} }

func vtImage(content string) *Node { return vn("Image", "content", content, "height", int64(64)) }

// cloneWorkflow copies the nodes and their input maps (values are shared).
func cloneWorkflow(w Workflow) Workflow {
	c := make(Workflow, len(w))
	for id, n := range w {
		if n == nil {
			c[id] = nil
			continue
		}
		cn := *n
		cn.Inputs = maps.Clone(n.Inputs)
		c[id] = &cn
	}
	return c
}

// errTypes summarises per-node errors as their types.
func errTypes(m map[NodeID]*NodeValidation) map[NodeID][]string {
	out := map[NodeID][]string{}
	for id, nv := range m {
		for _, e := range nv.Errors {
			out[id] = append(out[id], e.Type)
		}
	}
	return out
}

func nodeText(nv *NodeValidation) string {
	var parts []string
	for _, e := range nv.Errors {
		parts = append(parts, e.Error())
	}
	return strings.Join(parts, "\n")
}

func TestValidateCases(t *testing.T) {
	reg := vtRegistry()
	white, black := vtImage("WHITE"), vtImage("BLACK")
	for _, tc := range []struct {
		name    string
		wf      Workflow
		targets []NodeID
		prompt  string   // PromptError type; "" means success
		outputs []NodeID // valid outputs on success
		errs    map[NodeID][]string
		deps    map[NodeID][]NodeID
		text    map[NodeID]string // substrings of a node's error text
		msg     string            // substring of the PromptError text
	}{
		{
			name:    "valid",
			wf:      Workflow{"img": white, "save": vn("Save", "images", vl("img", 0))},
			outputs: []NodeID{"save"},
		},
		{
			name: "unknown classes",
			wf: Workflow{"3": vn("Foo"), "5": vn("Foo", "x", vl("7", 0)), "7": vn("Bar"),
				"img": white, "save": vn("Save", "images", vl("img", 0))},
			prompt: TypeMissingNodeType,
			errs:   map[NodeID][]string{"3": {TypeMissingNodeType}, "5": {TypeMissingNodeType}, "7": {TypeMissingNodeType}},
			text:   map[NodeID]string{"5": "Node 'Foo' not found", "7": "#7"},
			msg:    "'Foo', 'Bar'",
		},
		{
			name:   "missing class",
			wf:     Workflow{"1": {Inputs: map[string]any{}}, "img": white, "save": vn("Save", "images", vl("img", 0))},
			prompt: TypeInvalidPrompt,
			msg:    "'#1'",
		},
		{
			name:   "nil node",
			wf:     Workflow{"1": nil, "img": white, "save": vn("Save", "images", vl("img", 0))},
			prompt: TypeInvalidPrompt,
		},
		{
			name:    "unknown target",
			wf:      Workflow{"img": white, "save": vn("Save", "images", vl("img", 0))},
			targets: []NodeID{"save", "nope"},
			prompt:  TypeInvalidPrompt,
			msg:     `"nope"`,
		},
		{
			name:   "no output nodes",
			wf:     Workflow{"img": white},
			prompt: TypeNoOutputs,
		},
		{
			name:   "empty workflow",
			wf:     Workflow{},
			prompt: TypeNoOutputs,
		},
		{
			name:    "empty targets",
			wf:      Workflow{"img": white, "save": vn("Save", "images", vl("img", 0))},
			targets: []NodeID{},
			prompt:  TypeNoOutputs,
		},
		{
			name:    "non-output target",
			wf:      Workflow{"img": white, "save": vn("Save", "images", vl("img", 0))},
			targets: []NodeID{"img"},
			outputs: []NodeID{"img"},
		},
		{
			name: "targets restrict and dedupe",
			wf: Workflow{"img": white, "s1": vn("Save", "images", vl("img", 0)),
				"s2": vn("Save", "images", vl("img", 0)), "s3": vn("Save")},
			targets: []NodeID{"s2", "s1", "s2"},
			outputs: []NodeID{"s1", "s2"},
		},
		{
			name: "required input missing",
			wf: Workflow{"in1": black, "mask": vn("Mask", "value", 0.5),
				"mix1": vn("Mix", "image1", vl("in1", 0), "mask", vl("mask", 0)),
				"mix2": vn("Mix", "image1", vl("mix1", 0), "image2", vl("in1", 0), "mask", vl("mask", 0)),
				"save": vn("Save", "images", vl("mix2", 0))},
			prompt: TypeOutputsFailed,
			errs:   map[NodeID][]string{"mix1": {TypeRequiredMissing}},
			deps:   map[NodeID][]NodeID{"mix1": {"save"}},
			text:   map[NodeID]string{"mix1": "Required input is missing: image2"},
			msg:    "node mix1 (Mix): Required input is missing: image2",
		},
		{
			name: "missing node skips one output",
			wf: Workflow{"white": white, "mask": vn("Mask", "value", 0.5),
				"mix1": vn("Mix", "image1", vl("removeme", 0), "image2", vl("white", 0), "mask", vl("mask", 0)),
				"mix2": vn("Mix", "image1", vl("white", 0), "image2", vl("white", 0), "mask", vl("mask", 0)),
				"s1":   vn("Save", "images", vl("mix1", 0)), "s2": vn("Save", "images", vl("mix2", 0))},
			outputs: []NodeID{"s2"},
			errs:    map[NodeID][]string{"mix1": {TypeBadLinkedInput}},
			deps:    map[NodeID][]NodeID{"mix1": {"s1"}},
			text:    map[NodeID]string{"mix1": `image1: linked to node "removeme", which is not in the workflow`},
		},
		{
			name:   "output index out of range",
			wf:     Workflow{"two": vn("Two"), "save": vn("Save", "images", vl("two", 2))},
			prompt: TypeOutputsFailed,
			errs:   map[NodeID][]string{"save": {TypeBadLinkedInput}},
			text:   map[NodeID]string{"save": `images: output index 2 is out of range: node "two" (Two) has 2 output(s)`},
		},
		{
			name:    "second output index",
			wf:      Workflow{"two": vn("Two"), "save": vn("Save", "images", vl("two", 0)), "p": vn("Preview", "value", vl("two", 1))},
			outputs: []NodeID{"p", "save"},
		},
		{
			name:   "return type mismatch",
			wf:     Workflow{"i": vn("Int", "value", int64(5)), "save": vn("Save", "images", vl("i", 0))},
			prompt: TypeOutputsFailed,
			errs:   map[NodeID][]string{"save": {TypeReturnMismatch}},
			text:   map[NodeID]string{"save": "images, received_type(INT) mismatch input_type(IMAGE)"},
		},
		{
			name: "type sets and wildcards",
			wf: Workflow{"img": white, "f": vn("Float", "value", 0.5), "any": vn("Any", "value", vl("img", 0)),
				"m1": vn("Multi", "value", vl("f", 0)), "m2": vn("Multi", "value", vl("img", 0)),
				"s1": vn("Save", "images", vl("any", 0)), "s2": vn("Save", "images", vl("m1", 0)),
				"s3": vn("Save", "images", vl("m2", 0)), "p": vn("Preview", "value", vl("f", 0))},
			outputs: []NodeID{"p", "s1", "s2", "s3"},
		},
		{
			name:    "type set mismatch",
			wf:      Workflow{"i": vn("Int", "value", int64(5)), "m": vn("Multi", "value", vl("i", 0)), "p": vn("Preview", "value", vl("m", 0))},
			targets: []NodeID{"p"},
			prompt:  TypeOutputsFailed,
			errs:    map[NodeID][]string{"m": {TypeReturnMismatch}},
			text:    map[NodeID]string{"m": "received_type(INT) mismatch input_type(IMAGE,FLOAT)"},
		},
		{
			name: "invalid input types",
			wf: Workflow{
				"i1": vn("Int", "value", "abc"), "i2": vn("Int", "value", 5.5), "i3": vn("Int", "value", []any{int64(1)}),
				"i4": vn("Int", "value", nil), "f": vn("Float", "value", "x"), "s": vn("Text", "text", int64(5)),
				"b": vn("Text", "text", "t", "flag", "true"), "ok": vn("Int", "value", " 7 "),
			},
			targets: []NodeID{"i1", "i2", "i3", "i4", "f", "s", "b", "ok"},
			outputs: []NodeID{"ok"},
			errs: map[NodeID][]string{"i1": {TypeInvalidInputType}, "i2": {TypeInvalidInputType}, "i3": {TypeInvalidInputType},
				"i4": {TypeInvalidInputType}, "f": {TypeInvalidInputType}, "s": {TypeInvalidInputType}, "b": {TypeInvalidInputType}},
			text: map[NodeID]string{
				"i1": `Failed to convert an input value to a INT value: value, abc, invalid literal for int() with base 10: "abc"`,
				"i2": "5.5 is not an integer", "i4": "want an integer, got null", "f": "FLOAT value", "s": "want a string",
				"b": "want a boolean",
			},
		},
		{
			name: "ranges",
			wf: Workflow{"max": vn("Int", "value", int64(101)), "min": vn("Int", "value", int64(-101)),
				"mask": vn("Mask", "value", 1.5), "edge": vn("Int", "value", int64(100)),
				"bigok": vn("Big", "value", int64(9223372036854775807)), "step": vn("Step", "value", int64(3)),
				"stepok": vn("Step", "value", int64(-2))},
			targets: []NodeID{"max", "min", "mask", "edge", "bigok", "step", "stepok"},
			outputs: []NodeID{"bigok", "edge", "stepok"},
			errs: map[NodeID][]string{"max": {TypeBiggerThanMax}, "min": {TypeSmallerThanMin},
				"mask": {TypeBiggerThanMax}, "step": {TypeBiggerThanMax}},
			text: map[NodeID]string{"max": "Value 101 bigger than max of 100: value", "min": "Value -101 smaller than min of -100",
				"mask": "Value 1.5 bigger than max of 1.0", "step": "Value 3 bigger than max of 2.5"},
		},
		{
			name: "not in list",
			wf: Workflow{"a": vn("Image", "content", "PURPLE", "height", int64(8)), "b": vn("Image", "content", int64(5), "height", int64(8)),
				"c": vn("Image", "content", "NOISE", "height", int64(8), "width", int64(0))},
			targets: []NodeID{"a", "b", "c"},
			prompt:  TypeOutputsFailed,
			errs:    map[NodeID][]string{"a": {TypeNotInList}, "b": {TypeNotInList}, "c": {TypeSmallerThanMin}},
			text:    map[NodeID]string{"a": "Value not in list: content: 'PURPLE' not in ['WHITE', 'BLACK', 'NOISE']", "b": "'5' not in"},
		},
		{
			name:    "custom validation: literal 5.0 runs",
			wf:      Workflow{"v": vn("CV1", "input1", 5.0, "input2", 3.0), "s": vn("Save", "images", vl("v", 0))},
			outputs: []NodeID{"s"},
		},
		{
			name:   "custom validation: literal 5 rejected",
			wf:     Workflow{"v": vn("CV1", "input1", int64(5), "input2", 3.0), "s": vn("Save", "images", vl("v", 0))},
			prompt: TypeOutputsFailed,
			errs:   map[NodeID][]string{"v": {TypeCustomValidation}},
			text:   map[NodeID]string{"v": "Invalid input of type int64 for input1"},
		},
		{
			name:   "custom validation: literal foo rejected",
			wf:     Workflow{"v": vn("CV1", "input1", "foo", "input2", 3.0), "s": vn("Save", "images", vl("v", 0))},
			prompt: TypeOutputsFailed,
			errs:   map[NodeID][]string{"v": {TypeCustomValidation}},
		},
		{
			name: "custom validation: built-in link type check",
			wf: Workflow{"i": vn("Int", "value", int64(5)), "v": vn("CV1", "input1", vl("i", 0), "input2", 3.0),
				"f": vn("Float", "value", 5.0), "v4": vn("CV4", "input1", vl("i", 0), "input2", 3.0),
				"v4ok": vn("CV4", "input1", vl("f", 0), "input2", 3.0)},
			targets: []NodeID{"v", "v4", "v4ok"},
			outputs: []NodeID{"v4ok"},
			errs:    map[NodeID][]string{"v": {TypeReturnMismatch}, "v4": {TypeReturnMismatch}},
		},
		{
			name: "custom validation: input types",
			wf: Workflow{"i": vn("Int", "value", int64(5)), "f": vn("Float", "value", 5.0),
				"bad": vn("CV2", "input1", vl("i", 0), "input2", 3.0), "good": vn("CV2", "input1", vl("f", 0), "input2", 3.0)},
			targets: []NodeID{"bad", "good"},
			outputs: []NodeID{"good"},
			errs:    map[NodeID][]string{"bad": {TypeCustomValidation}},
			text:    map[NodeID]string{"bad": "Invalid type of input1: INT"},
		},
		{
			name: "custom validation: kwargs disables ranges",
			wf: Workflow{"ok": vn("CV5", "input1", int64(0), "input2", 0.5), "big": vn("CV5", "input1", int64(0), "input2", 5.0),
				"seven": vn("CV5", "input1", int64(0), "input2", 7.0)},
			targets: []NodeID{"ok", "big", "seven"},
			outputs: []NodeID{"big", "ok"},
			errs:    map[NodeID][]string{"seven": {TypeCustomValidation}},
			text:    map[NodeID]string{"seven": "7s are not allowed. I've never liked 7s."},
		},
		{
			name:    "validator panic",
			wf:      Workflow{"p": vn("Panicky", "value", int64(1))},
			targets: []NodeID{"p"},
			prompt:  TypeOutputsFailed,
			errs:    map[NodeID][]string{"p": {TypeValidationPanic}},
			text:    map[NodeID]string{"p": "validator exploded"},
		},
		{
			name:    "validator returns a ValidationError",
			wf:      Workflow{"p": vn("Typed", "value", int64(1))},
			targets: []NodeID{"p"},
			prompt:  TypeOutputsFailed,
			errs:    map[NodeID][]string{"p": {"custom_kind"}},
			text:    map[NodeID]string{"p": "bad value: value is odd"},
		},
		{
			name: "static cycle",
			wf: Workflow{"0": vn("Any", "value", vl("1", 0)), "1": vn("Any", "value", vl("0", 0)),
				"p": vn("Preview", "value", vl("0", 0))},
			prompt: TypeOutputsFailed,
			errs:   map[NodeID][]string{"0": {TypeCycle}, "1": {TypeCycle}},
			deps:   map[NodeID][]NodeID{"0": {"p"}, "1": {"p"}},
			text:   map[NodeID]string{"0": "Dependency cycle detected: 0 (Any) -> 1 (Any) -> 0 (Any)", "1": "0 (Any) -> 1 (Any) -> 0 (Any)"},
			msg:    "node 1 (Any): Dependency cycle detected: 0 (Any) -> 1 (Any) -> 0 (Any)",
		},
		{
			name: "self loop and a valid output",
			wf: Workflow{"a": vn("Any", "value", vl("a", 0)), "p1": vn("Preview", "value", vl("a", 0)),
				"img": white, "p2": vn("Preview", "value", vl("img", 0))},
			outputs: []NodeID{"p2"},
			errs:    map[NodeID][]string{"a": {TypeCycle}},
			deps:    map[NodeID][]NodeID{"a": {"p1"}},
			text:    map[NodeID]string{"a": "a (Any) -> a (Any)"},
		},
		{
			name: "cycle through a longer loop with a tail",
			wf: Workflow{"x": vn("Any", "value", vl("y", 0)), "y": vn("Any", "value", vl("z", 0)),
				"z": vn("Any", "value", vl("x", 0)), "t": vn("Any", "value", vl("x", 0)), "p": vn("Preview", "value", vl("t", 0))},
			prompt: TypeOutputsFailed,
			errs:   map[NodeID][]string{"x": {TypeCycle}, "y": {TypeCycle}, "z": {TypeCycle}},
			text:   map[NodeID]string{"z": "x (Any) -> y (Any) -> z (Any) -> x (Any)"},
		},
		{
			name: "shared failing node",
			wf: Workflow{"i": vn("Int", "value", int64(500)), "a1": vn("Any", "value", vl("i", 0)),
				"p1": vn("Preview", "value", vl("a1", 0)), "p2": vn("Preview", "value", vl("i", 0)),
				"p3": vn("Preview", "value", vl("p9", 0)), "img": white, "p4": vn("Preview", "value", vl("img", 0))},
			outputs: []NodeID{"p4"},
			errs:    map[NodeID][]string{"i": {TypeBiggerThanMax}, "p3": {TypeBadLinkedInput}},
			deps:    map[NodeID][]NodeID{"i": {"p1", "p2"}, "p3": {"p3"}},
		},
		{
			name: "several errors on one node",
			wf: Workflow{"i": vn("Int", "value", int64(5)), "mix": vn("Mix", "image1", vl("i", 0), "image2", vl("gone", 0)),
				"s": vn("Save", "images", vl("mix", 0))},
			prompt: TypeOutputsFailed,
			errs:   map[NodeID][]string{"mix": {TypeReturnMismatch, TypeBadLinkedInput, TypeRequiredMissing}},
		},
		{
			name:   "undeclared and hidden links are checked",
			wf:     Workflow{"img": white, "s": vn("Save", "images", vl("img", 0), "extra", vl("img", 5), "id", vl("gone", 0))},
			prompt: TypeOutputsFailed,
			errs:   map[NodeID][]string{"s": {TypeBadLinkedInput, TypeBadLinkedInput}},
			text:   map[NodeID]string{"s": "extra: output index 5"},
		},
		{
			name:    "output upstream of another output",
			wf:      Workflow{"img": white, "o": vn("OutPass", "image", vl("img", 0)), "s": vn("Save", "images", vl("o", 0))},
			outputs: []NodeID{"o", "s"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := cloneWorkflow(tc.wf)
			v, err := validate(reg, tc.wf, tc.targets)
			if d := cmp.Diff(before, tc.wf); d != "" {
				t.Errorf("validate changed the caller's workflow (-before +after):\n%s", d)
			}
			var nodes map[NodeID]*NodeValidation
			if tc.prompt != "" {
				var pe *PromptError
				if !errors.As(err, &pe) {
					t.Fatalf("got %v, %v; want a *PromptError of type %s", v, err, tc.prompt)
				}
				if v != nil {
					t.Errorf("got a result along with error %v", err)
				}
				if pe.Type != tc.prompt {
					t.Fatalf("error type %s, want %s: %v", pe.Type, tc.prompt, err)
				}
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("error %v does not wrap ErrInvalid", err)
				}
				if tc.msg != "" && !strings.Contains(err.Error(), tc.msg) {
					t.Errorf("error %q does not contain %q", err, tc.msg)
				}
				nodes = pe.Nodes
			} else {
				if err != nil {
					t.Fatalf("validate: %v", err)
				}
				if d := cmp.Diff(tc.outputs, v.outputs); d != "" {
					t.Errorf("outputs (-want +got):\n%s", d)
				}
				if v.size() != len(tc.wf) {
					t.Errorf("validated workflow has %d nodes, want %d", v.size(), len(tc.wf))
				}
				nodes = v.errs
			}
			want := tc.errs
			if want == nil {
				want = map[NodeID][]string{}
			}
			if d := cmp.Diff(want, errTypes(nodes)); d != "" {
				t.Errorf("node error types (-want +got):\n%s", d)
			}
			for id, nv := range nodes {
				if nv.Class != tc.wf[id].Class {
					t.Errorf("node %s: class %q, want %q", id, nv.Class, tc.wf[id].Class)
				}
				if nv.DependentOutputs == nil {
					t.Errorf("node %s: nil DependentOutputs", id)
				}
				if tc.prompt != TypeMissingNodeType && len(nv.DependentOutputs) == 0 {
					t.Errorf("node %s: no dependent outputs", id)
				}
				if !slices.IsSorted(nv.DependentOutputs) {
					t.Errorf("node %s: dependent outputs %v not sorted", id, nv.DependentOutputs)
				}
			}
			for id, deps := range tc.deps {
				if nodes[id] == nil {
					t.Errorf("node %s has no errors", id)
					continue
				}
				if d := cmp.Diff(deps, nodes[id].DependentOutputs); d != "" {
					t.Errorf("node %s dependent outputs (-want +got):\n%s", id, d)
				}
			}
			for id, sub := range tc.text {
				if nodes[id] == nil {
					t.Errorf("node %s has no errors", id)
				} else if txt := nodeText(nodes[id]); !strings.Contains(txt, sub) {
					t.Errorf("node %s errors %q do not contain %q", id, txt, sub)
				}
			}
		})
	}
}

func TestValidateCoercion(t *testing.T) {
	reg := vtRegistry()
	wf := Workflow{
		"int5":    vn("Int", "value", int64(5)),
		"intf":    vn("Int", "value", 5.0),
		"ints":    vn("Int", "value", "7"),
		"intgo":   vn("Int", "value", 3),
		"intlit":  vn("Int", "value", Literal{Value: int64(4)}),
		"float5":  vn("Float", "value", int64(5)),
		"floatf":  vn("Float", "value", 2.5),
		"floats":  vn("Float", "value", "0.25"),
		"multi5":  vn("Multi", "value", int64(5)),
		"multif":  vn("Multi", "value", 5.0),
		"anylist": vn("Any", "value", []any{"x", int64(0)}),
		"anylit":  vn("Any", "value", Literal{Value: []any{"x", int64(0)}}),
		"anyref":  vn("Any", "value", Literal{Value: Ref{"x", 0}}),
		"extra":   vn("Text", "text", "t", "flag", true, "undeclared", Literal{Value: []any{int64(1)}}, "n", int64(2)),
		"link":    vn("Any", "value", vl("int5", 0)),
	}
	before := cloneWorkflow(wf)
	var targets []NodeID
	for id := range wf {
		targets = append(targets, id)
	}
	v, err := validate(reg, wf, targets)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.errs) != 0 {
		t.Fatalf("unexpected errors: %v", errTypes(v.errs))
	}
	if d := cmp.Diff(before, wf); d != "" {
		t.Fatalf("caller's workflow changed (-before +after):\n%s", d)
	}
	want := map[NodeID]map[string]any{
		"int5":    {"value": int64(5)},
		"intf":    {"value": int64(5)},
		"ints":    {"value": int64(7)},
		"intgo":   {"value": int64(3)},
		"intlit":  {"value": int64(4)},
		"float5":  {"value": 5.0},
		"floatf":  {"value": 2.5},
		"floats":  {"value": 0.25},
		"multi5":  {"value": int64(5)},
		"multif":  {"value": 5.0},
		"anylist": {"value": []any{"x", int64(0)}},
		"anylit":  {"value": []any{"x", int64(0)}},
		"anyref":  {"value": Literal{Value: Ref{"x", 0}}},
		"extra":   {"text": "t", "flag": true, "undeclared": []any{int64(1)}, "n": int64(2)},
		"link":    {"value": Ref{"int5", 0}},
	}
	for id, inputs := range want {
		if d := cmp.Diff(inputs, vdef(v, id).Inputs); d != "" {
			t.Errorf("node %s inputs (-want +got):\n%s", id, d)
		}
	}
	// Untouched nodes are shared; changed ones are clones.
	for _, id := range []NodeID{"int5", "floatf", "multi5", "multif", "anylist", "link", "anyref"} {
		if vdef(v, id) != wf[id] {
			t.Errorf("node %s was cloned though nothing changed", id)
		}
	}
	for _, id := range []NodeID{"intf", "ints", "intgo", "intlit", "float5", "floats", "anylit", "extra"} {
		if vdef(v, id) == wf[id] {
			t.Errorf("node %s was changed in place", id)
		}
	}
}

func TestValidateUnreachableNodesUntouched(t *testing.T) {
	reg := vtRegistry()
	// An unreachable node is not validated (ComfyUI validates from the
	// outputs only) but stays in the validated workflow.
	wf := Workflow{"img": vtImage("WHITE"), "s": vn("Save", "images", vl("img", 0)), "bad": vn("Int", "value", "zzz")}
	v, err := validate(reg, wf, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.errs) != 0 || vdef(v, "bad") != wf["bad"] {
		t.Fatalf("errs %v; unreachable node changed: %v", errTypes(v.errs), vdef(v, "bad") != wf["bad"])
	}
}

func TestValidateValidatorInput(t *testing.T) {
	var got []ValidationInput
	record := func(types bool) *NodeType {
		s := vtSchema("IMAGE",
			InputSpec{Name: "n", Type: "INT"},
			InputSpec{Name: "image", Type: "IMAGE"},
			InputSpec{Name: "opt", Type: "FLOAT", Optional: true})
		s.Validation.InputTypes = types
		class := "Record"
		if types {
			class = "RecordTypes"
		}
		return &NodeType{Class: class, Schema: s, Runner: vtValidator{fn: func(in ValidationInput) error {
			got = append(got, in)
			return nil
		}}}
	}
	reg := vtRegistry(record(false), record(true))
	for _, class := range []string{"Record", "RecordTypes"} {
		got = nil
		wf := Workflow{"img": vtImage("WHITE"), "i": vn("Int", "value", int64(1)),
			"r": vn(class, "n", 5.0, "image", vl("img", 0), "extra", vl("i", 0), "lit", "x")}
		if _, err := validate(reg, wf, []NodeID{"r"}); err != nil {
			t.Fatalf("%s: %v", class, err)
		}
		if len(got) != 1 {
			t.Fatalf("%s: validator called %d times, want once", class, len(got))
		}
		want := ValidationInput{Values: map[string]any{"n": int64(5), "image": nil, "extra": nil, "lit": "x"}}
		if class == "RecordTypes" {
			want.Types = map[string]string{"image": "IMAGE", "extra": "INT"}
		}
		if d := cmp.Diff(want, got[0]); d != "" {
			t.Errorf("%s: validator input (-want +got):\n%s", class, d)
		}
	}
}

func TestValidateNilRegistry(t *testing.T) {
	_, err := validate(nil, Workflow{"1": vn("Save")}, nil)
	var pe *PromptError
	if !errors.As(err, &pe) || pe.Type != TypeInvalidPrompt {
		t.Fatalf("got %v; want invalid_prompt", err)
	}
}

func TestValidateTypesMatch(t *testing.T) {
	for _, tc := range []struct {
		received, expected string
		want               bool
	}{
		{"IMAGE", "IMAGE", true},
		{"INT", "IMAGE", false},
		{"*", "IMAGE", true},
		{"IMAGE", "*", true},
		{"FLOAT", "IMAGE,FLOAT", true},
		{"IMAGE, MASK", "MASK", true},
		{"INT,STRING", "IMAGE,FLOAT", false},
		{"INT,*", "IMAGE", true},
		{"", "", true},
		{"", "IMAGE", false},
	} {
		if got := typesMatch(tc.received, tc.expected); got != tc.want {
			t.Errorf("typesMatch(%q, %q) = %v, want %v", tc.received, tc.expected, got, tc.want)
		}
	}
}

func TestValidateCompareNum(t *testing.T) {
	for _, tc := range []struct {
		v    any
		b    float64
		want int
	}{
		{int64(5), 5, 0},
		{int64(5), 5.5, -1},
		{int64(6), 5.5, 1},
		{int64(-3), -2.5, -1},
		{int64(-2), -2.5, 1},
		{int64(9007199254740993), 9007199254740992, 1}, // 2^53+1 vs 2^53: exact
		{int64(9223372036854775807), 0xffffffffffffffff, -1},
		{int64(-9223372036854775808), -0xffffffffffffffff, 1},
		{0.5, 1, -1},
		{3, 2, 1},
	} {
		if got, ok := compareNum(tc.v, tc.b); !ok || got != tc.want {
			t.Errorf("compareNum(%v, %v) = %d, %v; want %d", tc.v, tc.b, got, ok, tc.want)
		}
	}
	for _, v := range []any{"5", nil, []any{}} {
		if _, ok := compareNum(v, 1); ok {
			t.Errorf("compareNum(%#v) ok; want not comparable", v)
		}
	}
}

// vtChain is img -> Pass x n -> Save, ids "p0".."p<n-1>".
func vtChain(n int) Workflow {
	wf := make(Workflow, n+2)
	wf["img"] = vtImage("WHITE")
	prev := NodeID("img")
	for i := range n {
		id := NodeID("p" + strconv.Itoa(i))
		wf[id] = vn("Pass", "image", vl(prev, 0))
		prev = id
	}
	wf["save"] = vn("Save", "images", vl(prev, 0))
	return wf
}

func TestValidateLongChain(t *testing.T) {
	const n = 100_000
	reg := vtRegistry()
	wf := vtChain(n)
	start := time.Now()
	v, err := validate(reg, wf, nil)
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]NodeID{"save"}, v.outputs); d != "" || len(v.errs) != 0 || v.size() != n+2 {
		t.Fatalf("outputs diff %s, %d errors, %d nodes", d, len(v.errs), v.size())
	}
	if elapsed > 10*time.Second {
		t.Errorf("validating a %d-node chain took %v", n, elapsed)
	}
	t.Logf("validated a %d-node chain in %v", n, elapsed)

	// A failure at the far end invalidates the output and is reported once.
	wf["p0"] = vn("Pass", "image", vl("gone", 0))
	_, err = validate(reg, wf, nil)
	var pe *PromptError
	if !errors.As(err, &pe) || pe.Type != TypeOutputsFailed {
		t.Fatalf("got %v; want %s", err, TypeOutputsFailed)
	}
	if d := cmp.Diff(map[NodeID][]string{"p0": {TypeBadLinkedInput}}, errTypes(pe.Nodes)); d != "" {
		t.Fatalf("errors (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]NodeID{"save"}, pe.Nodes["p0"].DependentOutputs); d != "" {
		t.Fatalf("dependent outputs (-want +got):\n%s", d)
	}

	// A ring of n nodes is one cycle, reported on every member with the
	// cycle's names abbreviated; "a -> b" reads "a takes an input from b".
	wf["p0"] = vn("Pass", "image", vl(NodeID("p"+strconv.Itoa(n-1)), 0))
	_, err = validate(reg, wf, nil)
	if !errors.As(err, &pe) || pe.Type != TypeOutputsFailed {
		t.Fatalf("got %v; want %s", err, TypeOutputsFailed)
	}
	if len(pe.Nodes) != n {
		t.Fatalf("%d nodes with errors, want %d", len(pe.Nodes), n)
	}
	if lines := strings.Count(pe.Details, "\n") + 1; lines != maxDetailLines+1 || !strings.HasSuffix(pe.Details, fmt.Sprintf("... and %d more errors", n-maxDetailLines)) {
		t.Errorf("prompt details have %d lines, ending %q", lines, pe.Details[max(0, len(pe.Details)-60):])
	}
	details := pe.Nodes["p5"].Errors[0].Details
	if pe.Nodes["p5"].Errors[0].Type != TypeCycle || !strings.HasPrefix(details, "p0 (Pass) -> p99999 (Pass) -> p99998 (Pass) -> ") ||
		!strings.HasSuffix(details, " -> p1 (Pass) -> p0 (Pass)") || !strings.Contains(details, "more)") || len(details) > 400 {
		t.Fatalf("cycle details %q", details)
	}
}

// BenchmarkValidateChain reports validation's share of BenchmarkChain:
// ns per node of validating a chain.
func BenchmarkValidateChain(b *testing.B) {
	reg := vtRegistry()
	for _, n := range []int{1_000, 100_000, 1_000_000} {
		wf := vtChain(n)
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := validate(reg, wf, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/node")
		})
	}
}

// BenchmarkWalkChain is the baseline for BenchmarkValidateChain: the least
// any validator does, visit every node of the workflow map once and look up
// each linked id in it. Its ns/node grows with the map, as validation's does.
func BenchmarkWalkChain(b *testing.B) {
	for _, n := range []int{1_000, 100_000, 1_000_000} {
		wf := vtChain(n)
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			for b.Loop() {
				found := 0
				for _, nd := range wf {
					for _, val := range nd.Inputs {
						if r, ok := val.(Ref); ok {
							if _, ok := wf[r.Node]; ok {
								found++
							}
						}
					}
				}
				if found != n+1 {
					b.Fatalf("%d links found, want %d", found, n+1)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/node")
		})
	}
}

func vdef(v *validated, id NodeID) *Node {
	n, _ := v.def(id)
	return n
}
