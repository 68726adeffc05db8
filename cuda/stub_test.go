//go:build !cuda

package cuda_test

import (
	"errors"
	"testing"

	"github.com/ebbgraph/ebb/cuda"
	"github.com/ebbgraph/ebb/engine/device"
)

func TestStubUnavailable(t *testing.T) {
	d, err := cuda.New(0, cuda.WithCapacity(1<<30))
	if !errors.Is(err, device.ErrUnavailable) {
		t.Fatalf("New: %v, want an error wrapping device.ErrUnavailable", err)
	}
	if d != nil {
		t.Fatalf("New returned a device %v with its error", d)
	}
}
