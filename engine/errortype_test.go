package engine_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
)

func TestErrorType(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&engine.NodeError{Node: "1", Type: engine.TypeCycle, Err: engine.ErrCycle}, engine.TypeCycle},
		{&engine.NodeError{Node: "1", Err: &device.OutOfMemoryError{}}, engine.TypeOutOfMemory},
		{fmt.Errorf("x: %w", engine.ErrInternal), engine.TypeInternal},
		{&engine.LimitError{Limit: "max-executions", Value: 1}, engine.TypeLimit},
		{context.DeadlineExceeded, engine.TypeInterrupted},
		{&engine.PanicError{Value: "boom"}, engine.TypePanic},
		{errors.New("plain"), engine.TypeExecution},
	} {
		if got := engine.ErrorType(tc.err); got != tc.want {
			t.Errorf("ErrorType(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
