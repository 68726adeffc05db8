// offload.go: where a run moves live values when the device is full, and how it picks them.

package policy

// Offload says where a run may put live values that no running node
// reads when a node's inputs, outputs and working memory do not fit the
// device (docs/offload.md).
type Offload int

const (
	// OffloadNone keeps every live value on the device: a node that does
	// not fit fails with out_of_memory.
	OffloadNone Offload = iota
	// OffloadHost moves values to the device's host tier (or, by the
	// eviction choice, drops them to be recomputed).
	OffloadHost
	// OffloadDisk is OffloadHost, then the disk tier when the host tier is
	// full.
	OffloadDisk
)

var offloadNames = [...]string{OffloadNone: "none", OffloadHost: "host", OffloadDisk: "disk"}

func (o Offload) String() string { return nameOf(offloadNames[:], o, "Offload") }

// Valid reports whether o is one of the three modes.
func (o Offload) Valid() bool { return o >= OffloadNone && o <= OffloadDisk }

// Offloads lists every mode.
func Offloads() []Offload { return []Offload{OffloadNone, OffloadHost, OffloadDisk} }

// ParseOffload parses "none", "host" or "disk" (case-insensitive).
func ParseOffload(s string) (Offload, error) {
	return parseName[Offload](offloadNames[:], s, "offload")
}

// Evict says how an offloading run makes room for a value it evicts.
type Evict int

const (
	// EvictCost (the default) moves a value to a slower tier or drops it
	// to be recomputed, whichever costs less for it, and evicts the
	// values with the least cost per byte, stalest first.
	EvictCost Evict = iota
	// EvictSwap never recomputes: it only moves values.
	EvictSwap
	// EvictRecompute never moves: it only drops values whose producer can
	// run again.
	EvictRecompute
)

var evictNames = [...]string{EvictCost: "cost", EvictSwap: "swap", EvictRecompute: "recompute"}

func (e Evict) String() string { return nameOf(evictNames[:], e, "Evict") }

// Valid reports whether e is one of the three choices.
func (e Evict) Valid() bool { return e >= EvictCost && e <= EvictRecompute }

// Evicts lists every eviction choice.
func Evicts() []Evict { return []Evict{EvictCost, EvictSwap, EvictRecompute} }

// ParseEvict parses "cost", "swap" or "recompute" (case-insensitive).
func ParseEvict(s string) (Evict, error) { return parseName[Evict](evictNames[:], s, "evict") }
