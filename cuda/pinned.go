//go:build cuda

package cuda

// #cgo LDFLAGS: -lcuda
// #include <cuda.h>
import "C"

import (
	"fmt"
	"unsafe"

	"gorgonia.org/cu"

	"github.com/ebbgraph/ebb/engine/device"
)

// memAllocHost allocates bytes of pinned host memory with cuMemAllocHost,
// which cu does not wrap, on the context's thread. The driver's
// out-of-memory is an *device.OutOfMemoryError of the host tier that also
// wraps cu.OutOfMemory. g.mu is held.
func (g *gpu) memAllocHost(bytes int64) (unsafe.Pointer, error) {
	var p unsafe.Pointer
	var r C.CUresult
	if err := g.ctx.Do(func() error {
		r = C.cuMemAllocHost(&p, C.size_t(bytes))
		return nil
	}); err != nil {
		return nil, err
	}
	switch r {
	case C.CUDA_SUCCESS:
		return p, nil
	case C.CUDA_ERROR_OUT_OF_MEMORY:
		return nil, fmt.Errorf("pinned host memory: %w: %w", cu.OutOfMemory, g.hostOOM(bytes))
	}
	return nil, fmt.Errorf("cuMemAllocHost of %s: CUresult %d", device.FormatBytes(bytes), int(r))
}
