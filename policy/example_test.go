package policy_test

import (
	"errors"
	"fmt"

	"github.com/ebbgraph/ebb/policy"
)

// A run's policy: the release level and the late-edge strategy. The
// default is level 2 with auto.
func ExamplePolicy() {
	fmt.Println(policy.Default())
	fmt.Println(policy.Policy{Level: policy.KeepAll, Strategy: policy.Restrict})
	// Output:
	// level 2, auto
	// level 0, restrict
}

// Levels and strategies are parsed from the words a command line or a
// configuration file uses; bad values wrap policy.ErrInvalid.
func ExampleParseLevel() {
	level, err := policy.ParseLevel("1")
	fmt.Println(level == policy.ReleaseUnreferenced, err)
	_, err = policy.ParseLevel("3")
	fmt.Println(errors.Is(err, policy.ErrInvalid))
	// Output:
	// true <nil>
	// true
}

func ExampleParseStrategy() {
	for _, s := range []string{"reexecute", "Restrict", "auto", "never"} {
		strategy, err := policy.ParseStrategy(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s: pins %v, re-executes %v\n", strategy, strategy.Pins(), strategy.Reexecutes())
	}
	// Output:
	// reexecute: pins false, re-executes true
	// restrict: pins true, re-executes false
	// auto: pins true, re-executes true
	// policy: invalid: strategy "never" (want auto, reexecute or restrict)
}

func ExamplePolicy_Validate() {
	p := policy.Policy{Level: 7}
	fmt.Println(p.Validate())
	// Output:
	// policy: invalid: level 7 (want 0, 1 or 2)
}
