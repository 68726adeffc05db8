package sim

import (
	"context"
	"fmt"
	"math"

	"github.com/ebbgraph/ebb/engine"
)

// GiB is the unit of AllocateVRAM's size input: 2^30 bytes.
const GiB = int64(1) << 30

// allocateVRAM is the seed PR's test node:
//
//	def main(self, anything, size):
//	    num_elements = 1_073_741_824 // 4
//	    tensor = torch.randn(int(float(num_elements) * size), device='cuda')
//	    return (anything, tensor)
var allocateVRAM = &engine.NodeType{
	Class: "AllocateVRAM",
	Schema: engine.Schema{
		Inputs: []engine.InputSpec{
			{Name: "anything", Type: "*"},
			{Name: "size", Type: "FLOAT", Min: engine.F(0), Max: engine.F(1024), Step: 0.01, Default: 1.0},
		},
		Outputs: []engine.OutputSpec{
			{Name: "anything", Type: "*"},
			{Name: "tensor", Type: "TENSOR"},
		},
	},
	Runner: allocRunner{},
}

// allocRunner is AllocateVRAM's Runner; it estimates its tensor from a
// literal size.
type allocRunner struct{}

func (allocRunner) Run(ctx context.Context, c *engine.Call) (engine.Result, error) {
	return runAllocateVRAM(ctx, c)
}

// Estimate is the tensor's bytes when size is a literal (or absent: 1 GiB).
func (allocRunner) Estimate(def *engine.Node) (engine.Estimate, bool) {
	size := 1.0
	switch v := def.Inputs["size"].(type) {
	case nil:
	case float64:
		size = v
	case int64:
		size = float64(v)
	default:
		return engine.Estimate{}, false
	}
	n := float64(GiB/4) * size
	if !(n >= 0 && n < math.MaxInt64/4) {
		return engine.Estimate{}, false
	}
	return engine.Estimate{Out: 4 * int64(n)}, true
}

func runAllocateVRAM(ctx context.Context, c *engine.Call) (engine.Result, error) {
	size, err := c.Float("size")
	if err != nil {
		return engine.Result{}, err
	}
	const elements = GiB / 4 // float32 elements in a GiB
	n := float64(elements) * size
	if !(n >= 0 && n < math.MaxInt64/4) { // also false for NaN
		return engine.Result{}, fmt.Errorf("input \"size\": want a non-negative number of GiB, got %v", size)
	}
	buf, err := c.Alloc(ctx, 4*int64(n), "TENSOR")
	if err != nil {
		return engine.Result{}, err
	}
	// The input itself, not a copy: the engine counts it once.
	return engine.Outputs(c.Inputs["anything"], buf), nil
}

// Types returns the package's node types: AllocateVRAM.
func Types() []*engine.NodeType { return []*engine.NodeType{allocateVRAM} }

// Register adds AllocateVRAM to r.
func Register(r *engine.Registry) error {
	for _, t := range Types() {
		if err := r.Register(t); err != nil {
			return err
		}
	}
	return nil
}
