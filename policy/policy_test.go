package policy

import (
	"errors"
	"testing"
)

func TestParseLevel(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Level
		ok   bool
	}{{"0", 0, true}, {"1", 1, true}, {" 2 ", 2, true}, {"3", 0, false}, {"-1", 0, false}, {"x", 0, false}} {
		got, err := ParseLevel(c.in)
		if (err == nil) != c.ok || (c.ok && got != c.want) {
			t.Errorf("ParseLevel(%q) = %v, %v", c.in, got, err)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseLevel(%q) error %v does not wrap ErrInvalid", c.in, err)
		}
	}
}

func TestParseStrategyRoundTrip(t *testing.T) {
	for _, s := range Strategies() {
		got, err := ParseStrategy(s.String())
		if err != nil || got != s {
			t.Errorf("ParseStrategy(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := ParseStrategy("lazy"); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseStrategy(lazy) error = %v", err)
	}
	if got, _ := ParseStrategy("ReExecute"); got != Reexecute {
		t.Errorf("case-insensitive parse failed: %v", got)
	}
}

func TestStrategyCapabilities(t *testing.T) {
	if !Auto.Pins() || !Auto.Reexecutes() || Reexecute.Pins() || !Reexecute.Reexecutes() || !Restrict.Pins() || Restrict.Reexecutes() {
		t.Error("strategy capability table is wrong")
	}
}

func TestValidate(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatal(err)
	}
	if Default() != (Policy{ReleaseDead, Auto}) {
		t.Fatalf("Default() = %v", Default())
	}
	for _, p := range []Policy{{Level: 3}, {Strategy: 9}} {
		if err := p.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: Validate() = %v", p, err)
		}
	}
}
