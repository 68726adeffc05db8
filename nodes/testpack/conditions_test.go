package testpack

import "testing"

func boolOut(t *testing.T, class string, inputs map[string]any) bool {
	t.Helper()
	r := mustCall(t, class, inputs)
	b, ok := r.Outputs[0].(bool)
	if !ok {
		t.Fatalf("%s output %T", class, r.Outputs[0])
	}
	return b
}

func TestIntFloatConditions(t *testing.T) {
	want := map[string][3]bool{ // a<b, a==b, a>b
		"==": {false, true, false}, "!=": {true, false, true}, "<": {true, false, false},
		">": {false, false, true}, "<=": {true, true, false}, ">=": {false, true, true},
	}
	for op, w := range want {
		for i, b := range []int64{3, 2, 1} {
			if got := boolOut(t, "TestIntConditions", map[string]any{"a": int64(2), "b": b, "operation": op}); got != w[i] {
				t.Errorf("int 2 %s %d = %v", op, b, got)
			}
			if got := boolOut(t, "TestFloatConditions", map[string]any{"a": 2.0, "b": float64(b), "operation": op}); got != w[i] {
				t.Errorf("float 2 %s %d = %v", op, b, got)
			}
		}
	}
	if _, err := call(t, "TestIntConditions", map[string]any{"a": int64(1), "b": int64(1), "operation": "<>"}); err == nil {
		t.Error("unknown operation accepted")
	}
	if _, err := call(t, "TestIntConditions", map[string]any{"a": "x", "b": int64(1), "operation": "=="}); err == nil {
		t.Error("string a accepted")
	}
}

func TestStringConditions(t *testing.T) {
	for _, c := range []struct {
		a, b, op string
		cs, want bool
	}{
		{"abc", "abc", "a == b", true, true},
		{"abc", "ABC", "a == b", true, false},
		{"abc", "ABC", "a == b", false, true},
		{"abc", "abd", "a != b", true, true},
		{"b", "abc", "a IN b", true, true},
		{"x", "abc", "a IN b", true, false},
		{"abc123", "[a-c]+\\d", "a MATCH REGEX(b)", true, true},
		{"zabc", "abc", "a MATCH REGEX(b)", true, false}, // re.match anchors at the start
		{"abc", "(", "a MATCH REGEX(b)", true, false},    // a bad pattern is no match
		{"abcdef", "abc", "a BEGINSWITH b", true, true},
		{"abcdef", "def", "a ENDSWITH b", true, true},
		{"abcdef", "DEF", "a ENDSWITH b", false, true},
	} {
		got := boolOut(t, "TestStringConditions", map[string]any{"a": c.a, "b": c.b, "operation": c.op, "case_sensitive": c.cs})
		if got != c.want {
			t.Errorf("%q %s %q (case %v) = %v", c.a, c.op, c.b, c.cs, got)
		}
	}
}

func TestToBoolNode(t *testing.T) {
	mixed := NewImage(1, 1, 2)
	mixed.Data[4] = 0.5
	for _, c := range []struct {
		v    any
		want bool
	}{
		{NewImage(1, 2, 2), false}, {mixed, true}, {int64(0), false}, {int64(-1), true}, {0.0, false},
		{"", false}, {"x", true}, {nil, false}, {[]any{}, false}, {[]any{1}, true}, {true, true},
		{Accumulation{}, true}, {struct{}{}, true},
	} {
		if got := boolOut(t, "TestToBoolNode", map[string]any{"value": c.v}); got != c.want {
			t.Errorf("bool(%v) = %v", c.v, got)
		}
		if got := boolOut(t, "TestToBoolNode", map[string]any{"value": c.v, "invert": true}); got == c.want {
			t.Errorf("inverted bool(%v) = %v", c.v, got)
		}
	}
}

func TestBoolOperationNode(t *testing.T) {
	for op, want := range map[string][4]bool{ // ff, ft, tf, tt
		"a AND b": {false, false, false, true}, "a OR b": {false, true, true, true},
		"a XOR b": {false, true, true, false}, "NOT a": {true, true, false, false},
	} {
		for i, ab := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
			if got := boolOut(t, "TestBoolOperationNode", map[string]any{"a": ab[0], "b": ab[1], "op": op}); got != want[i] {
				t.Errorf("%v %s %v = %v", ab[0], op, ab[1], got)
			}
		}
	}
	if _, err := call(t, "TestBoolOperationNode", map[string]any{"a": true, "b": true, "op": "NAND"}); err == nil {
		t.Error("unknown op accepted")
	}
}
