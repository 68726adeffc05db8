//go:build !cuda

package cuda

import (
	"fmt"

	"github.com/ebbgraph/ebb/engine/device"
)

// New fails in this build, which has no CUDA support: the error wraps
// device.ErrUnavailable and says to rebuild with -tags cuda.
func New(ordinal int, opts ...Option) (device.Device, error) {
	_ = buildOptions(opts)
	return nil, fmt.Errorf("cuda:%d: built without CUDA support (rebuild with -tags cuda): %w", ordinal, device.ErrUnavailable)
}
