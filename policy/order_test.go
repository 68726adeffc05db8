package policy

import (
	"errors"
	"strings"
	"testing"
)

func TestParseOrder(t *testing.T) {
	for _, o := range Orders() {
		got, err := ParseOrder(" " + strings.ToUpper(o.String()) + " ")
		if err != nil || got != o || !o.Valid() {
			t.Errorf("ParseOrder(%q) = %v, %v", o, got, err)
		}
	}
	if _, err := ParseOrder("fifo"); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseOrder(fifo): %v", err)
	}
	if Order(7).Valid() || Order(7).String() != "Order(7)" {
		t.Error("Order(7) is valid or misnamed")
	}
}
