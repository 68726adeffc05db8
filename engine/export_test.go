// export_test.go: test-only hooks for the engine_test package.

package engine

// SetInvariantChecks turns the per-step invariant checks on or off for
// runs that start after it (benchmarks measure the production path), and
// returns a function that restores the default.
func SetInvariantChecks(on bool) (restore func()) {
	debugChecks = &on
	return func() { debugChecks = nil }
}

// RunBooks is what a run kept in its books when it ended.
type RunBooks struct {
	FwdOps   int64 // forwards and forwarded-output lookups
	FwdSteps int64 // cells those moved or walked past
	Nodes    int   // expanded nodes the run still knew
	Defs     int   // expanded definitions it still held
	Kept     int   // values of collected nodes it kept (levels 0 and 1)
}

// Books calls f and returns the books of the runs f starts, in order.
// Not safe with runs in parallel tests.
func Books(f func()) []RunBooks {
	var runs []*run
	runStarted = func(r *run) { runs = append(runs, r) }
	defer func() { runStarted = nil }()
	f()
	books := make([]RunBooks, len(runs))
	for i, r := range runs {
		books[i] = RunBooks{FwdOps: r.fwdOps, FwdSteps: r.fwdSteps, Nodes: len(r.nodes), Defs: len(r.eph)}
		if r.kept != nil {
			books[i].Kept = len(r.kept.slots)
		}
	}
	return books
}
