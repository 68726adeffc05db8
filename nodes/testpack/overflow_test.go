package testpack

import (
	"context"
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ebbgraph/ebb/engine"
)

const (
	maxI = math.MaxInt64
	minI = math.MinInt64
)

// bigMath is IntMath in arbitrary precision (Python's ints): the exact
// result and whether it is defined (b != 0 for divide and modulo, b >= 0
// for power).
func bigMath(a, b int64, op string) (*big.Int, bool) {
	x, y := big.NewInt(a), big.NewInt(b)
	r := new(big.Int)
	switch op {
	case "add":
		return r.Add(x, y), true
	case "subtract":
		return r.Sub(x, y), true
	case "multiply":
		return r.Mul(x, y), true
	case "divide", "modulo":
		if b == 0 {
			return nil, false
		}
		q, m := new(big.Int).DivMod(x, y, new(big.Int)) // Euclidean: 0 <= m < |y|
		if m.Sign() != 0 && y.Sign() < 0 {              // Python: the remainder takes y's sign
			q.Sub(q, big.NewInt(1))
			m.Add(m, y)
		}
		if op == "divide" {
			return q, true
		}
		return m, true
	case "power":
		if b < 0 {
			return nil, false
		}
		if b > 64 && (a < -1 || a > 1) {
			// Far out of range; big.Int would compute a huge number.
			return new(big.Int).Lsh(big.NewInt(1), 64), true
		}
		return r.Exp(x, y, nil), true
	}
	return nil, false
}

// TestIntMathEdges checks each operation at the int64 limits: exact
// results where Python's fit in 64 bits, ErrIntOverflow (with the operands
// in the message) where they do not.
func TestIntMathEdges(t *testing.T) {
	const over = "overflow"
	for _, c := range []struct {
		a, b int64
		op   string
		want any // int64, or over
	}{
		{maxI, 1, "add", over},
		{maxI, 0, "add", int64(maxI)},
		{maxI, -1, "add", int64(maxI - 1)},
		{minI, -1, "add", over},
		{minI, maxI, "add", int64(-1)},
		{maxI, maxI, "add", over},
		{minI, minI, "add", over},
		{minI, 1, "subtract", over},
		{maxI, -1, "subtract", over},
		{0, minI, "subtract", over},
		{-1, minI, "subtract", int64(maxI)},
		{0, maxI, "subtract", int64(-maxI)},
		{minI, minI, "subtract", int64(0)},
		{maxI, 2, "multiply", over},
		{minI, -1, "multiply", over},
		{-1, minI, "multiply", over},
		{minI, 1, "multiply", int64(minI)},
		{1 << 62, -2, "multiply", int64(minI)},
		{1 << 62, 2, "multiply", over},
		{-(1 << 32), 1 << 31, "multiply", int64(-(1 << 63))},
		{1 << 32, 1 << 32, "multiply", over},
		{3037000499, 3037000499, "multiply", int64(3037000499 * 3037000499)},
		{3037000500, 3037000500, "multiply", over},
		{minI, 0, "multiply", int64(0)},
		{minI, -1, "divide", over},
		{minI, 1, "divide", int64(minI)},
		{minI, 2, "divide", int64(minI / 2)},
		{maxI, -1, "divide", int64(-maxI)},
		{minI, maxI, "divide", int64(-2)},
		{minI, -1, "modulo", int64(0)},
		{minI, maxI, "modulo", int64(maxI - 1)},
		{maxI, minI, "modulo", int64(-1)},
		{minI, minI, "modulo", int64(0)},
		{2, 62, "power", int64(1 << 62)},
		{2, 63, "power", over},
		{-2, 63, "power", int64(minI)},
		{-2, 64, "power", over},
		{3, 39, "power", int64(4052555153018976267)},
		{3, 40, "power", over},
		{10, 18, "power", int64(1e18)},
		{10, 19, "power", over},
		{-1, maxI, "power", int64(-1)},
		{-1, maxI - 1, "power", int64(1)},
		{1, maxI, "power", int64(1)},
		{0, maxI, "power", int64(0)},
		{0, 0, "power", int64(1)},
		{maxI, 1, "power", int64(maxI)},
		{minI, 1, "power", int64(minI)},
		{minI, 2, "power", over},
		{maxI, 2, "power", over},
		{1 << 31, 2, "power", int64(1 << 62)},
		{1 << 32, 2, "power", over},
	} {
		got, err := IntMath(c.a, c.b, c.op)
		if c.want == over {
			var oe *IntOverflowError
			if !errors.Is(err, ErrIntOverflow) || !errors.As(err, &oe) || oe.A != c.a || oe.B != c.b {
				t.Errorf("%d %s %d = %d, %v; want an IntOverflowError", c.a, c.op, c.b, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%d %s %d = %d, %v; want %d", c.a, c.op, c.b, got, err, c.want)
		}
	}
	_, err := IntMath(maxI, 1, "add")
	if want := "integer overflow: 9223372036854775807 + 1 does not fit in 64 bits"; err == nil || err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
}

// TestIntMathExact compares IntMath with arbitrary precision on operands
// drawn near the limits and at random: a result is either Python's exact
// value or ErrIntOverflow exactly when Python's value does not fit.
func TestIntMathExact(t *testing.T) {
	special := []int64{0, 1, -1, 2, -2, 3, 7, -7, 62, 63, 64, 1 << 31, -(1 << 31), 1 << 32, 3037000499, 3037000500,
		maxI, maxI - 1, minI, minI + 1, maxI / 2, minI / 2, maxI/2 + 1, minI/2 - 1}
	r := rand.New(rand.NewPCG(1, 2))
	for range 60 {
		special = append(special, r.Int64(), -r.Int64(), r.Int64N(1<<32)-(1<<31), r.Int64N(130)-65)
	}
	lo, hi := big.NewInt(minI), big.NewInt(maxI)
	for _, op := range []string{"add", "subtract", "multiply", "divide", "modulo", "power"} {
		for _, a := range special {
			for _, b := range special {
				want, defined := bigMath(a, b, op)
				got, err := IntMath(a, b, op)
				switch {
				case !defined:
					if err == nil || errors.Is(err, ErrIntOverflow) {
						t.Fatalf("%d %s %d = %d, %v; want a domain error", a, op, b, got, err)
					}
				case want.Cmp(lo) < 0 || want.Cmp(hi) > 0:
					if !errors.Is(err, ErrIntOverflow) {
						t.Fatalf("%d %s %d = %d, %v; want ErrIntOverflow (exact %v)", a, op, b, got, err, want)
					}
				default:
					if err != nil || got != want.Int64() {
						t.Fatalf("%d %s %d = %d, %v; want %v", a, op, b, got, err, want)
					}
				}
			}
		}
	}
}

// TestIntOverflowFailsTheRun is issue 12's case: MaxInt64 + 1 used to wrap
// to a negative number, a gate downstream blocked, and the run reported
// success with no outputs. Now the add fails the run with ErrIntOverflow.
func TestIntOverflowFailsTheRun(t *testing.T) {
	ref := func(id string) engine.Ref { return engine.Ref{Node: engine.NodeID(id)} }
	wf := engine.Workflow{
		"sum":      {Class: "TestIntMathOperation", Inputs: map[string]any{"a": int64(maxI), "b": int64(1), "operation": "add"}},
		"positive": {Class: "TestIntConditions", Inputs: map[string]any{"a": ref("sum"), "b": int64(0), "operation": ">"}},
		"blocked":  {Class: "TestBoolOperationNode", Inputs: map[string]any{"a": ref("positive"), "b": false, "op": "NOT a"}},
		"image":    {Class: "StubImage", Inputs: map[string]any{"content": "WHITE", "height": int64(8), "width": int64(8), "batch_size": int64(1)}},
		"gate":     {Class: "TestExecutionBlocker", Inputs: map[string]any{"input": ref("image"), "block": ref("blocked"), "verbose": false}},
		"out":      {Class: "SaveImage", Inputs: map[string]any{"images": ref("gate")}},
	}
	e, err := engine.New(engine.Options{Registry: Registry(), Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	res, err := e.Run(context.Background(), wf, engine.RunOptions{})
	if res.Status != engine.StatusError || !errors.Is(err, ErrIntOverflow) {
		t.Fatalf("status %s, error %v, outputs %v; want a failed run wrapping ErrIntOverflow", res.Status, err, res.Outputs)
	}
	var ne *engine.NodeError
	if !errors.As(err, &ne) || ne.Node != "sum" || ne.Type != engine.TypeExecution {
		t.Errorf("error %#v, want an execution_error of node sum", ne)
	}
	if !strings.Contains(err.Error(), "9223372036854775807 + 1 does not fit in 64 bits") {
		t.Errorf("message %q does not name the operation", err)
	}
	if len(res.Outputs) != 0 {
		t.Errorf("outputs %v", res.Outputs)
	}
}

// TestSleepLength: a linked seconds value past a Duration's range is an
// error (Go's float-to-int conversion of it is undefined: it became a
// negative duration and the node did not sleep), NaN too.
func TestSleepLength(t *testing.T) {
	for _, s := range []float64{1e300, math.Inf(1), 9.3e9} {
		if _, err := call(t, "TestSleep", map[string]any{"value": int64(1), "seconds": s}); !errors.Is(err, ErrIntOverflow) {
			t.Errorf("seconds %g: %v, want ErrIntOverflow", s, err)
		}
	}
	if _, err := call(t, "TestSleep", map[string]any{"value": int64(1), "seconds": math.NaN()}); err == nil {
		t.Error("seconds NaN accepted")
	}
	for s, want := range map[float64]time.Duration{-1: 0, 0: 0, 1.5: 1500 * time.Millisecond, 9.2e9: 9.2e18} {
		if d, err := sleepDuration(s); err != nil || d != want {
			t.Errorf("sleepDuration(%g) = %v, %v; want %v", s, d, err, want)
		}
	}
}
