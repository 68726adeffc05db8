package expand

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/ebbgraph/ebb/engine"
)

// DecodeComponent decodes a component from JSON. The graph is a ComfyUI
// API-format prompt (decoded by engine.DecodeWorkflow, so 5 and 5.0 stay an
// int64 and a float64); inputs say which graph inputs each component input
// feeds ("to"), outputs which graph output each component output is
// ("from"):
//
//	{
//	  "class": "ScaleAdd",
//	  "output_node": false,
//	  "inputs": [
//	    {"name": "x", "type": "INT", "to": [["mul", "a"]]},
//	    {"name": "y", "type": "INT", "optional": true, "default": 100, "min": 0, "to": [["add", "b"]]}
//	  ],
//	  "outputs": [{"name": "INT", "type": "INT", "from": ["add", 0]}],
//	  "graph": {
//	    "mul": {"class_type": "TestIntMathOperation", "inputs": {"a": 0, "b": 3, "operation": "multiply"}},
//	    "add": {"class_type": "TestIntMathOperation", "inputs": {"a": ["mul", 0], "b": 100, "operation": "add"}}
//	  }
//	}
//
// An input may also give "choices" (COMBO), "max", "step", "lazy" and
// "force_input". The result is validated.
func DecodeComponent(data []byte) (*Component, error) {
	var doc struct {
		Class      string `json:"class"`
		OutputNode bool   `json:"output_node"`
		Inputs     []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Optional   bool            `json:"optional"`
			Default    json.RawMessage `json:"default"`
			Min        *float64        `json:"min"`
			Max        *float64        `json:"max"`
			Step       float64         `json:"step"`
			Choices    []string        `json:"choices"`
			Lazy       bool            `json:"lazy"`
			ForceInput bool            `json:"force_input"`
			To         [][2]string     `json:"to"`
		} `json:"inputs"`
		Outputs []struct {
			Name string          `json:"name"`
			Type string          `json:"type"`
			From json.RawMessage `json:"from"`
		} `json:"outputs"`
		Graph json.RawMessage `json:"graph"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("expand: decoding component: %w", err)
	}
	if len(doc.Graph) == 0 {
		return nil, fmt.Errorf("expand: component %q has no graph", doc.Class)
	}
	graph, err := engine.DecodeWorkflow(doc.Graph)
	if err != nil {
		return nil, fmt.Errorf("expand: component %q graph: %w", doc.Class, err)
	}
	m := &Component{Class: doc.Class, OutputNode: doc.OutputNode, Graph: graph, InputNodes: map[string][]Port{}}
	for _, in := range doc.Inputs {
		spec := engine.InputSpec{
			Name: in.Name, Type: in.Type, Optional: in.Optional, Min: in.Min, Max: in.Max,
			Step: in.Step, Choices: in.Choices, Lazy: in.Lazy, ForceInput: in.ForceInput,
		}
		if len(in.Default) > 0 {
			if spec.Default, err = decodeValue(in.Default); err != nil {
				return nil, fmt.Errorf("expand: component %q input %q default: %w", doc.Class, in.Name, err)
			}
		}
		m.Inputs = append(m.Inputs, spec)
		for _, to := range in.To {
			m.InputNodes[in.Name] = append(m.InputNodes[in.Name], Port{Node: engine.NodeID(to[0]), Input: to[1]})
		}
	}
	for _, out := range doc.Outputs {
		v, err := decodeValue(out.From)
		r, ok := v.(engine.Ref)
		if err != nil || !ok {
			return nil, fmt.Errorf("expand: component %q output %q: \"from\" must be a link [node, index], got %s", doc.Class, out.Name, out.From)
		}
		m.Outputs = append(m.Outputs, engine.OutputSpec{Name: out.Name, Type: out.Type})
		m.Results = append(m.Results, r)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// decodeValue decodes one input value with the engine's codec rules (links,
// {"__value__": ...} literals, int64 versus float64).
func decodeValue(raw json.RawMessage) (any, error) {
	var buf bytes.Buffer
	buf.WriteString(`{"v": {"class_type": "", "inputs": {"v": `)
	buf.Write(raw)
	buf.WriteString(`}}}`)
	wf, err := engine.DecodeWorkflow(buf.Bytes())
	if err != nil {
		return nil, err
	}
	return wf["v"].Inputs["v"], nil
}
