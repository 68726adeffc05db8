// Package policy is the vocabulary of a run's memory policy: the release
// Level (0, 1, 2) and the late-edge Strategy (reexecute, restrict, auto),
// of the Order in which ready nodes start (memory, stack, comfy), and of
// Offload (none, host, disk) and Evict (cost, swap, recompute), what a run
// does when a node does not fit; each a run option of its own
// (engine.RunOptions).
//
// It is a leaf package (standard library only) so that every other package,
// from the lifetime tracker to the CLI, can share one parser and one set of
// names. A Policy is plain data; the lifetime and engine packages give it
// meaning.
package policy
