// bound_index_test.go: TestIndex, Trace's value index against a map.

package lifetime

import (
	"testing"

	"pgregory.net/rapid"
)

func TestIndex(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		var x index
		want := map[ValueID]int32{}
		for i := range rapid.IntRange(0, 200).Draw(rt, "n") {
			v := ValueID(rapid.Uint64Range(0, 20000).Draw(rt, "v"))
			if rapid.Bool().Draw(rt, "far") {
				v += 1 << 50
			}
			switch rapid.IntRange(0, 9).Draw(rt, "op") {
			case 0:
				x.reset()
				clear(want)
			case 1, 2, 3, 4:
				x.set(v, int32(i+1), rapid.Bool().Draw(rt, "fresh"))
				want[v] = int32(i + 1)
			default:
				if got := x.get(v); got != want[v] {
					rt.Fatalf("get(%d) = %d, want %d", v, got, want[v])
				}
			}
		}
		for v, i := range want {
			if got := x.get(v); got != i {
				rt.Fatalf("get(%d) = %d, want %d", v, got, i)
			}
		}
	})
}
