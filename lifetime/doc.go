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
// A slot kept past its last reader (by the level or a pin) holds its
// values as dead holders; Refs reports a value whose every holder is dead
// as idle (OnIdle), which is how the engine keeps a run's bound online:
// live bytes less idle bytes.
//
// Trace records a realized order offline and Bound computes its exact peak
// live set with deaths at each value's last actual read (for tests and
// tools; the engine does not record one).
//
// Trackers, Refs and Traces are not safe for concurrent use: the engine's
// run goroutine owns them.
package lifetime
