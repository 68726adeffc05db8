package testpack

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/lifetime"
)

// Image is a float32 tensor in [B,H,W,C] order: an IMAGE has C == 3, a MASK
// has C == 0 and the shape [B,H,W]. Data holds B*H*W*max(C,1) values, batch
// first, channels last. An *Image is never modified once a node returned
// it.
type Image struct {
	B, H, W, C int
	Data       []float32
	buf        *engine.Buffer // its bytes reserved on the run's device, if made in a run
}

// An image made in a run holds its device reservation: the engine keeps
// it while a slot or the cache holds the image, and releases it once.
var _ lifetime.Holder = (*Image)(nil)

// HeldResource is the image's device reservation (nil outside a run).
func (m *Image) HeldResource() lifetime.Resource {
	if m.buf == nil {
		return nil
	}
	return m.buf
}

// NewImage returns a zero IMAGE of shape [b,h,w,3].
func NewImage(b, h, w int) *Image { return newTensor(b, h, w, 3) }

// NewMask returns a zero MASK of shape [b,h,w].
func NewMask(b, h, w int) *Image { return newTensor(b, h, w, 0) }

func newTensor(b, h, w, c int) *Image {
	m := &Image{B: b, H: h, W: w, C: c}
	m.Data = make([]float32, m.Len())
	return m
}

// ConstantImage returns an IMAGE of shape [b,h,w,3] with every value v.
func ConstantImage(b, h, w int, v float32) *Image { return newTensor(b, h, w, 3).fill(v) }

// ConstantMask returns a MASK of shape [b,h,w] with every value v.
func ConstantMask(b, h, w int, v float32) *Image { return newTensor(b, h, w, 0).fill(v) }

// NoiseImage returns an IMAGE of shape [b,h,w,3] with values uniform in
// [0,1), drawn from a generator seeded with seed.
func NoiseImage(b, h, w int, seed uint64) *Image { return newTensor(b, h, w, 3).noise(seed) }

// noise fills m with values uniform in [0,1) drawn from a generator seeded
// with seed.
func (m *Image) noise(seed uint64) *Image {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	for i := range m.Data {
		m.Data[i] = r.Float32()
	}
	return m
}

// seedFor returns a deterministic seed for a node call.
func seedFor(node string, index int) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s#%d", node, index)
	return h.Sum64()
}

func (m *Image) fill(v float32) *Image {
	if len(m.Data) == 0 || v == 0 {
		return m
	}
	// Doubling copies: fast, and cheap under the race detector.
	m.Data[0] = v
	for n := 1; n < len(m.Data); n *= 2 {
		copy(m.Data[n:], m.Data[:n])
	}
	return m
}

// IsMask reports whether m is a MASK ([B,H,W]).
func (m *Image) IsMask() bool { return m.C == 0 }

// Channels is C, or 1 for a mask.
func (m *Image) Channels() int { return max(m.C, 1) }

// Shape returns [B,H,W,C] for an image and [B,H,W] for a mask.
func (m *Image) Shape() []int {
	if m.IsMask() {
		return []int{m.B, m.H, m.W}
	}
	return []int{m.B, m.H, m.W, m.C}
}

// Len is the number of values.
func (m *Image) Len() int { return m.B * m.H * m.W * m.Channels() }

// Bytes is the size of the values.
func (m *Image) Bytes() int64 { return int64(len(m.Data)) * 4 }

func (m *Image) String() string {
	if m == nil {
		return "Image(nil)"
	}
	kind := "IMAGE"
	if m.IsMask() {
		kind = "MASK"
	}
	return fmt.Sprintf("%s%v", kind, m.Shape())
}

// frameLen is the number of values of one batch element.
func (m *Image) frameLen() int { return m.H * m.W * m.Channels() }

// Frame returns batch element i as a tensor of batch size 1 sharing m's
// data (do not modify it).
func (m *Image) Frame(i int) *Image {
	n := m.frameLen()
	return &Image{B: 1, H: m.H, W: m.W, C: m.C, Data: m.Data[i*n : (i+1)*n : (i+1)*n]}
}

// Min returns the smallest value (0 for an empty tensor).
func (m *Image) Min() float32 {
	if len(m.Data) == 0 {
		return 0
	}
	v := m.Data[0]
	for _, x := range m.Data[1:] {
		v = min(v, x)
	}
	return v
}

// Max returns the largest value (0 for an empty tensor).
func (m *Image) Max() float32 {
	if len(m.Data) == 0 {
		return 0
	}
	v := m.Data[0]
	for _, x := range m.Data[1:] {
		v = max(v, x)
	}
	return v
}

// Mean returns the mean of all values.
func (m *Image) Mean() float64 {
	if len(m.Data) == 0 {
		return 0
	}
	var s float64
	for _, x := range m.Data {
		s += float64(x)
	}
	return s / float64(len(m.Data))
}

// AllEqual reports whether every value is v (torch's min == max == v).
func (m *Image) AllEqual(v float32) bool {
	for _, x := range m.Data {
		if x != v {
			return false
		}
	}
	return true
}

// Scale returns m*v.
func (m *Image) Scale(v float64) *Image {
	out, _ := m.scale(v, func(b, h, w, c int) (*Image, error) { return newTensor(b, h, w, c), nil })
	return out
}

// scale is Scale with the output from alloc.
func (m *Image) scale(v float64, alloc allocFunc) (*Image, error) {
	out, err := alloc(m.B, m.H, m.W, m.C)
	if err != nil {
		return nil, err
	}
	f := float32(v)
	for i, x := range m.Data {
		out.Data[i] = x * f
	}
	return out, nil
}

// Mul returns the element-wise product of a and b with torch broadcasting
// of the batch dimension (a batch of 1 pairs with every element) and of a
// mask against the channels of an image. Other shape differences are
// errors.
func Mul(a, b *Image) (*Image, error) { return mul(a, b, hostAlloc) }

// mul is Mul with the output from alloc.
func mul(a, b *Image, alloc allocFunc) (*Image, error) {
	return zip(a, b, alloc, func(x, y float32) float32 { return x * y })
}

// zip applies f element-wise with broadcasting (see Mul).
func zip(a, b *Image, alloc allocFunc, f func(x, y float32) float32) (*Image, error) {
	if a.H != b.H || a.W != b.W || (a.B != b.B && a.B != 1 && b.B != 1) ||
		(a.C != b.C && a.C != 0 && b.C != 0) {
		return nil, fmt.Errorf("the size of tensor a %v must match the size of tensor b %v", a.Shape(), b.Shape())
	}
	out, err := alloc(max(a.B, b.B), a.H, a.W, max(a.C, b.C))
	if err != nil {
		return nil, err
	}
	oc := out.Channels()
	px := a.H * a.W
	for bi := range out.B {
		ab, bb := min(bi, a.B-1), min(bi, b.B-1)
		for p := range px {
			for c := range oc {
				x := a.Data[(ab*px+p)*a.Channels()+min(c, a.Channels()-1)]
				y := b.Data[(bb*px+p)*b.Channels()+min(c, b.Channels()-1)]
				out.Data[(bi*px+p)*oc+c] = f(x, y)
			}
		}
	}
	return out, nil
}

// Mix returns image1*(1-mask)+image2*mask, the mask broadcast over the
// channels (and batches of 1 broadcast as torch does).
func Mix(image1, image2, mask *Image) (*Image, error) { return mix(image1, image2, mask, hostAlloc) }

// mix is Mix with the output from alloc.
func mix(image1, image2, mask *Image, alloc allocFunc) (*Image, error) {
	if !mask.IsMask() {
		return nil, fmt.Errorf("mix: mask %v is not a MASK", mask)
	}
	if image1.H != image2.H || image1.W != image2.W || image1.C != image2.C ||
		mask.H != image1.H || mask.W != image1.W {
		return nil, fmt.Errorf("the size of tensor a %v must match the size of tensor b %v (mask %v)", image1.Shape(), image2.Shape(), mask.Shape())
	}
	nb := max(image1.B, image2.B, mask.B)
	for _, t := range []*Image{image1, image2, mask} {
		if t.B != nb && t.B != 1 {
			return nil, fmt.Errorf("batch sizes %d, %d and %d do not broadcast", image1.B, image2.B, mask.B)
		}
	}
	ch := image1.Channels()
	out, err := alloc(nb, image1.H, image1.W, image1.C)
	if err != nil {
		return nil, err
	}
	px := image1.H * image1.W
	for bi := range nb {
		b1, b2, bm := min(bi, image1.B-1), min(bi, image2.B-1), min(bi, mask.B-1)
		for p := range px {
			m := mask.Data[bm*px+p]
			for c := range ch {
				x := image1.Data[(b1*px+p)*ch+c]
				y := image2.Data[(b2*px+p)*ch+c]
				out.Data[(bi*px+p)*ch+c] = x*(1-m) + y*m
			}
		}
	}
	return out, nil
}

// Average returns the element-wise mean of images of one shape
// (torch.stack(images).mean(0)).
func Average(images ...*Image) (*Image, error) { return average(hostAlloc, images...) }

// average is Average with the output from alloc.
func average(alloc allocFunc, images ...*Image) (*Image, error) {
	if len(images) == 0 {
		return nil, fmt.Errorf("average of no images")
	}
	first := images[0]
	for _, m := range images[1:] {
		if m.B != first.B || m.H != first.H || m.W != first.W || m.C != first.C {
			return nil, fmt.Errorf("stack expects each tensor to be equal size, but got %v and %v", first.Shape(), m.Shape())
		}
	}
	out, err := alloc(first.B, first.H, first.W, first.C)
	if err != nil {
		return nil, err
	}
	for i := range out.Data {
		var s float32
		for _, m := range images {
			s += m.Data[i]
		}
		out.Data[i] = s / float32(len(images))
	}
	return out, nil
}

// Concat joins tensors of one frame shape along the batch dimension.
func Concat(images ...*Image) (*Image, error) { return concat(hostAlloc, images...) }

// concat is Concat with the output from alloc.
func concat(alloc allocFunc, images ...*Image) (*Image, error) {
	if len(images) == 0 {
		return nil, fmt.Errorf("concat of no images")
	}
	first := images[0]
	var nb int64
	for _, m := range images {
		if m.H != first.H || m.W != first.W || m.C != first.C {
			return nil, fmt.Errorf("sizes of tensors must match except in dimension 0: %v and %v", first.Shape(), m.Shape())
		}
		var err error
		if nb, err = addInt(nb, int64(m.B)); err != nil {
			return nil, fmt.Errorf("%w: a batch of %d images and more: %w", ErrImageTooLarge, nb, err)
		}
	}
	out, err := alloc(int(nb), first.H, first.W, first.C)
	if err != nil {
		return nil, err
	}
	at := 0
	for _, m := range images {
		at += copy(out.Data[at:], m.Data)
	}
	return out, nil
}

// quantize is how ComfyUI stores a value in an 8-bit image:
// uint8(clip(255*v, 0, 255)), truncating (0.5 -> 127).
func quantize(v float32) uint8 {
	x := 255 * v
	switch {
	case x != x: // NaN
		return 0
	case x <= 0:
		return 0
	case x >= 255:
		return 255
	}
	return uint8(x)
}

// PixelStats describes one stored image: its size and the min, max and mean
// of its 8-bit values (all channels).
type PixelStats struct {
	Width, Height int
	Min, Max      int
	Mean          float64
}

// UI returns s as a UI entry: {"width","height","min","max","mean"}.
func (s PixelStats) UI() map[string]any {
	return map[string]any{"width": s.Width, "height": s.Height, "min": s.Min, "max": s.Max, "mean": s.Mean}
}

// Pixels returns the stats of each image of the batch as SaveImage would
// store it (see quantize).
func (m *Image) Pixels() []PixelStats {
	out := make([]PixelStats, m.B)
	n := m.frameLen()
	for b := range m.B {
		lo, hi, sum := uint8(255), uint8(0), 0
		for _, v := range m.Data[b*n : (b+1)*n] {
			q := quantize(v)
			lo, hi, sum = min(lo, q), max(hi, q), sum+int(q)
		}
		s := PixelStats{Width: m.W, Height: m.H, Min: int(lo), Max: int(hi)}
		if n > 0 {
			s.Mean = float64(sum) / float64(n)
		} else {
			s.Min = 0
		}
		out[b] = s
	}
	return out
}

// asImage returns v as an *Image.
func asImage(v any, what string) (*Image, error) {
	m, ok := v.(*Image)
	if !ok || m == nil {
		return nil, fmt.Errorf("%s: want an IMAGE, got %T", what, v)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return m, nil
}

// isFloat is Python's isinstance(v, float) for decoded values.
func isFloat(v any) bool {
	switch v.(type) {
	case float64, float32:
		return true
	}
	return false
}
