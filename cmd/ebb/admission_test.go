package main

import (
	"encoding/json"
	"fmt"
	"testing"
)

// The two-model workflow (a base and a refiner checkpoint) fits 12 GiB one
// node at a time; at parallelism 4, without admission, both loaders would
// start at once. plan --parallel 4 says what that parallelism needs; a run
// at 4 on that capacity, or on 12 GiB (admission then makes loaders wait),
// never runs out of memory and never goes over.
func TestPlanAndRunAtParallelism(t *testing.T) {
	const wf, prof = "testdata/two-models.json", "testdata/two-models.profile.json"
	type needRow struct {
		row
		NeedBytes   int64 `json:"need_bytes"`
		Parallelism int   `json:"parallelism"`
	}
	need := func(par int) int64 {
		code, out, errs := ebb(t, "plan", "--json", "--parallel", fmt.Sprint(par), "--profile", prof, wf)
		if code != 0 {
			t.Fatalf("plan: exit %d: %s", code, errs)
		}
		var rows []needRow
		if err := json.Unmarshal([]byte(out), &rows); err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r.Level == 2 && r.Strategy == "auto" {
				if r.Parallelism != par || !r.OK || r.NeedBytes < r.PeakBytes {
					t.Fatalf("plan row %+v", r)
				}
				return r.NeedBytes
			}
		}
		t.Fatal("no level 2 auto row")
		return 0
	}
	n1, n4 := need(1), need(4)
	if n1 >= 12*gibBytes || n4 <= n1 {
		t.Fatalf("needs %d at parallelism 1, %d at 4: want under 12 GiB, and more at 4", n1, n4)
	}
	for _, capacity := range []int64{n4, 12 * gibBytes} {
		for i := range 5 {
			rs := runJSONOut(t, 0, "--parallel", "4", "--device-memory", fmt.Sprint(capacity), "--profile", prof, wf)
			st := rs[0]["stats"].(map[string]any)
			if peak := int64(st["peak_bytes"].(float64)); peak > capacity {
				t.Errorf("run %d at %d bytes: peak %d", i, capacity, peak)
			}
		}
	}
}
