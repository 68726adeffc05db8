// export_test.go: test-only hooks for the engine_test package.

package engine

// SetInvariantChecks turns the per-step invariant checks on or off for
// runs that start after it (benchmarks measure the production path), and
// returns a function that restores the default.
func SetInvariantChecks(on bool) (restore func()) {
	debugChecks = &on
	return func() { debugChecks = nil }
}
