package proptest

import (
	"context"
	"errors"
	"slices"
	"strconv"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/nodes/testpack"
)

// The node pack of the properties. Every class works on "contents": int64
// values that are a deterministic function of the node's literals and its
// inputs' contents, so every policy (and the oracle) must produce the same
// contents. A value is either the int64 content itself (size 0) or a device
// buffer of the requested size whose Label carries the content; in the
// oracle, which has no device, a Buf stands in for the buffer. Every node
// checks each buffer it reads (engine.Buffer.Check), so a read of a
// released value fails the run with an error wrapping
// device.ErrUseAfterFree.
//
//	PSrc(seed; size0..2)            -> o0, o1, o2      three outputs, often unconnected
//	PMix(a; b, c; salt, size, size1, work) -> o0, o1   work: working memory (allocated, not returned)
//	PPass(a; salt, size)            -> a (the same value: aliasing), o1
//	PList(a?; n, size)              -> list of n values (OUTPUT_IS_LIST), count
//	PSum(a; b?; salt, size)         -> o0                INPUT_IS_LIST consumer
//	PLazy(seed, a, b, c lazy; size) -> o0                needs decided by seed and contents
//	PNoRe(a?; salt, size)           -> o0                NotReexecutable
//	PExpand(a raw; seed, links, depth, size) -> o0, o1   MayExpand; links: late edges "id:out;..."
//	PComp(x)                        -> o0, o1            a component (expand.Component)
//	PFail(a?; work)                 -> o0                always fails (ErrInjected)
//	PCancel(a?; hard, size)         -> o0                cancels the run (hard: and returns ctx.Err())
//	POut(a; b?; salt)               -> a                 output node, UI {"v": [content]}

// ErrInjected is the error of PFail nodes.
var ErrInjected = errors.New("proptest: injected failure")

// ErrCancelled is what a hard PCancel node returns in the oracle, which
// has no run to cancel.
var ErrCancelled = errors.New("proptest: cancelled by a PCancel node")

// Context keys.
type (
	oracleKey struct{}
	cancelKey struct{}
	ledgerKey struct{}
)

// InOracle reports whether ctx is an oracle evaluation (no device).
func InOracle(ctx context.Context) bool { return ctx.Value(oracleKey{}) != nil }

// WithCancel gives PCancel nodes the function that cancels the run.
func WithCancel(ctx context.Context, cancel context.CancelFunc) context.Context {
	return context.WithValue(ctx, cancelKey{}, cancel)
}

func anyIn(name string) engine.InputSpec { return engine.InputSpec{Name: name, Type: "*"} }

func optAny(name string) engine.InputSpec {
	return engine.InputSpec{Name: name, Type: "*", Optional: true}
}

func intIn(name string) engine.InputSpec { return engine.InputSpec{Name: name, Type: "INT"} }

func optInt(name string) engine.InputSpec {
	return engine.InputSpec{Name: name, Type: "INT", Optional: true, Min: engine.F(0), Max: engine.F(1 << 20)}
}

func outs(n int) []engine.OutputSpec {
	o := make([]engine.OutputSpec, n)
	for i := range o {
		o[i] = engine.OutputSpec{Name: "o" + strconv.Itoa(i), Type: "*"}
	}
	return o
}

// Classes of the pack.
const (
	ClassSrc    = "PSrc"
	ClassMix    = "PMix"
	ClassPass   = "PPass"
	ClassList   = "PList"
	ClassSum    = "PSum"
	ClassLazy   = "PLazy"
	ClassNoRe   = "PNoRe"
	ClassExpand = "PExpand"
	ClassComp   = "PComp"
	ClassFail   = "PFail"
	ClassCancel = "PCancel"
	ClassOut    = "POut"
)

// PackTypes returns the pack's node types (runners not wrapped).
func PackTypes() []*engine.NodeType {
	return []*engine.NodeType{
		{
			Class:  ClassSrc,
			Schema: engine.Schema{Inputs: []engine.InputSpec{intIn("seed"), optInt("size0"), optInt("size1"), optInt("size2")}, Outputs: outs(3)},
			Runner: engine.RunFunc(runSrc),
		},
		{
			Class: ClassMix,
			Schema: engine.Schema{
				Inputs:  []engine.InputSpec{anyIn("a"), optAny("b"), optAny("c"), optInt("salt"), optInt("size"), optInt("size1"), optInt("work")},
				Outputs: outs(2),
			},
			Runner: engine.RunFunc(runMix),
		},
		{
			Class:  ClassPass,
			Schema: engine.Schema{Inputs: []engine.InputSpec{anyIn("a"), optInt("salt"), optInt("size")}, Outputs: outs(2)},
			Runner: engine.RunFunc(runPass),
		},
		{
			Class: ClassList,
			Schema: engine.Schema{
				Inputs:  []engine.InputSpec{optAny("a"), {Name: "n", Type: "INT", Min: engine.F(1), Max: engine.F(8)}, optInt("size")},
				Outputs: []engine.OutputSpec{{Name: "list", Type: "*", IsList: true}, {Name: "count", Type: "*"}},
			},
			Runner: engine.RunFunc(runList),
		},
		{
			Class: ClassSum,
			Schema: engine.Schema{
				Inputs:      []engine.InputSpec{anyIn("a"), optAny("b"), optInt("salt"), optInt("size")},
				Outputs:     outs(1),
				InputIsList: true,
			},
			Runner: engine.RunFunc(runSum),
		},
		{
			Class: ClassLazy,
			Schema: engine.Schema{
				Inputs: []engine.InputSpec{
					intIn("seed"),
					{Name: "a", Type: "*", Lazy: true}, {Name: "b", Type: "*", Lazy: true}, {Name: "c", Type: "*", Lazy: true},
					optInt("size"),
				},
				Outputs: outs(1),
			},
			Runner: lazyNode{},
		},
		{
			Class:  ClassNoRe,
			Schema: engine.Schema{Inputs: []engine.InputSpec{optAny("a"), optInt("salt"), optInt("size")}, Outputs: outs(1)},
			Runner: noReNode{},
		},
		{
			Class: ClassExpand,
			Schema: engine.Schema{
				Inputs: []engine.InputSpec{
					{Name: "a", Type: "*", RawLink: true}, intIn("seed"),
					{Name: "links", Type: "STRING", Optional: true}, optInt("depth"), optInt("size"),
				},
				Outputs: outs(2),
			},
			Runner: expander{},
		},
		component().NodeType(),
		{
			Class:  ClassFail,
			Schema: engine.Schema{Inputs: []engine.InputSpec{optAny("a"), optInt("work")}, Outputs: outs(1)},
			Runner: engine.RunFunc(runFail),
		},
		{
			Class:  ClassCancel,
			Schema: engine.Schema{Inputs: []engine.InputSpec{optAny("a"), optInt("hard"), optInt("size")}, Outputs: outs(1)},
			Runner: engine.RunFunc(runCancel),
		},
		{
			Class:  ClassOut,
			Schema: engine.Schema{Inputs: []engine.InputSpec{anyIn("a"), optAny("b"), optInt("salt")}, Outputs: outs(1), OutputNode: true},
			Runner: engine.RunFunc(runOut),
		},
	}
}

// Registry returns a registry with the pack and the testpack, every
// runner that can be wrapped recording its calls in the run's Ledger.
func Registry() *engine.Registry {
	r := engine.NewRegistry()
	for _, t := range slices.Concat(PackTypes(), testpack.Types()) {
		if err := r.Register(wrap(t)); err != nil {
			panic(err)
		}
	}
	return r
}
