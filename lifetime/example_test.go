package lifetime_test

import (
	"fmt"

	"github.com/ebbgraph/ebb/lifetime"
	"github.com/ebbgraph/ebb/policy"
)

// tensor is a Resource: something that holds memory and must be released
// exactly once. (The engine's are *engine.Buffer.)
type tensor struct {
	name  string
	bytes int64
}

func (t *tensor) Bytes() int64 { return t.bytes }

func (t *tensor) Release() error {
	fmt.Println("  free", t.name)
	return nil
}

// At level 2 a slot is released when its last pending reader is done; a
// value held by two slots (passed through) is freed once, with the last.
func ExampleTracker() {
	refs := lifetime.NewRefs()
	tr := lifetime.NewTracker(policy.ReleaseDead, refs)

	// Node a outputs a model; node b reads it and passes it through.
	// Node c reads b's output.
	model := &tensor{name: "model", bytes: 4 << 30}
	aOut := tr.NewSlot("a", 0)
	bOut := tr.NewSlot("b", 0)
	tr.AddReader(aOut) // the link b <- a
	tr.AddReader(bOut) // the link c <- b

	tr.Produce(aOut, []any{model})
	fmt.Println("a done: live", refs.Live()>>30, "GiB")
	tr.Produce(bOut, []any{model}) // the same value, held by a second slot
	fmt.Println("b done:")
	tr.DoneReader(aOut) // b finished reading a: a's slot is released
	fmt.Println("  a's slot", tr.State(aOut) == lifetime.Released, "live", refs.Live()>>30, "GiB")
	fmt.Println("c done:")
	tr.DoneReader(bOut)
	fmt.Println("  live", refs.Live(), "releases", tr.Stats().Releases, "err", tr.Err())
	// Output:
	// a done: live 4 GiB
	// b done:
	//   a's slot true live 4 GiB
	// c done:
	//   free model
	//   live 0 releases 2 err <nil>
}

// A Trace records the order a run took; its Bound is the least memory any
// release policy could have used for that order.
func ExampleTrace() {
	const GiB = 1 << 30
	var tr lifetime.Trace
	// load -> encode -> sample: each value lives from its producer's start
	// to its last reader's end; sample also needs 6 GiB while it runs.
	load := tr.Begin("load")
	tr.Produce(load, 1, 4*GiB) // value 1: the model
	tr.End(load)
	encode := tr.Begin("encode")
	tr.Read(encode, 1)
	tr.Produce(encode, 2, 1*GiB) // value 2: the conditioning
	tr.End(encode)
	sample := tr.Begin("sample")
	tr.Read(sample, 1)
	tr.Read(sample, 2)
	tr.Work(sample, 6*GiB)
	tr.Produce(sample, 3, GiB/4)
	tr.End(sample)
	bytes, node := tr.Peak()
	fmt.Printf("bound %.2f GiB, reached when %s starts\n", float64(bytes)/GiB, node)
	// Output:
	// bound 11.25 GiB, reached when sample starts
}

// Refs counts holders by identity: a value held twice is released when its
// second holder drops it.
func ExampleRefs() {
	refs := lifetime.NewRefs()
	latent := &tensor{name: "latent", bytes: 1 << 20}
	refs.Hold(latent)
	refs.Hold([]any{latent, "not a resource"}) // elements of lists count too
	fmt.Println("holders", refs.Holders(latent), "live", refs.Live())
	_ = refs.Drop(latent)
	fmt.Println("holders", refs.Holders(latent))
	_ = refs.Drop(latent)
	fmt.Println("holders", refs.Holders(latent), "live", refs.Live())
	// Output:
	// holders 2 live 1048576
	// holders 1
	//   free latent
	// holders 0 live 0
}
