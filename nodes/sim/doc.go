// Package sim simulates the device memory of node workflows, so that
// release policies can be tried on real workflows without the models.
//
// AllocateVRAM is the test node of the ComfyUI PR that started ebb ("node
// smart offload"): it passes its input through unchanged and allocates a
// tensor of a given number of GiB. Register adds it to a registry.
//
// A Profile gives other classes a memory behaviour: for each class, the
// type and size of each output, the working memory of one call and, as
// "ms", the time one call takes (the simulated clock's compute time and
// the cost of recomputing the class's outputs under offload; the call does
// not sleep). Profile
// nodes accept any inputs (they wait for every linked input and ignore the
// values), allocate their working memory first and then one buffer per
// output, and return the output buffers; the engine frees the working
// memory when the call returns. Profiles are JSON:
//
//	{
//	  "unit": "GiB",
//	  "classes": {
//	    "CheckpointLoaderSimple": {"outputs": [["MODEL", 4.8], ["CLIP", 1.6], ["VAE", 0.16]], "ms": 3300},
//	    "KSampler":               {"outputs": [["LATENT", 0.001]], "work": 13.5, "ms": 8000},
//	    "SaveImage":              {"outputs": [], "output_node": true}
//	  }
//	}
//
// "unit" is B, KiB, MiB or GiB (default GiB). Profile.Register uses
// Registry.Replace, so a profile's classes take precedence over built-in
// types of the same name, and Profile.Scale shrinks a profile to run it on
// a smaller real card.
package sim
