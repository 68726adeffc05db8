package testpack

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
)

// ErrIntOverflow is wrapped by every error of an integer operation whose
// exact result does not fit in an int64. ComfyUI's Python integers never
// overflow; ebb's INT is an int64, so the pack fails instead of wrapping.
var ErrIntOverflow = errors.New("integer overflow")

// IntOverflowError is an integer operation whose exact result does not fit
// in 64 bits: A Op B, Op as Python writes it ("+", "-", "*", "//", "**").
// It wraps ErrIntOverflow.
type IntOverflowError struct {
	Op   string
	A, B int64
}

func (e *IntOverflowError) Error() string {
	return fmt.Sprintf("%v: %d %s %d does not fit in 64 bits", ErrIntOverflow, e.A, e.Op, e.B)
}

// Unwrap makes errors.Is(err, ErrIntOverflow) true.
func (e *IntOverflowError) Unwrap() error { return ErrIntOverflow }

// addInt returns a+b, or an *IntOverflowError.
func addInt(a, b int64) (int64, error) {
	s := a + b
	// Overflow iff a and b have the same sign and s has the other.
	if (a >= 0) == (b >= 0) && (s >= 0) != (a >= 0) {
		return 0, &IntOverflowError{Op: "+", A: a, B: b}
	}
	return s, nil
}

// subInt returns a-b, or an *IntOverflowError.
func subInt(a, b int64) (int64, error) {
	s := a - b
	// Overflow iff a and b have different signs and s has b's.
	if (a >= 0) != (b >= 0) && (s >= 0) != (a >= 0) {
		return 0, &IntOverflowError{Op: "-", A: a, B: b}
	}
	return s, nil
}

// mulInt returns a*b, or an *IntOverflowError.
func mulInt(a, b int64) (int64, error) {
	r, ok := mul64(a, b)
	if !ok {
		return 0, &IntOverflowError{Op: "*", A: a, B: b}
	}
	return r, nil
}

// mul64 is a*b and whether it fits.
func mul64(a, b int64) (int64, bool) {
	hi, lo := bits.Mul64(absU(a), absU(b))
	switch {
	case hi != 0:
		return 0, false
	case (a < 0) != (b < 0):
		if lo > 1<<63 {
			return 0, false
		}
		return int64(-lo), true // -(1<<63) is MinInt64
	case lo > math.MaxInt64:
		return 0, false
	}
	return int64(lo), true
}

// absU is |x| as a uint64 (exact for MinInt64).
func absU(x int64) uint64 {
	if x < 0 {
		return -uint64(x)
	}
	return uint64(x)
}

// floorDivMod returns Python's a // b and a % b (the remainder takes b's
// sign). b must not be 0. MinInt64 // -1 overflows.
func floorDivMod(a, b int64) (q, r int64, err error) {
	if a == math.MinInt64 && b == -1 {
		return 0, 0, &IntOverflowError{Op: "//", A: a, B: b}
	}
	q, r = a/b, a%b
	if r != 0 && (r < 0) != (b < 0) {
		q, r = q-1, r+b
	}
	return q, r, nil
}

// powInt returns a**b for b >= 0 by squaring, or an *IntOverflowError. A
// square is taken only when a later bit of b needs it, so it overflows
// only when the result does (|a| >= 2).
func powInt(a, b int64) (int64, error) {
	r, base, e := int64(1), a, b
	for {
		var ok bool
		if e&1 == 1 {
			if r, ok = mul64(r, base); !ok {
				return 0, &IntOverflowError{Op: "**", A: a, B: b}
			}
		}
		if e >>= 1; e == 0 {
			return r, nil
		}
		if base, ok = mul64(base, base); !ok {
			return 0, &IntOverflowError{Op: "**", A: a, B: b}
		}
	}
}
