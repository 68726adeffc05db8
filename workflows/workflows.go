// Package workflows holds the reference workflows bundled with ebb, in
// ComfyUI's API format, with their memory profiles (nodes/sim format).
//
// The seed workflow is the one from ComfyUI's "node smart offload" pull
// request: a YOLO-World + EfficientSAM mask feeding an SDXL inpaint. Its
// live data never exceeds 19 GiB, yet it runs out of memory on a 22 GiB
// card unless dead outputs are released.
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
