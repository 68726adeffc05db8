// validate_cases_test.go: TestValidateCases, the table of workflows with their errors and outputs.

package engine

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

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
