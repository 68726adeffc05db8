// coerce.go: conversion of literal numbers, and the only place that converts them: validation's coercion, AsInt and AsFloat.

package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// coerce converts a literal for an input of type typ as ComfyUI's int(),
// float() (and, stricter, str() and bool()) do. changed says whether the
// value is different from v.
func coerce(typ string, v any) (out any, changed bool, err error) {
	switch typ {
	case "INT":
		i, changed, err := coerceInt(v)
		return i, changed, err
	case "FLOAT":
		f, changed, err := coerceFloat(v)
		return f, changed, err
	case "STRING":
		if _, ok := v.(string); !ok {
			return v, false, fmt.Errorf("want a string, got %s", goKind(v))
		}
	case "BOOLEAN":
		if _, ok := v.(bool); !ok {
			return v, false, fmt.Errorf("want a boolean, got %s", goKind(v))
		}
	}
	return v, false, nil
}

// coerceInt converts an INT literal as ComfyUI's int() does: numbers as
// numInt does, and decimal strings (int("5")). Strings are a workflow
// literal's privilege: AsInt refuses them.
func coerceInt(v any) (int64, bool, error) {
	if s, ok := v.(string); ok {
		return parseInt(s)
	}
	return numInt(v)
}

// parseInt is int() of a string.
func parseInt(s string) (int64, bool, error) {
	i, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, false, fmt.Errorf("%q is out of the int64 range", s)
		}
		return 0, false, fmt.Errorf("invalid literal for int() with base 10: %q", s)
	}
	return i, true, nil
}

// numInt is the numeric core of integer conversion, shared by validation
// (coerceInt) and AsInt: any Go integer kind in the int64 range, a finite
// integral float64 or float32 in the range, a bool (0 or 1), or a
// json.Number that is one of these. changed says whether the value is
// different from v (anything but an int64). Anything else is a *kindError.
func numInt(v any) (int64, bool, error) {
	switch x := v.(type) {
	case int64:
		return x, false, nil
	case int:
		return int64(x), true, nil
	case int32:
		return int64(x), true, nil
	case int16:
		return int64(x), true, nil
	case int8:
		return int64(x), true, nil
	case uint8:
		return int64(x), true, nil
	case uint16:
		return int64(x), true, nil
	case uint32:
		return int64(x), true, nil
	case uint:
		if uint64(x) > math.MaxInt64 {
			return 0, false, fmt.Errorf("%d is out of the int64 range", x)
		}
		return int64(x), true, nil
	case uint64:
		if x > math.MaxInt64 {
			return 0, false, fmt.Errorf("%d is out of the int64 range", x)
		}
		return int64(x), true, nil
	case float32:
		return numInt(float64(x))
	case float64:
		switch {
		case math.IsNaN(x) || math.IsInf(x, 0):
			return 0, false, fmt.Errorf("cannot convert %v to an integer", x)
		case x != math.Trunc(x):
			return 0, false, fmt.Errorf("%s is not an integer", formatFloat(x))
		case x < -(1<<63) || x >= 1<<63:
			return 0, false, fmt.Errorf("%s is out of the int64 range", formatFloat(x))
		}
		return int64(x), true, nil
	case bool:
		if x {
			return 1, true, nil
		}
		return 0, true, nil
	case json.Number:
		n, err := decodeNumber(x)
		if err != nil {
			return 0, false, err
		}
		i, _, err := numInt(n)
		return i, true, err
	}
	return 0, false, &kindError{want: "an integer", v: v}
}

// coerceFloat converts a FLOAT literal as ComfyUI's float() does: numbers
// as numFloat does, and decimal strings (float("1.5")). AsFloat refuses
// strings.
func coerceFloat(v any) (float64, bool, error) {
	if s, ok := v.(string); ok {
		return parseFloat(s)
	}
	return numFloat(v)
}

// parseFloat is float() of a string.
func parseFloat(s string) (float64, bool, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, false, fmt.Errorf("could not convert string to float: %q", s)
	}
	return f, true, nil
}

// numFloat is the numeric core of float conversion, shared by validation
// (coerceFloat) and AsFloat: floats, bools (0 or 1), Go integers (through
// numInt, so in the int64 range, except uint64) and json.Number. changed
// says whether the value is different from v (anything but a float64).
// Anything else is a *kindError.
func numFloat(v any) (float64, bool, error) {
	switch x := v.(type) {
	case float64:
		return x, false, nil
	case float32:
		return float64(x), true, nil
	case bool:
		if x {
			return 1, true, nil
		}
		return 0, true, nil
	case json.Number:
		n, err := decodeNumber(x)
		if err != nil {
			return 0, false, err
		}
		f, _, err := numFloat(n)
		return f, true, err
	case uint64:
		return float64(x), true, nil
	case int64, int, int32, int16, int8, uint, uint32, uint16, uint8:
		i, _, err := numInt(v)
		return float64(i), true, err
	}
	return 0, false, &kindError{want: "a number", v: v}
}

// kindError is numInt's and numFloat's error for a value that is not a
// number at all.
type kindError struct {
	want string // "an integer", "a number"
	v    any
}

func (e *kindError) Error() string { return "want " + e.want + ", got " + goKind(e.v) }

func goKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64, float64:
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}

// compareNum compares a numeric literal with a bound exactly (int64 values
// are not rounded through float64). ok is false for non-numbers and NaN.
func compareNum(v any, b float64) (c int, ok bool) {
	if math.IsNaN(b) {
		return 0, false
	}
	switch x := v.(type) {
	case int64:
		return compareIntFloat(x, b), true
	case int:
		return compareIntFloat(int64(x), b), true
	case float64:
		if math.IsNaN(x) {
			return 0, false
		}
		switch {
		case x < b:
			return -1, true
		case x > b:
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func compareIntFloat(i int64, f float64) int {
	switch {
	case f >= 1<<63:
		return -1
	case f < -(1 << 63):
		return 1
	}
	t := math.Trunc(f)
	ti := int64(t)
	switch {
	case i < ti:
		return -1
	case i > ti:
		return 1
	case f > t:
		return -1
	case f < t:
		return 1
	}
	return 0
}

// AsInt converts a number to int64 exactly as validation converts an INT
// literal, except that it refuses strings: any Go integer kind in the
// int64 range, a finite integral float64 or float32 in that range, a bool
// (0 or 1), or a json.Number that is one of these. The error names v's
// type and value.
func AsInt(v any) (int64, error) {
	i, _, err := numInt(v)
	if err != nil {
		return 0, asError("an integer", v, err)
	}
	return i, nil
}

// AsFloat converts a number to float64 exactly as validation converts a
// FLOAT literal, except that it refuses strings: any Go float or integer
// kind, a bool (0 or 1), or a json.Number. The error names v's type and
// value.
func AsFloat(v any) (float64, error) {
	f, _, err := numFloat(v)
	if err != nil {
		return 0, asError("a number", v, err)
	}
	return f, nil
}

// asError is AsInt's and AsFloat's error for v: its type and value, and
// why the value does not convert when v is a number.
func asError(want string, v any, err error) error {
	if _, ok := errors.AsType[*kindError](err); ok {
		return fmt.Errorf("want %s, got %T %v", want, v, v)
	}
	return fmt.Errorf("want %s, got %T %v: %w", want, v, v, err)
}
