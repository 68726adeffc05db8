// export_test.go: test-only hooks for the engine_test package.

package engine

// SetInvariantChecks turns the per-step invariant checks on or off for
// runs that start after it (benchmarks measure the production path), and
// returns a function that restores the default.
func SetInvariantChecks(on bool) (restore func()) {
	debugChecks = &on
	return func() { debugChecks = nil }
}

// ForwardWork calls f and returns, over the runs f starts, how many
// forwards and forwarded-output lookups they did and how many cells those
// moved or walked past. Not safe with runs in parallel tests.
func ForwardWork(f func()) (ops, steps int64) {
	var runs []*run
	runStarted = func(r *run) { runs = append(runs, r) }
	defer func() { runStarted = nil }()
	f()
	for _, r := range runs {
		ops += r.fwdOps
		steps += r.fwdSteps
	}
	return ops, steps
}
