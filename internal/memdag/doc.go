// Package memdag makes random workflows whose nodes allocate known sizes,
// and computes the least peak any order could reach on them, for the
// tests and benchmarks of ebb's memory-aware order and admission.
//
// A DAG's nodes are of class Mem: inputs a0..a3 (links), out and work
// (bytes). A Mem node allocates work and an out-byte output, and returns
// the output; it declares both as its engine.Estimate. Sinks are MemSink
// output nodes with no output. Optimum computes the exact least peak at
// release level 2 over every topological order by dynamic programming over
// subsets (up to 20 nodes).
package memdag
