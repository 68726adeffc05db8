package proptest

import (
	"context"
	"errors"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/policy"
)

// fuzzRunTimeout bounds one fuzzed run (a loop of 100,000 iterations or a
// deep expansion is stopped by it); fuzzHang is when a run that ignores
// its context is declared hung.
const (
	fuzzRunTimeout = 2 * time.Second
	fuzzHang       = 60 * time.Second
)

// fuzzLimits are low run limits, so a fuzzed run that loops or grows
// without end is stopped by a limit (limit_exceeded) and the fuzzer sees
// the limit paths: every one must free what the run held.
var fuzzLimits = engine.Limits{
	MaxExecutions:     5_000,
	MaxExpansionDepth: 200,
	MaxExpansionNodes: 5_000,
	MaxListLength:     10_000,
	Timeout:           fuzzRunTimeout / 2,
}

// FuzzRunWorkflow decodes the input as an API-format workflow and runs it,
// twice (the second run meets the first run's cache), on an engine with
// the pack and the testpack and a 1 MiB Sim device, with low run limits
// (fuzzLimits). The policy and the
// parallelism are derived from the input. No input may panic, hang, read
// a released value, free twice or leave device memory the cache does not
// account for; after engine.Close the device must be empty.
//
//	go test ./proptest/ -run '^$' -fuzz FuzzRunWorkflow -fuzztime 1m
//
// The seed corpus is testdata/fuzz/FuzzRunWorkflow.
func FuzzRunWorkflow(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		wf, err := engine.DecodeWorkflow(data)
		if err != nil {
			return
		}
		sum := 0
		for _, b := range data {
			sum += int(b)
		}
		pol := policy.Policy{Level: policy.Level(sum % 3), Strategy: policy.Strategy(sum / 3 % 3)}
		dev := device.NewSim(1 << 20)
		e, err := engine.New(engine.Options{Registry: reg, Device: dev, Cache: cacheModes[sum/9%len(cacheModes)], Parallelism: 1 + sum/36%2*3})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			ctx, cancel := context.WithTimeout(context.Background(), fuzzRunTimeout)
			ctx = WithLedger(WithCancel(ctx, cancel), &Ledger{})
			done := make(chan *engine.RunResult, 1)
			go func() {
				res, _ := e.Run(ctx, wf, engine.RunOptions{Policy: &pol, Limits: fuzzLimits})
				done <- res
			}()
			var res *engine.RunResult
			select {
			case res = <-done:
			case <-time.After(fuzzHang):
				t.Fatalf("%v: the run hung (no return %v after its context expired)", pol, fuzzHang-fuzzRunTimeout)
			}
			cancel()
			t.Logf("%v: status %s %v", pol, res.Status, res.Err)
			if err := res.Err; err != nil {
				switch {
				case errors.Is(err, device.ErrUseAfterFree), errors.Is(err, device.ErrDoubleFree),
					errors.Is(err, engine.ErrInternal):
					t.Fatalf("%v: %v", pol, err)
				}
			}
			if in, c := dev.Stats().InUse, e.CachedBytes(); in != c {
				t.Fatalf("%v: device holds %d bytes after the run (status %s: %v), the cache keeps %d", pol, in, res.Status, res.Err, c)
			}
		}
		if err := e.Close(); err != nil {
			t.Fatalf("engine.Close: %v", err)
		}
		if err := dev.Close(); err != nil {
			t.Fatalf("device: %v", err)
		}
	})
}

// FuzzProperties is the generator-driven counterpart: the fuzzer's bytes
// are rapid's choices, so coverage guidance steers the random workflows
// and configurations, and every per-run invariant is checked.
//
//	go test ./proptest/ -run '^$' -fuzz FuzzProperties -fuzztime 1m
func FuzzProperties(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x07\x03\x01\x05\x02\x09\x04\x08\x06\x00\x0a\x0b\x0c\x0d\x0e\x0f"))
	f.Fuzz(rapid.MakeFuzz(func(t *rapid.T) {
		spec := Workflows(defaultGen()).Draw(t, "workflow")
		t.Logf("workflow: %v", spec)
		orc := oracleFor(t, spec)
		cfg := drawConfig(t, "config")
		h := newHarness(t, cfg)
		for range 2 {
			out := h.run(t, spec.WF, cfg.policy())
			if knownBug(out) != "" {
				return
			}
			checkAll(t, h, spec, orc, out)
		}
		h.close(t)
	}))
}
