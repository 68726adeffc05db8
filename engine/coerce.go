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

func coerceInt(v any) (int64, bool, error) {
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
		return coerceInt(float64(x))
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
		i, _, err := coerceInt(n)
		return i, true, err
	case string:
		i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return 0, false, fmt.Errorf("%q is out of the int64 range", x)
			}
			return 0, false, fmt.Errorf("invalid literal for int() with base 10: %q", x)
		}
		return i, true, nil
	}
	return 0, false, fmt.Errorf("want an integer, got %s", goKind(v))
}

func coerceFloat(v any) (float64, bool, error) {
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
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return 0, false, fmt.Errorf("could not convert string to float: %q", x)
		}
		return f, true, nil
	case json.Number:
		n, err := decodeNumber(x)
		if err != nil {
			return 0, false, err
		}
		f, _, err := coerceFloat(n)
		return f, true, err
	case uint64:
		return float64(x), true, nil
	case int64, int, int32, int16, int8, uint, uint32, uint16, uint8:
		i, _, err := coerceInt(v)
		return float64(i), true, err
	}
	return 0, false, fmt.Errorf("want a number, got %s", goKind(v))
}

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

// AsInt converts an integer or integral float to int64.
func AsInt(v any) (int64, error) {
	switch x := v.(type) {
	case int:
		return int64(x), nil
	case int64:
		return x, nil
	case int32:
		return int64(x), nil
	case float64:
		if x == math.Trunc(x) && !math.IsInf(x, 0) {
			return int64(x), nil
		}
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	}
	return 0, fmt.Errorf("want an integer, got %T %v", v, v)
}

// AsFloat converts any number to float64.
func AsFloat(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case int32:
		return float64(x), nil
	}
	return 0, fmt.Errorf("want a number, got %T %v", v, v)
}
