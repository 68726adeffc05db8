package sim

import (
	"math"
	"strings"
	"testing"
)

// A factor that makes a size overflow is an error of Scaled (and a panic
// of Scale), never a negative size.
func TestScaledOverflow(t *testing.T) {
	p, err := ParseProfile([]byte(`{"unit": "GiB", "classes": {"Big": {"outputs": [["T", 4]], "work": 1}, "Small": {"outputs": [["U", 0]]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []float64{1e10, 1e300, math.MaxFloat64} {
		q, err := p.Scaled(f)
		if err == nil {
			t.Errorf("Scaled(%g): no error; sizes %+v", f, q.Classes)
			continue
		}
		if !strings.Contains(err.Error(), `"Big"`) || !strings.Contains(err.Error(), "too large") {
			t.Errorf("Scaled(%g): %v, want the class and \"too large\"", f, err)
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Scale(%g) did not panic", f)
				}
			}()
			p.Scale(f)
		}()
	}
	for _, f := range []float64{-1, math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, err := p.Scaled(f); err == nil {
			t.Errorf("Scaled(%v): no error", f)
		}
	}
	// Factors that fit give non-negative sizes.
	for _, f := range []float64{0, 0.5, 1e8} {
		q, err := p.Scaled(f)
		if err != nil {
			t.Fatalf("Scaled(%g): %v", f, err)
		}
		for name, c := range q.Classes {
			if c.Work < 0 || len(c.Outputs) > 0 && c.Outputs[0].Bytes < 0 {
				t.Errorf("Scaled(%g): class %s has a negative size: %+v", f, name, c)
			}
		}
	}
	// A profile of zero sizes scales by any finite factor.
	z, _ := ParseProfile([]byte(`{"classes": {"Z": {"outputs": [["T", 0]]}}}`))
	if _, err := z.Scaled(math.MaxFloat64); err != nil {
		t.Errorf("zero sizes: %v", err)
	}
}
