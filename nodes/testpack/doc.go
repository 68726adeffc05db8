// Package testpack is ComfyUI's execution-test node pack
// (tests/execution/testing_nodes/testing-pack) in Go: the same class names,
// inputs, outputs and semantics, so ebb can be checked against ComfyUI's
// execution test suite (see the conformance_*_test.go files, their helpers
// in conformance_test.go, and /work/shared/conformance.md).
//
// Values:
//   - IMAGE and MASK values are *Image: float32 tensors in [B,H,W,C] order.
//     An IMAGE has C == 3; a MASK has C == 0 and the shape [B,H,W]. Node
//     bodies never modify an input *Image: every operation returns a new one,
//     because one output may be read by many consumers and kept in the
//     cross-run cache.
//   - INT is int64, FLOAT is float64, BOOLEAN is bool, STRING is string.
//     Python's integers do not overflow; where an exact result does not fit
//     in an int64 (TestIntMathOperation, a sleep length) the node fails
//     with an error wrapping ErrIntOverflow, never a wrapped value.
//   - ACCUMULATION is Accumulation (ComfyUI's {"accum": [...]}).
//
// Limits: StubImage, StubConstantImage and StubMask take sides up to
// MaxImageSide and batches up to MaxImageBatch (schema bounds, and checks
// of linked values), and a tensor a node makes holds at most MaxImageBytes.
// A node reserves the bytes of each image it makes on the run's device
// (Call.Alloc) before allocating it, so an image the device cannot hold
// fails with out_of_memory before any host memory is taken. The image
// holds its reservation (lifetime.Holder): the engine keeps it while a slot
// or the cache holds the image and releases it once, so the images a run
// keeps are counted on the device like any other output. Images read
// from inputs are checked (shape against data, limits) before anything
// sized by their shape is allocated.
//
// Output nodes (SaveImage, PreviewImage) write no files: their UI result has
// the key "images" with one map per image of the batch ("width", "height",
// "min", "max", "mean" of the pixels as ComfyUI stores them, see Image.Pixels).
// ReplaceImageOutputs swaps in versions that write real PNGs with ComfyUI's
// file names (files.go; ebb serve uses them), adding "filename",
// "subfolder" and "type" to each entry.
//
// The classes:
//   - stubs.go: StubImage, StubConstantImage, StubMask, StubInt, StubFloat.
//   - outputs.go: SaveImage, PreviewImage, RebatchImages (ComfyUI core nodes
//     the execution tests use).
//   - specific.go: the schemas of TestLazyMixImages, TestVariadicAverage,
//     TestCustomIsChanged, TestIsChangedWithConstants,
//     TestCustomValidation1..5, TestDynamicDependencyCycle,
//     TestMixedExpansionReturns, TestExecutionBlocker,
//     TestOutputNodeWithSocketOutput, TestSleep, TestParallelSleep, and
//     TestExecutionBlocker's runner; the other runners are in mixing.go,
//     is_changed.go, validation.go, expansion.go and sleep.go.
//   - conditions.go: TestIntConditions, TestFloatConditions,
//     TestStringConditions, TestToBoolNode, TestBoolOperationNode.
//   - util.go: TestIntMathOperation, TestMakeListNode and the accumulation
//     nodes.
//   - flow_control.go: the while and for loops.
//
// NOISE images are deterministic: the generator is seeded from the node id
// and the list call index, so a run is reproducible.
package testpack
