// Package lifetime decides when node outputs die.
//
// A Tracker keeps, for every output slot of a run, the count of pending
// consumers (readers) and pins, and holds the slot's values through Refs,
// which count holders per value identity so a value passed through several
// slots (or also kept by a cache) is freed once, when its last holder goes.
// The run's policy.Level decides when a slot is released: never during the
// run (0), when its producer completes with no reader (1), or as soon as its
// last reader completes (2). Keep makes a slot that holds values which are
// not node outputs, pinned by its owner until Discard, so every value a run
// holds is in one slot with one owner. Errors (a count below zero, a failed
// release) go to OnError with the slot's owner.
//
// This package keeps the books; it decides nothing about late edges (a
// link to a released slot): the engine's strategy does, in one place.
//
// Trace records the realized order of a run and Bound computes its exact
// peak live set: the least memory any release policy could have used for
// that order.
//
// Trackers, Refs and Traces are not safe for concurrent use: the engine's
// run goroutine owns them.
package lifetime
