package server_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
	"github.com/ebbgraph/ebb/policy"
)

// /object_info describes every class in ComfyUI's format.
func TestObjectInfo(t *testing.T) {
	ts := start(t, defaults())
	var all map[string]struct {
		Input      map[string]map[string]json.RawMessage `json:"input"`
		InputOrder map[string][]string                   `json:"input_order"`
		Output     []string                              `json:"output"`
		OutputList []bool                                `json:"output_is_list"`
		OutputNode bool                                  `json:"output_node"`
		Name       string                                `json:"name"`
	}
	code, b := get(t, ts, "/object_info")
	if code != 200 || json.Unmarshal(b, &all) != nil {
		t.Fatalf("/object_info: %d %.200s", code, b)
	}
	if len(all) != len(ts.eng.Registry().Classes()) {
		t.Errorf("%d classes, registry has %d", len(all), len(ts.eng.Registry().Classes()))
	}
	spec := func(class, group, name string) []json.RawMessage {
		var s []json.RawMessage
		if err := json.Unmarshal(all[class].Input[group][name], &s); err != nil || len(s) != 2 {
			t.Fatalf("%s %s input %s: %s", class, group, name, all[class].Input[group][name])
		}
		return s
	}
	stub := all["StubImage"]
	if string(spec("StubImage", "required", "content")[0]) != `["WHITE","BLACK","NOISE"]` {
		t.Errorf("StubImage content %s", spec("StubImage", "required", "content")[0])
	}
	var height map[string]any
	json.Unmarshal(spec("StubImage", "required", "height")[1], &height)
	if string(spec("StubImage", "required", "height")[0]) != `"INT"` || height["default"] != 512.0 || height["min"] != 1.0 || height["max"] != 16384.0 {
		t.Errorf("StubImage height %s %v", spec("StubImage", "required", "height")[0], height)
	}
	if len(stub.Output) != 1 || stub.Output[0] != "IMAGE" || stub.OutputNode || stub.Name != "StubImage" {
		t.Errorf("StubImage %+v", stub)
	}
	var lazy map[string]any
	json.Unmarshal(spec("TestLazyMixImages", "required", "image1")[1], &lazy)
	if lazy["lazy"] != true {
		t.Errorf("TestLazyMixImages image1 options %v, want lazy", lazy)
	}
	if !all["SaveImage"].OutputNode || all["SaveImage"].InputOrder["optional"][0] != "filename_prefix" {
		t.Errorf("SaveImage %+v", all["SaveImage"])
	}
	if !all["TestMakeListNode"].OutputList[0] {
		t.Error("TestMakeListNode output is not a list")
	}
	var one map[string]json.RawMessage
	if code, b := get(t, ts, "/api/object_info/SaveImage"); code != 200 || json.Unmarshal(b, &one) != nil || len(one) != 1 || one["SaveImage"] == nil {
		t.Errorf("/api/object_info/SaveImage: %d %s", code, b)
	}
	if code, b := get(t, ts, "/object_info/NoSuch"); code != 200 || string(b) != "{}" {
		t.Errorf("/object_info/NoSuch: %d %s", code, b)
	}
}

// /system_stats reports the device's memory and the cache; POST /free
// empties the cache between prompts.
func TestSystemStatsAndFree(t *testing.T) {
	cfg := defaults()
	cfg.capacity = device.GiB
	cfg.pol = policy.Policy{Level: policy.ReleaseUnreferenced, Strategy: policy.Auto}
	ts := start(t, cfg)
	c, conn := ts.client(t)
	ok(t, run(t, c, conn, small(0.5)))
	type stats struct {
		Devices []struct {
			Name      string `json:"name"`
			VRAMTotal int64  `json:"vram_total"`
			VRAMFree  int64  `json:"vram_free"`
			Ebb       struct {
				InUse       int64 `json:"in_use"`
				CachedBytes int64 `json:"cached_bytes"`
			} `json:"ebb"`
		} `json:"devices"`
		System struct {
			RAMTotal int64 `json:"ram_total"`
		} `json:"system"`
	}
	var st stats
	if err := c.Get(ctx(t), "/system_stats", &st); err != nil {
		t.Fatal(err)
	}
	d := st.Devices[0]
	if d.VRAMTotal != device.GiB || d.Ebb.CachedBytes <= 0 || d.Ebb.InUse != d.Ebb.CachedBytes || d.VRAMFree != d.VRAMTotal-d.Ebb.InUse {
		t.Errorf("system_stats device %+v: want a 1 GiB device holding the cache", d)
	}
	if err := c.Free(ctx(t)); err != nil {
		t.Fatal(err)
	}
	// The worker empties the cache when it is next idle; wait for it.
	for deadline := time.Now().Add(30 * time.Second); ts.eng.CachedBytes() != 0; {
		if time.Now().After(deadline) {
			t.Fatalf("cache still holds %d bytes after POST /free", ts.eng.CachedBytes())
		}
		time.Sleep(5 * time.Millisecond)
	}
	r := ok(t, run(t, c, conn, small(0.5)))
	if !r.DidRun("img") {
		t.Error("after /free the image was still cached")
	}
}

// ebb.memory reports the device bytes after each node and each release,
// and at the end the peak, the bound and the re-executions, as the
// history does.
func TestMemoryEvents(t *testing.T) {
	cfg := defaults()
	cfg.cache = engine.CacheMode{Kind: engine.CacheNone}
	ts := start(t, cfg)
	c, conn := ts.client(t)
	r := ok(t, run(t, c, conn, small(0.5)))
	kinds := map[string]int{}
	var end map[string]any
	for _, m := range r.Memory {
		kinds[m["kind"].(string)]++
		if m["kind"] == "node" && m["live"].(float64) < 0 {
			t.Errorf("negative live bytes %v", m)
		}
		if m["kind"] == "end" {
			end = m
		}
	}
	if kinds["node"] != 3 || kinds["release"] == 0 || kinds["end"] != 1 {
		t.Fatalf("ebb.memory kinds %v, want 3 nodes, releases and one end", kinds)
	}
	peak, bound := int64(end["peak"].(float64)), int64(end["bound"].(float64))
	if bound <= 0 || bound > peak || end["reexecutions"].(float64) != 0 {
		t.Errorf("end %v", end)
	}
	if e := r.Entry.Ebb; e.Peak != peak || e.Bound != bound || len(e.Timeline) != kinds["node"]+kinds["release"] {
		t.Errorf("history report %+v does not match the events %v", e, end)
	}
	if last := r.Memory[len(r.Memory)-1]; last["kind"] != "end" || last["live"].(float64) != 0 {
		t.Errorf("last ebb.memory %v, want end with nothing live (cache none)", last)
	}
}

// Cache hits are marked in ebb.memory and in the history's timeline.
func TestMemoryMarksCacheHits(t *testing.T) {
	ts := start(t, defaults())
	c, conn := ts.client(t)
	ok(t, run(t, c, conn, small(0.5)))
	r := ok(t, run(t, c, conn, small(0.5)))
	var fromEvents, fromHistory []string
	for _, m := range r.Memory {
		if m["kind"] == "node" && m["cached"] == true {
			fromEvents = append(fromEvents, m["node"].(string))
		}
	}
	for _, p := range r.Entry.Ebb.Timeline {
		if p.Cached {
			fromHistory = append(fromHistory, p.Node)
		}
	}
	if !slices.Equal(fromEvents, r.Cached) || !slices.Equal(fromHistory, r.Cached) || len(r.Cached) == 0 {
		t.Errorf("cached points: events %v, history %v; execution_cached %v", fromEvents, fromHistory, r.Cached)
	}
}
