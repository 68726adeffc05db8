// schema.go: schemas: inputs, outputs and custom validation of a node type.

package engine

// Hidden names a hidden input a node asks the engine for.
type Hidden int

const (
	NotHidden Hidden = iota
	// HiddenUniqueID gives the node its own id (Call.Node). A node with it
	// is cached per id, as in ComfyUI.
	HiddenUniqueID
	// HiddenDynPrompt gives the node the dynamic graph (Call.Graph).
	HiddenDynPrompt
)

// InputSpec declares one input of a node type.
type InputSpec struct {
	Name string
	// Type is a ComfyUI type name such as "IMAGE", "INT", "FLOAT",
	// "STRING", "BOOLEAN", "COMBO", a comma-separated set such as
	// "IMAGE,FLOAT", or "*" (any).
	Type     string
	Optional bool
	Hidden   Hidden
	// Default is used when an optional or hidden-less input is absent.
	Default any
	// Min and Max bound INT and FLOAT literals when non-nil.
	Min, Max *float64
	Step     float64
	// Choices lists the allowed values of a COMBO input.
	Choices []string
	// Lazy inputs are only evaluated when CheckLazy asks for them.
	Lazy bool
	// RawLink inputs receive the Ref itself instead of its value; the node
	// still waits for the producer.
	RawLink bool
	// ForceInput says the input must be a link.
	ForceInput bool
}

// OutputSpec declares one output of a node type.
type OutputSpec struct {
	Name string
	Type string
	// IsList outputs are concatenated across list calls (OUTPUT_IS_LIST).
	IsList bool
}

// CustomValidation declares which inputs a node's Validator takes over from
// the built-in checks (ComfyUI's VALIDATE_INPUTS signature).
type CustomValidation struct {
	// Inputs are validated only by the Validator: no min/max/choice checks.
	Inputs []string
	// AllInputs disables min/max/choice checks for every input (**kwargs).
	AllInputs bool
	// InputTypes disables the built-in link type check; the Validator gets
	// the received types instead.
	InputTypes bool
}

// Schema describes a node type's inputs and outputs.
type Schema struct {
	Inputs  []InputSpec
	Outputs []OutputSpec
	// InputIsList nodes get whole lists in one call instead of being mapped
	// over list elements.
	InputIsList bool
	// OutputNode nodes are where execution starts; their outputs are pinned.
	OutputNode bool
	// Validation is consulted when the Runner implements Validator.
	Validation CustomValidation
}

// Input returns the spec of the named input.
func (s *Schema) Input(name string) (*InputSpec, bool) {
	for i := range s.Inputs {
		if s.Inputs[i].Name == name {
			return &s.Inputs[i], true
		}
	}
	return nil, false
}

// F returns a pointer to v, for InputSpec.Min and Max.
func F(v float64) *float64 { return &v }
