//go:build race

package memdag

// raceEnabled: the race detector slows a run about tenfold; the corpus
// tests check fewer workflows then.
const raceEnabled = true
