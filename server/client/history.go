package client

import "encoding/json"

// HistoryEntry is one item of GET /history.
type HistoryEntry struct {
	// Prompt is [number, prompt_id, prompt, extra_data, outputs_to_execute].
	Prompt  []json.RawMessage           `json:"prompt"`
	Outputs map[string]map[string][]any `json:"outputs"`
	Status  struct {
		StatusStr string              `json:"status_str"`
		Completed bool                `json:"completed"`
		Messages  [][]json.RawMessage `json:"messages"`
	} `json:"status"`
	Meta map[string]map[string]any `json:"meta"`
	// Ebb is ebb's memory report (absent on a ComfyUI server).
	Ebb *Memory `json:"ebb"`
}

// Memory is ebb's report of a prompt's memory.
type Memory struct {
	Status       string `json:"status"`
	Peak         int64  `json:"peak"`
	Bound        int64  `json:"bound"`
	Need         int64  `json:"need"`
	DevicePeak   int64  `json:"device_peak"`
	Reexecutions int    `json:"reexecutions"`
	Releases     int    `json:"releases"`
	Pins         int    `json:"pins"`
	Executions   int    `json:"executions"`
	CacheHits    int    `json:"cache_hits"`
	Capacity     int64  `json:"capacity"`
	// Offload and the simulated clock (engine.Stats).
	WorkingSetBytes int64         `json:"working_set_bytes"`
	OffloadedBytes  int64         `json:"offloaded_bytes"`
	ReloadedBytes   int64         `json:"reloaded_bytes"`
	DiskBytes       int64         `json:"disk_bytes"`
	Evictions       int           `json:"evictions"`
	Recomputes      int           `json:"recomputes"`
	ComputeMs       float64       `json:"compute_ms"`
	TransferMs      float64       `json:"transfer_ms"`
	SimMs           float64       `json:"sim_ms"`
	Executed        []string      `json:"executed"`
	Cached          []string      `json:"cached"`
	Reexecuted      []Reexecution `json:"reexecuted"`
	Timeline        []MemoryPoint `json:"timeline"`
}

// MemoryPoint is the device's live bytes after a node ran or a release.
type MemoryPoint struct {
	Kind  string `json:"kind"`
	Node  string `json:"node"`
	Class string `json:"class_type"`
	Live  int64  `json:"live"`
	Bytes int64  `json:"bytes"`
	// Cached marks a cache hit: the node did not run.
	Cached bool `json:"cached"`
}

// ImageRef names an image file on the server.
type ImageRef struct {
	Filename  string `json:"filename"`
	Subfolder string `json:"subfolder"`
	Type      string `json:"type"`
}

// Images returns the image files of output node id.
func (e *HistoryEntry) Images(id string) []ImageRef {
	var refs []ImageRef
	for _, v := range e.Outputs[id]["images"] {
		m, _ := v.(map[string]any)
		f, _ := m["filename"].(string)
		s, _ := m["subfolder"].(string)
		t, _ := m["type"].(string)
		refs = append(refs, ImageRef{Filename: f, Subfolder: s, Type: t})
	}
	return refs
}

// Reexecution is a producer run again for a late edge: the consumer that
// asked for its released slot.
type Reexecution struct {
	Node  string `json:"node"`
	Slot  int    `json:"slot"`
	Cause string `json:"cause"`
}
