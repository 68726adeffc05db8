// registry.go: the registry of node types by class.

package engine

import (
	"fmt"
	"maps"
	"slices"
)

// Registry maps class names to node types. It is not safe for concurrent
// mutation; build it before running.
type Registry struct {
	types map[string]*NodeType
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{types: map[string]*NodeType{}} }

// Register adds t. Registering a class twice is an error; use Replace to
// override on purpose.
func (r *Registry) Register(t *NodeType) error {
	if err := checkType(t); err != nil {
		return err
	}
	if _, dup := r.types[t.Class]; dup {
		return fmt.Errorf("engine: class %q registered twice", t.Class)
	}
	r.types[t.Class] = t
	return nil
}

// MustRegister is Register for package-level tables; it panics on error.
func (r *Registry) MustRegister(types ...*NodeType) *Registry {
	for _, t := range types {
		if err := r.Register(t); err != nil {
			panic(err)
		}
	}
	return r
}

// Replace adds t, overriding any type of the same class.
func (r *Registry) Replace(t *NodeType) error {
	if err := checkType(t); err != nil {
		return err
	}
	r.types[t.Class] = t
	return nil
}

// Lookup returns the type of class.
func (r *Registry) Lookup(class string) (*NodeType, bool) {
	t, ok := r.types[class]
	return t, ok
}

// Classes returns the registered class names, sorted.
func (r *Registry) Classes() []string { return slices.Sorted(maps.Keys(r.types)) }

func checkType(t *NodeType) error {
	if t == nil || t.Class == "" {
		return fmt.Errorf("engine: node type without a class")
	}
	if t.Runner == nil {
		return fmt.Errorf("engine: class %q has no Runner", t.Class)
	}
	seen := map[string]bool{}
	for _, in := range t.Schema.Inputs {
		if in.Name == "" || seen[in.Name] {
			return fmt.Errorf("engine: class %q: empty or duplicate input %q", t.Class, in.Name)
		}
		seen[in.Name] = true
	}
	return nil
}
