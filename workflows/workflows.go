// Package workflows holds the reference workflows bundled with ebb, in
// ComfyUI's API format, with their memory profiles (nodes/sim format).
//
// The seed workflow is the one from ComfyUI's "node smart offload" pull
// request: a YOLO-World + EfficientSAM mask feeding an SDXL inpaint. Its
// live data never exceeds 19 GiB, yet it runs out of memory on a 22 GiB
// card unless dead outputs are released.
//
// The base+refiner workflow is SDXL's two-stage pipeline: a base
// checkpoint and its sampler, then a refiner checkpoint and its sampler,
// decode and save. Even with dead outputs released, the two models take
// turns on the card: it is the reference for offload (docs/offload.md).
//
// Every class of both profiles has a compute time ("ms") of a
// 4090-class card: checkpoint loaders read at about 2 GB/s, a 20-step SDXL
// KSampler takes about 8 s. Profiles are per class, so both loaders have
// the base checkpoint's sizes (the refiner's is about 10% smaller).
package workflows

import _ "embed"

// SeedWorkflow is seed-offload.json.
//
//go:embed seed-offload.json
var SeedWorkflow []byte

// SeedProfile is seed-offload.profile.json.
//
//go:embed seed-offload.profile.json
var SeedProfile []byte

// BaseRefinerWorkflow is base-refiner.json.
//
//go:embed base-refiner.json
var BaseRefinerWorkflow []byte

// BaseRefinerProfile is base-refiner.profile.json.
//
//go:embed base-refiner.profile.json
var BaseRefinerProfile []byte
