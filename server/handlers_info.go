// handlers_info.go: GET /object_info[/{class}] from the registry's
// schemas, and GET /system_stats with the device's memory.

package server

import (
	"bufio"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/ebbgraph/ebb/engine"
)

func (s *Server) handleObjectInfo(w http.ResponseWriter, r *http.Request) {
	reg := s.eng.Registry()
	out := map[string]any{}
	for _, class := range reg.Classes() {
		t, _ := reg.Lookup(class)
		out[class] = objectInfo(t)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleObjectInfoClass(w http.ResponseWriter, r *http.Request) {
	class := r.PathValue("class")
	out := map[string]any{}
	if t, ok := s.eng.Registry().Lookup(class); ok {
		out[class] = objectInfo(t)
	}
	writeJSON(w, http.StatusOK, out)
}

// objectInfo is a node type in ComfyUI's /object_info format.
func objectInfo(t *engine.NodeType) map[string]any {
	groups := map[string]map[string]any{"required": {}, "optional": {}, "hidden": {}}
	order := map[string][]string{"required": {}, "optional": {}, "hidden": {}}
	for _, in := range t.Schema.Inputs {
		g := "required"
		switch {
		case in.Hidden != engine.NotHidden:
			g = "hidden"
		case in.Optional:
			g = "optional"
		}
		order[g] = append(order[g], in.Name)
		if g == "hidden" {
			groups[g][in.Name] = in.Type
			continue
		}
		groups[g][in.Name] = inputInfo(in)
	}
	input := map[string]any{"required": groups["required"]}
	inputOrder := map[string]any{"required": order["required"]}
	for _, g := range []string{"optional", "hidden"} {
		if len(order[g]) > 0 {
			input[g], inputOrder[g] = groups[g], order[g]
		}
	}
	outs := t.Schema.Outputs
	types, names, lists := make([]string, len(outs)), make([]string, len(outs)), make([]bool, len(outs))
	for i, o := range outs {
		types[i], names[i], lists[i] = o.Type, o.Name, o.IsList
		if names[i] == "" {
			names[i] = o.Type
		}
	}
	return map[string]any{
		"input": input, "input_order": inputOrder,
		"output": types, "output_is_list": lists, "output_name": names,
		"name": t.Class, "display_name": t.Class, "description": "",
		"python_module": "ebb", "category": "_for_testing", "output_node": t.Schema.OutputNode,
		"input_is_list": t.Schema.InputIsList,
	}
}

// inputInfo is one input: [TYPE, {options}], or [[choices], {options}]
// for a combo.
func inputInfo(in engine.InputSpec) []any {
	opts := map[string]any{}
	if in.Default != nil {
		opts["default"] = in.Default
	}
	if in.Min != nil {
		opts["min"] = *in.Min
	}
	if in.Max != nil {
		opts["max"] = *in.Max
	}
	if in.Step != 0 {
		opts["step"] = in.Step
	}
	if in.Lazy {
		opts["lazy"] = true
	}
	if in.RawLink {
		opts["rawLink"] = true
	}
	if in.ForceInput {
		opts["forceInput"] = true
	}
	if in.Type == "COMBO" || len(in.Choices) > 0 {
		return []any{nonNil(in.Choices), opts}
	}
	return []any{in.Type, opts}
}

func (s *Server) handleSystemStats(w http.ResponseWriter, r *http.Request) {
	st := s.eng.Device().Stats()
	total, free := memInfo()
	capacity := st.Capacity
	vfree := capacity - st.InUse
	if capacity <= 0 || capacity >= 1<<60 { // an unlimited Sim
		capacity, vfree = 0, 0
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"system": map[string]any{
			"os": runtime.GOOS, "ram_total": total, "ram_free": free,
			"comfyui_version": "ebb", "python_version": "", "pytorch_version": "",
			"embedded_python": false, "argv": os.Args,
		},
		"devices": []any{map[string]any{
			"name": s.cfg.DeviceName, "type": deviceType(s.cfg.DeviceName), "index": 0,
			"vram_total": capacity, "vram_free": vfree,
			"torch_vram_total": capacity, "torch_vram_free": vfree,
			"ebb": map[string]any{"in_use": st.InUse, "peak": st.Peak, "capacity": st.Capacity,
				"driver_used": st.DriverUsed, "cached_bytes": s.eng.CachedBytes()},
		}},
	})
}

func deviceType(name string) string {
	if strings.HasPrefix(name, "cuda") {
		return "cuda"
	}
	return "sim"
}

// memInfo reads the machine's memory from /proc/meminfo (0, 0 elsewhere).
func memInfo() (total, free int64) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		n, _ := strconv.ParseInt(fields[1], 10, 64)
		switch fields[0] {
		case "MemTotal:":
			total = n * 1024
		case "MemAvailable:":
			free = n * 1024
		}
	}
	return total, free
}
