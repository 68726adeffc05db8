package testpack

import (
	"context"
	"errors"
	"fmt"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
)

// Limits on the tensors the pack's nodes make. ComfyUI bounds StubImage's
// sides at 1024**3 and 4096**3, which a Go float32 tensor cannot honour;
// these are ComfyUI's own MAX_RESOLUTION and batch bound of its image
// nodes, and a byte bound that keeps a run without a device limit from
// allocating more than a few GiB per tensor.
const (
	// MaxImageSide bounds height and width (ComfyUI's MAX_RESOLUTION).
	MaxImageSide = 16384
	// MaxImageBatch bounds batch_size (ComfyUI's EmptyImage).
	MaxImageBatch = 4096
	// MaxImageBytes bounds one IMAGE or MASK: its float32 values take at
	// most 4 GiB.
	MaxImageBytes = 4 << 30
)

// ErrImageTooLarge is wrapped by the error of a node asked for a tensor past
// the limits above (or whose size does not fit in an int64).
var ErrImageTooLarge = errors.New("image too large")

// tensorBytes returns the size of the values of a [b,h,w,c] tensor (c == 0
// for a mask): 4*b*h*w*max(c,1) bytes. A negative side is an error; a size
// that does not fit in an int64 is an error wrapping ErrImageTooLarge and
// ErrIntOverflow.
func tensorBytes(b, h, w, c int) (int64, error) {
	if b < 0 || h < 0 || w < 0 || c < 0 {
		return 0, fmt.Errorf("tensor [%d,%d,%d,%d]: a negative size", b, h, w, c)
	}
	n := int64(4)
	for _, d := range []int{max(c, 1), w, h, b} {
		var err error
		if n, err = mulInt(n, int64(d)); err != nil {
			return 0, fmt.Errorf("%w: %s: its float32 values take more bytes than an int64 counts: %w", ErrImageTooLarge, shapeString(b, h, w, c), err)
		}
	}
	return n, nil
}

// shapeString names a tensor shape as Image.String does.
func shapeString(b, h, w, c int) string {
	if c == 0 {
		return fmt.Sprintf("MASK[%d %d %d]", b, h, w)
	}
	return fmt.Sprintf("IMAGE[%d %d %d %d]", b, h, w, c)
}

// checkBytes fails when a tensor of n bytes is past MaxImageBytes, with an
// *imageTooLarge.
func checkBytes(b, h, w, c int, n int64) error {
	if n > MaxImageBytes {
		return &imageTooLarge{fmt.Sprintf("%v: %s takes %s, over the host memory limit of %s per tensor", ErrImageTooLarge,
			shapeString(b, h, w, c), device.FormatBytes(n), device.FormatBytes(MaxImageBytes))}
	}
	return nil
}

// imageTooLarge is a tensor past MaxImageBytes: the memory a run may use
// for it, the host's, is exhausted, so it is both ErrImageTooLarge and
// device.ErrOutOfMemory (a run fails with out_of_memory).
type imageTooLarge struct{ msg string }

func (e *imageTooLarge) Error() string   { return e.msg }
func (e *imageTooLarge) Unwrap() []error { return []error{ErrImageTooLarge, device.ErrOutOfMemory} }

// allocFunc makes a zero tensor of shape [b,h,w,c] (c == 0: a mask).
type allocFunc func(b, h, w, c int) (*Image, error)

// hostAlloc is the allocator of the exported operations (Mul, Mix,
// Average, Concat): limits checked, host memory only.
func hostAlloc(b, h, w, c int) (*Image, error) {
	n, err := tensorBytes(b, h, w, c)
	if err != nil {
		return nil, err
	}
	if err := checkBytes(b, h, w, c, n); err != nil {
		return nil, err
	}
	return newTensor(b, h, w, c), nil
}

// callAlloc is the allocator of a node call. It checks MaxImageBytes
// (the bound that matters on a device without a capacity), then reserves
// the tensor's bytes on the run's device (c.Alloc), so a tensor that does
// not fit fails with the device's out-of-memory error before any host
// memory is taken. The image holds its reservation (engine.BufferHolder):
// returned as an output it stays counted on the device as long as the
// image is held, so the device's capacity bounds the images a run keeps;
// an image the call drops is freed with the call's working memory.
//
// A Call made by hand outside a run (a unit test calling a Runner) has no
// device: nothing is reserved, the limits still apply.
func callAlloc(ctx context.Context, c *engine.Call) allocFunc {
	return func(b, h, w, ch int) (*Image, error) {
		n, err := tensorBytes(b, h, w, ch)
		if err != nil {
			return nil, err
		}
		if err := checkBytes(b, h, w, ch, n); err != nil {
			return nil, err
		}
		label := "IMAGE"
		if ch == 0 {
			label = "MASK"
		}
		buf, err := c.Alloc(ctx, n, label)
		if err != nil && !(c.Graph == nil && !errors.Is(err, device.ErrOutOfMemory)) {
			return nil, fmt.Errorf("%s: %w", shapeString(b, h, w, ch), err)
		}
		m := newTensor(b, h, w, ch)
		m.buf = buf // nil for a Call made by hand outside a run
		return m, nil
	}
}

// check reports an error when m is past the limits or its data does not
// match its shape (an *Image made outside the pack, a literal of a
// workflow built in Go), before anything sized by the shape is allocated
// or indexed: SaveImage's statistics take memory per batch element, even
// of an image with no values.
func (m *Image) check() error {
	n, err := tensorBytes(m.B, m.H, m.W, m.C)
	if err != nil {
		return err
	}
	if m.B > MaxImageBatch || m.H > MaxImageSide || m.W > MaxImageSide {
		return fmt.Errorf("%w: %v is over the limits (batch %d, sides %d)", ErrImageTooLarge, m, MaxImageBatch, MaxImageSide)
	}
	if err := checkBytes(m.B, m.H, m.W, m.C, n); err != nil {
		return err
	}
	if n/4 != int64(len(m.Data)) {
		return fmt.Errorf("%v holds %d values, want %d", m, len(m.Data), n/4)
	}
	return nil
}
