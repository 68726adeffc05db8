// Package engine is ebb's kernel: it runs a workflow (a graph of nodes in
// ComfyUI's API format) forward while nodes add edges to it.
//
// # Model
//
// A Workflow maps NodeIDs to Node definitions: a class and inputs, each a
// literal or a Ref (a link to another node's output slot). A NodeType gives
// a class its Schema (data) and its Runner (behaviour, one method).
// Optional behaviour is a capability interface on the Runner, checked by
// type assertion: LazyChecker, Fingerprinter, Validator, MayExpand and
// NotReexecutable.
//
// # Execution
//
// Engine.Run validates the workflow (all errors at once, typed like
// ComfyUI's), then starts from the output nodes (or RunOptions.Targets)
// and schedules what they need. Readiness is counted: each pending node
// knows how many producers it waits for, so no step scans the pending set.
// One goroutine owns the graph, the ready stack and the lifetime tracker;
// node bodies run on up to Options.Parallelism workers (1 runs them in a
// deterministic order on the run goroutine). Nodes can grow the graph:
//
//   - lazy inputs: CheckLazy names inputs to evaluate, and is asked again;
//   - expansion: a Result with Expand adds a subgraph (validated as a whole,
//     with deterministic, short ids from Call.NewPrefix); the expanding
//     node's outputs then follow the subgraph. A node with one call and no
//     pinned outputs forwards its consumers to the subgraph and finishes at
//     once (chains of forwards are compressed), so tail-recursive loops hold
//     no pending node per iteration; the nodes of one expansion are
//     forgotten together once all are finished and no living expansion
//     links into them (bounded memory);
//   - lists: a node is called once per list element, shorter lists padded
//     with their last element (InputIsList and OutputSpec.IsList opt out);
//   - blockers: a Blocker value skips the calls that receive it.
//
// # Memory
//
// Outputs live in slots of a lifetime.Tracker: each slot counts its pending
// readers and pins, and values (Buffers from Call.Alloc) are counted by
// identity, so a passed-through value is held and freed once. The run's
// policy.Policy picks the release level and what a late edge (a link to a
// released slot) does: re-execute the producer, or, under restrict, refuse
// any link outside the expanding node's upstream, which stays pinned while
// it is pending. Each run reports executions, re-executions, releases,
// pins, the live and device peaks and the exact bound (lifetime.Trace).
// A node behind an unrequested lazy input binds its own inputs as
// potential readers, so a later request never finds them released.
//
// # Cache
//
// Outputs are cached across runs by input signature (class, fingerprint,
// literals, and the signatures upstream) in mode classic, lru:N or none. A
// slot released during a run leaves the cache too. Expanded nodes are not
// cached themselves; their subgraph's nodes are.
//
// An Engine runs one workflow at a time; Run is safe to call from several
// goroutines (calls are serialized).
package engine
