package engine

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func TestAsIntAsFloat(t *testing.T) {
	const (
		maxExact = 1 << 53
		two63    = 1 << 63 // as a float64
	)
	type want struct {
		i   int64
		err string // "" when it converts; else a part of the error
	}
	cases := []struct {
		v          any
		asInt      want
		asFloat    float64
		asFloatErr string
	}{
		// What AsInt has always accepted.
		{v: 5, asInt: want{i: 5}, asFloat: 5},
		{v: int64(-7), asInt: want{i: -7}, asFloat: -7},
		{v: int32(3), asInt: want{i: 3}, asFloat: 3},
		{v: 4.0, asInt: want{i: 4}, asFloat: 4},
		{v: math.Copysign(0, -1), asInt: want{i: 0}, asFloat: math.Copysign(0, -1)},
		{v: float64(maxExact), asInt: want{i: maxExact}, asFloat: maxExact},
		{v: float64(-two63), asInt: want{i: math.MinInt64}, asFloat: -two63},
		{v: true, asInt: want{i: 1}, asFloat: 1},
		{v: false, asInt: want{i: 0}, asFloat: 0},
		// The other Go integer kinds, float32 and json.Number, as validation.
		{v: int8(-8), asInt: want{i: -8}, asFloat: -8},
		{v: int16(16), asInt: want{i: 16}, asFloat: 16},
		{v: uint8(8), asInt: want{i: 8}, asFloat: 8},
		{v: uint16(16), asInt: want{i: 16}, asFloat: 16},
		{v: uint32(32), asInt: want{i: 32}, asFloat: 32},
		{v: uint(64), asInt: want{i: 64}, asFloat: 64},
		{v: uint64(math.MaxInt64), asInt: want{i: math.MaxInt64}, asFloat: math.MaxInt64},
		{v: float32(6), asInt: want{i: 6}, asFloat: 6},
		{v: json.Number("12"), asInt: want{i: 12}, asFloat: 12},
		{v: json.Number("12.0"), asInt: want{i: 12}, asFloat: 12},
		{v: json.Number("1e3"), asInt: want{i: 1000}, asFloat: 1000},
		// Numbers that are not int64s.
		{v: 1e300, asInt: want{err: "want an integer, got float64 1e+300: 1e+300 is out of the int64 range"}, asFloat: 1e300},
		{v: -1e300, asInt: want{err: "out of the int64 range"}, asFloat: -1e300},
		{v: float64(two63), asInt: want{err: "9.223372036854776e+18 is out of the int64 range"}, asFloat: two63},
		{v: math.NaN(), asInt: want{err: "want an integer, got float64 NaN: cannot convert NaN to an integer"}, asFloat: math.NaN()},
		{v: math.Inf(1), asInt: want{err: "want an integer, got float64 +Inf: cannot convert +Inf to an integer"}, asFloat: math.Inf(1)},
		{v: math.Inf(-1), asInt: want{err: "cannot convert -Inf to an integer"}, asFloat: math.Inf(-1)},
		{v: 2.5, asInt: want{err: "want an integer, got float64 2.5: 2.5 is not an integer"}, asFloat: 2.5},
		{v: float32(0.5), asInt: want{err: "got float32 0.5: 0.5 is not an integer"}, asFloat: 0.5},
		{v: uint64(math.MaxUint64), asInt: want{err: "want an integer, got uint64 18446744073709551615: 18446744073709551615 is out of the int64 range"}, asFloat: math.MaxUint64},
		{v: uint(math.MaxUint64), asInt: want{err: "out of the int64 range"}, asFloatErr: "out of the int64 range"},
		{v: json.Number("2.5"), asInt: want{err: "2.5 is not an integer"}, asFloat: 2.5},
		{v: json.Number("1e999"), asInt: want{err: "number 1e999 is out of range"}, asFloatErr: "number 1e999 is out of range"},
		// Not numbers: strings are a workflow literal's privilege.
		{v: "5", asInt: want{err: "want an integer, got string 5"}, asFloatErr: "want a number, got string 5"},
		{v: "", asInt: want{err: "want an integer, got string "}, asFloatErr: "want a number, got string "},
		{v: nil, asInt: want{err: "want an integer, got <nil> <nil>"}, asFloatErr: "want a number, got <nil> <nil>"},
		{v: []any{int64(1)}, asInt: want{err: "want an integer, got []interface {} [1]"}, asFloatErr: "want a number, got []interface {} [1]"},
		{v: Ref{Node: "a"}, asInt: want{err: "want an integer, got engine.Ref"}, asFloatErr: "want a number, got engine.Ref"},
	}
	same := func(a, b float64) bool { return a == b && math.Signbit(a) == math.Signbit(b) || a != a && b != b }
	for _, c := range cases {
		i, err := AsInt(c.v)
		switch {
		case c.asInt.err == "" && (err != nil || i != c.asInt.i):
			t.Errorf("AsInt(%T %v) = %d, %v; want %d", c.v, c.v, i, err, c.asInt.i)
		case c.asInt.err != "" && (err == nil || !strings.Contains(err.Error(), c.asInt.err)):
			t.Errorf("AsInt(%T %v) = %d, %v; want an error with %q", c.v, c.v, i, err, c.asInt.err)
		case c.asInt.err != "" && i != 0:
			t.Errorf("AsInt(%T %v) = %d with an error", c.v, c.v, i)
		}
		f, err := AsFloat(c.v)
		switch {
		case c.asFloatErr == "" && (err != nil || !same(f, c.asFloat)):
			t.Errorf("AsFloat(%T %v) = %v, %v; want %v", c.v, c.v, f, err, c.asFloat)
		case c.asFloatErr != "" && (err == nil || !strings.Contains(err.Error(), c.asFloatErr)):
			t.Errorf("AsFloat(%T %v) = %v, %v; want an error with %q", c.v, c.v, f, err, c.asFloatErr)
		}
	}
	// Call.Int and Call.Float are AsInt and AsFloat.
	c := &Call{Inputs: map[string]any{"big": 1e300, "s": "5"}}
	if _, err := c.Int("big"); err == nil {
		t.Error("Call.Int accepted 1e300")
	}
	if _, err := c.Float("s"); err == nil {
		t.Error("Call.Float parsed a string")
	}
}

// numberLiteral draws what may sit in a Call's inputs or in a workflow's
// literal: float64 (edge values weighted), int64, and the other numeric
// kinds.
func numberLiteral() *rapid.Generator[any] {
	edges := []float64{
		0, math.Copysign(0, -1), 0.5, -0.5, 1, -1, 2.5, 1e300, -1e300, math.NaN(), math.Inf(1), math.Inf(-1),
		1 << 53, 1<<53 + 2, 1 << 62, 1 << 63, -(1 << 63), -(1 << 63) - 2048, math.MaxFloat64, math.SmallestNonzeroFloat64,
		math.Nextafter(1<<63, 0), math.Nextafter(-(1 << 63), 0),
	}
	anyOf := func(g *rapid.Generator[float64]) *rapid.Generator[any] {
		return rapid.Map(g, func(f float64) any { return f })
	}
	return rapid.OneOf(
		anyOf(rapid.Float64()),
		anyOf(rapid.SampledFrom(edges)),
		anyOf(rapid.Map(rapid.Int64(), func(i int64) float64 { return float64(i) })), // integral
		rapid.Map(rapid.Int64(), func(i int64) any { return i }),
		rapid.Map(rapid.Int(), func(i int) any { return i }),
		rapid.Map(rapid.Uint64(), func(u uint64) any { return u }),
		rapid.Map(rapid.Float32(), func(f float32) any { return f }),
		rapid.Map(rapid.Int64(), func(i int64) any { return json.Number(formatValue(i)) }),
		rapid.Map(rapid.Float64(), func(f float64) any { return json.Number(formatFloat(f)) }),
	)
}

// TestAsIntAgreesWithValidation: for any number, AsInt gives what
// validation makes of the same INT literal, or both refuse it (and
// likewise AsFloat for a FLOAT literal).
func TestAsIntAgreesWithValidation(t *testing.T) {
	reg := vtRegistry(
		&NodeType{Class: "IntOut", Runner: vtNop{}, Schema: vtOutputNode(vtSchema("", InputSpec{Name: "value", Type: "INT"}))},
		&NodeType{Class: "FloatOut", Runner: vtNop{}, Schema: vtOutputNode(vtSchema("", InputSpec{Name: "value", Type: "FLOAT"}))},
	)
	// validated runs validation on one literal and returns the coerced
	// value, or the error.
	validated := func(t *rapid.T, class string, lit any) (any, error) {
		v, err := validate(reg, Workflow{"n": vn(class, "value", lit)}, nil)
		if err != nil {
			var pe *PromptError
			if !errors.As(err, &pe) || pe.Nodes["n"] == nil || pe.Nodes["n"].Errors[0].Type != TypeInvalidInputType {
				t.Fatalf("validating %T %v: unexpected error %v", lit, lit, err)
			}
			return nil, err
		}
		return vdef(v, "n").Inputs["value"], nil
	}
	rapid.Check(t, func(t *rapid.T) {
		lit := numberLiteral().Draw(t, "literal")
		i, err := AsInt(lit)
		got, verr := validated(t, "IntOut", lit)
		switch {
		case (err == nil) != (verr == nil):
			t.Fatalf("%T %v: AsInt says %d, %v; validation says %v, %v", lit, lit, i, err, got, verr)
		case err == nil && got != any(i):
			t.Fatalf("%T %v: AsInt says %d; validation says %T %v", lit, lit, i, got, got)
		}
		f, err := AsFloat(lit)
		got, verr = validated(t, "FloatOut", lit)
		switch {
		case (err == nil) != (verr == nil):
			t.Fatalf("%T %v: AsFloat says %v, %v; validation says %v, %v", lit, lit, f, err, got, verr)
		case err == nil:
			if g, ok := got.(float64); !ok || !(g == f && math.Signbit(g) == math.Signbit(f) || g != g && f != f) {
				t.Fatalf("%T %v: AsFloat says %v; validation says %T %v", lit, lit, f, got, got)
			}
		}
	})
}
