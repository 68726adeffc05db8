package testpack

import (
	"context"
	"errors"
	"fmt"
	goimage "image"
	"image/png"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/ebbgraph/ebb/engine"
)

// ImageFiles says where the file-writing SaveImage and PreviewImage put
// their PNGs (see ReplaceImageOutputs).
type ImageFiles struct {
	// OutputDir receives SaveImage's files (ComfyUI's output directory).
	OutputDir string
	// TempDir receives PreviewImage's files (ComfyUI's temp directory).
	TempDir string
}

// ErrOutsideDir is returned by SaveImage for a filename_prefix that leaves
// the output directory.
var ErrOutsideDir = errors.New("saving an image outside the output folder is not allowed")

// ReplaceImageOutputs replaces SaveImage and PreviewImage in r with
// versions that write real PNG files, as ComfyUI's do: SaveImage writes
// "<prefix>_<counter:05>_.png" under OutputDir (the prefix may name a
// subfolder), PreviewImage writes "ComfyUI_temp_<5 letters>_<counter>_.png"
// under TempDir. Each pixel is uint8(clip(255*v)), truncating. Their UI
// entries are ComfyUI's {"filename", "subfolder", "type"} plus the
// "width", "height", "min", "max" and "mean" of the stored pixels.
func ReplaceImageOutputs(r *engine.Registry, f ImageFiles) error {
	if f.OutputDir == "" || f.TempDir == "" {
		return errors.New("testpack: ImageFiles needs both OutputDir and TempDir")
	}
	save := &pngWriter{dir: f.OutputDir, kind: "output", level: png.DefaultCompression}
	preview := &pngWriter{dir: f.TempDir, kind: "temp", level: png.BestSpeed, temp: true}
	types := []*engine.NodeType{
		{Class: "SaveImage", Schema: saveImageSchema, Runner: save},
		{Class: "PreviewImage", Schema: previewImageSchema, Runner: preview},
	}
	for _, t := range types {
		if err := r.Replace(t); err != nil {
			return err
		}
	}
	return nil
}

// pngWriter is a SaveImage or PreviewImage that writes files. Writers of
// one directory may run at once (node bodies run on workers): the counter
// scan and the file creation hold dirLock, and files are created with
// O_EXCL.
type pngWriter struct {
	dir   string
	kind  string // "output" or "temp"
	level png.CompressionLevel
	temp  bool // PreviewImage: a random prefix suffix
}

// It writes files: running it again would write them again.
var _ engine.NotReexecutable = (*pngWriter)(nil)

func (*pngWriter) NotReexecutable() {}

var dirLock sync.Mutex

func (w *pngWriter) Run(_ context.Context, c *engine.Call) (engine.Result, error) {
	m, err := asImage(c.Inputs["images"], "images")
	if err != nil {
		return engine.Result{}, err
	}
	prefix := "ComfyUI"
	if w.temp {
		prefix += "_temp_" + randomLetters(5)
	} else if p, ok := c.Inputs["filename_prefix"].(string); ok && p != "" {
		prefix = p
	}
	entries, err := w.save(m, prefix)
	if err != nil {
		return engine.Result{}, err
	}
	return engine.Result{UI: map[string][]any{"images": entries}}, nil
}

// save writes every image of m's batch and returns their UI entries.
func (w *pngWriter) save(m *Image, prefix string) ([]any, error) {
	prefix = strings.NewReplacer("%width%", strconv.Itoa(m.W), "%height%", strconv.Itoa(m.H)).Replace(prefix)
	sub, base, err := splitPrefix(prefix)
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(w.dir)
	if err != nil {
		return nil, fmt.Errorf("%s directory: %w", w.kind, err)
	}
	defer root.Close()
	dirLock.Lock()
	defer dirLock.Unlock()
	if sub != "" {
		if err := root.MkdirAll(sub, 0o755); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrOutsideDir, err)
		}
	}
	counter, err := nextCounter(root, sub, base)
	if err != nil {
		return nil, err
	}
	stats := m.Pixels()
	entries := make([]any, 0, m.B)
	for b := range m.B {
		name := strings.ReplaceAll(base, "%batch_num%", strconv.Itoa(b))
		file := fmt.Sprintf("%s_%05d_.png", name, counter)
		if err := w.write(root, path.Join(sub, file), m.Frame(b)); err != nil {
			return nil, err
		}
		e := stats[b].UI()
		e["filename"], e["subfolder"], e["type"] = file, sub, w.kind
		entries = append(entries, e)
		counter++
	}
	return entries, nil
}

// splitPrefix splits a filename prefix into a subfolder and a base name,
// refusing one that leaves the directory.
func splitPrefix(prefix string) (sub, base string, err error) {
	p := path.Clean(strings.ReplaceAll(prefix, `\`, "/"))
	if path.IsAbs(p) || p == ".." || strings.HasPrefix(p, "../") || strings.ContainsRune(p, 0) {
		return "", "", fmt.Errorf("%w: filename_prefix %q", ErrOutsideDir, prefix)
	}
	sub, base = path.Split(p)
	sub = strings.TrimSuffix(sub, "/")
	if base == "" || base == "." {
		return "", "", fmt.Errorf("filename_prefix %q names no file", prefix)
	}
	return sub, base, nil
}

// nextCounter is one more than the highest counter of the files
// "<base>_<counter>_..." in sub (1 when there are none), as ComfyUI counts.
func nextCounter(root *os.Root, sub, base string) (int, error) {
	dir := sub
	if dir == "" {
		dir = "."
	}
	entries, err := fs.ReadDir(root.FS(), dir)
	if err != nil {
		return 0, fmt.Errorf("listing %s: %w", dir, err)
	}
	highest := 0
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), base+"_")
		if !ok {
			continue
		}
		digits, _, _ := strings.Cut(rest, "_")
		if n, err := strconv.Atoi(digits); err == nil && n > highest {
			highest = n
		}
	}
	return highest + 1, nil
}

// write encodes one frame as an 8-bit PNG (RGB, or gray for a mask).
func (w *pngWriter) write(root *os.Root, name string, m *Image) (err error) {
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = cerr
		}
		if err != nil {
			root.Remove(name)
		}
	}()
	enc := png.Encoder{CompressionLevel: w.level}
	return enc.Encode(f, toImage(m))
}

// toImage converts a batch-1 tensor to a Go image with ComfyUI's pixel rule.
func toImage(m *Image) goimage.Image {
	r := goimage.Rect(0, 0, m.W, m.H)
	if m.IsMask() {
		g := goimage.NewGray(r)
		for i, v := range m.Data[:m.H*m.W] {
			g.Pix[i] = quantize(v)
		}
		return g
	}
	out := goimage.NewRGBA(r)
	for i := range m.H * m.W {
		px := m.Data[i*3 : i*3+3]
		out.Pix[i*4], out.Pix[i*4+1], out.Pix[i*4+2], out.Pix[i*4+3] = quantize(px[0]), quantize(px[1]), quantize(px[2]), 255
	}
	return out
}

// randomLetters is PreviewImage's random prefix suffix.
func randomLetters(n int) string {
	const letters = "abcdefghijklmnopqrstupvxyz" // ComfyUI's (sic)
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[rand.IntN(len(letters))]
	}
	return string(b)
}
