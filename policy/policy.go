package policy

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Level says how eagerly node outputs are released during a run.
type Level int

const (
	// KeepAll (level 0) releases nothing until the run ends.
	KeepAll Level = 0
	// ReleaseUnreferenced (level 1) releases, when a node completes, each of
	// its output slots that no consumer references.
	ReleaseUnreferenced Level = 1
	// ReleaseDead (level 2) is level 1 plus: a slot is released as soon as
	// its count of pending consumers reaches zero.
	ReleaseDead Level = 2
)

// Valid reports whether l is 0, 1 or 2.
func (l Level) Valid() bool { return l >= KeepAll && l <= ReleaseDead }

func (l Level) String() string { return strconv.Itoa(int(l)) }

// Strategy says what happens when an expansion links to an output that was
// already released (a late edge).
type Strategy int

const (
	// Auto pins like Restrict and re-executes like Reexecute where Restrict
	// would refuse. It is the default.
	Auto Strategy = iota
	// Reexecute runs the producer of a released output again (and,
	// recursively, the released inputs it needs). Nothing is pinned.
	Reexecute
	// Restrict lets an expansion link only to outputs of nodes the expanding
	// node already depends on; those stay pinned while it is pending. Any
	// other link fails the run.
	Restrict
)

var strategyNames = [...]string{Auto: "auto", Reexecute: "reexecute", Restrict: "restrict"}

func (s Strategy) String() string { return nameOf(strategyNames[:], s, "Strategy") }

// Valid reports whether s is one of the three strategies.
func (s Strategy) Valid() bool { return s >= Auto && s <= Restrict }

// Pins reports whether the strategy pins the upstream outputs of pending
// expanders (Restrict and Auto do).
func (s Strategy) Pins() bool { return s == Restrict || s == Auto }

// Reexecutes reports whether the strategy may run a producer again
// (Reexecute and Auto do).
func (s Strategy) Reexecutes() bool { return s == Reexecute || s == Auto }

// Policy is the memory policy of one run. The zero value is level 0 with
// the auto strategy; Default returns level 2 with auto.
type Policy struct {
	Level    Level
	Strategy Strategy
}

// Default is the policy a run gets when none is given: level 2, auto.
func Default() Policy { return Policy{Level: ReleaseDead, Strategy: Auto} }

func (p Policy) String() string { return "level " + p.Level.String() + ", " + p.Strategy.String() }

// Validate reports an error wrapping ErrInvalid when a field is out of range.
func (p Policy) Validate() error {
	if !p.Level.Valid() {
		return fmt.Errorf("%w: level %d (want 0, 1 or 2)", ErrInvalid, int(p.Level))
	}
	if !p.Strategy.Valid() {
		return fmt.Errorf("%w: strategy %d", ErrInvalid, int(p.Strategy))
	}
	return nil
}

// ErrInvalid is wrapped by every parse and validation error of this package.
var ErrInvalid = errors.New("policy: invalid")

// ParseLevel parses "0", "1" or "2".
func ParseLevel(s string) (Level, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || !Level(n).Valid() {
		return 0, fmt.Errorf("%w: level %q (want 0, 1 or 2)", ErrInvalid, s)
	}
	return Level(n), nil
}

// ParseStrategy parses "auto", "reexecute" or "restrict" (case-insensitive).
func ParseStrategy(s string) (Strategy, error) {
	return parseName[Strategy](strategyNames[:], s, "strategy")
}

// Strategies lists every strategy, in the order tables print them.
func Strategies() []Strategy { return []Strategy{Reexecute, Restrict, Auto} }

// Levels lists every level in increasing order.
func Levels() []Level { return []Level{KeepAll, ReleaseUnreferenced, ReleaseDead} }
