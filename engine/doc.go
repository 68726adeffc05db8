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
// deterministic order on the run goroutine). Workers get their calls and a
// read-only view of the graph (a map of expanded definitions the run copies
// before changing it once handed out) and touch no other state.
//
// A node's lifecycle is one state (idle, potential, pending, ready,
// running, awaiting, forwarded, done) changed only through a table of
// legal moves; an illegal move, a refused free or a broken invariant fails
// the run with an error wrapping ErrInternal. Test binaries (and EBB_DEBUG=1)
// check the kernel's invariants after every step. docs/scheduler.md has the
// states, the moves, who owns each value and the numbered invariants.
//
// Nodes can grow the graph:
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
// Every value a run holds is in one slot of a lifetime.Tracker, owned by
// one node or generation: outputs, and, kept by their owner
// (Tracker.Keep), device values in an expansion's literals, forwarded
// literal outputs and an awaiting node's literal results. Each slot counts
// its pending readers and pins, and values (Buffers from Call.Alloc) are
// counted by identity, so a passed-through value is held and freed once.
// Ending a run discards every slot; only the cache keeps values. The run's
// policy.Policy picks the release level and what a late edge (a link to a
// released slot) does: re-execute the producer, or, under restrict, refuse
// any link outside the expanding node's upstream, which stays pinned while
// it is pending; the strategy's hooks live in one place (lateedge.go).
// Each run reports executions, re-executions, releases, pins, the live and
// device peaks and the bound (kept online; see docs/lifetime.md).
// A node behind an unrequested lazy input binds its own inputs as
// potential readers, so a later request never finds them released.
//
// # Offload
//
// With RunOptions.Offload (on a device.Tiered device), live values that no
// running node reads leave the device when a node's inputs, outputs and
// working memory do not fit: moved to host memory or disk, or dropped and
// recomputed from their producer's call (its lineage), whichever costs
// less (RunOptions.Evict), and brought back before their next reader. Each
// run keeps a simulated clock (Stats.ComputeMs, TransferMs, SimMs) from
// declared times (Estimate.Time) and measured ones. See docs/offload.md.
//
// # Limits
//
// No workflow can make a run go on without end or grow without bound:
// RunOptions.Limits bounds executions, expansion depth, nodes added by
// expansion, list length and wall time (DefaultLimits are generous; a
// negative field removes a limit). Exceeding one fails the run with a
// *LimitError (type limit_exceeded) and frees everything it held.
// RunResult.Executed keeps the last RunOptions.KeepExecuted ids, and
// literals that contain themselves or share lists exponentially are
// neither hashed nor encoded without bound.
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
