// Package cuda implements device.Device on an NVIDIA GPU through the CUDA
// driver API (gorgonia.org/cu), so node memory is real VRAM.
//
// The implementation is built only with the build tag cuda:
//
//	go build -tags cuda ./cmd/ebb
//
// It needs cgo, cuda.h at build time and libcuda.so.1 (the NVIDIA driver)
// at run time. gorgonia.org/cu initializes the driver in its package init
// and exits the process when that fails, so no untagged package imports it:
// without the tag, New returns an error wrapping device.ErrUnavailable and
// nothing of cu is linked in.
//
// A device made by New owns one CUDA context. cu runs every driver call for
// that context on one goroutine locked to an OS thread; the device also
// holds its own lock across each call, so its accounting is exact and it is
// safe for concurrent use. Stats reports ebb's own accounting (InUse, Peak,
// Capacity) and the driver's view of the whole GPU (DriverUsed, other
// processes included). WithCapacity caps what the device hands out, to
// simulate a smaller card. Like device.Sim, freed buffers are poisoned:
// double frees and Check of a freed buffer are errors.
//
// The device implements device.Tiered. WithHostTier gives it a host tier
// in pinned host memory (cuMemAllocHost): Move copies a buffer's content
// out on a stream of its own and frees its VRAM, and copies it back into
// fresh VRAM, returning the measured copy time. There is no disk tier.
//
// docs/cuda.md explains building, the CI compile check without a GPU and
// the check on a GPU machine.
package cuda
