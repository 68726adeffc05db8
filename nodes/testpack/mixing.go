// mixing.go: TestLazyMixImages (which images the mask needs, asked lazily) and TestVariadicAverage.

package testpack

import (
	"context"
	"fmt"
	"strconv"

	"github.com/ebbgraph/ebb/engine"
)

// lazyMix is TestLazyMixImages: image1*(1-mask)+image2*mask, evaluating
// image1 only when the mask is not all 1 and image2 only when it is not all
// 0.
type lazyMix struct{}

var (
	_ engine.Runner      = lazyMix{}
	_ engine.LazyChecker = lazyMix{}
)

func mixMask(c *engine.Call) (*Image, error) {
	m, ok := c.Inputs["mask"].(*Image)
	if !ok || m == nil || !m.IsMask() {
		return nil, fmt.Errorf("mask: want a MASK, got %v", describe(c.Inputs["mask"]))
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("mask: %w", err)
	}
	return m, nil
}

// missing is Python's "x is None" for an input: absent or nil.
func missing(c *engine.Call, name string) bool { return c.Inputs[name] == nil }

// CheckLazy asks for the images the mask needs.
func (lazyMix) CheckLazy(_ context.Context, c *engine.Call) ([]string, error) {
	mask, err := mixMask(c)
	if err != nil {
		return nil, err
	}
	var need []string
	if missing(c, "image1") && !mask.AllEqual(1) {
		need = append(need, "image1")
	}
	if missing(c, "image2") && !mask.AllEqual(0) {
		need = append(need, "image2")
	}
	return need, nil
}

func (lazyMix) Run(ctx context.Context, c *engine.Call) (engine.Result, error) {
	mask, err := mixMask(c)
	if err != nil {
		return engine.Result{}, err
	}
	switch {
	case mask.AllEqual(0):
		im, err := asImage(c.Inputs["image1"], "image1")
		return engine.Outputs(im), err
	case mask.AllEqual(1):
		im, err := asImage(c.Inputs["image2"], "image2")
		return engine.Outputs(im), err
	}
	a, err := asImage(c.Inputs["image1"], "image1")
	if err != nil {
		return engine.Result{}, err
	}
	b, err := asImage(c.Inputs["image2"], "image2")
	if err != nil {
		return engine.Result{}, err
	}
	m, err := mix(a, b, mask, callAlloc(ctx, c))
	if err != nil {
		return engine.Result{}, err
	}
	return engine.Outputs(m), nil
}

// variadicAverage is TestVariadicAverage: the mean of input1, input2, ...
// read while the names are consecutive (input2.. are undeclared).
func variadicAverage(ctx context.Context, c *engine.Call) (engine.Result, error) {
	var images []*Image
	for i := 1; ; i++ {
		name := "input" + strconv.Itoa(i)
		v, ok := c.Inputs[name]
		if !ok {
			break
		}
		m, err := asImage(v, name)
		if err != nil {
			return engine.Result{}, err
		}
		images = append(images, m)
	}
	avg, err := average(callAlloc(ctx, c), images...)
	if err != nil {
		return engine.Result{}, err
	}
	return engine.Outputs(avg), nil
}
