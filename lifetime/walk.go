// walk.go: finding the Resources in a value (lists, Containers, Holders).

package lifetime

// Container is a value that holds other values (a node pack's own list
// type): Resources in its Elements are held, counted and released as if
// it were a []any.
type Container interface {
	Elements() []any
}

// Holder is a value that owns one Resource (an image holding its device
// reservation): walks visit that Resource, so it is held, counted and
// released as if it were the value. HeldResource returns nil when the
// value owns none.
type Holder interface {
	HeldResource() Resource
}

// inert reports whether v can hold no Resource: a scalar, or a list of
// scalars. The Refs calls return early for it, so values without device
// memory (most node outputs) cost no walk and no closure.
func inert(v any) bool {
	switch x := v.(type) {
	case Resource, Holder, Container:
		return false
	case []any:
		for _, e := range x {
			switch e.(type) {
			case Resource, Holder, Container, []any:
				return false
			}
		}
	}
	return true
}

func walk(v any, f func(Resource)) {
	switch x := v.(type) {
	case Resource:
		f(x)
	case Holder:
		if r := x.HeldResource(); r != nil {
			f(r)
		}
	case []any:
		w := walker{f: f}
		w.list(x)
	case Container:
		w := walker{f: f}
		w.list(x.Elements())
	}
}

// walker visits the lists of one value. Past walkFree lists it remembers
// each list it enters and enters none twice, so a list that contains
// itself ends, and a DAG of shared lists costs its distinct lists, not its
// paths; every walk of the same value visits the same resources, so Hold
// and Drop stay paired.
type walker struct {
	f    func(Resource)
	n    int
	seen map[listID]bool
}

type listID struct {
	first *any
	n     int
}

const walkFree = 64

func (w *walker) list(x []any) {
	// An explicit stack, not recursion: a list nested millions deep is a
	// value a caller can build.
	var buf [8][]any
	stack := append(buf[:0], x)
	for len(stack) > 0 {
		l := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if len(l) == 0 {
			continue
		}
		if w.n++; w.n > walkFree {
			if w.seen == nil {
				w.seen = map[listID]bool{}
			}
			id := listID{&l[0], len(l)}
			if w.seen[id] {
				continue
			}
			w.seen[id] = true
		}
		for _, e := range l {
			switch y := e.(type) {
			case Resource:
				w.f(y)
			case Holder:
				if r := y.HeldResource(); r != nil {
					w.f(r)
				}
			case []any:
				stack = append(stack, y)
			case Container:
				stack = append(stack, y.Elements())
			}
		}
	}
}

// Resources calls f for every Resource in v.
func Resources(v any, f func(Resource)) { walk(v, f) }
