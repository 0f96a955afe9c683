package anomaly

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Change-point detection.
//
// The series is modelled as piecewise linear (a level and a slope per
// segment) plus Gaussian noise of one common, unknown variance. The gain of a
// change point is a profile-likelihood ratio in "BIC units",
//
//	z = m·ln(RSS_without / RSS_with) / ln n,
//
// with m the number of points fitted: on this scale BIC charges 1 per
// parameter, so z counts how many parameters' worth of likelihood a change
// explains. The algorithm:
//
//  1. Seasonality. With a period p ≥ 2 the seasonal profile (per-phase median
//     of the series minus its centred moving average over one cycle) is
//     subtracted. A given period (PeriodSet) needs two cycles; otherwise
//     detectPeriod's answer needs four (a series with two or three level
//     shifts can look periodic) and is refined to p−1, p or p+1, whichever
//     leaves the smoothest series (an autocorrelation peak can be a point
//     off, which misaligns the profile over many cycles).
//  2. Candidates. Binary segmentation with exact least-squares line fits
//     (prefix sums, O(1) per fit) makes the best single split over all
//     segments while its gain is at least the candidate penalty; when no
//     single split qualifies, it looks for "pulses", pairs of splits around
//     a short middle part (up to 2·StableTrendWindow points, at most 24),
//     which a single split cannot isolate: a spike, or two jumps in quick
//     succession. Segments may be as short as 2 points.
//  3. Stable trend. A segment shorter than StableTrendWindow is a transient,
//     not a new trend: the change point that starts it is dropped and its
//     points are left out of all later fits. So a spike, a jump that is
//     undone within the window, or a jump followed by another jump within
//     the window is not flagged (the second jump is, if it starts a stable
//     trend and still differs from what came before), and a ramp over a few
//     points is reported where it ends. A change point with fewer than
//     StableTrendWindow points after it, or before it, is dropped too.
//  4. Backward elimination. Each remaining change point is tested against
//     its final neighbours a and b, and the weakest one is removed while its
//     gain is below the threshold's penalty. The gain is the larger of two
//     tests, each paying for its parameters as in BIC: a trend change (two
//     lines against a quadratic over [a, b), so that a smooth curve such as
//     population growth is not reported as a chain of trend changes) and a
//     level change (two means against a line over [a, b); it has one
//     parameter less than the trend test and is credited one BIC unit).
//  5. Scores. A change point's confidence is s(z) = 1 − 2^(−z/8), so the
//     default penalty z = 8 scores 0.5. Every other point gets the score of
//     the best split of its final segment at that point; a point dropped by
//     the stable-trend rule keeps its score from step 2, which may be high.
//     Scores within StableTrendWindow of a flagged point are capped just
//     below that point's score, so every flagged point is a local maximum.
//
// Threshold. A point is flagged only when it survives steps 3 and 4 and its
// confidence score is at least Threshold; equivalently its gain is at least
// 8·log2(1/(1−Threshold)). A higher threshold therefore flags fewer points;
// 1 flags none. The candidate penalty of step 2 is the threshold's penalty
// clamped to [4, 8] (scores 0.29 to 0.5): above the default the candidates
// stay fixed, so the flagged sets are nested as the threshold rises, and
// thresholds below 0.29 behave like 0.29 (a lower candidate penalty
// shatters the series into pieces shorter than any stable trend).
//
// The [ChangePointOptions] doc comment says that lower thresholds accept
// fewer change points, after Azure's documentation wording; the recorded
// Azure behaviour (at threshold 0.99 only points with score 1 are flagged)
// and this implementation flag fewer points at higher thresholds.
//
// Defaults: Threshold 0.5 and StableTrendWindow 5. On the 25 TCPD benchmark
// series (go run ./bench/tcpd) they give mean F1 0.797 and cover 0.710,
// against the best published defaults, binseg F1 0.690 and PELT cover
// 0.656. Every penalty from 6 to 12 with every window from 3 to 10 also
// beats both (TestTCPDSweep), so the defaults are not a knife-edge choice.
//
// Cost: O(n·(log k + w)) for the search and O(k·n) at worst for the
// elimination, k being the number of candidates; a few milliseconds for
// 8640 points, period detection included.

const (
	// DefaultChangePointThreshold is the threshold used when none is given.
	DefaultChangePointThreshold = 0.5
	// DefaultStableTrendWindow is the stable-trend window used when none is
	// given.
	DefaultStableTrendWindow = 5
	// cpHalfScore is the gain (BIC units) that scores 0.5, i.e. the penalty
	// of the default threshold.
	cpHalfScore = 8.0
	// cpMinSeg is the shortest segment binary segmentation may create.
	cpMinSeg = 2
	// cpCandZ is the largest penalty (BIC units) of the candidate search.
	cpCandZ = cpHalfScore
	// cpFloorZ is the smallest penalty of the candidate search.
	cpFloorZ = 4.0
	// cpMaxPulse bounds the middle part of a pulse candidate.
	cpMaxPulse = 24
	// cpMaxSplits bounds the number of splits binary segmentation makes.
	cpMaxSplits = 1000
)

// cpConfig holds the tunable parts of the detector.
type cpConfig struct {
	halfScore  float64 // gain scoring 0.5
	minSeg     int
	degree     int // 0: piecewise constant, 1: piecewise linear
	deseason   bool
	candZ      float64 // binary segmentation penalty, BIC units
	meanAlt    bool
	meanCredit float64
	quadNull   bool // compare a split with a quadratic over the merged segment
}

func defaultCPConfig() cpConfig {
	return cpConfig{halfScore: cpHalfScore, minSeg: cpMinSeg, degree: 1, deseason: true, quadNull: true, meanAlt: true, meanCredit: 1, candZ: cpCandZ}
}

// DetectChangePoints finds the points where the series' trend (level or
// slope) changes and scores every point's confidence in [0, 1]; see the
// algorithm description above. A flagged point is the first point of the new
// trend. StableTrendWindow 0 selects [DefaultStableTrendWindow]; without
// ThresholdSet the threshold is [DefaultChangePointThreshold]; without
// PeriodSet the period is detected. The result's Period is the given period,
// or the detected one that was removed (0 when none was).
//
// values must be finite; Threshold must be in [0, 1], StableTrendWindow and
// Period must not be negative. Any length is accepted (the API allows 12 to
// 8640 points); fewer than 4 points never have a change point. The answer is
// deterministic.
func DetectChangePoints(values []float64, opt ChangePointOptions) (*ChangePointResult, error) {
	return detectChangePoints(values, opt, defaultCPConfig())
}

func detectChangePoints(values []float64, opt ChangePointOptions, cfg cpConfig) (*ChangePointResult, error) {
	for i, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("anomaly: value %d is not finite", i)
		}
	}
	if opt.PeriodSet && opt.Period < 0 {
		return nil, errors.New("anomaly: period must not be negative")
	}
	if opt.StableTrendWindow < 0 {
		return nil, errors.New("anomaly: stableTrendWindow must not be negative")
	}
	thr := DefaultChangePointThreshold
	if opt.ThresholdSet {
		if !(opt.Threshold >= 0 && opt.Threshold <= 1) {
			return nil, errors.New("anomaly: threshold must be in [0, 1]")
		}
		thr = opt.Threshold
	}
	w := opt.StableTrendWindow
	if w == 0 {
		w = DefaultStableTrendWindow
	}
	n := len(values)
	w = min(w, n+1)
	res := &ChangePointResult{
		IsChangePoint:    make([]bool, n),
		ConfidenceScores: make([]float64, n),
	}
	if n == 0 {
		return res, nil
	}
	x := cpStandardise(values)
	// The period: as given, or detected. A detected period is used only
	// with at least four cycles (a series with two or three level shifts
	// can look periodic) and is reported as 0 otherwise; a given one is
	// reported as given and used with at least two cycles.
	period := opt.Period
	if !opt.PeriodSet {
		period = detectPeriod(values)
		if period >= 2 && n >= 4*period {
			period = cpRefinePeriod(x, period)
		} else {
			period = 0
		}
	}
	res.Period = period
	if cfg.deseason && period >= 2 && n >= 2*period {
		cpDeseason(x, period)
	}
	if n < 4 {
		return res, nil
	}
	d := newCPData(x, cfg.degree)
	d.quadNull = cfg.quadNull
	d.meanAlt = cfg.meanAlt
	d.meanCredit = cfg.meanCredit
	logn := math.Log(float64(max(n, 3)))
	d.logn = logn
	// Penalty in BIC units for the threshold; +Inf for threshold 1.
	pen := math.Inf(1)
	if thr < 1 {
		pen = cfg.halfScore * math.Log2(1/(1-thr))
	}
	minSeg := max(cfg.minSeg, cfg.degree+1)

	// Candidates: binary segmentation at the threshold's penalty, but at no
	// more than the default one (so that for thresholds above the default
	// the candidates are fixed and the flagged sets are nested) and no less
	// than cpFloorZ (below it the search shatters the series into pieces
	// shorter than any stable trend).
	maxPulse := min(max(2*w, 4), cpMaxPulse)
	candPen := max(min(pen, cfg.candZ), cpFloorZ)
	cps := d.binseg(minSeg, maxPulse, candPen*logn)
	// Scores of the raw split points, kept for the ones the stable-trend
	// rule drops: they are high but not flagged.
	raw := slices.Clone(cps)
	rawScore := make([]float64, len(raw))
	rawRSS := d.totalRSS(raw)
	for k, c := range raw {
		a, b := 0, n
		if k > 0 {
			a = raw[k-1]
		}
		if k+1 < len(raw) {
			b = raw[k+1]
		}
		delta := max(d.rss(a, b)-d.rss(a, c)-d.rss(c, b), 0)
		rawScore[k] = 1 - math.Exp2(-d.gain(rawRSS, delta)/logn/cfg.halfScore)
	}
	cps = d.stabilise(cps, w)
	cps = d.eliminate(cps, pen*logn)

	// Scores.
	rss := d.totalRSS(cps)
	scoreOf := func(g float64) float64 {
		return 1 - math.Exp2(-g/logn/cfg.halfScore)
	}
	score := func(delta float64) float64 { return scoreOf(d.gain(rss, delta)) }
	bounds := append(append([]int{0}, cps...), n)
	for k := 0; k+1 < len(bounds); k++ {
		a, b := bounds[k], bounds[k+1]
		full := d.nullRSS(a, b)
		for t := a + 1; t < b; t++ {
			if d.w[t] == 0 {
				continue
			}
			delta := full - d.rss(a, t) - d.rss(t, b)
			res.ConfidenceScores[t] = score(max(delta, 0))
		}
	}
	for k, c := range cps {
		a, b := bounds[k], bounds[k+2]
		s := scoreOf(d.changeGain(rss, a, c, b))
		res.ConfidenceScores[c] = s
		res.IsChangePoint[c] = s >= thr
	}
	for k, c := range raw {
		if !res.IsChangePoint[c] {
			res.ConfidenceScores[c] = max(res.ConfidenceScores[c], rawScore[k])
		}
	}
	for _, c := range cps {
		s := res.ConfidenceScores[c]
		capv := math.Nextafter(s, 0)
		for t := max(0, c-w); t <= min(n-1, c+w); t++ {
			if t != c && !res.IsChangePoint[t] && res.ConfidenceScores[t] > capv {
				res.ConfidenceScores[t] = capv
			}
		}
	}
	for i, s := range res.ConfidenceScores {
		if !(s >= 0) {
			res.ConfidenceScores[i] = 0
		} else if s > 1 {
			res.ConfidenceScores[i] = 1
		}
	}
	return res, nil
}

// cpStandardise returns (v − median)/scale, with the scale the standard
// deviation (1 for a constant series), so that the prefix sums below stay
// well conditioned for any finite input.
func cpStandardise(values []float64) []float64 {
	n := len(values)
	m := median(values)
	big := 0.0
	for _, v := range values {
		big = max(big, math.Abs(v-m))
	}
	x := make([]float64, n)
	if big == 0 || math.IsInf(big, 0) {
		// Constant series, or a spread that overflows: divide by the
		// largest magnitude instead.
		s := 0.0
		for _, v := range values {
			s = max(s, math.Abs(v))
		}
		if s == 0 {
			return x
		}
		for i, v := range values {
			x[i] = v/s - m/s
		}
		return x
	}
	ss := 0.0
	for _, v := range values {
		u := (v - m) / big
		ss += u * u
	}
	sd := math.Sqrt(ss/float64(n)) * big
	if !(sd > 0) || math.IsInf(sd, 0) {
		sd = big
	}
	for i, v := range values {
		x[i] = (v - m) / sd
	}
	return x
}

// cpRefinePeriod returns whichever of p-1, p and p+1 leaves the smallest
// sum of squared first differences after cpDeseason: an autocorrelation
// peak can be off by one point, and over many cycles that misaligns the
// seasonal profile.
func cpRefinePeriod(x []float64, p int) int {
	best, bestSS := p, math.Inf(1)
	y := make([]float64, len(x))
	for _, q := range []int{p, p - 1, p + 1} {
		if q < 2 || 2*q > len(x) {
			continue
		}
		copy(y, x)
		cpDeseasonBy(y, q, false)
		ss := 0.0
		for i := 1; i < len(y); i++ {
			d := y[i] - y[i-1]
			ss += d * d
		}
		if ss < bestSS {
			best, bestSS = q, ss
		}
	}
	return best
}

// cpDeseason subtracts from x, in place, its seasonal profile of period p:
// the per-phase median of x minus its centred moving average over one
// cycle, with the profile centred to mean zero.
func cpDeseason(x []float64, p int) { cpDeseasonBy(x, p, true) }

// cpDeseasonBy is cpDeseason with a per-phase median (robust) or, cheaper,
// mean.
func cpDeseasonBy(x []float64, p int, robust bool) {
	n := len(x)
	// Centred moving average over p points (p even: 2×p average).
	cs := make([]float64, n+1)
	for i, v := range x {
		cs[i+1] = cs[i] + v
	}
	h := p / 2
	trend := make([]float64, n)
	for i := range n {
		lo, hi := max(0, i-h), min(n, i+h+1)
		trend[i] = (cs[hi] - cs[lo]) / float64(hi-lo)
	}
	prof := make([]float64, p)
	buf := make([]float64, 0, n/p+1)
	for ph := range p {
		buf = buf[:0]
		for i := ph; i < n; i += p {
			if i >= h && i < n-h {
				buf = append(buf, x[i]-trend[i])
			}
		}
		if len(buf) == 0 {
			for i := ph; i < n; i += p {
				buf = append(buf, x[i]-trend[i])
			}
		}
		if robust {
			prof[ph] = median(buf)
			continue
		}
		sum := 0.0
		for _, v := range buf {
			sum += v
		}
		prof[ph] = sum / float64(len(buf))
	}
	mean := 0.0
	for _, v := range prof {
		mean += v
	}
	mean /= float64(p)
	for i := range x {
		x[i] -= prof[i%p] - mean
	}
}

// cpData holds weighted prefix sums for O(1) least-squares fits of a line
// (or a constant) to any range of the series. Points with weight 0 are left
// out of the fits.
type cpData struct {
	n      int
	degree int
	w      []float64
	x      []float64
	// Prefix sums over i < k of w, w·t, w·t², w·y, w·y², w·t·y, with t the
	// index.
	s0, s1, s2, y1, y2, ty []float64
	quadNull               bool    // see nullRSS
	meanAlt                bool    // see changeGain
	meanCredit             float64 // BIC units credited to the level-change test
	logn                   float64
	// floor is the smallest residual sum of squares per point, so a perfect
	// fit still has finite likelihood.
	floor float64
}

func newCPData(x []float64, degree int) *cpData {
	n := len(x)
	d := &cpData{n: n, degree: degree, x: x, w: make([]float64, n)}
	for i := range d.w {
		d.w[i] = 1
	}
	d.floor = 1e-9
	d.build()
	return d
}

func (d *cpData) build() {
	n := d.n
	if d.s0 == nil {
		d.s0, d.s1, d.s2 = make([]float64, n+1), make([]float64, n+1), make([]float64, n+1)
		d.y1, d.y2, d.ty = make([]float64, n+1), make([]float64, n+1), make([]float64, n+1)
	}
	for i, y := range d.x {
		w := d.w[i]
		t := float64(i)
		d.s0[i+1] = d.s0[i] + w
		d.s1[i+1] = d.s1[i] + w*t
		d.s2[i+1] = d.s2[i] + w*t*t
		d.y1[i+1] = d.y1[i] + w*y
		d.y2[i+1] = d.y2[i] + w*y*y
		d.ty[i+1] = d.ty[i] + w*t*y
	}
}

// rss returns the residual sum of squares of the least-squares fit to the
// points a..b-1.
func (d *cpData) rss(a, b int) float64 {
	s0 := d.s0[b] - d.s0[a]
	if s0 <= 0 {
		return 0
	}
	inv := 1 / s0
	y1 := d.y1[b] - d.y1[a]
	syy := (d.y2[b] - d.y2[a]) - y1*y1*inv
	if d.degree >= 1 && s0 > 1.5 {
		s1 := d.s1[b] - d.s1[a]
		stt := (d.s2[b] - d.s2[a]) - s1*s1*inv
		sty := (d.ty[b] - d.ty[a]) - s1*y1*inv
		if stt > 1e-9 {
			syy -= sty * sty / stt
		}
	}
	if !(syy > 0) {
		return 0
	}
	return syy
}

// rssMean returns the residual sum of squares of the mean of a..b-1.
func (d *cpData) rssMean(a, b int) float64 {
	s0 := d.s0[b] - d.s0[a]
	if s0 <= 0 {
		return 0
	}
	y1 := d.y1[b] - d.y1[a]
	return max((d.y2[b]-d.y2[a])-y1*y1/s0, 0)
}

// changeGain returns the gain of a change at c between the neighbours a and
// b, given the total residual sum of squares rss of the segmentation: the
// larger of two tests, each with its parameters paid for as in BIC.
//
//   - Trend change: two lines against a quadratic over [a, b) (against a
//     line when quadNull is off). Two lines have one parameter more than
//     the quadratic.
//   - Level change (meanAlt): two means against a line over [a, b); the
//     same number of parameters, so this test is credited the one BIC unit
//     (ln n) that the trend test pays for its extra parameter.
//
// Both pay the change-point penalty itself, which the caller compares the
// gain with.
func (d *cpData) changeGain(rss float64, a, c, b int) float64 {
	return d.gainOf(rss, d.changeDeltas(a, c, b))
}

// changeDeltas returns the residual-sum-of-squares reductions of the two
// tests of changeGain; they do not depend on the rest of the segmentation.
func (d *cpData) changeDeltas(a, c, b int) [2]float64 {
	lines := d.rss(a, c) + d.rss(c, b)
	out := [2]float64{max(d.nullRSS(a, b)-lines, 0), 0}
	if d.meanAlt {
		out[1] = max(d.rss(a, b)-d.rssMean(a, c)-d.rssMean(c, b), 0)
	}
	return out
}

// gainOf turns changeDeltas into the gain of changeGain.
func (d *cpData) gainOf(rss float64, deltas [2]float64) float64 {
	g := d.gain(rss, deltas[0])
	if deltas[1] > 0 {
		g = max(g, d.gain(rss, deltas[1])+d.meanCredit*d.logn)
	}
	return g
}

// totalRSS returns the residual sum of squares of the segmentation cps.
func (d *cpData) totalRSS(cps []int) float64 {
	r := 0.0
	a := 0
	for _, c := range cps {
		r += d.rss(a, c)
		a = c
	}
	return r + d.rss(a, d.n)
}

// gain returns the log-likelihood gain (profile likelihood with a common
// unknown variance) of reducing the residual sum of squares from rss+delta
// to rss: m·ln((rss+delta)/rss) with m the number of fitted points.
func (d *cpData) gain(rss, delta float64) float64 {
	m := d.s0[d.n]
	fl := d.floor * max(m, 1)
	return m * math.Log((rss+delta+fl)/(rss+fl))
}

// bestSplit returns the split of [a, b) that most reduces the residual sum
// of squares, both parts holding at least minSeg points, and that
// reduction; t < 0 when there is none.
func (d *cpData) bestSplit(a, b, minSeg int) (int, float64) {
	full := d.rss(a, b)
	best, bestDelta := -1, 0.0
	for t := a + minSeg; t <= b-minSeg; t++ {
		delta := full - d.rss(a, t) - d.rss(t, b)
		if delta > bestDelta {
			best, bestDelta = t, delta
		}
	}
	return best, bestDelta
}

// bestPulse returns the pair t1 < t2 = t1+ℓ (1 ≤ ℓ ≤ maxLen) that splits
// [a, b) into three parts, the outer two of at least minSeg points, with the
// largest reduction of the residual sum of squares, and that reduction; t1 <
// 0 when there is none. A single split cannot isolate a short burst (a spike
// or a brief shift) in the middle of a long segment, a pair can.
func (d *cpData) bestPulse(a, b, minSeg, maxLen int) (int, int, float64) {
	lo, hi := a+minSeg, b-minSeg // t1 ≥ lo, t2 ≤ hi
	if hi-lo < 1 {
		return -1, -1, 0
	}
	full := d.rss(a, b)
	// right[t-lo] = rss(t, b) for the possible t2.
	right := make([]float64, hi-lo+1)
	for t := lo + 1; t <= hi; t++ {
		right[t-lo] = d.rss(t, b)
	}
	b1, b2, bestDelta := -1, -1, 0.0
	for t1 := lo; t1 < hi; t1++ {
		base := full - d.rss(a, t1)
		for t2 := t1 + 1; t2 <= min(t1+maxLen, hi); t2++ {
			delta := base - d.rss(t1, t2) - right[t2-lo]
			if delta > bestDelta {
				b1, b2, bestDelta = t1, t2, delta
			}
		}
	}
	return b1, b2, bestDelta
}

// binseg runs binary segmentation and returns the sorted change points.
// While some segment's best single split gains at least pen, the best such
// split is made. When none is left, each segment's best pulse (pair of
// splits around a short middle part, see bestPulse) is considered, and the
// best one that gains at least 2·pen and pen more than the segment's single
// split is made; the search then goes on. Pulses are searched once per
// segment and only when single splits are exhausted, which keeps the cost
// near O(n·(log k + maxPulse)).
func (d *cpData) binseg(minSeg, maxPulse int, pen float64) []int {
	type seg struct {
		a, b       int
		t          int // best single split, -1 if none
		delta      float64
		pulsed     bool // the pulse search has run
		p1, p2     int  // best pulse, p1 = -1 if none
		pulseDelta float64
	}
	mk := func(a, b int) seg {
		s := seg{a: a, b: b, p1: -1, p2: -1}
		s.t, s.delta = d.bestSplit(a, b, minSeg)
		return s
	}
	segs := []seg{mk(0, d.n)}
	rss := d.rss(0, d.n)
	var cps []int
	for len(cps) < cpMaxSplits {
		bi, best := -1, 0.0
		for i, s := range segs {
			if s.t < 0 {
				continue
			}
			if g := d.gain(max(rss-s.delta, 0), s.delta); g >= pen && (bi < 0 || g > best) {
				bi, best = i, g
			}
		}
		if bi >= 0 {
			s := segs[bi]
			rss = max(rss-s.delta, 0)
			cps = append(cps, s.t)
			segs[bi] = mk(s.a, s.t)
			segs = append(segs, mk(s.t, s.b))
			continue
		}
		if maxPulse <= 0 {
			break
		}
		for i := range segs {
			s := &segs[i]
			if !s.pulsed {
				// No split can reduce the residual sum of squares by more
				// than the segment's own; skip the search while even that
				// would not pay for a pulse (rss only falls, so the bound is
				// re-checked in later rounds).
				full := d.rss(s.a, s.b)
				if d.gain(max(rss-full, 0), full) < 2*pen {
					continue
				}
				s.pulsed = true
				s.p1, s.p2, s.pulseDelta = d.bestPulse(s.a, s.b, minSeg, maxPulse)
			}
			if s.p1 < 0 {
				continue
			}
			g1 := 0.0
			if s.t >= 0 {
				g1 = d.gain(max(rss-s.delta, 0), s.delta)
			}
			g2 := d.gain(max(rss-s.pulseDelta, 0), s.pulseDelta)
			if g2 >= 2*pen && g2-g1 >= pen && (bi < 0 || g2 > best) {
				bi, best = i, g2
			}
		}
		if bi < 0 {
			break
		}
		s := segs[bi]
		rss = max(rss-s.pulseDelta, 0)
		cps = append(cps, s.p1, s.p2)
		segs[bi] = mk(s.a, s.p1)
		segs = append(segs, mk(s.p1, s.p2), mk(s.p2, s.b))
	}
	slices.Sort(cps)
	return cps
}

// stabilise applies the stable-trend rule: a segment shorter than w is a
// transient; the change point that starts it is dropped and its points get
// weight 0. A last segment shorter than w drops its change point but keeps
// its points.
func (d *cpData) stabilise(cps []int, w int) []int {
	if len(cps) == 0 {
		return cps
	}
	changed := false
	var out []int
	for k, c := range cps {
		next := d.n
		if k+1 < len(cps) {
			next = cps[k+1]
		}
		if next-c >= w {
			out = append(out, c)
			continue
		}
		if next < d.n {
			for t := c; t < next; t++ {
				d.w[t] = 0
				changed = true
			}
		}
	}
	if len(out) > 0 && out[0] < w {
		// The first segment is too short to be a trend: treat it as a
		// transient too.
		for t := 0; t < out[0]; t++ {
			d.w[t] = 0
			changed = true
		}
		out = out[1:]
	}
	if changed {
		d.build()
	}
	return out
}

// eliminate removes, one at a time, the change point with the smallest gain
// against its neighbours while that gain is below pen. Gains are cached and
// only the neighbours of a removed point are re-scored, so a pass costs
// O(k² + k·n) for k change points in the worst case and far less in practice.
func (d *cpData) eliminate(cps []int, pen float64) []int {
	if len(cps) == 0 {
		return cps
	}
	bound := func(i int) int { // cps[i] with sentinels 0 and n
		switch {
		case i < 0:
			return 0
		case i >= len(cps):
			return d.n
		}
		return cps[i]
	}
	deltas := make([][2]float64, len(cps))
	for i := range cps {
		deltas[i] = d.changeDeltas(bound(i-1), cps[i], bound(i+1))
	}
	rss := d.totalRSS(cps)
	for len(cps) > 0 {
		// Gains depend on rss, which every removal raises, so they are
		// recomputed from the cached deltas; only the neighbours of a
		// removed point need new deltas.
		worst, worstGain := -1, 0.0
		for i := range cps {
			if g := d.gainOf(rss, deltas[i]); worst < 0 || g < worstGain {
				worst, worstGain = i, g
			}
		}
		if worstGain >= pen {
			break
		}
		a, c, b := bound(worst-1), cps[worst], bound(worst+1)
		rss = max(rss-d.rss(a, c)-d.rss(c, b)+d.rss(a, b), 0)
		cps = slices.Delete(cps, worst, worst+1)
		deltas = slices.Delete(deltas, worst, worst+1)
		if worst-1 >= 0 {
			deltas[worst-1] = d.changeDeltas(bound(worst-2), cps[worst-1], bound(worst))
		}
		if worst < len(cps) {
			deltas[worst] = d.changeDeltas(bound(worst-1), cps[worst], bound(worst+1))
		}
	}
	return cps
}

// nullRSS returns the residual sum of squares of the model a split of
// [a, b) is tested against: a quadratic when quadNull is set (so a smooth
// curve is not mistaken for a chain of trend changes), else a line.
func (d *cpData) nullRSS(a, b int) float64 {
	lin := d.rss(a, b)
	if !d.quadNull || d.degree < 1 || d.s0[b]-d.s0[a] < 5 {
		return lin
	}
	// Fit y = c0 + c1·u + c2·u² with u = (t − mid)/half over the weighted
	// points, by the normal equations in local coordinates.
	mid := float64(a+b-1) / 2
	half := max(float64(b-1-a)/2, 1)
	var m [3][4]float64
	yy := 0.0
	for t := a; t < b; t++ {
		w := d.w[t]
		if w == 0 {
			continue
		}
		u := (float64(t) - mid) / half
		y := d.x[t]
		u2 := u * u
		m[0][0] += w
		m[0][1] += w * u
		m[0][2] += w * u2
		m[1][2] += w * u2 * u
		m[2][2] += w * u2 * u2
		m[0][3] += w * y
		m[1][3] += w * u * y
		m[2][3] += w * u2 * y
		yy += w * y * y
	}
	m[1][0], m[1][1], m[2][0], m[2][1] = m[0][1], m[0][2], m[0][2], m[1][2]
	rhs := [3]float64{m[0][3], m[1][3], m[2][3]}
	var c [3]float64
	if !solve3(&m, &c) {
		return lin
	}
	// RSS = Σy² − cᵀ(Xᵀy) at the least-squares solution.
	r := yy - (c[0]*rhs[0] + c[1]*rhs[1] + c[2]*rhs[2])
	if !(r > 0) {
		r = 0
	}
	return min(r, lin)
}

// solve3 solves the 3×3 system in the augmented matrix m by Gaussian
// elimination with partial pivoting; it reports false when m is (nearly)
// singular.
func solve3(m *[3][4]float64, c *[3]float64) bool {
	scale := max(math.Abs(m[0][0]), math.Abs(m[1][1]), math.Abs(m[2][2]))
	if !(scale > 0) {
		return false
	}
	for col := range 3 {
		p := col
		for r := col + 1; r < 3; r++ {
			if math.Abs(m[r][col]) > math.Abs(m[p][col]) {
				p = r
			}
		}
		if math.Abs(m[p][col]) <= 1e-12*scale {
			return false
		}
		m[col], m[p] = m[p], m[col]
		for r := col + 1; r < 3; r++ {
			f := m[r][col] / m[col][col]
			for k := col; k < 4; k++ {
				m[r][k] -= f * m[col][k]
			}
		}
	}
	for i := 2; i >= 0; i-- {
		v := m[i][3]
		for k := i + 1; k < 3; k++ {
			v -= m[i][k] * c[k]
		}
		c[i] = v / m[i][i]
	}
	return true
}
