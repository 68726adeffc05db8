package main

import (
	"errors"
	"fmt"
	"image/color"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/ebbgraph/ebb/engine"
	"github.com/ebbgraph/ebb/engine/device"
)

// timelineLine is one line of a memory timeline: a run's points.
type timelineLine struct {
	name   string
	points []engine.TimelinePoint
}

// maxLabels is the most executed nodes whose ids label the x axis.
const maxLabels = 40

// imageFormats are the extensions gonum/plot can write.
var imageFormats = map[string]bool{"png": true, "svg": true, "pdf": true, "jpg": true, "jpeg": true, "eps": true, "tif": true, "tiff": true}

// checkImageFile rejects a --memory-timeline file gonum/plot cannot write,
// or that cannot be opened for writing (a missing directory, no
// permission), before anything runs. "" (no timeline) is fine. An existing
// file is left as it is; a new one is created and removed again.
func checkImageFile(path string) error {
	return checkImageFlag("--memory-timeline", path)
}

// checkImageFlag is checkImageFile for the image file of flag name.
func checkImageFlag(name, path string) error {
	if path == "" {
		return nil
	}
	ext := strings.ToLower(strings.TrimPrefix(filepath.Ext(path), "."))
	if !imageFormats[ext] {
		return usagef("%s %q: want a .png file (or .svg, .pdf, .jpg, .eps, .tif)", name, path)
	}
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o666)
	if err != nil {
		return usagef("%s: cannot write the image: %v", name, err)
	}
	f.Close()
	if errors.Is(statErr, fs.ErrNotExist) {
		os.Remove(path)
	}
	return nil
}

// drawTimeline draws the memory of each line's executed nodes: x is the
// executed node's index (labelled with node ids when there are few), y the
// live memory in GiB while it ran. A capacity > 0 is drawn as a dashed
// horizontal line.
func drawTimeline(path, title string, lines []timelineLine, capacity int64) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "executed node"
	p.Y.Label.Text = "live memory while the node ran (GiB)"
	p.Y.Min = 0
	p.Legend.Top = true
	p.Legend.Left = true

	longest, top, entries := 0, 0.0, 0
	for i, l := range lines {
		if len(l.points) == 0 {
			continue
		}
		xys := make(plotter.XYs, len(l.points))
		for j, pt := range l.points {
			xys[j].X = float64(j + 1)
			xys[j].Y = toGiB(max(pt.Peak, pt.Live))
			top = max(top, xys[j].Y)
		}
		if err := addLine(p, i, l.name, xys); err != nil {
			return fmt.Errorf("--memory-timeline: %w", err)
		}
		entries++
		if len(l.points) > len(lines[longest].points) {
			longest = i
		}
	}
	if pts := lines0(lines, longest); len(pts) > 0 && len(pts) <= maxLabels && sameOrder(lines, pts) {
		ticks := make([]plot.Tick, len(pts))
		for j, pt := range pts {
			ticks[j] = plot.Tick{Value: float64(j + 1), Label: string(pt.Node)}
		}
		p.X.Tick.Marker = plot.ConstantTicks(ticks)
		p.X.Label.Text = "executed node (id)"
	}
	if capacity > 0 {
		c := toGiB(capacity)
		addLevel(p, c, "capacity "+gib(capacity))
		entries++
		top = max(top, c)
	}
	// Leave room above the data for the legend (top left).
	if top > 0 {
		p.Y.Max = top * (1.05 + 0.07*float64(entries))
		p.Y.Tick.Marker = gibTicks{}
	}
	if p.X.Max <= p.X.Min {
		p.X.Min, p.X.Max = 0, 1
	}
	if err := savePlot(p, path); err != nil {
		return fmt.Errorf("--memory-timeline: %w", err)
	}
	return nil
}

// addLine adds the i-th line of a plot, points joined, in the i-th color
// and shape, with a legend entry.
func addLine(p *plot.Plot, i int, name string, xys plotter.XYs) error {
	line, scatter, err := plotter.NewLinePoints(xys)
	if err != nil {
		return err
	}
	c := plotutil.Color(i)
	line.Color = c
	line.Width = vg.Points(1.5)
	scatter.Color = c
	scatter.Shape = plotutil.Shape(i)
	p.Add(line, scatter)
	p.Legend.Add(name, line, scatter)
	return nil
}

// addLevel adds a dashed red horizontal line at y, with a legend entry.
func addLevel(p *plot.Plot, y float64, name string) {
	f := plotter.NewFunction(func(float64) float64 { return y })
	f.Color = color.RGBA{R: 200, A: 255}
	f.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(f)
	p.Legend.Add(name, f)
}

// savePlot writes p to path, in the format its extension names.
func savePlot(p *plot.Plot, path string) error {
	return p.Save(10*vg.Inch, 5*vg.Inch, path)
}

func lines0(lines []timelineLine, i int) []engine.TimelinePoint {
	if len(lines) == 0 {
		return nil
	}
	return lines[i].points
}

// sameOrder reports whether every line executed a prefix of ref, so one set
// of node-id labels fits them all.
func sameOrder(lines []timelineLine, ref []engine.TimelinePoint) bool {
	for _, l := range lines {
		for j, pt := range l.points {
			if pt.Node != ref[j].Node {
				return false
			}
		}
	}
	return true
}

func toGiB(n int64) float64 { return float64(n) / float64(device.GiB) }

// gibTicks puts labelled ticks at a round step (1, 2 or 5 times a power of
// ten) giving four to ten ticks between min and max.
type gibTicks struct{}

func (gibTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) {
		return nil
	}
	step := math.Pow(10, math.Floor(math.Log10((hi-lo)/4)))
	for _, m := range []float64{1, 2, 5, 10} {
		if (hi-lo)/(step*m) <= 8 {
			step *= m
			break
		}
	}
	var ticks []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi; v += step {
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', 4, 64)})
	}
	return ticks
}
