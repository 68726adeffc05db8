// names.go: the names of the package's enumerations, printed and parsed one way.

package policy

import (
	"fmt"
	"strconv"
	"strings"
)

// nameOf is v's name in names, or Type(v) when v is out of range.
func nameOf[T ~int](names []string, v T, typ string) string {
	if v < 0 || int(v) >= len(names) {
		return typ + "(" + strconv.Itoa(int(v)) + ")"
	}
	return names[v]
}

// parseName returns the value whose name is s (case-insensitive, spaces
// trimmed), or an error wrapping ErrInvalid that says what was wanted.
func parseName[T ~int](names []string, s, what string) (T, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	for i, name := range names {
		if t == name {
			return T(i), nil
		}
	}
	want := strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
	return 0, fmt.Errorf("%w: %s %q (want %s)", ErrInvalid, what, s, want)
}
