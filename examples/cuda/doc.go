// Command cuda runs a chain of AllocateVRAM nodes (the test node of
// ComfyUI's "node smart offload" pull request) on a real NVIDIA GPU, at
// release levels 0 and 2, and prints ebb's peak, the bound and what the
// device and the driver measured.
//
// It needs the build tag cuda (see docs/cuda.md for cuda.h and libcuda):
//
//	eval "$(bash scripts/cuda-headers.sh)"   # only without a CUDA toolkit
//	go run -tags cuda ./examples/cuda -capacity 2GiB
//
// Without the tag it prints how to build it and exits with status 2.
package main
