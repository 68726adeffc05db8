// events.go: events and observers: what a run reports as it goes.

package engine

import "sync"

// EventType names an event, with ComfyUI's names where there is one.
type EventType string

const (
	EventStart       EventType = "execution_start"
	EventCached      EventType = "execution_cached"
	EventExecuting   EventType = "executing"
	EventExecuted    EventType = "executed"
	EventProgress    EventType = "progress"
	EventError       EventType = "execution_error"
	EventInterrupted EventType = "execution_interrupted"
	EventSuccess     EventType = "execution_success"
	EventReleased    EventType = "released"
	EventReexecuted  EventType = "reexecuted"
	EventPinned      EventType = "pinned"
	// Offload (RunOptions.Offload): a value moved off the device (Tier
	// says where), brought back, dropped to be recomputed, or recomputed.
	EventOffloaded  EventType = "offloaded"
	EventReloaded   EventType = "reloaded"
	EventDropped    EventType = "dropped"
	EventRecomputed EventType = "recomputed"
)

// Event is one thing that happened during a run. Fields not relevant to the
// type are zero.
type Event struct {
	Type    EventType        `json:"type"`
	Node    NodeID           `json:"node,omitempty"`
	Display NodeID           `json:"display_node,omitempty"`
	Real    NodeID           `json:"real_node,omitempty"`
	Class   string           `json:"class_type,omitempty"`
	Nodes   []NodeID         `json:"nodes,omitempty"`
	Output  map[string][]any `json:"output,omitempty"`
	// Slot is the output index (released, reexecuted, pinned for a
	// NotReexecutable node) or the number of nodes an expander pinned.
	Slot int `json:"slot,omitempty"`
	// Bytes is what a release freed on the device (released), 0 when the
	// values are still held elsewhere (another slot, the cache); or the
	// size of a value offloaded, reloaded, dropped or recomputed.
	Bytes int64 `json:"bytes,omitempty"`
	// Tier is where an offloaded value went ("host", "disk").
	Tier string `json:"tier,omitempty"`
	// Cause is the late edge that made a node run again (reexecuted):
	// the consumer that asked for the released slot.
	Cause NodeID `json:"cause,omitempty"`
	// Value and Max are a progress event's position (Call.Progress).
	Value   float64 `json:"value,omitempty"`
	Max     float64 `json:"max,omitempty"`
	Message string  `json:"message,omitempty"`
	Err     error   `json:"-"`
}

// Observer receives events. Calls are serialized, so an Observer need not
// be safe for concurrent use, but it should return quickly.
type Observer interface {
	Observe(Event)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(Event)

// Observe calls f.
func (f ObserverFunc) Observe(e Event) { f(e) }

// emitter serializes events to any number of observers.
type emitter struct {
	mu  sync.Mutex
	obs []Observer
}

func (m *emitter) emit(e Event) {
	if m == nil || len(m.obs) == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range m.obs {
		o.Observe(e)
	}
}
