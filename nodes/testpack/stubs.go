package testpack

import (
	"context"
	"fmt"

	"github.com/ebbgraph/ebb/engine"
)

// Size bounds of the stub nodes (ComfyUI's 1024**3 and 4096**3).
const (
	maxHeight = 1 << 30
	maxWidth  = 1 << 36
	maxBatch  = 1 << 30
)

// sizeInputs are the height, width and batch_size inputs of the stubs.
func sizeInputs() []engine.InputSpec {
	return []engine.InputSpec{
		intIn("height", 512, 1, maxHeight),
		intIn("width", 512, 1, maxWidth),
		intIn("batch_size", 1, 1, maxBatch),
	}
}

// callSize reads height, width and batch_size.
func callSize(c *engine.Call) (b, h, w int, err error) {
	var v [3]int64
	for i, name := range []string{"batch_size", "height", "width"} {
		if v[i], err = c.Int(name); err != nil {
			return 0, 0, 0, fmt.Errorf("input %q: %w", name, err)
		}
		if v[i] < 1 {
			return 0, 0, 0, fmt.Errorf("input %q: %d is not positive", name, v[i])
		}
	}
	return int(v[0]), int(v[1]), int(v[2]), nil
}

func stubTypes() []*engine.NodeType {
	return []*engine.NodeType{
		{
			Class: "StubImage",
			Schema: engine.Schema{
				Inputs:  append([]engine.InputSpec{combo("content", "WHITE", "BLACK", "NOISE")}, sizeInputs()...),
				Outputs: []engine.OutputSpec{out("IMAGE", "IMAGE")},
			},
			Runner: engine.RunFunc(stubImage),
		},
		{
			Class: "StubConstantImage",
			Schema: engine.Schema{
				Inputs:  append([]engine.InputSpec{floatIn("value", 0.5, 0, 1, 0.01)}, sizeInputs()...),
				Outputs: []engine.OutputSpec{out("IMAGE", "IMAGE")},
			},
			Runner: engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
				v, err := c.Float("value")
				if err != nil {
					return engine.Result{}, err
				}
				b, h, w, err := callSize(c)
				if err != nil {
					return engine.Result{}, err
				}
				return engine.Outputs(ConstantImage(b, h, w, float32(v))), nil
			}),
		},
		{
			Class: "StubMask",
			Schema: engine.Schema{
				Inputs:  append([]engine.InputSpec{floatIn("value", 0.5, 0, 1, 0.01)}, sizeInputs()...),
				Outputs: []engine.OutputSpec{out("MASK", "MASK")},
			},
			Runner: engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
				v, err := c.Float("value")
				if err != nil {
					return engine.Result{}, err
				}
				b, h, w, err := callSize(c)
				if err != nil {
					return engine.Result{}, err
				}
				return engine.Outputs(ConstantMask(b, h, w, float32(v))), nil
			}),
		},
		{
			Class: "StubInt",
			Schema: engine.Schema{
				Inputs:  []engine.InputSpec{intIn("value", 0, -0xffffffff, 0xffffffff)},
				Outputs: []engine.OutputSpec{out("INT", "INT")},
			},
			Runner: engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
				v, err := c.Int("value")
				if err != nil {
					return engine.Result{}, err
				}
				return engine.Outputs(v), nil
			}),
		},
		{
			Class: "StubFloat",
			Schema: engine.Schema{
				Inputs:  []engine.InputSpec{floatIn("value", 0, -1e38, 1e38, 0.01)},
				Outputs: []engine.OutputSpec{out("FLOAT", "FLOAT")},
			},
			Runner: engine.RunFunc(func(_ context.Context, c *engine.Call) (engine.Result, error) {
				v, err := c.Float("value")
				if err != nil {
					return engine.Result{}, err
				}
				return engine.Outputs(v), nil
			}),
		},
	}
}

// stubImage makes a WHITE (ones), BLACK (zeros) or NOISE (uniform [0,1),
// seeded from the node id and call index) image.
func stubImage(_ context.Context, c *engine.Call) (engine.Result, error) {
	content, err := c.String("content")
	if err != nil {
		return engine.Result{}, err
	}
	b, h, w, err := callSize(c)
	if err != nil {
		return engine.Result{}, err
	}
	switch content {
	case "WHITE":
		return engine.Outputs(ConstantImage(b, h, w, 1)), nil
	case "BLACK":
		return engine.Outputs(NewImage(b, h, w)), nil
	case "NOISE":
		return engine.Outputs(NoiseImage(b, h, w, seedFor(string(c.Node), c.Index))), nil
	}
	return engine.Result{}, fmt.Errorf("content %q is not WHITE, BLACK or NOISE", content)
}
