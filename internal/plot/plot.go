// Package plot draws an anomaly-detection result as an SVG chart: the
// series, the expected values and their band, the anomalies and the change
// points, with labelled axes, a title and a legend.
//
// It uses the standard library only. Its output is deterministic, the same
// chart giving the same bytes, and stays small for long series: lines are
// thinned to a few points per pixel column while every anomaly and change
// point is still drawn.
package plot

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Chart is what [Render] draws. Values is required; every other per-point
// slice is optional (nil) or has one element per value. A NaN in Values,
// Expected, Lower or Upper leaves a gap.
type Chart struct {
	// Title is drawn at the top; Subtitle, in grey, under it.
	Title, Subtitle string
	// Width and Height are the image's size in pixels; zero selects
	// 1200 by 480.
	Width, Height int

	// Times places the points on a time axis; nil places them at their
	// index.
	Times []time.Time
	// Values is the series.
	Values []float64
	// Expected is the expected value of each point.
	Expected []float64
	// Lower and Upper bound the expected band; both or neither.
	Lower, Upper []float64
	// Positive and Negative mark anomalies above and below the band.
	Positive, Negative []bool
	// ChangePoints marks change points, drawn as vertical lines.
	ChangePoints []bool
}

// Colours of the chart's elements.
const (
	colorValue    = "#2c3e50"
	colorExpected = "#3cb371"
	colorBand     = "#82e0aa"
	colorPositive = "#d62728"
	colorNegative = "#1f77b4"
	colorChange   = "#8e44ad"
	colorGrid     = "#e5e8eb"
	colorAxis     = "#5d6d7e"
	colorText     = "#1c2833"
	colorSubtle   = "#626d78"
)

const fontFamily = "Helvetica, Arial, sans-serif"

// layout holds the plot area and the scales from data to pixels.
type layout struct {
	width, height          float64
	left, right, top, bot  float64 // plot area edges in pixels
	xmin, xmax, ymin, ymax float64 // data limits
}

func (l *layout) px(x float64) float64 {
	return clampPixel(l.left + (x-l.xmin)/(l.xmax-l.xmin)*(l.right-l.left))
}

func (l *layout) py(y float64) float64 {
	y = clampValue(y)
	return clampPixel(l.bot - (y-l.ymin)/(l.ymax-l.ymin)*(l.bot-l.top))
}

// clampPixel keeps coordinates of points far off the chart finite and
// small, so the SVG stays valid whatever the data.
func clampPixel(p float64) float64 {
	switch {
	case math.IsNaN(p):
		return 0
	case p > 1e5:
		return 1e5
	case p < -1e5:
		return -1e5
	}
	return p
}

// Render writes c as a standalone SVG document to w.
func Render(w io.Writer, c *Chart) error {
	n := len(c.Values)
	if n == 0 {
		return errors.New("plot: no values")
	}
	for _, s := range []struct {
		name string
		len  int
	}{
		{"Times", len(c.Times)}, {"Expected", len(c.Expected)}, {"Lower", len(c.Lower)}, {"Upper", len(c.Upper)},
		{"Positive", len(c.Positive)}, {"Negative", len(c.Negative)}, {"ChangePoints", len(c.ChangePoints)},
	} {
		if s.len != 0 && s.len != n {
			return fmt.Errorf("plot: %s has %d elements, want %d", s.name, s.len, n)
		}
	}
	if (c.Lower == nil) != (c.Upper == nil) {
		return errors.New("plot: Lower and Upper go together")
	}
	width, height := float64(c.Width), float64(c.Height)
	if c.Width <= 0 || c.Height <= 0 {
		width, height = 1200, 480
	}
	l := &layout{width: width, height: height, left: 76, right: width - 24, top: 86, bot: height - 52}
	if l.right-l.left < 50 || l.bot-l.top < 50 {
		return fmt.Errorf("plot: %gx%g is too small", width, height)
	}

	// X: seconds since the first time, or the index.
	xs := make([]float64, n)
	var origin time.Time
	if c.Times != nil {
		origin = c.Times[0]
		for i, t := range c.Times {
			xs[i] = seconds(t, origin)
		}
	} else {
		for i := range xs {
			xs[i] = float64(i)
		}
	}
	l.xmin, l.xmax = xs[0], xs[0]
	for _, x := range xs {
		l.xmin, l.xmax = math.Min(l.xmin, x), math.Max(l.xmax, x)
	}
	if l.xmax == l.xmin {
		l.xmin, l.xmax = l.xmin-1, l.xmax+1
		if c.Times != nil {
			l.xmin, l.xmax = l.xmin-59, l.xmax+59
		}
	}
	// A little room on both sides keeps the first and last points' marks
	// off the frame.
	dataXmin, dataXmax := l.xmin, l.xmax
	pad := 0.012 * (l.xmax - l.xmin)
	l.xmin, l.xmax = l.xmin-pad, l.xmax+pad
	xTickCount := max(2, int((l.right-l.left)/120))
	var xticks []tick
	if c.Times != nil {
		lo := origin.Add(time.Duration(dataXmin * 1e9))
		hi := origin.Add(time.Duration(dataXmax * 1e9))
		if l.xmax-l.xmin > 200*365*86400 {
			// Beyond time.Duration's range: step from the extreme times.
			lo, hi = earliest(c.Times), latest(c.Times)
		}
		xticks = timeTicks(origin, lo, hi, xTickCount)
	} else {
		xticks = indexTicks(dataXmin, dataXmax, xTickCount)
	}

	// Y: the values and expected values, and the band unless it would
	// squeeze the series into a sliver.
	dlo, dhi := math.Inf(1), math.Inf(-1)
	for _, s := range [][]float64{c.Values, c.Expected} {
		for _, v := range s {
			if !math.IsNaN(v) {
				v = clampValue(v)
				dlo, dhi = math.Min(dlo, v), math.Max(dhi, v)
			}
		}
	}
	if math.IsInf(dlo, 1) {
		dlo, dhi = 0, 0
	}
	blo, bhi := dlo, dhi
	for i := range c.Lower {
		if v := clampValue(c.Lower[i]); !math.IsNaN(c.Lower[i]) {
			blo = math.Min(blo, v)
		}
		if v := clampValue(c.Upper[i]); !math.IsNaN(c.Upper[i]) {
			bhi = math.Max(bhi, v)
		}
	}
	room := 0.5 * (dhi - dlo)
	if room == 0 {
		room = math.Max(math.Abs(dlo)*0.5, 1)
	}
	lo, hi := math.Max(blo, dlo-room), math.Min(bhi, dhi+room)
	var yticks []tick
	l.ymin, l.ymax, yticks = valueRange(lo, hi, max(3, int((l.bot-l.top)/60)))

	b := &svgWriter{w: bufio.NewWriter(w)}
	b.printf(`<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s" viewBox="0 0 %s %s" font-family="%s" font-size="12">`+"\n",
		num(width), num(height), num(width), num(height), fontFamily)
	b.printf("<title>%s</title>\n", esc(c.Title))
	b.printf(`<rect width="100%%" height="100%%" fill="#ffffff"/>` + "\n")
	b.printf(`<defs><clipPath id="plot-area"><rect x="%s" y="%s" width="%s" height="%s"/></clipPath></defs>`+"\n",
		num(l.left), num(l.top), num(l.right-l.left), num(l.bot-l.top))

	// Title, subtitle and legend.
	if c.Title != "" {
		b.printf(`<text x="%s" y="26" font-size="17" font-weight="bold" fill="%s">%s</text>`+"\n", num(l.left), colorText, esc(c.Title))
	}
	if c.Subtitle != "" {
		b.printf(`<text x="%s" y="46" font-size="12" fill="%s">%s</text>`+"\n", num(l.left), colorSubtle, esc(c.Subtitle))
	}
	legend(b, c, l)

	// Grid and axes.
	b.printf(`<g stroke="%s" stroke-width="1">`+"\n", colorGrid)
	for _, t := range yticks {
		y := l.py(t.v)
		b.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s"/>`+"\n", num(l.left), num(y), num(l.right), num(y))
	}
	for _, t := range xticks {
		x := l.px(t.v)
		b.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s"/>`+"\n", num(x), num(l.top), num(x), num(l.bot))
	}
	b.printf("</g>\n")
	b.printf(`<g fill="%s" font-size="11">`+"\n", colorAxis)
	for _, t := range yticks {
		b.printf(`<text x="%s" y="%s" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", num(l.left-8), num(l.py(t.v)), esc(t.label))
	}
	for _, t := range xticks {
		x := l.px(t.v)
		for j, line := range strings.Split(t.label, "\n") {
			b.printf(`<text x="%s" y="%s" text-anchor="middle">%s</text>`+"\n", num(x), num(l.bot+17+float64(j)*14), esc(line))
		}
	}
	b.printf("</g>\n")
	b.printf(`<rect x="%s" y="%s" width="%s" height="%s" fill="none" stroke="%s" stroke-width="1"/>`+"\n",
		num(l.left), num(l.top), num(l.right-l.left), num(l.bot-l.top), colorAxis)

	// Data, clipped to the plot area.
	b.printf(`<g clip-path="url(#plot-area)">` + "\n")
	if c.Lower != nil {
		band(b, l, xs, c.Lower, c.Upper)
	}
	for i, cp := range c.ChangePoints {
		if cp {
			x := l.px(xs[i])
			b.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1.5" stroke-dasharray="5 3"/>`+"\n",
				num(x), num(l.top), num(x), num(l.bot), colorChange)
		}
	}
	// The expected line is wide and light under the thin series line, so
	// it shows as a halo where the two agree and on its own where they
	// part. Dense series get a thinner line.
	if c.Expected != nil {
		path(b, l, xs, c.Expected, colorExpected, "2.2", true)
	}
	valueWidth := "1.1"
	if float64(n) > 1.5*(l.right-l.left) {
		valueWidth = "0.6"
	}
	path(b, l, xs, c.Values, colorValue, valueWidth, false)
	markers(b, l, xs, c.Values, c.Positive, colorPositive)
	markers(b, l, xs, c.Values, c.Negative, colorNegative)
	b.printf("</g>\n</svg>\n")
	if b.err != nil {
		return b.err
	}
	return b.w.Flush()
}

// legend draws the key of the elements drawn, right-aligned above the
// plot area.
func legend(b *svgWriter, c *Chart, l *layout) {
	type item struct {
		label string
		draw  func(x, y float64)
	}
	var items []item
	lineItem := func(label, color, dash string) item {
		return item{label, func(x, y float64) {
			b.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2"%s/>`+"\n", num(x), num(y), num(x+18), num(y), color, dash)
		}}
	}
	dotItem := func(label, color string) item {
		return item{label, func(x, y float64) {
			b.printf(`<circle cx="%s" cy="%s" r="4" fill="%s" stroke="#ffffff" stroke-width="1"/>`+"\n", num(x+9), num(y), color)
		}}
	}
	items = append(items, lineItem("value", colorValue, ""))
	if c.Expected != nil {
		items = append(items, lineItem("expected", colorExpected, ""))
	}
	if c.Lower != nil {
		items = append(items, item{"expected band", func(x, y float64) {
			b.printf(`<rect x="%s" y="%s" width="18" height="10" fill="%s" fill-opacity="0.45"/>`+"\n", num(x), num(y-5), colorBand)
		}})
	}
	if anyTrue(c.Positive) {
		items = append(items, dotItem("anomaly above", colorPositive))
	}
	if anyTrue(c.Negative) {
		items = append(items, dotItem("anomaly below", colorNegative))
	}
	if anyTrue(c.ChangePoints) {
		items = append(items, lineItem("change point", colorChange, ` stroke-dasharray="5 3"`))
	}
	// Approximate text widths: 6.6 px a character at 12 px.
	total := 0.0
	for _, it := range items {
		total += 24 + 6.6*float64(len(it.label)) + 16
	}
	x := math.Max(l.left, l.right-total)
	y := l.top - 16
	b.printf(`<g font-size="12" fill="%s">`+"\n", colorText)
	for _, it := range items {
		it.draw(x, y)
		b.printf(`<text x="%s" y="%s" dominant-baseline="middle">%s</text>`+"\n", num(x+24), num(y), esc(it.label))
		x += 24 + 6.6*float64(len(it.label)) + 16
	}
	b.printf("</g>\n")
}

// bucket is a run of consecutive points that fall in one pixel column.
type bucket struct{ first, last, lo, hi int }

// buckets splits the points i in [from, to) into runs of equal pixel
// column, remembering for each the first and last point and the points of
// least and greatest value. Drawing those four points per column keeps a
// line's look while bounding its size by the chart's width.
func buckets(l *layout, xs, ys []float64, from, to int) []bucket {
	var out []bucket
	col := math.NaN()
	for i := from; i < to; i++ {
		c := math.Floor(l.px(xs[i]))
		if c != col || len(out) == 0 {
			out = append(out, bucket{i, i, i, i})
			col = c
			continue
		}
		k := &out[len(out)-1]
		k.last = i
		if ys[i] < ys[k.lo] {
			k.lo = i
		}
		if ys[i] > ys[k.hi] {
			k.hi = i
		}
	}
	return out
}

// segments returns the maximal runs [from, to) of non-NaN values.
func segments(ys ...[]float64) [][2]int {
	n := len(ys[0])
	var out [][2]int
	start := -1
	for i := 0; i <= n; i++ {
		ok := i < n
		for _, s := range ys {
			ok = ok && !math.IsNaN(s[i])
		}
		switch {
		case ok && start < 0:
			start = i
		case !ok && start >= 0:
			out = append(out, [2]int{start, i})
			start = -1
		}
	}
	return out
}

// path draws ys as a polyline, thinned per pixel column; a lone point
// between gaps is drawn as a short dash when dashLone is set.
func path(b *svgWriter, l *layout, xs, ys []float64, color, width string, dashLone bool) {
	var d strings.Builder
	for _, seg := range segments(ys) {
		if seg[1]-seg[0] == 1 {
			if dashLone {
				i := seg[0]
				fmt.Fprintf(&d, "M%s %sh12M%s %sh-12", num(l.px(xs[i])), num(l.py(ys[i])), num(l.px(xs[i])), num(l.py(ys[i])))
			}
			continue
		}
		cmd := byte('M')
		for _, k := range buckets(l, xs, ys, seg[0], seg[1]) {
			for _, i := range orderedUnique(k.first, k.lo, k.hi, k.last) {
				d.WriteByte(cmd)
				d.WriteString(num(l.px(xs[i])))
				d.WriteByte(' ')
				d.WriteString(num(l.py(ys[i])))
				cmd = 'L'
			}
		}
	}
	if d.Len() == 0 {
		return
	}
	b.printf(`<path d="%s" fill="none" stroke="%s" stroke-width="%s" stroke-linejoin="round" stroke-linecap="round"/>`+"\n", d.String(), color, width)
}

// band shades the area between lower and upper, thinned per pixel column;
// a lone point between gaps is drawn as a whisker.
func band(b *svgWriter, l *layout, xs, lower, upper []float64) {
	var d strings.Builder
	for _, seg := range segments(lower, upper) {
		if seg[1]-seg[0] == 1 {
			i := seg[0]
			x := l.px(xs[i])
			fmt.Fprintf(&d, "M%s %sH%sV%sH%sZ", num(x-5), num(l.py(upper[i])), num(x+5), num(l.py(lower[i])), num(x-5))
			continue
		}
		// Buckets are computed on upper; each covers its run's extremes
		// of both bounds.
		ks := buckets(l, xs, upper, seg[0], seg[1])
		type col struct{ x0, x1, lo, hi float64 }
		cols := make([]col, len(ks))
		for j, k := range ks {
			c := col{x0: l.px(xs[k.first]), x1: l.px(xs[k.last]), lo: lower[k.first], hi: upper[k.first]}
			for i := k.first; i <= k.last; i++ {
				c.lo, c.hi = math.Min(c.lo, lower[i]), math.Max(c.hi, upper[i])
			}
			cols[j] = c
		}
		cmd := byte('M')
		for _, c := range cols {
			fmt.Fprintf(&d, "%c%s %s", cmd, num(c.x0), num(l.py(c.hi)))
			cmd = 'L'
			if c.x1 != c.x0 {
				fmt.Fprintf(&d, "L%s %s", num(c.x1), num(l.py(c.hi)))
			}
		}
		for j := len(cols) - 1; j >= 0; j-- {
			c := cols[j]
			if c.x1 != c.x0 {
				fmt.Fprintf(&d, "L%s %s", num(c.x1), num(l.py(c.lo)))
			}
			fmt.Fprintf(&d, "L%s %s", num(c.x0), num(l.py(c.lo)))
		}
		d.WriteByte('Z')
	}
	if d.Len() == 0 {
		return
	}
	b.printf(`<path d="%s" fill="%s" fill-opacity="0.45" stroke="none"/>`+"\n", d.String(), colorBand)
}

// markers draws a dot on every marked point, smaller when there are many.
func markers(b *svgWriter, l *layout, xs, ys []float64, marked []bool, color string) {
	r := "4"
	if countTrue(marked) > 200 {
		r = "3"
	}
	started := false
	for i, m := range marked {
		if !m || math.IsNaN(ys[i]) {
			continue
		}
		if !started {
			b.printf(`<g fill="%s" stroke="#ffffff" stroke-width="1">`+"\n", color)
			started = true
		}
		b.printf(`<circle cx="%s" cy="%s" r="%s"/>`+"\n", num(l.px(xs[i])), num(l.py(ys[i])), r)
	}
	if started {
		b.printf("</g>\n")
	}
}

// orderedUnique returns its arguments sorted, without repeats.
func orderedUnique(a ...int) []int {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
	out := a[:1]
	for _, v := range a[1:] {
		if v != out[len(out)-1] {
			out = append(out, v)
		}
	}
	return out
}

// num formats a pixel coordinate with at most two decimals.
func num(f float64) string {
	s := strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64)
	if s == "-0" {
		return "0"
	}
	return s
}

// esc escapes text for XML character data and attribute values.
func esc(s string) string {
	var sb strings.Builder
	for _, r := range s {
		switch {
		case r == '&':
			sb.WriteString("&amp;")
		case r == '<':
			sb.WriteString("&lt;")
		case r == '>':
			sb.WriteString("&gt;")
		case r == '"':
			sb.WriteString("&quot;")
		case r == '\t' || r == '\n' || r == '\r':
			sb.WriteByte(' ')
		case r < 0x20 || r == 0xFFFE || r == 0xFFFF || (r >= 0xD800 && r <= 0xDFFF):
			// Not allowed in XML 1.0 (or a decoding error): drop it.
		default:
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

// anyTrue reports whether any element of bs is true.
func anyTrue(bs []bool) bool { return countTrue(bs) > 0 }

func countTrue(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

func earliest(ts []time.Time) time.Time {
	m := ts[0]
	for _, t := range ts {
		if t.Before(m) {
			m = t
		}
	}
	return m
}

func latest(ts []time.Time) time.Time {
	m := ts[0]
	for _, t := range ts {
		if t.After(m) {
			m = t
		}
	}
	return m
}

// svgWriter remembers the first write error.
type svgWriter struct {
	w   *bufio.Writer
	err error
}

func (b *svgWriter) printf(format string, args ...any) {
	if b.err != nil {
		return
	}
	_, b.err = fmt.Fprintf(b.w, format, args...)
}
