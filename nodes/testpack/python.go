// python.go: Python's view of the pack's values (bool(), type() names) and describe, for conditions and error messages.

package testpack

import "fmt"

// pyType names v's type as Python's type() would print it.
func pyType(v any) string {
	switch v.(type) {
	case bool:
		return "<class 'bool'>"
	case int, int32, int64:
		return "<class 'int'>"
	case float32, float64:
		return "<class 'float'>"
	case string:
		return "<class 'str'>"
	case *Image:
		return "<class 'torch.Tensor'>"
	case []any:
		return "<class 'list'>"
	case map[string]any:
		return "<class 'dict'>"
	case nil:
		return "<class 'NoneType'>"
	}
	return fmt.Sprintf("<class '%T'>", v)
}

// pyBool is Python's bool(v) for the values of this pack.
func pyBool(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case int:
		return x != 0
	case int32:
		return x != 0
	case int64:
		return x != 0
	case float32:
		return x != 0
	case float64:
		return x != 0
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

// describe names a value for error messages.
func describe(v any) string {
	if m, ok := v.(*Image); ok {
		return m.String()
	}
	return fmt.Sprintf("%T", v)
}
