// Package lifetime decides when node outputs die.
//
// A Tracker keeps, for every output slot of a run, the count of pending
// consumers (readers) and pins, and holds the slot's values through Refs,
// which count holders per value identity so a value passed through several
// slots (or also kept by a cache) is freed once, when its last holder goes.
// The run's policy.Level decides when a slot is released: never during the
// run (0), when its producer completes with no reader (1), or as soon as its
// last reader completes (2). The engine decides what a late edge does
// (re-execute or refuse) with the policy.Strategy; this package supplies the
// restrict rule's error.
//
// Trace records the realized order of a run and Bound computes its exact
// peak live set: the least memory any release policy could have used for
// that order.
//
// Trackers, Refs and Traces are not safe for concurrent use: the engine's
// run goroutine owns them.
package lifetime
