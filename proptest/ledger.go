// ledger.go: the Ledger of a run's calls and the runner wrappers that record them.

package proptest

import (
	"context"
	"maps"
	"slices"
	"sync"

	"github.com/ebbgraph/ebb/engine"
)

// CallRecord is one Run call of a pack runner (or a wrapped testpack one).
type CallRecord struct {
	Node   engine.NodeID
	Parent engine.NodeID // the expanding node, "" for original nodes
	Class  string
	Index  int
	// Inputs are the names of the inputs the call got, sorted.
	Inputs []string
	// Outputs are the values returned (nil for expansions and errors).
	Outputs []any
	// Expanded are the ids of the nodes of the returned expansion, sorted;
	// Results are the expansion's result items (links or literals).
	Expanded []engine.NodeID
	Results  []any
	Err      error
}

// Ledger records the calls of one run. It is safe for concurrent use
// (node bodies run on several workers).
type Ledger struct {
	mu    sync.Mutex
	calls []CallRecord
}

// WithLedger makes the pack's runners record their calls in l.
func WithLedger(ctx context.Context, l *Ledger) context.Context {
	return context.WithValue(ctx, ledgerKey{}, l)
}

// Calls returns the calls recorded so far, in completion order.
func (l *Ledger) Calls() []CallRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

func (l *Ledger) record(c *engine.Call, res engine.Result, err error) {
	rec := CallRecord{Node: c.Node, Class: c.Class, Index: c.Index, Inputs: slices.Sorted(maps.Keys(c.Inputs)), Err: err}
	if c.Graph != nil {
		rec.Parent = c.Graph.Parent(c.Node)
	}
	if err == nil {
		if res.Expand != nil {
			rec.Expanded = res.Expand.Nodes.IDs()
			rec.Results = slices.Clone(res.Expand.Outputs)
		} else {
			rec.Outputs = slices.Clone(res.Outputs)
		}
	}
	l.mu.Lock()
	l.calls = append(l.calls, rec)
	l.mu.Unlock()
}

// recorder wraps a Runner to record its calls in the run's Ledger. The
// variants below keep the inner runner's capabilities.
type recorder struct{ inner engine.Runner }

func (r recorder) Run(ctx context.Context, c *engine.Call) (engine.Result, error) {
	res, err := r.inner.Run(ctx, c)
	if l, _ := ctx.Value(ledgerKey{}).(*Ledger); l != nil {
		l.record(c, res, err)
	}
	return res, err
}

type recExpander struct{ recorder }

func (recExpander) MayExpand() {}

type recLazy struct {
	recorder
	lazy engine.LazyChecker
}

func (r recLazy) CheckLazy(ctx context.Context, c *engine.Call) ([]string, error) {
	return r.lazy.CheckLazy(ctx, c)
}

type recNoRe struct{ recorder }

func (recNoRe) NotReexecutable() {}

var (
	_ engine.MayExpand       = recExpander{}
	_ engine.LazyChecker     = recLazy{}
	_ engine.NotReexecutable = recNoRe{}
)

// wrap returns t with its runner recording calls, or t itself when the
// runner has capabilities the wrappers do not keep (or a combination).
func wrap(t *engine.NodeType) *engine.NodeType {
	r := t.Runner
	_, exp := r.(engine.MayExpand)
	lazy, isLazy := r.(engine.LazyChecker)
	_, noRe := r.(engine.NotReexecutable)
	_, val := r.(engine.Validator)
	_, fp := r.(engine.Fingerprinter)
	n := 0
	for _, b := range []bool{exp, isLazy, noRe, val, fp} {
		if b {
			n++
		}
	}
	w := *t
	switch {
	case n == 0:
		w.Runner = recorder{r}
	case n == 1 && exp:
		w.Runner = recExpander{recorder{r}}
	case n == 1 && isLazy:
		w.Runner = recLazy{recorder{r}, lazy}
	case n == 1 && noRe:
		w.Runner = recNoRe{recorder{r}}
	default:
		return t
	}
	return &w
}
