// order.go: the order in which a run starts ready nodes.

package policy

// Order says which ready node a run starts next. Results never depend on
// it; memory and latency do.
type Order int

const (
	// Memory (the default) picks by predicted memory: nodes whose run
	// frees more than it allocates first, then the ones that hold the
	// least afterwards, so started branches finish before new loaders
	// open. Ties go to the node first in the workflow.
	Memory Order = iota
	// Stack starts the node that became ready last (depth first by input
	// name): ebb's order before memory-aware ordering, kept as a baseline.
	Stack
	// Comfy is ComfyUI's ux_friendly_pick_node: output nodes first, then
	// nodes feeding an output node, then nodes two steps from one, then
	// the node that became ready first.
	Comfy
)

var orderNames = [...]string{Memory: "memory", Stack: "stack", Comfy: "comfy"}

func (o Order) String() string { return nameOf(orderNames[:], o, "Order") }

// Valid reports whether o is one of the three orders.
func (o Order) Valid() bool { return o >= Memory && o <= Comfy }

// Orders lists every order.
func Orders() []Order { return []Order{Memory, Stack, Comfy} }

// ParseOrder parses "memory", "stack" or "comfy" (case-insensitive).
func ParseOrder(s string) (Order, error) { return parseName[Order](orderNames[:], s, "order") }
