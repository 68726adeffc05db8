package server_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/ebbgraph/ebb/server"
)

// History pages as ComfyUI's (the seven offset cases of §4.2), single
// entries, delete and clear.
func TestHistoryPaging(t *testing.T) {
	ts := start(t, defaults())
	c, conn := ts.client(t)
	var ids []string
	for i := range 6 {
		ids = append(ids, ok(t, run(t, c, conn, small(float64(i)/10))).PromptID)
	}
	page := func(maxItems, offset int) []string {
		t.Helper()
		got, m, err := c.HistoryPage(ctx(t), maxItems, offset)
		if err != nil {
			t.Fatal(err)
		}
		if len(m) != len(got) {
			t.Fatalf("page has %d keys, %d entries", len(got), len(m))
		}
		return got
	}
	for _, tc := range []struct {
		name             string
		maxItems, offset int
		want             []string
	}{
		{"all", -1, -1, ids},
		{"different_items_than_beginning", 2, 2, ids[2:4]},
		{"beginning", 2, 0, ids[:2]},
		{"beyond_history_length_returns_empty", 2, 10, nil},
		{"at_exact_history_length_returns_empty", -1, 6, nil},
		{"zero_equals_no_offset_parameter", -1, 0, ids},
		{"without_max_items_skips_from_beginning", -1, 2, ids[2:]},
		{"with_max_items_returns_correct_window", 3, 1, ids[1:4]},
		{"near_end_returns_remaining_items_only", 5, 5, ids[5:]},
		{"max_items_without_offset_is_the_last", 2, -1, ids[4:]},
	} {
		if got := page(tc.maxItems, tc.offset); !slices.Equal(got, tc.want) {
			t.Errorf("%s: max_items=%d offset=%d: %v, want %v", tc.name, tc.maxItems, tc.offset, got, tc.want)
		}
	}
	if e, found, err := c.History(ctx(t), ids[3]); err != nil || !found || e.Status.StatusStr != "success" || len(e.Prompt) != 5 {
		t.Errorf("GET /history/%s: %+v %v %v", ids[3], e, found, err)
	}
	if _, found, _ := c.History(ctx(t), "nope"); found {
		t.Error("an unknown id has an entry")
	}
	if err := c.DeleteHistory(ctx(t), ids[0], ids[2]); err != nil {
		t.Fatal(err)
	}
	if got := page(-1, -1); !slices.Equal(got, []string{ids[1], ids[3], ids[4], ids[5]}) {
		t.Errorf("after delete: %v", got)
	}
	if err := c.ClearHistory(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if got := page(-1, -1); len(got) != 0 {
		t.Errorf("after clear: %v", got)
	}
	if err := c.Get(ctx(t), "/history?max_items=-1", nil); err == nil {
		t.Error("a negative max_items was accepted")
	}
}

// The history keeps the last MaxHistory prompts, and no more than
// MaxHistoryBytes of them (the newest always).
func TestHistoryBound(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*server.Config)
		keep int
	}{
		{"entries", func(c *server.Config) { c.MaxHistory = 3 }, 3},
		{"bytes", func(c *server.Config) { c.MaxHistoryBytes = 1 }, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := defaults()
			cfg.edit = tc.edit
			ts := start(t, cfg)
			c, conn := ts.client(t)
			var ids []string
			for i := range 5 {
				ids = append(ids, ok(t, run(t, c, conn, small(float64(i)/10))).PromptID)
			}
			got, _, err := c.HistoryPage(ctx(t), -1, -1)
			if err != nil {
				t.Fatal(err)
			}
			if want := ids[5-tc.keep:]; !slices.Equal(got, want) {
				t.Errorf("history %v, want the last %d %v", got, tc.keep, want)
			}
		})
	}
}

// The history entry has ComfyUI's fields: the queue item, outputs as UI
// dicts, status with messages, meta; and ebb's memory report.
func TestHistoryEntryShape(t *testing.T) {
	ts := start(t, defaults())
	c, conn := ts.client(t)
	r := ok(t, run(t, c, conn, small(0.5)))
	e := r.Entry
	var types []string
	for _, m := range e.Status.Messages {
		var typ string
		if len(m) == 2 {
			json.Unmarshal(m[0], &typ)
		}
		types = append(types, typ)
	}
	if !slices.Equal(types, []string{"execution_start", "execution_cached", "execution_success"}) {
		t.Errorf("status messages %v", types)
	}
	if !e.Status.Completed || e.Meta["save"]["node_id"] != "save" || e.Meta["save"]["display_node"] != "save" {
		t.Errorf("status %+v meta %v", e.Status, e.Meta)
	}
	imgs := e.Images("save")
	if len(imgs) != 1 || imgs[0].Type != "output" || imgs[0].Filename != "small_00001_.png" {
		t.Errorf("save images %+v, want small_00001_.png", imgs)
	}
	if e.Ebb == nil || e.Ebb.Peak <= 0 || e.Ebb.Bound <= 0 || e.Ebb.Bound > e.Ebb.Peak || len(e.Ebb.Timeline) == 0 {
		t.Errorf("ebb report %+v", e.Ebb)
	}
}
