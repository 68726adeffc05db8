package memdag

import "math/rand/v2"

// Realistic returns an image-generation workflow of 2 to 5 pipelines
// sharing a pool of 2 to 4 checkpoints and their loaders: checkpoints (MODEL 2-7 GiB), text
// encoders (CLIP 0.25-1.6 GiB), VAEs; per pipeline two text encodes, a
// latent (empty, or a loaded image encoded), an optional LoRA, a sampler
// (2-12 GiB of working memory), an optional refiner pass on another
// checkpoint, a decode, an optional upscale with its own model, a save.
func Realistic(rng *rand.Rand) *DAG {
	const MiB = 1 << 20
	d := &DAG{}
	add := func(name string, out, work int64, in ...int) int {
		d.Nodes = append(d.Nodes, Node{Name: name, In: in, Out: out * MiB, Work: work * MiB})
		return len(d.Nodes) - 1
	}
	between := func(lo, hi int) int64 { return int64(lo + rng.IntN(hi-lo+1)) }
	type ckpt struct{ model, clip, vae int }
	var pool []ckpt
	models := 2 + rng.IntN(3)
	for range models {
		pool = append(pool, ckpt{
			model: add("checkpoint", between(2048, 7168), 0),
			clip:  add("clip loader", between(256, 1600), 0),
			vae:   add("vae loader", between(80, 320), 0),
		})
	}
	var upscaler = -1
	pipes := 2 + rng.IntN(4)
	for range pipes {
		c := pool[rng.IntN(len(pool))]
		pos := add("text encode", 1, between(256, 640), c.clip)
		neg := add("text encode", 1, between(256, 640), c.clip)
		var latent int
		if rng.IntN(3) == 0 {
			img := add("load image", between(12, 48), 0)
			latent = add("vae encode", between(1, 8), between(512, 2048), img, c.vae)
		} else {
			latent = add("empty latent", between(1, 16), 0)
		}
		model := c.model
		if rng.IntN(3) == 0 {
			model = add("lora", between(64, 320), between(64, 256), model, add("lora loader", between(64, 320), 0))
		}
		lat := add("sampler", between(1, 16), between(2048, 12288), model, pos, neg, latent)
		if len(pool) > 1 && rng.IntN(3) == 0 {
			r := pool[rng.IntN(len(pool))]
			rpos := add("text encode", 1, between(256, 640), r.clip)
			lat = add("refiner sampler", between(1, 16), between(2048, 8192), r.model, rpos, lat)
		}
		img := add("vae decode", between(24, 200), between(1024, 3072), lat, c.vae)
		if rng.IntN(2) == 0 {
			if upscaler < 0 || rng.IntN(2) == 0 {
				upscaler = add("upscale loader", between(64, 512), 0)
			}
			img = add("upscale", between(96, 800), between(1024, 4096), img, upscaler)
		}
		add("save image", 0, 0, img)
	}
	for i := range d.Nodes {
		d.Nodes[i].Ms = msOf(&d.Nodes[i])
	}
	users := d.Consumers()
	for i := range d.Nodes {
		if users[i] == 0 {
			d.Nodes[i].Sink, d.Nodes[i].Out = true, 0
		}
	}
	return d
}

// msOf is a node's compute time, from its kind and sizes (no random
// draw, so adding times left the corpus's sizes as they were): loaders
// read from a 2 GiB/s disk, samplers take 0.8 ms per MiB of working memory
// (2-12 GiB: 1.6-9.8 s), decodes and encodes a quarter and an eighth of
// that, upscales half; text encodes 30 ms, saves 50 ms.
func msOf(n *Node) int64 {
	const MiB = 1 << 20
	switch n.Name {
	case "checkpoint", "clip loader", "vae loader", "lora loader", "upscale loader", "load image":
		return max(1, n.Out/MiB/2)
	case "sampler", "refiner sampler":
		return n.Work / MiB * 8 / 10
	case "vae decode":
		return n.Work / MiB / 4
	case "vae encode":
		return n.Work / MiB / 8
	case "upscale":
		return n.Work / MiB / 2
	case "lora":
		return 200
	case "text encode":
		return 30
	case "save image":
		return 50
	}
	return 1
}
