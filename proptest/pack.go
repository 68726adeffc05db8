package proptest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/expand"
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

// Buf is the oracle's stand-in for a device buffer of Bytes bytes holding
// Content.
type Buf struct {
	Content int64
	Bytes   int64
}

// labelPrefix starts the Label of every buffer the pack allocates.
const labelPrefix = "pt "

// Content returns the content of a pack value: an int64, a live
// *engine.Buffer made by the pack, or a Buf. A released buffer is an
// error wrapping device.ErrUseAfterFree.
func Content(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case Buf:
		return x.Content, nil
	case *engine.Buffer:
		if err := x.Check(); err != nil {
			return 0, err
		}
		s, ok := strings.CutPrefix(x.Label, labelPrefix)
		if !ok {
			return 0, fmt.Errorf("proptest: buffer %v was not made by the pack", x)
		}
		return strconv.ParseInt(s, 10, 64)
	case bool: // testpack conditions
		if x {
			return 1, nil
		}
		return 0, nil
	}
	return 0, fmt.Errorf("proptest: %T %v is not a pack value", v, v)
}

// mix combines two contents (a 64-bit mixing step; wraps around).
func mix(h, x int64) int64 {
	u := (uint64(h) ^ uint64(x)) * 0x9E3779B97F4A7C15
	u ^= u >> 29
	u *= 0xBF58476D1CE4E5B9
	u ^= u >> 32
	return int64(u)
}

// makeValue returns content as a value of size bytes: the int64 itself
// when size is 0, a Buf in the oracle, else a new device buffer.
func makeValue(ctx context.Context, c *engine.Call, content, size int64) (any, error) {
	if size <= 0 {
		return content, nil
	}
	if InOracle(ctx) {
		return Buf{Content: content, Bytes: size}, nil
	}
	return c.Alloc(ctx, size, labelPrefix+strconv.FormatInt(content, 10))
}

// param reads an integer literal input; absent is 0. For InputIsList
// nodes the literal arrives as a one-element list.
func param(c *engine.Call, name string) int64 {
	v, ok := c.Inputs[name]
	if !ok {
		return 0
	}
	if l, ok := v.([]any); ok && len(l) > 0 {
		v = l[0]
	}
	n, _ := engine.AsInt(v)
	return n
}

// mixInputs mixes the contents of the present inputs among names into h,
// tagging each with its position so absent and present inputs differ.
func mixInputs(c *engine.Call, h int64, names ...string) (int64, error) {
	for i, name := range names {
		v, ok := c.Inputs[name]
		if !ok {
			h = mix(h, int64(-1-i))
			continue
		}
		x, err := Content(v)
		if err != nil {
			return 0, fmt.Errorf("input %q: %w", name, err)
		}
		h = mix(mix(h, int64(i)), x)
	}
	return h, nil
}

// work allocates working memory (freed by the engine when the call
// returns; nothing in the oracle).
func work(ctx context.Context, c *engine.Call, bytes int64) error {
	if bytes <= 0 || InOracle(ctx) {
		return nil
	}
	_, err := c.Alloc(ctx, bytes, "work")
	return err
}

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

func runSrc(ctx context.Context, c *engine.Call) (engine.Result, error) {
	seed := param(c, "seed")
	vals := make([]any, 3)
	for i := range vals {
		v, err := makeValue(ctx, c, mix(mix(seed, int64(i)), 0x5eed), param(c, "size"+strconv.Itoa(i)))
		if err != nil {
			return engine.Result{}, err
		}
		vals[i] = v
	}
	return engine.Outputs(vals...), nil
}

func runMix(ctx context.Context, c *engine.Call) (engine.Result, error) {
	h, err := mixInputs(c, param(c, "salt"), "a", "b", "c")
	if err != nil {
		return engine.Result{}, err
	}
	if err := work(ctx, c, param(c, "work")); err != nil {
		return engine.Result{}, err
	}
	o0, err := makeValue(ctx, c, h, param(c, "size"))
	if err != nil {
		return engine.Result{}, err
	}
	o1, err := makeValue(ctx, c, mix(h, 1), param(c, "size1"))
	if err != nil {
		return engine.Result{}, err
	}
	return engine.Outputs(o0, o1), nil
}

func runPass(ctx context.Context, c *engine.Call) (engine.Result, error) {
	h, err := mixInputs(c, param(c, "salt"), "a")
	if err != nil {
		return engine.Result{}, err
	}
	o1, err := makeValue(ctx, c, h, param(c, "size"))
	if err != nil {
		return engine.Result{}, err
	}
	return engine.Outputs(c.Inputs["a"], o1), nil
}

func runList(ctx context.Context, c *engine.Call) (engine.Result, error) {
	h, err := mixInputs(c, 0x11, "a")
	if err != nil {
		return engine.Result{}, err
	}
	n := param(c, "n")
	list := make([]any, 0, n)
	for i := range n {
		v, err := makeValue(ctx, c, mix(h, i), param(c, "size"))
		if err != nil {
			return engine.Result{}, err
		}
		list = append(list, v)
	}
	return engine.Outputs(list, n), nil
}

func runSum(ctx context.Context, c *engine.Call) (engine.Result, error) {
	h := param(c, "salt")
	for i, name := range []string{"a", "b"} {
		l, _ := c.Inputs[name].([]any)
		h = mix(h, int64(100+i))
		for _, v := range l {
			x, err := Content(v)
			if err != nil {
				return engine.Result{}, fmt.Errorf("input %q: %w", name, err)
			}
			h = mix(h, x)
		}
	}
	o, err := makeValue(ctx, c, h, param(c, "size"))
	return engine.Outputs(o), err
}

// lazyNode is PLazy: a is needed when seed bit 0 is set; b when seed bit 1
// differs from the parity of a's content (a needed) or when bit 1 is set
// (a not needed); c when seed bit 2 is set and a or b is needed. Needs are
// asked one at a time (a, then b, then c), and only the needed inputs
// count: an input delivered without being asked (the engine delivers a
// lazy input that resolves to a literal, ComfyUI any input whose value is
// available) changes neither the needs nor the result.
type lazyNode struct{}

var _ engine.LazyChecker = lazyNode{}

// lazyNeeds returns the inputs PLazy needs given what it has: the names
// decided so far, and whether the decision is complete (false: the last
// name is missing and must be asked for first).
func lazyNeeds(c *engine.Call) (need []string, complete bool, err error) {
	seed := param(c, "seed")
	wantB := seed&2 != 0
	if seed&1 != 0 {
		need = append(need, "a")
		if !c.Has("a") {
			return need, false, nil
		}
		x, err := Content(c.Inputs["a"])
		if err != nil {
			return nil, false, fmt.Errorf("input \"a\": %w", err)
		}
		wantB = wantB != (x&1 == 1)
	}
	if wantB {
		need = append(need, "b")
		if !c.Has("b") {
			return need, false, nil
		}
	}
	if seed&4 != 0 && len(need) > 0 {
		need = append(need, "c")
	}
	return need, true, nil
}

func (lazyNode) CheckLazy(_ context.Context, c *engine.Call) ([]string, error) {
	need, _, err := lazyNeeds(c)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, name := range need {
		if !c.Has(name) {
			missing = append(missing, name)
		}
	}
	return missing, nil
}

func (lazyNode) Run(ctx context.Context, c *engine.Call) (engine.Result, error) {
	need, complete, err := lazyNeeds(c)
	if err != nil {
		return engine.Result{}, err
	}
	if !complete {
		return engine.Result{}, fmt.Errorf("PLazy ran without its needed inputs %v", need)
	}
	h := param(c, "seed")
	for i, name := range []string{"a", "b", "c"} {
		if !slices.Contains(need, name) {
			h = mix(h, int64(-1-i))
			continue
		}
		x, err := Content(c.Inputs[name])
		if err != nil {
			return engine.Result{}, fmt.Errorf("input %q: %w", name, err)
		}
		h = mix(mix(h, int64(i)), x)
	}
	o, err := makeValue(ctx, c, h, param(c, "size"))
	return engine.Outputs(o), err
}

// noReNode is PNoRe: a deterministic node that says it must not run twice.
type noReNode struct{}

var _ engine.NotReexecutable = noReNode{}

func (noReNode) NotReexecutable() {}

func (noReNode) Run(ctx context.Context, c *engine.Call) (engine.Result, error) {
	h, err := mixInputs(c, mix(param(c, "salt"), 0x40), "a")
	if err != nil {
		return engine.Result{}, err
	}
	o, err := makeValue(ctx, c, h, param(c, "size"))
	return engine.Outputs(o), err
}

// ParseLinks parses PExpand's links literal: "id:out;id:out".
func ParseLinks(s string) ([]engine.Ref, error) {
	if s == "" {
		return nil, nil
	}
	var refs []engine.Ref
	for _, part := range strings.Split(s, ";") {
		id, out, ok := strings.Cut(part, ":")
		if !ok {
			return nil, fmt.Errorf("proptest: bad link %q", part)
		}
		n, err := strconv.Atoi(out)
		if err != nil {
			return nil, fmt.Errorf("proptest: bad link %q: %w", part, err)
		}
		refs = append(refs, engine.Ref{Node: engine.NodeID(id), Out: n})
	}
	return refs, nil
}

// FormatLinks is the inverse of ParseLinks.
func FormatLinks(refs []engine.Ref) string {
	parts := make([]string, len(refs))
	for i, r := range refs {
		parts[i] = string(r.Node) + ":" + strconv.Itoa(r.Out)
	}
	return strings.Join(parts, ";")
}

// expander is PExpand. With seed%7 == 6 it does not expand (its outputs
// then depend only on seed). Otherwise it expands into a chain of PMix
// nodes starting at its raw input a, one per late edge in links (each
// mixing in the linked output), then a last PMix; with depth > 0 the first
// output goes through a nested PExpand, and with seed%3 == 1 the second
// through a PComp.
type expander struct{}

var _ engine.MayExpand = expander{}

func (expander) MayExpand() {}

func (expander) Run(ctx context.Context, c *engine.Call) (engine.Result, error) {
	seed, size, depth := param(c, "seed"), param(c, "size"), param(c, "depth")
	a, ok := c.Inputs["a"].(engine.Ref)
	if !ok {
		return engine.Result{}, fmt.Errorf("input \"a\": want a raw link, got %T", c.Inputs["a"])
	}
	s, _ := c.Inputs["links"].(string)
	links, err := ParseLinks(s)
	if err != nil {
		return engine.Result{}, err
	}
	if seed%7 == 6 {
		o0, err := makeValue(ctx, c, mix(seed, 70), size)
		if err != nil {
			return engine.Result{}, err
		}
		return engine.Outputs(o0, mix(seed, 71)), nil
	}
	b := expand.NewBuilder(c)
	prev := a
	for i, l := range links {
		prev = b.Node(ClassMix, "", map[string]any{"a": prev, "b": l, "salt": mix(seed, int64(i)), "size": size}).Out(0)
	}
	last := b.Node(ClassMix, "", map[string]any{"a": prev, "salt": seed, "size": size, "size1": size / 2})
	var o0, o1 any = last.Out(0), last.Out(1)
	if depth > 0 {
		o0 = b.Node(ClassExpand, "", map[string]any{"a": last.Out(0), "seed": mix(seed, 3) & 0xffff, "depth": depth - 1, "size": size}).Out(0)
	}
	if seed%3 == 1 {
		o1 = b.Node(ClassComp, "", map[string]any{"x": last.Out(1)}).Out(1)
	} else if seed%5 == 2 {
		o1 = mix(seed, 72) // a literal result
	}
	return b.Result(o0, o1), nil
}

// component is PComp: x -> PMix(a=x) -> PPass -> (the pass-through of the
// mix, the pass's own value).
func component() *expand.Component {
	return &expand.Component{
		Class:   ClassComp,
		Inputs:  []engine.InputSpec{anyIn("x")},
		Outputs: outs(2),
		Graph: engine.Workflow{
			"m": {Class: ClassMix, Inputs: map[string]any{"salt": int64(11), "size": int64(48), "size1": int64(16)}},
			"p": {Class: ClassPass, Inputs: map[string]any{"a": engine.Ref{Node: "m", Out: 0}, "salt": int64(5), "size": int64(32)}},
		},
		InputNodes: map[string][]expand.Port{"x": {{Node: "m", Input: "a"}}},
		Results:    []engine.Ref{{Node: "p", Out: 0}, {Node: "p", Out: 1}},
	}
}

func runFail(ctx context.Context, c *engine.Call) (engine.Result, error) {
	if _, err := mixInputs(c, 0, "a"); err != nil {
		return engine.Result{}, err
	}
	if err := work(ctx, c, param(c, "work")); err != nil {
		return engine.Result{}, err
	}
	return engine.Result{}, fmt.Errorf("%w (node %s)", ErrInjected, c.Node)
}

func runCancel(ctx context.Context, c *engine.Call) (engine.Result, error) {
	h, err := mixInputs(c, 0x77, "a")
	if err != nil {
		return engine.Result{}, err
	}
	hard := param(c, "hard") != 0
	if InOracle(ctx) {
		if hard {
			return engine.Result{}, ErrCancelled
		}
		o, err := makeValue(ctx, c, h, param(c, "size"))
		return engine.Outputs(o), err
	}
	o, err := makeValue(ctx, c, h, param(c, "size")) // before cancelling, so a soft cancel returns it
	if err != nil {
		return engine.Result{}, err
	}
	cancel, ok := ctx.Value(cancelKey{}).(context.CancelFunc)
	switch {
	case !ok && hard:
		return engine.Result{}, ErrCancelled
	case !ok:
		return engine.Outputs(o), nil
	}
	cancel()
	if hard {
		return engine.Result{}, ctx.Err()
	}
	return engine.Outputs(o), nil
}

func runOut(_ context.Context, c *engine.Call) (engine.Result, error) {
	h, err := mixInputs(c, param(c, "salt"), "a", "b")
	if err != nil {
		return engine.Result{}, err
	}
	return engine.Result{Outputs: []any{c.Inputs["a"]}, UI: map[string][]any{"v": {h}}}, nil
}
