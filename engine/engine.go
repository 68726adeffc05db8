// engine.go: Engine: New, Run (validation, then a run) and the cross-run cache across runs.

package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/lifetime"
	"github.com/ebbgraph/ebb/policy"
)

// Engine runs workflows. Runs are serialized: one Engine runs one workflow
// at a time (Run holds a lock), so the cross-run cache is never shared by
// concurrent runs.
type Engine struct {
	opts  Options
	reg   *Registry
	dev   device.Device
	acct  *accounting
	refs  *lifetime.Refs
	est   estimates // measured node memory, for the order and admission
	cache *cache
	off   offloader // values offloading runs made (offload.go)
	// clocks are each node type's call times (clock.go), owned by the
	// run goroutine of the current run.
	clocks map[*NodeType]*typeClock
	mu     sync.Mutex
}

// New returns an engine. Options.Registry is required.
func New(opts Options) (*Engine, error) {
	if opts.Registry == nil {
		return nil, errors.New("engine: Options.Registry is nil")
	}
	if opts.Parallelism < 0 {
		return nil, fmt.Errorf("engine: Parallelism %d is negative", opts.Parallelism)
	}
	if opts.Cache.Kind == CacheLRU && opts.Cache.Size <= 0 {
		return nil, fmt.Errorf("engine: cache lru size %d must be positive", opts.Cache.Size)
	}
	dev := opts.Device
	if dev == nil {
		dev = device.NewSim(0)
	}
	refs := lifetime.NewRefs()
	acct := &accounting{dev: dev}
	refs.OnIdle = acct.setIdle
	e := &Engine{
		opts:  opts,
		reg:   opts.Registry,
		dev:   dev,
		acct:  acct,
		refs:  refs,
		cache: newCache(opts.Cache, refs),
	}
	e.off.tiered, _ = dev.(device.Tiered)
	return e, nil
}

// Device returns the engine's device.
func (e *Engine) Device() device.Device { return e.dev }

// Registry returns the engine's registry.
func (e *Engine) Registry() *Registry { return e.reg }

// CachedBytes is the device memory held by the cross-run cache.
func (e *Engine) CachedBytes() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.refs.Live()
}

// CacheLen is the number of node entries in the cross-run cache.
func (e *Engine) CacheLen() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cache.len()
}

// Close empties the cache, freeing its memory. It does not close the
// device, which the caller owns.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cache.clear()
}

// Run validates wf and runs it. The returned error is res.Err: nil exactly
// when res.Status is StatusSuccess. Run never panics on bad input; node
// panics are recovered and reported as errors wrapping ErrPanic.
func (e *Engine) Run(ctx context.Context, wf Workflow, ro RunOptions) (*RunResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	res := &RunResult{Outputs: map[NodeID]map[string][]any{}}
	pol := policy.Default()
	if ro.Policy != nil {
		pol = *ro.Policy
	}
	if err := pol.Validate(); err != nil {
		res.Status, res.Err = StatusInvalid, &PromptError{Type: "invalid_policy", Message: err.Error()}
		return res, res.Err
	}
	if !ro.Order.Valid() {
		res.Status, res.Err = StatusInvalid, &PromptError{Type: "invalid_policy", Message: fmt.Sprintf("%v: order %d", policy.ErrInvalid, int(ro.Order))}
		return res, res.Err
	}
	em := &emitter{obs: append(append([]Observer(nil), e.opts.Observers...), ro.Observers...)}
	v, err := validate(e.reg, wf, ro.Targets)
	if v != nil {
		res.NodeErrors = v.errs
	}
	if err != nil {
		var pe *PromptError
		if errors.As(err, &pe) && pe.Nodes != nil && res.NodeErrors == nil {
			res.NodeErrors = pe.Nodes
		}
		res.Status, res.Err = StatusInvalid, err
		return res, err
	}
	if err := checkOffloadOptions(e.dev, ro); err != nil {
		res.Status, res.Err = StatusInvalid, &PromptError{Type: "invalid_policy", Message: err.Error(), Err: err}
		return res, res.Err
	}
	e.execute(ctx, v, ro, pol, em, res)
	return res, res.Err
}

// execute runs a validated workflow: the scheduler, without validation.
func (e *Engine) execute(ctx context.Context, v *validated, ro RunOptions, pol policy.Policy, em *emitter, res *RunResult) {
	lim := ro.Limits.withDefaults()
	if lim.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, lim.Timeout, &LimitError{Limit: "timeout", Value: lim.Timeout.Milliseconds()})
		defer cancel()
	}
	r := newRun(ctx, e, v, ro.Targets, pol, em, res)
	r.order = ro.Order
	r.lim = lim
	r.keep = ro.KeepExecuted
	switch {
	case r.keep == 0:
		r.keep = DefaultKeepExecuted
	case r.keep < 0:
		r.keep = math.MaxInt
	}
	r.timelineOn = ro.Timeline
	r.off = offloadRun{mode: ro.Offload, evict: ro.Evict, on: ro.Offload != policy.OffloadNone}
	r.execute()
}
