package testpack

import (
	"slices"

	"github.com/ebbgraph/ebb/engine"
)

// Types returns every node type of the pack.
func Types() []*engine.NodeType {
	return slices.Concat(stubTypes(), imageOutputTypes(), specificTypes(), conditionTypes(), utilTypes(), flowControlTypes())
}

// Register adds the pack to r.
func Register(r *engine.Registry) error {
	for _, t := range Types() {
		if err := r.Register(t); err != nil {
			return err
		}
	}
	return nil
}

// Registry returns a new registry holding only the pack.
func Registry() *engine.Registry {
	r := engine.NewRegistry()
	if err := Register(r); err != nil {
		panic(err)
	}
	return r
}
