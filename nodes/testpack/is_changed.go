// is_changed.go: TestCustomIsChanged and TestIsChangedWithConstants (fingerprints), and scaleImage.

package testpack

import (
	"context"

	"github.com/ebbgraph/ebb/engine"
)

// customIsChanged is TestCustomIsChanged: a passthrough whose fingerprint
// is AlwaysChanged when should_change.
type customIsChanged struct{}

var (
	_ engine.Runner        = customIsChanged{}
	_ engine.Fingerprinter = customIsChanged{}
)

func (customIsChanged) Run(_ context.Context, c *engine.Call) (engine.Result, error) {
	return engine.Outputs(c.Inputs["image"]), nil
}

// Fingerprint is AlwaysChanged (ComfyUI's NaN) when should_change, else
// false.
func (customIsChanged) Fingerprint(c *engine.Call) (any, error) {
	if pyBool(c.Inputs["should_change"]) {
		return engine.AlwaysChanged, nil
	}
	return false, nil
}

// isChangedWithConstants is TestIsChangedWithConstants: image*value, with a
// fingerprint that sees only constants (value when image is absent).
type isChangedWithConstants struct{}

var (
	_ engine.Runner        = isChangedWithConstants{}
	_ engine.Fingerprinter = isChangedWithConstants{}
)

func (isChangedWithConstants) Run(ctx context.Context, c *engine.Call) (engine.Result, error) {
	return scaleImage(ctx, c)
}

// Fingerprint is value when image is absent (linked), else mean(image)*value.
func (isChangedWithConstants) Fingerprint(c *engine.Call) (any, error) {
	v, err := c.Float("value")
	if err != nil {
		return nil, err
	}
	if m, ok := c.Inputs["image"].(*Image); ok && m != nil {
		return m.Mean() * v, nil
	}
	return v, nil
}

// scaleImage returns image*value.
func scaleImage(ctx context.Context, c *engine.Call) (engine.Result, error) {
	m, err := asImage(c.Inputs["image"], "image")
	if err != nil {
		return engine.Result{}, err
	}
	v, err := c.Float("value")
	if err != nil {
		return engine.Result{}, err
	}
	out, err := m.scale(v, callAlloc(ctx, c))
	if err != nil {
		return engine.Result{}, err
	}
	return engine.Outputs(out), nil
}
