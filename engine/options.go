// options.go: Options, RunOptions, cache modes, RunResult and Stats.

package engine

import (
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/policy"
)

// CacheKind selects how outputs are kept between runs.
type CacheKind int

const (
	// CacheClassic keeps the outputs of the last run (ComfyUI's default).
	CacheClassic CacheKind = iota
	// CacheLRU keeps up to N entries across runs, evicting the least
	// recently used runs' entries first.
	CacheLRU
	// CacheNone keeps nothing: every run starts from scratch.
	CacheNone
)

// CacheMode is a cache kind plus, for LRU, its size.
type CacheMode struct {
	Kind CacheKind
	Size int
}

func (m CacheMode) String() string {
	switch m.Kind {
	case CacheLRU:
		return "lru:" + strconv.Itoa(m.Size)
	case CacheNone:
		return "none"
	}
	return "classic"
}

// ParseCacheMode parses "classic", "lru:N" (N > 0) or "none".
func ParseCacheMode(s string) (CacheMode, error) {
	switch t := strings.ToLower(strings.TrimSpace(s)); {
	case t == "classic" || t == "":
		return CacheMode{Kind: CacheClassic}, nil
	case t == "none":
		return CacheMode{Kind: CacheNone}, nil
	case strings.HasPrefix(t, "lru:"):
		n, err := strconv.Atoi(t[4:])
		if err != nil || n <= 0 {
			return CacheMode{}, fmt.Errorf("engine: cache mode %q: lru size must be a positive integer", s)
		}
		return CacheMode{Kind: CacheLRU, Size: n}, nil
	}
	return CacheMode{}, fmt.Errorf("engine: cache mode %q (want classic, lru:N or none)", s)
}

// Options configure an Engine.
type Options struct {
	// Registry resolves classes. Required.
	Registry *Registry
	// Device holds node memory. Nil means an unlimited device.Sim.
	Device device.Device
	// Cache is the cross-run output cache mode (default classic).
	Cache CacheMode
	// Parallelism bounds concurrent node bodies; 0 means GOMAXPROCS, and 1
	// runs nodes one at a time in a deterministic order.
	Parallelism int
	// Observers get every event of every run.
	Observers []Observer
}

// RunOptions configure one run.
type RunOptions struct {
	// Targets, when non-nil, restricts the run to these output nodes (and
	// what they need). An empty non-nil slice is rejected.
	Targets []NodeID
	// Policy is the memory policy; nil means policy.Default().
	Policy *policy.Policy
	// Order picks the ready node that starts next; the zero value is
	// policy.Memory (docs/scheduler.md).
	Order policy.Order
	// Offload lets the run move live values off the device (or drop them
	// to be recomputed) when a node does not fit; the zero value,
	// policy.OffloadNone, never does. Host and disk need a device that
	// offers those tiers (device.Tiered). docs/offload.md.
	Offload policy.Offload
	// Evict is how an offloading run makes room (default policy.EvictCost).
	Evict policy.Evict
	// Observers get this run's events, after the engine's observers.
	Observers []Observer
	// Timeline records Stats.Timeline (live bytes after each node).
	Timeline bool
	// Limits bound what the run may do; zero fields take DefaultLimits.
	Limits Limits
	// KeepExecuted is how many ids RunResult.Executed keeps (the last
	// ones): 0 means DefaultKeepExecuted, a negative number all of them.
	// Stats.Executions counts every execution either way.
	KeepExecuted int
}

// Limits bound what one run may make the engine do, so that no workflow
// runs without end or grows without bound. A zero field takes its value
// from DefaultLimits; a negative one removes that limit. Exceeding a
// limit fails the run with a *LimitError (type limit_exceeded) naming the
// limit and the node, and frees everything the run held.
type Limits struct {
	// MaxExecutions bounds node executions (Stats.Executions, which
	// counts re-executions too).
	MaxExecutions int64
	// MaxExpansionDepth bounds how deeply expansions nest: the nodes an
	// original node's expansion adds are at depth 1, those their own
	// expansions add at depth 2, and so on. A loop built by tail
	// expansion goes one level deeper each iteration.
	MaxExpansionDepth int
	// MaxExpansionNodes bounds the nodes all expansions of a run add.
	MaxExpansionNodes int64
	// MaxListLength bounds the length of one output's list (its values
	// across a node's list calls).
	MaxListLength int
	// Timeout bounds the run's wall time. Unlike the other fields, zero
	// means no timeout.
	Timeout time.Duration
}

// DefaultLimits returns the limits of a run that sets none: generous
// enough for a million-node workflow or a million-iteration loop.
func DefaultLimits() Limits {
	return Limits{MaxExecutions: 100_000_000, MaxExpansionDepth: 1_000_000, MaxExpansionNodes: 10_000_000, MaxListLength: 1_000_000}
}

// DefaultKeepExecuted is how many executed ids a run keeps by default.
const DefaultKeepExecuted = 10_000

// withDefaults fills zero fields from DefaultLimits and turns negative
// ones into no limit (the largest value).
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	pick64 := func(v, def int64) int64 {
		switch {
		case v == 0:
			return def
		case v < 0:
			return math.MaxInt64
		}
		return v
	}
	pick := func(v, def int) int { return int(pick64(int64(v), int64(def))) }
	return Limits{
		MaxExecutions:     pick64(l.MaxExecutions, d.MaxExecutions),
		MaxExpansionDepth: pick(l.MaxExpansionDepth, d.MaxExpansionDepth),
		MaxExpansionNodes: pick64(l.MaxExpansionNodes, d.MaxExpansionNodes),
		MaxListLength:     pick(l.MaxListLength, d.MaxListLength),
		Timeout:           max(l.Timeout, 0),
	}
}

// Status is how a run ended.
type Status string

const (
	StatusSuccess     Status = "success"
	StatusError       Status = "error"
	StatusInterrupted Status = "interrupted"
	StatusInvalid     Status = "invalid"
)

// RunResult is everything a run reports.
type RunResult struct {
	Status Status
	// Err is nil on success; otherwise a *NodeError (runtime), a
	// *PromptError (validation) or a context error.
	Err error
	// NodeErrors lists validation errors by node, also for runs whose
	// other outputs were valid and ran.
	NodeErrors map[NodeID]*NodeValidation
	// Outputs holds the UI results by node id.
	Outputs map[NodeID]map[string][]any
	// Executed lists, in order, the nodes whose bodies ran (expanded nodes
	// included; re-executions appear again): the last
	// RunOptions.KeepExecuted of them. Cached lists cache hits.
	Executed []NodeID
	Cached   []NodeID
	Stats    Stats
}

// Stats are the memory and execution counts of one run.
type Stats struct {
	Executions   int `json:"executions"`
	Reexecutions int `json:"reexecutions"`
	CacheHits    int `json:"cache_hits"`
	Releases     int `json:"releases"`
	Pins         int `json:"pins"`
	// PeakBytes is the highest live memory the engine accounted during the
	// run: values held by slots and the cache, plus running nodes' memory.
	PeakBytes int64 `json:"peak_bytes"`
	// BoundBytes is the least peak any release policy could have had for
	// the run as it happened: the highest live bytes less those held only
	// by slots no pending node reads (docs/lifetime.md). Never above
	// PeakBytes.
	BoundBytes int64 `json:"bound_bytes"`
	// NeedBytes is the device memory this run needs at its parallelism:
	// the highest, over the nodes it started, of the values held then plus
	// the estimates (Estimator) of that node and of the nodes in flight
	// with it. On a device of at least this capacity, a run of the same
	// workflow at the same parallelism starts every node as this one did,
	// and runs out of memory only if a node allocates more than its
	// estimate (docs/scheduler.md).
	NeedBytes int64 `json:"need_bytes"`
	// DevicePeakBytes is the highest usage the device reported.
	DevicePeakBytes int64 `json:"device_peak_bytes"`
	// Offload (RunOptions.Offload): the bytes moved off the device and
	// brought back, the bytes moved to disk, the values evicted (moved or
	// dropped) and the producer runs that recomputed dropped values.
	// WorkingSetBytes is, under offload, the largest working set of a node
	// the run started: its inputs' bytes plus its estimate. No device
	// smaller than that can run the workflow, whatever is evicted.
	WorkingSetBytes int64 `json:"working_set_bytes"`
	OffloadedBytes  int64 `json:"offloaded_bytes"`
	ReloadedBytes   int64 `json:"reloaded_bytes"`
	DiskBytes       int64 `json:"disk_bytes"`
	Evictions       int   `json:"evictions"`
	Recomputes      int   `json:"recomputes"`
	// The simulated clock, in milliseconds: ComputeMs adds up every call's
	// time (its Estimate.Time when declared, else its wall time),
	// TransferMs every move between tiers, and SimMs is their sum: the
	// run's time as if one node ran at a time and copies did not overlap.
	ComputeMs  float64 `json:"compute_ms"`
	TransferMs float64 `json:"transfer_ms"`
	SimMs      float64 `json:"sim_ms"`
	// Reexecuted says which late edge caused each re-execution (the first
	// RunOptions.KeepExecuted of them).
	Reexecuted []Reexecution `json:"reexecuted,omitempty"`
	// Timeline has the live bytes after each executed node.
	Timeline []TimelinePoint `json:"timeline,omitempty"`
}

// Reexecution records one producer run again for a late edge.
type Reexecution struct {
	Node  NodeID `json:"node"`
	Slot  int    `json:"slot"`
	Cause NodeID `json:"cause"`
}

// TimelinePoint is the live memory right after a node finished (or, for
// Peak, the highest while it ran).
type TimelinePoint struct {
	Node  NodeID `json:"node"`
	Live  int64  `json:"live"`
	Peak  int64  `json:"peak"`
	Class string `json:"class"`
}

func (o *Options) parallelism() int {
	if o.Parallelism > 0 {
		return o.Parallelism
	}
	return runtime.GOMAXPROCS(0)
}
