package expand_test

import (
	"strings"
	"testing"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/expand"
)

const scaleAddJSON = `{
  "class": "ScaleAdd",
  "inputs": [
    {"name": "x", "type": "INT", "to": [["mul", "a"]]},
    {"name": "y", "type": "INT", "optional": true, "default": 100, "min": 0, "to": [["add", "b"]]}
  ],
  "outputs": [{"name": "INT", "type": "INT", "from": ["add", 0]}],
  "graph": {
    "mul": {"class_type": "Math", "inputs": {"a": 0, "b": 3, "operation": "multiply"}},
    "add": {"class_type": "Math", "inputs": {"a": ["mul", 0], "b": 100.0, "operation": "add"}}
  }
}`

func TestDecodeComponent(t *testing.T) {
	m, err := expand.DecodeComponent([]byte(scaleAddJSON))
	if err != nil {
		t.Fatal(err)
	}
	if m.Class != "ScaleAdd" || len(m.Inputs) != 2 || len(m.Outputs) != 1 {
		t.Fatalf("component %+v", m)
	}
	y := m.Inputs[1]
	if !y.Optional || y.Default != int64(100) || y.Min == nil || *y.Min != 0 {
		t.Errorf("input y = %+v (default %T)", y, y.Default)
	}
	if m.Results[0] != ref("add", 0) || m.InputNodes["x"][0] != (expand.Port{Node: "mul", Input: "a"}) {
		t.Errorf("results %v ports %v", m.Results, m.InputNodes)
	}
	add := m.Graph["add"]
	if add.Inputs["a"] != ref("mul", 0) || add.Inputs["b"] != 100.0 {
		t.Errorf("graph add %v", add.Inputs)
	}
}

func TestDecodeComponentErrors(t *testing.T) {
	for name, doc := range map[string]string{
		"not json":       `{`,
		"unknown field":  `{"class": "X", "bogus": 1, "graph": {}}`,
		"no graph":       `{"class": "X"}`,
		"bad graph":      `{"class": "X", "graph": {"1": {"inputs": {}}}}`,
		"bad from":       `{"class": "X", "outputs": [{"name": "o", "type": "INT", "from": 3}], "graph": {"1": {"class_type": "Int", "inputs": {}}}}`,
		"missing node":   `{"class": "X", "outputs": [{"name": "o", "type": "INT", "from": ["2", 0]}], "graph": {"1": {"class_type": "Int", "inputs": {}}}}`,
		"port elsewhere": `{"class": "X", "inputs": [{"name": "i", "type": "INT", "to": [["9", "a"]]}], "graph": {"1": {"class_type": "Int", "inputs": {}}}}`,
	} {
		if _, err := expand.DecodeComponent([]byte(doc)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	_, err := expand.DecodeComponent([]byte(`{"class": "X", "outputs": [{"name": "o", "type": "INT", "from": 3}], "graph": {"1": {"class_type": "Int", "inputs": {}}}}`))
	if err == nil || !strings.Contains(err.Error(), "from") {
		t.Errorf("err = %v", err)
	}
}

func TestRunDecodedComponent(t *testing.T) {
	m, err := expand.DecodeComponent([]byte(scaleAddJSON))
	if err != nil {
		t.Fatal(err)
	}
	reg := testRegistry(t, m.NodeType())
	wf := engine.Workflow{
		"c": {Class: "ScaleAdd", Inputs: map[string]any{"x": int64(2), "y": int64(1)}},
		"s": {Class: "Show", Inputs: map[string]any{"value": ref("c", 0)}},
	}
	res := run(t, reg, wf, 1, policyDefault())
	if res == nil {
		return
	}
	if got := shown(t, res, "s"); len(got) != 1 || got[0] != int64(7) {
		t.Fatalf("shows %v, want [7]", got)
	}
}
