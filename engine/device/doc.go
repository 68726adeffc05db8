// Package device is where ebb's node memory lives.
//
// # The contract
//
// A [Device] hands out [Buffer]s with Alloc and takes them back with Free.
// It keeps exact accounting ([Stats]: bytes in use, peak, capacity) and is
// safe for concurrent use. Errors wrap one sentinel per concept:
// [ErrOutOfMemory] (as an [*OutOfMemoryError] saying what did not fit),
// [ErrInvalidSize] (a negative size), [ErrDoubleFree], [ErrForeignBuffer],
// [ErrUseAfterFree], [ErrLeak] (from Close, which frees the leaked buffers
// all the same), [ErrClosed] and [ErrUnavailable]. Release is explicit: no
// Device relies on finalizers.
//
// In short (the [Device] methods say it exactly): Alloc checks, in order,
// that ctx is not done (else it returns ctx's error), that the size is not
// negative (ErrInvalidSize), that the device is open (ErrClosed) and that
// the bytes fit (ErrOutOfMemory); a failed Alloc changes nothing. Alloc
// never waits for memory to be freed, because the engine holds its
// accounting lock across Alloc and Free; an implementation that can block
// longer than a driver call must honour ctx. Close frees every buffer;
// after it Alloc fails with ErrClosed, Free with ErrDoubleFree, and a
// second Close returns nil.
//
// Optional abilities are interfaces checked by type assertion: a [Checker]
// tells whether a buffer is still live (the engine checks every input
// before a node reads it), a [PeakResetter] restarts Peak: the engine
// resets it when a run starts and reports the device's Peak at the run's
// end as the run's device peak (Stats.DevicePeakBytes, never below what it
// sampled after its own allocations). A [Tiered] device can move a
// buffer's content to a slower tier ([TierHost], [TierDisk]) and back
// (Move), keeping the buffer's identity; only the device tier counts in
// InUse, and the tiers' usage and copies are in [TierStats].
//
// # Implementations
//
// [Sim], the default, allocates nothing real: it counts bytes against a
// capacity, poisons freed buffers so double frees and reads of freed
// buffers are errors, and lists leaks. [NewTieredSim] adds a host tier and
// a disk tier (a file per buffer, sparse unless the Sim carries data), with
// bandwidths for the time copies would take, and a mode where buffers
// hold real bytes ([Sim.Data]) so round trips can be checked. Package
// github.com/ebbgraph/ebb/cuda implements the same contract on an NVIDIA
// GPU (build tag cuda).
//
// # Conformance
//
// Package devicetest holds the conformance suite; every implementation
// runs it (devicetest.Run) from its own tests, the CUDA one on a real GPU;
// devicetest.RunTiers checks the Tiered contract.
//
// Sizes are parsed by [ParseBytes] and printed by [FormatBytes], both in
// binary units (1 GiB = 2^30 bytes).
package device
