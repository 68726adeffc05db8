package policy

import (
	"errors"
	"strings"
	"testing"
)

func TestParseOffloadAndEvict(t *testing.T) {
	for _, o := range Offloads() {
		got, err := ParseOffload(" " + strings.ToUpper(o.String()) + " ")
		if err != nil || got != o || !o.Valid() {
			t.Errorf("ParseOffload(%q) = %v, %v", o, got, err)
		}
	}
	for _, e := range Evicts() {
		got, err := ParseEvict(strings.ToUpper(e.String()))
		if err != nil || got != e || !e.Valid() {
			t.Errorf("ParseEvict(%q) = %v, %v", e, got, err)
		}
	}
	if _, err := ParseOffload("gpu"); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseOffload(gpu): %v", err)
	}
	if _, err := ParseEvict("lru"); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseEvict(lru): %v", err)
	}
	if Offload(5).Valid() || Offload(5).String() != "Offload(5)" || Evict(-1).Valid() || Evict(-1).String() != "Evict(-1)" {
		t.Error("out-of-range values are valid or misnamed")
	}
}
