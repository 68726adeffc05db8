package testpack

import (
	"context"
	"fmt"

	"github.com/ebbgraph/ebb/engine"
)

// sizeInputs are the height, width and batch_size inputs of the stubs,
// bounded by MaxImageSide and MaxImageBatch (ComfyUI's stubs allow 1024**3
// and 4096**3).
func sizeInputs() []engine.InputSpec {
	return []engine.InputSpec{
		intIn("height", 512, 1, MaxImageSide),
		intIn("width", 512, 1, MaxImageSide),
		intIn("batch_size", 1, 1, MaxImageBatch),
	}
}

// callSize reads height, width and batch_size. Validation bounds literals;
// linked values are checked here.
func callSize(c *engine.Call) (b, h, w int, err error) {
	var v [3]int64
	most := [3]int64{MaxImageBatch, MaxImageSide, MaxImageSide}
	for i, name := range []string{"batch_size", "height", "width"} {
		if v[i], err = c.Int(name); err != nil {
			return 0, 0, 0, fmt.Errorf("input %q: %w", name, err)
		}
		if v[i] < 1 {
			return 0, 0, 0, fmt.Errorf("input %q: %d is not positive", name, v[i])
		}
		if v[i] > most[i] {
			return 0, 0, 0, fmt.Errorf("input %q: %w: %d is over the limit of %d", name, ErrImageTooLarge, v[i], most[i])
		}
	}
	return int(v[0]), int(v[1]), int(v[2]), nil
}

// constantTensor makes the [b,h,w,c] tensor of a stub: the sizes from the
// call, every value v, through the call's allocator.
func constantTensor(ctx context.Context, c *engine.Call, ch int, v float32) (*Image, error) {
	b, h, w, err := callSize(c)
	if err != nil {
		return nil, err
	}
	m, err := callAlloc(ctx, c)(b, h, w, ch)
	if err != nil {
		return nil, err
	}
	return m.fill(v), nil
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
			Runner: engine.RunFunc(func(ctx context.Context, c *engine.Call) (engine.Result, error) {
				v, err := c.Float("value")
				if err != nil {
					return engine.Result{}, err
				}
				m, err := constantTensor(ctx, c, 3, float32(v))
				if err != nil {
					return engine.Result{}, err
				}
				return engine.Outputs(m), nil
			}),
		},
		{
			Class: "StubMask",
			Schema: engine.Schema{
				Inputs:  append([]engine.InputSpec{floatIn("value", 0.5, 0, 1, 0.01)}, sizeInputs()...),
				Outputs: []engine.OutputSpec{out("MASK", "MASK")},
			},
			Runner: engine.RunFunc(func(ctx context.Context, c *engine.Call) (engine.Result, error) {
				v, err := c.Float("value")
				if err != nil {
					return engine.Result{}, err
				}
				m, err := constantTensor(ctx, c, 0, float32(v))
				if err != nil {
					return engine.Result{}, err
				}
				return engine.Outputs(m), nil
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
func stubImage(ctx context.Context, c *engine.Call) (engine.Result, error) {
	content, err := c.String("content")
	if err != nil {
		return engine.Result{}, err
	}
	var v float32
	switch content {
	case "WHITE":
		v = 1
	case "BLACK", "NOISE":
	default:
		return engine.Result{}, fmt.Errorf("content %q is not WHITE, BLACK or NOISE", content)
	}
	m, err := constantTensor(ctx, c, 3, v)
	if err != nil {
		return engine.Result{}, err
	}
	if content == "NOISE" {
		m.noise(seedFor(string(c.Node), c.Index))
	}
	return engine.Outputs(m), nil
}
