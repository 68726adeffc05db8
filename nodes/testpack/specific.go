package testpack

import (
	"context"

	"github.com/ebbgraph/ebb/engine"
)

// The classes of ComfyUI's specific_tests.py, plus TestExecutionBlocker.

func specificTypes() []*engine.NodeType {
	imageAndFloat := []engine.InputSpec{in("input1", "IMAGE,FLOAT"), in("input2", "IMAGE,FLOAT")}
	return withVariants([]*engine.NodeType{
		{
			Class: "TestLazyMixImages",
			Schema: engine.Schema{
				Inputs: []engine.InputSpec{
					{Name: "image1", Type: "IMAGE", Lazy: true},
					{Name: "image2", Type: "IMAGE", Lazy: true},
					in("mask", "MASK"),
				},
				Outputs: []engine.OutputSpec{out("IMAGE", "IMAGE")},
			},
			Runner: lazyMix{},
		},
		{
			Class: "TestVariadicAverage",
			Schema: engine.Schema{
				Inputs:  []engine.InputSpec{in("input1", "IMAGE")},
				Outputs: []engine.OutputSpec{out("IMAGE", "IMAGE")},
			},
			Runner: engine.RunFunc(variadicAverage),
		},
		{
			Class: "TestCustomIsChanged",
			Schema: engine.Schema{
				Inputs: []engine.InputSpec{
					in("image", "IMAGE"),
					{Name: "should_change", Type: "BOOL", Optional: true, Default: false},
				},
				Outputs: []engine.OutputSpec{out("IMAGE", "IMAGE")},
			},
			Runner: customIsChanged{},
		},
		{
			Class: "TestIsChangedWithConstants",
			Schema: engine.Schema{
				Inputs:  []engine.InputSpec{in("image", "IMAGE"), floatIn("value", 1, 0, 10, 0)},
				Outputs: []engine.OutputSpec{out("IMAGE", "IMAGE")},
			},
			Runner: isChangedWithConstants{},
		},
		{
			Class: "TestCustomValidation1",
			Schema: engine.Schema{
				Inputs:     imageAndFloat,
				Outputs:    []engine.OutputSpec{out("IMAGE", "IMAGE")},
				Validation: engine.CustomValidation{Inputs: []string{"input1", "input2"}},
			},
			Runner: customValidation{variant: 1},
		},
		{
			Class: "TestCustomValidation2",
			Schema: engine.Schema{
				Inputs:     imageAndFloat,
				Outputs:    []engine.OutputSpec{out("IMAGE", "IMAGE")},
				Validation: engine.CustomValidation{Inputs: []string{"input1", "input2"}, InputTypes: true},
			},
			Runner: customValidation{variant: 2},
		},
		{
			// TestCustomValidation3 is decorated with @VariantSupport in
			// ComfyUI: its only validation is the set-subset type check.
			Class: "TestCustomValidation3",
			Schema: engine.Schema{
				Inputs:     imageAndFloat,
				Outputs:    []engine.OutputSpec{out("IMAGE", "IMAGE")},
				Validation: engine.CustomValidation{InputTypes: true},
			},
			Runner: customValidation{variant: 3},
		},
		{
			Class: "TestCustomValidation4",
			Schema: engine.Schema{
				Inputs:     []engine.InputSpec{in("input1", "FLOAT"), in("input2", "FLOAT")},
				Outputs:    []engine.OutputSpec{out("IMAGE", "IMAGE")},
				Validation: engine.CustomValidation{Inputs: []string{"input1", "input2"}},
			},
			Runner: customValidation{variant: 4},
		},
		{
			Class: "TestCustomValidation5",
			Schema: engine.Schema{
				Inputs: []engine.InputSpec{
					{Name: "input1", Type: "FLOAT", Min: engine.F(0), Max: engine.F(1)},
					{Name: "input2", Type: "FLOAT", Min: engine.F(0), Max: engine.F(1)},
				},
				Outputs:    []engine.OutputSpec{out("IMAGE", "IMAGE")},
				Validation: engine.CustomValidation{AllInputs: true},
			},
			Runner: customValidation{variant: 5},
		},
		{
			Class: "TestDynamicDependencyCycle",
			Schema: engine.Schema{
				Inputs:  []engine.InputSpec{in("input1", "IMAGE"), in("input2", "IMAGE")},
				Outputs: []engine.OutputSpec{out("IMAGE", "IMAGE")},
			},
			Runner: dynamicDependencyCycle{},
		},
		{
			Class: "TestMixedExpansionReturns",
			Schema: engine.Schema{
				Inputs:  []engine.InputSpec{in("input1", "FLOAT")},
				Outputs: []engine.OutputSpec{out("IMAGE", "IMAGE"), out("IMAGE", "IMAGE")},
			},
			Runner: mixedExpansionReturns{},
		},
		{
			Class: "TestExecutionBlocker",
			Schema: engine.Schema{
				Inputs: []engine.InputSpec{
					in("input", "*"),
					in("block", "BOOLEAN"),
					{Name: "verbose", Type: "BOOLEAN", Default: false},
				},
				Outputs:    []engine.OutputSpec{out("output", "*")},
				Validation: engine.CustomValidation{InputTypes: true},
			},
			Runner: variant(engine.RunFunc(executionBlocker)),
		},
		{
			Class: "TestOutputNodeWithSocketOutput",
			Schema: engine.Schema{
				Inputs:     []engine.InputSpec{in("image", "IMAGE"), floatIn("value", 1, 0, 10, 0)},
				Outputs:    []engine.OutputSpec{out("IMAGE", "IMAGE")},
				OutputNode: true,
			},
			Runner: engine.RunFunc(scaleImage),
		},
		{
			Class: "TestSleep",
			Schema: engine.Schema{
				Inputs: []engine.InputSpec{
					in("value", "*"),
					floatIn("seconds", 1, 0, 9999, 0.01),
					uniqueID(),
				},
				Outputs: []engine.OutputSpec{out("*", "*")},
			},
			Runner: engine.RunFunc(sleep),
		},
		{
			Class: "TestParallelSleep",
			Schema: engine.Schema{
				Inputs: []engine.InputSpec{
					in("image1", "IMAGE"), in("image2", "IMAGE"), in("image3", "IMAGE"),
					floatIn("sleep1", 0.5, 0, 10, 0.01),
					floatIn("sleep2", 0.5, 0, 10, 0.01),
					floatIn("sleep3", 0.5, 0, 10, 0.01),
					uniqueID(),
				},
				Outputs:    []engine.OutputSpec{out("IMAGE", "IMAGE")},
				OutputNode: true,
			},
			Runner: parallelSleep{},
		},
	})
}

// executionBlocker is TestExecutionBlocker: block yields a blocker (with
// the message "Blocked Execution" when verbose, else silent), otherwise
// the input passes through.
func executionBlocker(_ context.Context, c *engine.Call) (engine.Result, error) {
	if pyBool(c.Inputs["block"]) {
		msg := ""
		if pyBool(c.Inputs["verbose"]) {
			msg = "Blocked Execution"
		}
		return engine.Blocked(msg, 1), nil
	}
	return engine.Outputs(c.Inputs["input"]), nil
}
