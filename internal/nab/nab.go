// Package nab scores anomaly detectors by the rules of the Numenta Anomaly
// Benchmark (NAB v1.1), written from NAB's published scoring description.
//
// A detector emits one anomaly score in [0, 1] per data row. A single
// threshold per detector and profile, shared by the whole corpus, turns
// scores into detections (score >= threshold). Each file is scored as
// follows:
//
//   - The first min(floor(0.15*N), 750) rows (the probationary period) are
//     ignored.
//   - A detection inside a label window is worth tp*σ(pos)/0.98661, where pos runs
//     from -1 at the window's left edge towards 0 at its right edge and
//     σ(x) = 2/(1+e^{5x}) - 1 is the scaled sigmoid (σ(-1) ≈ 0.98661). Only the best (the
//     earliest) detection in a window counts. A window without a detection
//     costs -fn.
//   - A detection outside every window costs fp*σ(d), where d ≥ 0 is its
//     distance past the previous window's right edge in units of that
//     window's width (σ is -1 for d > 3), or -fp before the first window.
//
// The raw corpus score is the sum over files; [Normalize] maps it to 0 for
// the null detector (which never fires) and 100 for a perfect one.
// [Corpus.Optimize] tunes the threshold over every distinct score value on
// the pooled corpus, as NAB's sweeper does.
package nab

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"
)

// CostMatrix holds a profile's weights for true positives, false positives
// and false negatives. All weights are positive; false positives and false
// negatives subtract.
type CostMatrix struct {
	TP float64 `json:"tpWeight"`
	FP float64 `json:"fpWeight"`
	FN float64 `json:"fnWeight"`
	TN float64 `json:"tnWeight"`
}

// Window is one label window, inclusive at both ends.
type Window struct {
	Start, End time.Time
}

// File is one data file's detector output together with its label windows.
type File struct {
	// Name is "<category>/<name>.csv", the key used in the label files.
	Name       string
	Timestamps []time.Time
	Scores     []float64
	Windows    []Window
}

// ProbationaryLength returns the number of leading rows of an n-row file that
// NAB ignores: min(floor(0.15*n), 0.15*5000).
func ProbationaryLength(n int) int {
	return min(int(math.Floor(0.15*float64(n))), 750)
}

// ScaledSigmoid is NAB's weighting function: 2/(1+e^{5x}) - 1 for x ≤ 3 and
// -1 for x > 3. It is about 0.987 at x = -1, 0 at x = 0 and tends to -1 as x
// grows.
func ScaledSigmoid(x float64) float64 {
	if x > 3 {
		return -1
	}
	return 2/(1+math.Exp(5*x)) - 1
}

// tpScale is σ(-1) as NAB rounds it: a detection at a window's left edge is
// worth exactly tp.
const tpScale = 0.98661

// point is one scored row after the probationary period.
type point struct {
	score  float64 // detector output
	weight float64 // unweighted NAB value σ(...) of a detection here
	window int     // corpus-wide window id, or -1 outside every window
}

// Corpus is a set of files prepared for scoring. It keeps only what scoring
// needs, so scoring many thresholds or profiles is cheap.
type Corpus struct {
	points     []point
	numWindows int
	sorted     []point // points by descending score; built lazily
}

// NewCorpus prepares files for scoring. Every file must have one score per
// timestamp, and both bounds of each window must be timestamps of the file.
func NewCorpus(files []File) (*Corpus, error) {
	c := &Corpus{}
	for _, f := range files {
		if err := c.add(f); err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
	}
	return c, nil
}

// NumWindows returns the number of label windows in the corpus.
func (c *Corpus) NumWindows() int { return c.numWindows }

// NumPoints returns the number of scored rows (after probationary periods).
func (c *Corpus) NumPoints() int { return len(c.points) }

func (c *Corpus) add(f File) error {
	n := len(f.Timestamps)
	if len(f.Scores) != n {
		return fmt.Errorf("%d timestamps but %d scores", n, len(f.Scores))
	}
	for i, s := range f.Scores {
		if math.IsNaN(s) {
			return fmt.Errorf("row %d: score is NaN", i+1)
		}
	}
	// NAB locates a window by the first row whose timestamp equals each
	// bound. A few NAB files repeat timestamps (clock changes), so rows are
	// walked in file order exactly as NAB does rather than by binary search.
	first := func(t time.Time) int {
		for i, x := range f.Timestamps {
			if x.Equal(t) {
				return i
			}
		}
		return -1
	}
	type span struct {
		start, end time.Time
		hi, width  int
	}
	spans := make([]span, 0, len(f.Windows))
	for _, w := range f.Windows {
		lo, hi := first(w.Start), first(w.End)
		if lo < 0 || hi < 0 || hi < lo {
			return fmt.Errorf("window %s..%s: bounds are not rows of the file", FormatTime(w.Start), FormatTime(w.End))
		}
		spans = append(spans, span{w.Start, w.End, hi, hi - lo + 1})
	}

	prob := ProbationaryLength(n)
	next := 0              // index of the current (next unfinished) window
	prevHi, prevW := -1, 0 // previous window's right edge and width
	for i, t := range f.Timestamps {
		p := point{score: f.Scores[i], window: -1}
		if next < len(spans) && !t.Before(spans[next].start) {
			s := spans[next]
			p.window = c.numWindows + next
			p.weight = ScaledSigmoid(-float64(s.hi-i+1)/float64(s.width)) / tpScale
			if t.Equal(s.end) {
				prevHi, prevW = s.hi, s.width
				next++
			}
		} else if prevHi < 0 {
			p.weight = -1
		} else {
			d := math.Abs(float64(prevHi - i))
			if prevW > 1 {
				d /= float64(prevW - 1)
			} else {
				d = math.Inf(1)
			}
			p.weight = ScaledSigmoid(d)
		}
		if i >= prob {
			c.points = append(c.points, p)
		}
	}
	c.numWindows += len(spans)
	c.sorted = nil
	return nil
}

// Result is the outcome of scoring a corpus at one threshold.
type Result struct {
	Threshold float64
	Raw       float64 // sum of the weighted TP, FP and FN contributions
	TP        int     // windows with at least one detection
	FN        int     // windows without a detection
	FP        int     // detections outside every window
}

// Score scores the corpus at threshold: a row is a detection when its
// score is >= threshold.
func (c *Corpus) Score(cost CostMatrix, threshold float64) Result {
	r := Result{Threshold: threshold}
	best := make([]float64, c.numWindows)
	hit := make([]bool, c.numWindows)
	for _, p := range c.points {
		if p.score < threshold {
			continue
		}
		if p.window < 0 {
			r.FP++
			r.Raw += cost.FP * p.weight
			continue
		}
		if !hit[p.window] || p.weight > best[p.window] {
			best[p.window] = p.weight
		}
		hit[p.window] = true
	}
	for w := range best {
		if hit[w] {
			r.TP++
			r.Raw += cost.TP * best[w]
		} else {
			r.FN++
			r.Raw -= cost.FN
		}
	}
	return r
}

// Optimize returns the threshold with the best raw score, trying every
// distinct score value of the pooled corpus (and "never fire", reported as
// threshold +Inf). Ties go to the higher threshold.
func (c *Corpus) Optimize(cost CostMatrix) Result {
	if c.sorted == nil {
		c.sorted = slices.Clone(c.points)
		slices.SortStableFunc(c.sorted, func(a, b point) int { return cmp.Compare(b.score, a.score) })
	}
	best := make([]float64, c.numWindows)
	hit := make([]bool, c.numWindows)
	tp, fp := 0.0, 0.0
	nTP, nFP := 0, 0
	fn := float64(c.numWindows)
	bestR := Result{Threshold: math.Inf(1), Raw: -cost.FN * fn, FN: c.numWindows}
	for i, p := range c.sorted {
		switch {
		case p.window < 0:
			fp += cost.FP * p.weight
			nFP++
		case !hit[p.window]:
			hit[p.window] = true
			best[p.window] = p.weight
			tp += cost.TP * p.weight
			fn--
			nTP++
		case p.weight > best[p.window]:
			tp += cost.TP * (p.weight - best[p.window])
			best[p.window] = p.weight
		}
		if i+1 < len(c.sorted) && c.sorted[i+1].score == p.score {
			continue
		}
		raw := tp + fp - cost.FN*fn
		if raw > bestR.Raw {
			bestR = Result{Threshold: p.score, Raw: raw, TP: nTP, FN: c.numWindows - nTP, FP: nFP}
		}
	}
	return bestR
}

// NullRaw returns the raw score of the null detector, which never fires:
// every window is a false negative.
func (c *Corpus) NullRaw(cost CostMatrix) float64 {
	return -cost.FN * float64(c.numWindows)
}

// PerfectRaw returns the raw score that normalizes to 100: tp per window.
func (c *Corpus) PerfectRaw(cost CostMatrix) float64 {
	return cost.TP * float64(c.numWindows)
}

// Normalize maps a raw corpus score to NAB's normalized scale:
// 100*(raw-null)/(perfect-null).
func (c *Corpus) Normalize(cost CostMatrix, raw float64) float64 {
	null, perfect := c.NullRaw(cost), c.PerfectRaw(cost)
	return 100 * (raw - null) / (perfect - null)
}
