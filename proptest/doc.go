// Package proptest checks the invariants of design.md section 7 with
// property-based tests (pgregory.net/rapid): random dynamic workflows run on
// the engine under every level, strategy, cache mode and parallelism, and
// against a naive oracle evaluator that shares no scheduling code with the
// engine.
//
// The non-test files are reusable by other packages' tests:
//
//   - pack.go: a small deterministic node pack (classes "P*") over int64
//     contents and device buffers: sources with several outputs,
//     pass-through (aliasing) nodes, list producers and consumers, lazy
//     nodes, expanders that link back to arbitrary earlier nodes (late
//     edges), a component, failing and cancelling nodes, and a
//     NotReexecutable node. Registry returns it together with the
//     testpack loops, every runner wrapped so that a Ledger records its
//     calls. The runners are in pack_runners.go, the values they pass in
//     content.go, the Ledger in ledger.go.
//   - gen.go: rapid generators of workflows (Spec) built from the pack and
//     the testpack for loops, with what the generator knows about them
//     (static or not, which expanders link outside their upstream, ...);
//     gen_steps.go adds the nodes of each kind.
//   - oracle.go: Oracle, a deliberately naive sequential evaluator (level 0,
//     no cache, no pool, recursive) that calls the same Runners with Calls
//     it builds itself (oracle_run.go; expansions in oracle_expand.go).
//
// See docs/testing.md for the properties, how to replay a failure and how
// to run a long soak.
package proptest
