// Package expand builds the graphs that nodes return as expansions: a node
// that returns an expansion is replaced, while the workflow runs, by a
// subgraph whose outputs become the node's outputs. The package is written
// only against the engine's public API.
//
//   - GraphBuilder makes an expansion's nodes with deterministic ids (the
//     call's prefix from engine.Call.NewPrefix plus a local id), like
//     ComfyUI's GraphBuilder, and turns them into an engine.Result
//     (GraphBuilder.Result).
//   - WhileClose is the body of a while loop's close node (ComfyUI's
//     TestWhileLoopClose): while the condition holds it clones the loop
//     body (LoopBody: the nodes downstream of the open node and upstream of
//     the close node) and expands into the clone, tail recursion by
//     expansion. Clone ids are built from the workflow's own ids, so they
//     stay as short in the ten-thousandth iteration as in the first. The
//     for loop of nodes/testpack is built on it.
//   - Component is a reusable subgraph used as one node: its NodeType
//     expands into a fresh copy of the graph per call, with the component's
//     inputs linked in. DecodeComponent reads one from JSON around a
//     ComfyUI API-format graph.
//   - MapType maps a component over lists, one copy per element, gathering
//     each output into a list (GatherType, which Register adds).
//
// Expansions carry values into the new nodes in two ways: as links
// (engine.Ref), which the engine tracks like any other edge, or as
// literals. Value wraps a value a node received so that it is always read
// as a literal.
//
// Builders and components are plain data; a GraphBuilder is not safe for
// concurrent use, and a Component must not be changed while a run uses its
// node type.
package expand
