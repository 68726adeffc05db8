package testpack

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/ebbgraph/ebb/engine"
)

// nodeType returns the pack's type of class.
func nodeType(t *testing.T, class string) *engine.NodeType {
	t.Helper()
	for _, nt := range Types() {
		if nt.Class == class {
			return nt
		}
	}
	t.Fatalf("class %s is not in the pack", class)
	return nil
}

// call runs class once with inputs, the way the engine would for a node
// with id "n1".
func call(t *testing.T, class string, inputs map[string]any) (engine.Result, error) {
	t.Helper()
	return nodeType(t, class).Runner.Run(context.Background(), &engine.Call{Node: "n1", Class: class, Inputs: inputs})
}

// mustCall is call that fails the test on error.
func mustCall(t *testing.T, class string, inputs map[string]any) engine.Result {
	t.Helper()
	r, err := call(t, class, inputs)
	if err != nil {
		t.Fatalf("%s: %v", class, err)
	}
	return r
}

// image returns output i of r as an *Image.
func image(t *testing.T, r engine.Result, i int) *Image {
	t.Helper()
	if len(r.Outputs) <= i {
		t.Fatalf("result has %d outputs, want more than %d", len(r.Outputs), i)
	}
	m, ok := r.Outputs[i].(*Image)
	if !ok {
		t.Fatalf("output %d is %T, want *Image", i, r.Outputs[i])
	}
	return m
}

// pixel returns the single stored value of every pixel of a constant
// one-image batch, failing if the image is not constant.
func pixel(t *testing.T, m *Image) int {
	t.Helper()
	px := m.Pixels()
	if len(px) != 1 || px[0].Min != px[0].Max {
		t.Fatalf("image %v is not one constant image: %+v", m, px)
	}
	return px[0].Min
}

func TestQuantize(t *testing.T) {
	// ComfyUI's conventions: uint8(clip(255*v)), truncating.
	for _, c := range []struct {
		v    float32
		want uint8
	}{
		{0, 0}, {0.5, 127}, {0.25, 63}, {0.125, 31}, {0.0625, 15}, {0.1, 25}, {0.2, 51},
		{0.3, 76}, {2.0 / 3, 170}, {1, 255}, {-1, 0}, {2, 255}, {float32(math.NaN()), 0},
		{float32(math.Inf(1)), 255},
	} {
		if got := quantize(c.v); got != c.want {
			t.Errorf("quantize(%v) = %d, want %d", c.v, got, c.want)
		}
	}
}

func TestPixels(t *testing.T) {
	m := NewImage(2, 2, 3)
	for i := range m.Data[:m.frameLen()] {
		m.Data[i] = 0.5
	}
	m.Data[0] = 1
	px := m.Pixels()
	if len(px) != 2 {
		t.Fatalf("%d stats, want 2", len(px))
	}
	want0 := PixelStats{Width: 3, Height: 2, Min: 127, Max: 255, Mean: float64(255+17*127) / 18}
	if px[0] != want0 {
		t.Errorf("image 0: %+v, want %+v", px[0], want0)
	}
	if want1 := (PixelStats{Width: 3, Height: 2}); px[1] != want1 {
		t.Errorf("image 1: %+v, want %+v", px[1], want1)
	}
	ui := px[0].UI()
	if ui["width"] != 3 || ui["height"] != 2 || ui["min"] != 127 || ui["max"] != 255 || ui["mean"] != want0.Mean {
		t.Errorf("UI = %v", ui)
	}
}

func TestImageShapes(t *testing.T) {
	im, mask := NewImage(2, 3, 4), NewMask(2, 3, 4)
	if !slices.Equal(im.Shape(), []int{2, 3, 4, 3}) || im.Len() != 72 || im.IsMask() {
		t.Errorf("image shape %v len %d", im.Shape(), im.Len())
	}
	if !slices.Equal(mask.Shape(), []int{2, 3, 4}) || mask.Len() != 24 || !mask.IsMask() || mask.Bytes() != 96 {
		t.Errorf("mask shape %v len %d", mask.Shape(), mask.Len())
	}
	if s := im.String(); s != "IMAGE[2 3 4 3]" {
		t.Errorf("String = %q", s)
	}
	f := ConstantImage(3, 1, 1, 1).Frame(1)
	if f.B != 1 || len(f.Data) != 3 {
		t.Errorf("frame %v", f)
	}
}

func TestNoiseDeterministic(t *testing.T) {
	a, b := NoiseImage(1, 16, 16, 7), NoiseImage(1, 16, 16, 7)
	if !slices.Equal(a.Data, b.Data) {
		t.Error("same seed, different noise")
	}
	if c := NoiseImage(1, 16, 16, 8); slices.Equal(a.Data, c.Data) {
		t.Error("different seeds, same noise")
	}
	if a.Min() < 0 || a.Max() >= 1 || a.Min() == a.Max() {
		t.Errorf("noise range [%v, %v]", a.Min(), a.Max())
	}
	if seedFor("1", 0) == seedFor("1", 1) || seedFor("1", 0) != seedFor("1", 0) {
		t.Error("seedFor is not a deterministic function of node and index")
	}
}

func TestMix(t *testing.T) {
	black, white := NewImage(1, 2, 2), ConstantImage(1, 2, 2, 1)
	m, err := Mix(black, white, ConstantMask(1, 2, 2, 0.25))
	if err != nil {
		t.Fatal(err)
	}
	if !m.AllEqual(0.25) || m.C != 3 {
		t.Errorf("mix = %v %v", m, m.Data)
	}
	// A batch of three masks against single images broadcasts.
	masks := ConstantMask(3, 2, 2, 0.5)
	if m, err = Mix(black, white, masks); err != nil || m.B != 3 || !m.AllEqual(0.5) {
		t.Errorf("broadcast mix = %v, %v", m, err)
	}
	if _, err := Mix(black, ConstantImage(1, 1, 1, 1), ConstantMask(1, 2, 2, 0.5)); err == nil {
		t.Error("mixing 2x2 and 1x1 images succeeded")
	}
	if _, err := Mix(black, white, white); err == nil {
		t.Error("an image as mask was accepted")
	}
}

func TestAverageConcatMul(t *testing.T) {
	avg, err := Average(NewImage(1, 2, 2), ConstantImage(1, 2, 2, 1), NewImage(1, 2, 2), NewImage(1, 2, 2))
	if err != nil || pixel(t, avg) != 63 {
		t.Errorf("average = %v, %v", avg, err)
	}
	if _, err := Average(NewImage(1, 2, 2), NewImage(1, 3, 2)); err == nil {
		t.Error("averaging different shapes succeeded")
	}
	if _, err := Average(); err == nil {
		t.Error("average of nothing succeeded")
	}
	cat, err := Concat(NewImage(1, 2, 2), ConstantImage(2, 2, 2, 1))
	if err != nil || cat.B != 3 || cat.Frame(0).Max() != 0 || cat.Frame(2).Min() != 1 {
		t.Errorf("concat = %v, %v", cat, err)
	}
	if _, err := Concat(NewImage(1, 2, 2), NewImage(1, 2, 3)); err == nil {
		t.Error("concat of different sizes succeeded")
	}
	p, err := Mul(ConstantImage(2, 2, 2, 0.5), ConstantMask(1, 2, 2, 0.5))
	if err != nil || p.B != 2 || p.C != 3 || !p.AllEqual(0.25) {
		t.Errorf("mul = %v, %v", p, err)
	}
	if _, err := Mul(NewImage(1, 2, 2), NewImage(1, 2, 3)); err == nil {
		t.Error("mul of different sizes succeeded")
	}
	if s := ConstantImage(1, 1, 1, 0.5).Scale(0.5); !s.AllEqual(0.25) {
		t.Errorf("scale = %v", s.Data)
	}
}
