package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
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

func vdef(v *validated, id NodeID) *Node {
	n, _ := v.def(id)
	return n
}
