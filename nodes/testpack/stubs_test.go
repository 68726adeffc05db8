package testpack

import (
	"slices"
	"testing"
)

func size(h, w, b int64) map[string]any {
	return map[string]any{"height": h, "width": w, "batch_size": b}
}

func with(m map[string]any, kv ...any) map[string]any {
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func TestStubImage(t *testing.T) {
	for content, want := range map[string]int{"BLACK": 0, "WHITE": 255} {
		m := image(t, mustCall(t, "StubImage", with(size(4, 5, 2), "content", content)), 0)
		if !slices.Equal(m.Shape(), []int{2, 4, 5, 3}) {
			t.Errorf("%s shape %v", content, m.Shape())
		}
		for _, s := range m.Pixels() {
			if s.Min != want || s.Max != want {
				t.Errorf("%s: %+v", content, s)
			}
		}
	}
	a := image(t, mustCall(t, "StubImage", with(size(8, 8, 1), "content", "NOISE")), 0)
	b := image(t, mustCall(t, "StubImage", with(size(8, 8, 1), "content", "NOISE")), 0)
	if !slices.Equal(a.Data, b.Data) || a.Min() == a.Max() {
		t.Error("NOISE is not deterministic noise")
	}
	if _, err := call(t, "StubImage", with(size(8, 8, 1), "content", "GREY")); err == nil {
		t.Error("content GREY accepted")
	}
	if _, err := call(t, "StubImage", with(size(0, 8, 1), "content", "BLACK")); err == nil {
		t.Error("height 0 accepted")
	}
	if _, err := call(t, "StubImage", map[string]any{"content": "BLACK"}); err == nil {
		t.Error("missing sizes accepted")
	}
}

func TestStubConstantImageAndMask(t *testing.T) {
	m := image(t, mustCall(t, "StubConstantImage", with(size(3, 3, 1), "value", 0.5)), 0)
	if m.C != 3 || pixel(t, m) != 127 {
		t.Errorf("constant image %v", m)
	}
	mask := image(t, mustCall(t, "StubMask", with(size(3, 2, 4), "value", 0.25)), 0)
	if !mask.IsMask() || !slices.Equal(mask.Shape(), []int{4, 3, 2}) || !mask.AllEqual(0.25) {
		t.Errorf("mask %v", mask)
	}
	// A literal integer value is accepted where a float is declared.
	if m := image(t, mustCall(t, "StubMask", with(size(1, 1, 1), "value", int64(1))), 0); !m.AllEqual(1) {
		t.Errorf("mask of int 1 = %v", m.Data)
	}
}

func TestStubIntFloat(t *testing.T) {
	if r := mustCall(t, "StubInt", map[string]any{"value": int64(5)}); r.Outputs[0] != int64(5) {
		t.Errorf("StubInt = %#v", r.Outputs[0])
	}
	if r := mustCall(t, "StubFloat", map[string]any{"value": 5.0}); r.Outputs[0] != 5.0 {
		t.Errorf("StubFloat = %#v", r.Outputs[0])
	}
	if r := mustCall(t, "StubFloat", map[string]any{"value": int64(2)}); r.Outputs[0] != 2.0 {
		t.Errorf("StubFloat(int 2) = %#v", r.Outputs[0])
	}
	if _, err := call(t, "StubInt", map[string]any{"value": "x"}); err == nil {
		t.Error("StubInt accepted a string")
	}
}
