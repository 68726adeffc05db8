package proptest

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"time"

	"pgregory.net/rapid"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/policy"
)

// reg is shared by every test: registries are read-only during runs.
var reg = Registry()

// runTimeout bounds one engine run; a run that takes longer is a hang.
const runTimeout = 60 * time.Second

// tb is what the checks need of *testing.T and *rapid.T.
type tb interface {
	Helper()
	Fatalf(format string, args ...any)
	Errorf(format string, args ...any)
	Logf(format string, args ...any)
}

// config is one engine configuration: the policy and the engine options.
type config struct {
	level    policy.Level
	strategy policy.Strategy
	cache    engine.CacheMode
	par      int
	// Offload (zero: none): the run's mode and eviction choice, on a
	// tiered Sim of capacity bytes (0: unlimited) whose disk tier, for
	// offload disk, is diskDir.
	offload  policy.Offload
	evict    policy.Evict
	capacity int64
	diskDir  string
}

func (c config) policy() policy.Policy { return policy.Policy{Level: c.level, Strategy: c.strategy} }

func (c config) String() string {
	s := fmt.Sprintf("level %d, %v, cache %v, parallelism %d", c.level, c.strategy, c.cache, c.par)
	if c.offload != policy.OffloadNone {
		s += fmt.Sprintf(", offload %v, evict %v, capacity %d", c.offload, c.evict, c.capacity)
	}
	return s
}

var (
	cacheClassic = engine.CacheMode{Kind: engine.CacheClassic}
	cacheNone    = engine.CacheMode{Kind: engine.CacheNone}
	cacheModes   = []engine.CacheMode{cacheClassic, {Kind: engine.CacheLRU, Size: 4}, {Kind: engine.CacheLRU, Size: 64}, cacheNone}
)

// drawConfig samples one of the 3 x 3 x 4 x 2 configurations.
func drawConfig(t *rapid.T, label string) config {
	return config{
		level:    rapid.SampledFrom(policy.Levels()).Draw(t, label+"-level"),
		strategy: rapid.SampledFrom(policy.Strategies()).Draw(t, label+"-strategy"),
		cache:    rapid.SampledFrom(cacheModes).Draw(t, label+"-cache"),
		par:      rapid.SampledFrom([]int{1, 4}).Draw(t, label+"-parallelism"),
	}
}

// harness is one engine on its own device.
type harness struct {
	cfg config
	dev *device.Sim
	e   *engine.Engine
}

func newHarness(t tb, cfg config) *harness {
	t.Helper()
	dev := device.NewSim(0)
	if cfg.offload != policy.OffloadNone {
		var err error
		if dev, err = device.NewTieredSim(cfg.capacity, device.SimTiers{Host: true, DiskDir: cfg.diskDir}); err != nil {
			t.Fatalf("device.NewTieredSim: %v", err)
		}
	}
	e, err := engine.New(engine.Options{Registry: reg, Device: dev, Cache: cfg.cache, Parallelism: cfg.par})
	if err != nil {
		t.Fatalf("engine.New: %v", err)
	}
	return &harness{cfg: cfg, dev: dev, e: e}
}

// close empties the cache and closes the device: nothing may be left.
func (h *harness) close(t tb) {
	t.Helper()
	if err := h.e.Close(); err != nil {
		t.Fatalf("%v: engine.Close: %v", h.cfg, err)
	}
	if st := h.dev.Stats(); st.InUse != 0 {
		t.Fatalf("%v: %d bytes in use after engine.Close", h.cfg, st.InUse)
	}
	if ts := h.dev.TierStats(); ts.Host.InUse != 0 || ts.Disk.InUse != 0 {
		t.Fatalf("%v: host %d and disk %d bytes in use after engine.Close", h.cfg, ts.Host.InUse, ts.Disk.InUse)
	}
	if err := h.dev.Close(); err != nil {
		t.Fatalf("%v: device.Close: %v", h.cfg, err)
	}
}

// sample is the device's use just before a node started.
type sample struct {
	event int // index in outcome.events of the executing event
	inUse int64
}

// outcome is one run and what was seen of it.
type outcome struct {
	wf       engine.Workflow
	cfg      config
	pol      policy.Policy
	res      *engine.RunResult
	calls    []CallRecord
	events   []engine.Event
	samples  []sample // only at parallelism 1
	inUse    int64    // device bytes in use after the run
	away     int64    // host and disk bytes in use after the run
	cached   int64    // engine.CachedBytes after the run
	cacheLen int
	panic    string // the panic value and stack, when Run panicked
}

// runCatching calls run, returning the panic value and stack, if it
// panics, instead of its result.
func runCatching(run func() (*engine.RunResult, error)) (res *engine.RunResult, stack string) {
	defer func() {
		if p := recover(); p != nil {
			stack = fmt.Sprintf("%v\n%s", p, debug.Stack())
		}
	}()
	res, _ = run()
	return res, ""
}

func (o *outcome) String() string {
	return fmt.Sprintf("%v (run policy %v): status %s, err %v, stats %+v, executed %v, cached %v\nworkflow: %v",
		o.cfg, o.pol, o.res.Status, o.res.Err, o.res.Stats, o.res.Executed, o.res.Cached, &Spec{WF: o.wf})
}

// run runs wf once with pol.
func (h *harness) run(t tb, wf engine.Workflow, pol policy.Policy) *outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	l := &Ledger{}
	ctx = WithLedger(WithCancel(ctx, cancel), l)
	out := &outcome{wf: wf, cfg: h.cfg, pol: pol}
	rec := engine.ObserverFunc(func(ev engine.Event) {
		out.events = append(out.events, ev)
		if ev.Type == engine.EventExecuting && h.cfg.par == 1 {
			out.samples = append(out.samples, sample{event: len(out.events) - 1, inUse: h.dev.Stats().InUse})
		}
	})
	res, stack := runCatching(func() (*engine.RunResult, error) {
		return h.e.Run(ctx, wf, engine.RunOptions{Policy: &pol, Observers: []engine.Observer{rec}, Offload: h.cfg.offload, Evict: h.cfg.evict})
	})
	if stack != "" {
		out.panic = stack
		out.res = &engine.RunResult{Status: "panic", Err: fmt.Errorf("the engine panicked:\n%s", stack)}
		if knownBug(out) != "" {
			return out
		}
		t.Fatalf("%v: the engine panicked:\n%s", h.cfg, stack)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("%v: the run did not finish within %v (a hang)", h.cfg, runTimeout)
	}
	out.res = res
	out.calls = l.Calls()
	out.inUse = h.dev.Stats().InUse
	ts := h.dev.TierStats()
	out.away = ts.Host.InUse + ts.Disk.InUse
	out.cached = h.e.CachedBytes()
	out.cacheLen = h.e.CacheLen()
	return out
}

func sortedIDs[V any](m map[engine.NodeID]V) []engine.NodeID {
	ids := make([]engine.NodeID, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
