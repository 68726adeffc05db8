package engine_test

import (
	"context"
	"encoding/binary"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
)

// buildLiteral turns bytes into a library literal with a small stack
// machine, so the fuzzer can reach the shapes a Go caller can build and
// JSON cannot: lists that contain themselves, lists shared by many parents
// (a DAG whose paths are exponential), deep nesting, huge and odd numbers.
func buildLiteral(data []byte) any {
	var stack []any
	nested := 0 // levels added by nesting: the builder's own memory stays bounded
	pop := func() any {
		if len(stack) == 0 {
			return int64(0)
		}
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		return v
	}
	next := func(n int) []byte {
		b := make([]byte, n)
		k := copy(b, data)
		data = data[k:]
		return b
	}
	for len(data) > 0 {
		op := data[0] % 11
		data = data[1:]
		switch op {
		case 0:
			stack = append(stack, int64(binary.LittleEndian.Uint64(next(8))))
		case 1:
			stack = append(stack, math.Float64frombits(binary.LittleEndian.Uint64(next(8))))
		case 2:
			n := next(1)[0]
			stack = append(stack, strings.Repeat("x", int(n)*int(n)))
		case 3: // a list of the top k values
			k := int(next(1)[0] % 8)
			l := make([]any, k)
			for i := k - 1; i >= 0; i-- {
				l[i] = pop()
			}
			stack = append(stack, l)
		case 4: // share the top value
			v := pop()
			stack = append(stack, v, v)
		case 5: // a list that contains itself
			if l, ok := pop().([]any); ok && len(l) > 0 {
				l[0] = l
				stack = append(stack, l)
			}
		case 6:
			stack = append(stack, []any{int64(math.MinInt64), int64(math.MaxInt64), math.Inf(1), math.NaN(), nil, true})
		case 7:
			stack = append(stack, engine.Literal{Value: pop()})
		case 8: // a map of the top k values
			k := int(next(1)[0] % 4)
			m := map[string]any{}
			for i := range k {
				m[string(rune('a'+i))] = pop()
			}
			stack = append(stack, m)
		case 9: // nest the top value n deep (a million levels in all at most)
			n := min(int(binary.LittleEndian.Uint16(next(2))), 1<<20-nested)
			nested += n
			v := pop()
			for range n {
				v = []any{v}
			}
			stack = append(stack, v)
		case 10: // double the top value n times: [v v], [[v v] [v v]], ...
			n := int(next(1)[0] % 80)
			v := pop()
			for range n {
				v = []any{v, v}
			}
			stack = append(stack, v)
		}
	}
	return pop()
}

// FuzzLiterals runs workflows whose literals the fuzzer builds (through a
// pass-through node and through a typed INT input that must reject them),
// and encodes them. Nothing may panic, hang or leave device memory behind;
// cycles, shared DAGs and deep nesting are refused or left uncached.
//
//	go test ./engine/ -run '^$' -fuzz FuzzLiterals -fuzztime 30m
func FuzzLiterals(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte{6, 3, 2, 5})                               // a cycle
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 70})        // a DAG of 2^70 paths
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0xa0, 0x86}) // 34,464 deep
	f.Add([]byte{2, 0xff, 4, 3, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		lit := buildLiteral(data)
		wfs := []engine.Workflow{
			{"c": node("Const", "value", lit), "out": node("Out", "value", link("c", 0))},
			{"a": node("Add", "a", lit, "b", int64(1)), "out": node("Out", "value", link("a", 0))},
		}
		for _, wf := range wfs {
			dev := device.NewSim(1 << 20)
			e, err := engine.New(engine.Options{Registry: testRegistry(nil), Device: dev})
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan *engine.RunResult, 1)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			go func() {
				res, _ := e.Run(ctx, wf, engine.RunOptions{})
				done <- res
			}()
			select {
			case res := <-done:
				if res.Status != engine.StatusSuccess && res.Status != engine.StatusInvalid {
					t.Errorf("status %s: %v", res.Status, res.Err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the run hung")
			}
			cancel()
			_, _ = engine.EncodeWorkflow(wf) // an error is fine; a crash is not
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			if err := dev.Close(); err != nil {
				t.Fatal(err)
			}
		}
	})
}
