package anomaly

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"sync/atomic"
)

// Detection design
//
//  1. Scale the series by max|v| so no later step can overflow; every
//     output is scaled back at the end.
//  2. Period: the given one, or [detectPeriod] (autocorrelation).
//  3. Robust model ([fitSeries]): with a period (and ≥ 2 cycles), a
//     per-phase median seasonal profile of the series minus its cycle mean;
//     the deseasonalised series gets a running-median level, lightly
//     smoothed. expected = level + seasonal. The level's window is 81
//     points when the series holds at least 162 and its level does not
//     curve at that scale by more than the noise ([wideFits]); otherwise
//     21. A centred median follows any anomaly longer than half its
//     window from its first point, so with 21 points a level shift of 11
//     points or more was not an anomaly at its onset; 81 keeps segments of
//     up to about 40 points anomalous, while series whose level moves
//     faster than that (an undetected cycle) keep the narrow window.
//  4. Residual z-score z = |v − expected| / σ_i, with σ_i the larger of a
//     local mean absolute residual and a global, tail-aware robust scale
//     (max of 1.4826·MAD and the 95th percentile of |resid| / 1.96), never
//     below 0.1 % of the series' 1–99 % spread.
//  5. Spectral-residual ratio sr (|S − mean S| / mean S, [srRawScores]).
//  6. Score = z^0.8 · (sr·3.75/3)^0.2 ([combineScore]); a point is flagged
//     when the score exceeds 3.75 at sensitivity 99, rising geometrically
//     to 4.31 at sensitivity 70 ([sensitivityThreshold]).
//     maxAnomalyRatio keeps the highest scores.
//  7. Margins follow the API version ([MarginStyle]); a flagged point stays
//     an anomaly only if it lies outside its band.
//
// On a series of 256 points or more a call hands part of its work to a
// helper on a second core when one is free ([helper]): the SR saliency
// map from the start (it needs only the scaled values) and then halves of
// the independent steps. Every step does the same arithmetic wherever it
// runs, so the answers do not depend on the number of cores.
//
// Last-point detection fits the same model to the points before the last
// one and predicts the last value causally ([causalForecast]); its error
// scale is measured on one-step-ahead errors of the same predictor.
//
// The single configuration ([defaultConfig]) was chosen on the NAB corpus
// (entire mode, label windows as events) and on synthetic Yahoo-A2/A3-like
// series with labelled spikes and segments; see eval_test.go
// (VIGIL_EVAL=1). It beats plain SR (ratio > 3) on both at sensitivities
// 99, 90 and 70. The wide level window was added after bench/srcnn (the
// SR-CNN paper's delay-adjusted point F1 on a second, independently
// written synthetic corpus) showed plain SR ahead there (F1 0.399 against
// 0.317 at the best sensitivity, seed 1): temporary level shifts of 8–40
// points were followed by the 21-point median. With it: 0.787 (seed 1)
// and 0.589 (seed 2) against plain SR's 0.399 and 0.339; the first
// harness's mean F1 0.821 before and after; last detect F1 0.52–0.55 →
// 0.57–0.62. The curvature bound (1× the noise) was chosen among 0.25,
// 0.5, 1 and 2, which gave 0.65, 0.79, 0.81 and 0.81 on seed 1.

// minScoreThreshold is below every threshold sensitivityThreshold can
// return for the default configuration (3.73 at sensitivity 100).
const minScoreThreshold = 3.0

// minPoints is the smallest series the detectors accept.
const minPoints = 12

// defaultMaxAnomalyRatio is used when Options.MaxAnomalyRatio is 0.
const defaultMaxAnomalyRatio = 0.25

// errTooShort and friends are returned for input the caller should have
// rejected already.
var (
	errTooShort    = errors.New("anomaly: series needs at least 12 points")
	errNotFinite   = errors.New("anomaly: series has a non-finite value")
	errSensitivity = errors.New("anomaly: sensitivity must be in [0, 100]")
	errRatio       = errors.New("anomaly: maxAnomalyRatio must be in [0, 1)")
	errPeriod      = errors.New("anomaly: period must not be negative")
)

// prepared is the validated, scaled input shared by both detectors.
type prepared struct {
	x      []float64 // values / scale
	scale  float64   // > 0
	period int
	ratio  float64
}

// prepare validates and scales values and sets the period (the given one
// or the detected one).
func prepare(ar *arena, values []float64, opt Options) (*prepared, error) {
	p, err := prepareValues(ar, values, opt)
	if err != nil {
		return nil, err
	}
	p.setPeriod(ar, opt)
	return p, nil
}

// prepareValues is prepare without the period (left 0 for setPeriod).
func prepareValues(ar *arena, values []float64, opt Options) (*prepared, error) {
	if len(values) < minPoints {
		return nil, errTooShort
	}
	// One pass checks that every value is finite (|v| ≤ MaxFloat64 is
	// false for NaN and ±Inf) and finds max|v|.
	scale := 0.0
	for i, v := range values {
		a := math.Abs(v)
		if !(a <= math.MaxFloat64) {
			return nil, fmt.Errorf("%w (index %d)", errNotFinite, i)
		}
		if a > scale {
			scale = a
		}
	}
	if !(opt.Sensitivity >= 0 && opt.Sensitivity <= 100) {
		return nil, errSensitivity
	}
	ratio := opt.MaxAnomalyRatio
	if ratio == 0 {
		ratio = defaultMaxAnomalyRatio
	}
	if !(ratio > 0 && ratio < 1) {
		return nil, errRatio
	}
	p := &prepared{scale: scale, ratio: ratio}
	if p.scale == 0 {
		p.scale = 1
	}
	p.x = ar.scratch(len(values))
	for i, v := range values {
		p.x[i] = v / p.scale
	}
	if opt.PeriodSet && opt.Period < 0 {
		return nil, errPeriod
	}
	return p, nil
}

// setPeriod sets p.period to the given period or detects it.
func (p *prepared) setPeriod(ar *arena, opt Options) {
	if opt.PeriodSet {
		p.period = opt.Period
	} else {
		p.period = periodOf(ar, p.x)
	}
}

// DetectEntire detects anomalies over a whole series. values holds at least
// 12 finite values. See the package design notes above for the method.
// Options.MaxAnomalyRatio 0 means the API default 0.25.
func DetectEntire(values []float64, opt Options) (*EntireResult, error) {
	ar := getArena()
	defer putArena(ar)
	pr, err := prepareValues(ar, values, opt)
	if err != nil {
		return nil, err
	}
	// The SR ratios depend on the scaled values only: they are computed on
	// a second core while the period is detected and the model fitted.
	sr := startSR(ar, pr.x)
	defer sr.release(ar)
	pr.setPeriod(ar, opt)
	return detectEntireSR(ar, pr, opt, &defaultConfig, sr), nil
}

// parMin is the series length from which a call uses a second core (see
// [helper]); below it the SR ratios take less time than handing them
// over.
const parMin = 256

// srJob is an SR computation ([srMapOf]) running on a call's helper.
type srJob struct {
	h    *helper
	sr   srMap
	done atomic.Bool
}

// startSR gives ar a helper when the series is long enough and a second
// core is free, and starts computing srMapOf(x) on it; x must not
// change until the job is released. It returns nil (compute the ratios in
// line) without a helper.
func startSR(ar *arena, x []float64) *srJob {
	if !defaultConfig.useSR || len(x) < parMin {
		return nil
	}
	if ar.par = newHelper(); ar.par == nil {
		return nil
	}
	j := &srJob{h: ar.par}
	ar.par.post(ar, func(har *arena) {
		j.sr = srMapOf(har, x)
		j.done.Store(true)
	})
	return j
}

// wait returns the SR map once it is ready. It lives in the helper's
// arena: do not use it after release.
func (j *srJob) wait() *srMap {
	for spins := 1; !j.done.Load(); spins++ {
		if !j.h.busy() {
			// The job has ended: wait raises its panic here if it had
			// one.
			j.h.wait()
			if !j.done.Load() {
				panic("anomaly: SR job ended without a result")
			}
			break
		}
		pause(spins)
	}
	return &j.sr
}

// release waits for the job and closes the helper of ar. A nil job does
// nothing.
func (j *srJob) release(ar *arena) {
	if j == nil {
		return
	}
	ar.par.close()
	ar.par = nil
}

// combineScore merges the residual z-score and the SR ratio of a point
// into the score compared with the sensitivity threshold thr: by default
// the weighted geometric mean z^0.8·(sr·τz/τsr)^0.2, where the SR ratio is
// first put on the z scale (its own threshold τsr = 3 maps to τz). A point
// needs a large residual and some spectral saliency; the evaluation showed
// this cuts false alarms on real data compared with either score alone.
//
// The weighted geometric mean is at most the weighted arithmetic mean, so
// when the arithmetic mean does not pass thr (with a margin a billion
// times any rounding of the powers) the point cannot be flagged, and the
// arithmetic mean stands in for the score without the two powers. Only
// the scores of flagged points are compared with each other (to keep the
// highest under maxAnomalyRatio), so the answers are those of the exact
// score.
func combineScore(z, sr float64, cfg *modelConfig, thr float64) float64 {
	if !cfg.useSR {
		return z
	}
	if !cfg.useResid {
		return cfg.srWeight * sr * cfg.thresh99 / srRawThresh
	}
	switch cfg.combine {
	case 0:
		return max(z, cfg.srWeight*sr)
	default:
		a := cfg.srWeight * sr * cfg.thresh99 / srRawThresh
		am := cfg.zWeight*z + (1-cfg.zWeight)*a
		if max(z, a) <= minScoreThreshold || am <= thr*(1-1e-9) {
			return am
		}
		return finiteOr(math.Pow(z, cfg.zWeight)*math.Pow(a, 1-cfg.zWeight), 0)
	}
}

func detectEntire(ar *arena, pr *prepared, opt Options, cfg *modelConfig) *EntireResult {
	return detectEntireSR(ar, pr, opt, cfg, nil)
}

// detectEntireSR is detectEntire with the SR ratios from job (nil: computed
// in line). After the fit every point is judged on its own, so with a
// helper the two halves are judged on two cores ([splitRange]); only the
// maxAnomalyRatio cap looks at all points at once.
func detectEntireSR(ar *arena, pr *prepared, opt Options, cfg *modelConfig, job *srJob) *EntireResult {
	x := pr.x
	n := len(x)
	f := fitSeries(ar, x, pr.period, cfg, opt.Style != StyleV10)
	thr := sensitivityThreshold(opt.Sensitivity, cfg)
	var sr *srMap
	if cfg.useSR {
		if job != nil {
			sr = job.wait()
		} else {
			m := srMapOf(ar, x)
			sr = &m
		}
	}
	sc := ar.scratch(n)
	flagged := make([]bool, n)
	// The result (its allocation is the largest of the call) and the
	// scores of the second half on the helper, the scores of the first
	// half here. u is the level of the GA margins and of the severities of
	// both v1.1 styles, computed with the fit.
	u := f.gaLevel
	var res *EntireResult
	lo := x[0]
	both(ar, func(*arena) {
		res = &EntireResult{
			Period:            pr.period,
			ExpectedValues:    make([]float64, n),
			UpperMargins:      make([]float64, n),
			LowerMargins:      make([]float64, n),
			Severity:          make([]float64, n),
			IsAnomaly:         make([]bool, n),
			IsPositiveAnomaly: make([]bool, n),
			IsNegativeAnomaly: make([]bool, n),
		}
		score(n/2, n, sc, flagged, f, sr, thr, cfg)
	}, func() {
		for _, v := range x {
			lo = min(lo, v)
		}
		score(0, n/2, sc, flagged, f, sr, thr, cfg)
	})
	splitRange(ar, n, func(a, b int) { judge(a, b, x, flagged, f, lo, u, opt, pr.scale, res) })
	capAnomalies(res.IsAnomaly, sc, int(math.Floor(pr.ratio*float64(n))))
	splitRange(ar, n, func(a, b int) { finish(a, b, x, flagged, f, u, pr.scale, opt.Style, res) })
	if opt.Style == StyleV10 {
		res.Severity = nil
	}
	return res
}

// score sets the score sc[i] of points a..b-1 and flagged[i] when it
// exceeds thr.
func score(a, b int, sc []float64, flagged []bool, f *fit, sr *srMap, thr float64, cfg *modelConfig) {
	if cfg.useResid && cfg.useSR && cfg.combine == 1 {
		scoreGeo(a, b, sc, flagged, f, sr, thr, cfg)
		return
	}
	for i := a; i < b; i++ {
		z := 0.0
		if cfg.useResid {
			z = finiteOr(math.Abs(f.resid[i])/f.sigma[i], 0)
		}
		if cfg.useSR {
			z = combineScore(z, sr.ratio(i), cfg, thr)
		}
		sc[i] = z
		flagged[i] = z > thr
	}
}

// scoreGeo is score for the default combination (the weighted geometric
// mean): combineScore and srMap.ratio written out in the loop, with the
// same operations in the same order, so that the per-point calls and the
// re-reading of the configuration do not cost more than the arithmetic.
func scoreGeo(a, b int, sc []float64, flagged []bool, f *fit, sr *srMap, thr float64, cfg *modelConfig) {
	resid, sigma := f.resid[a:b], f.sigma[a:b]
	sal, avg := sr.sal[a:b], sr.avg[a:b]
	sc, flagged = sc[a:b], flagged[a:b]
	sigma, sal, avg = sigma[:len(resid)], sal[:len(resid)], avg[:len(resid)]
	sc, flagged = sc[:len(resid)], flagged[:len(resid)]
	hi := max(sr.hi, srEps)
	w, t99, zw := cfg.srWeight, cfg.thresh99, cfg.zWeight
	aw := 1 - zw
	thrM := thr * (1 - 1e-9)
	for k, r := range resid {
		z := finiteOr(math.Abs(r)/sigma[k], 0)
		d := min(max(avg[k], srEps), hi)
		ratio := finiteOr(math.Abs(sal[k]-avg[k])/d, 0)
		x := w * ratio * t99 / srRawThresh
		v := zw*z + aw*x
		if max(z, x) > minScoreThreshold && v > thrM {
			v = finiteOr(math.Pow(z, zw)*math.Pow(x, aw), 0)
		}
		sc[k] = v
		flagged[k] = v > thr
	}
}

// judge sets the margins and IsAnomaly of points a..b-1 in res: a flagged
// point is an anomaly when it lies outside its band. lo is the series'
// minimum and u the GA level (nil for v1.0). A point that is not flagged
// is not an anomaly whatever the cap does, so its answer is completed
// here ([finish] does the same for the flagged points once the anomalies
// are capped): the GA margins widened to enclose the value, and every
// value scaled back by scale.
func judge(a, b int, x []float64, flagged []bool, f *fit, lo float64, u []float64, opt Options, scale float64, res *EntireResult) {
	// Local windows of the slices: the stores through res would otherwise
	// make the compiler reload every slice header at every point.
	x, exp, fl := x[a:b], f.expected[a:b], flagged[a:b]
	exp, fl = exp[:len(x)], fl[:len(x)]
	ev, up, low, isA := res.ExpectedValues[a:b], res.UpperMargins[a:b], res.LowerMargins[a:b], res.IsAnomaly[a:b]
	ev, up, low, isA = ev[:len(x)], up[:len(x)], low[:len(x)], isA[:len(x)]
	s := opt.Sensitivity
	switch opt.Style {
	case StyleV11:
		g := marginFactor(s)
		u := u[a:b]
		u = u[:len(x)]
		for i, v := range x {
			e := exp[i]
			m := g * u[i]
			d := v - e
			if fl[i] {
				isA[i] = math.Abs(d) > m
				up[i], low[i] = m, m
				// finish sets the rest once the anomalies are capped.
				continue
			}
			// Normal point: widen the value's side to enclose it.
			near := math.Abs(d) + m/2
			// The sign of d is a coin toss: select without a branch.
			hi, lw := math.Float64bits(near), math.Float64bits(near/3)
			if !(d > 0) {
				hi, lw = lw, hi
			}
			ev[i] = finiteOr(e*scale, 0)
			up[i] = finiteOr(math.Float64frombits(hi)*scale, 0)
			low[i] = finiteOr(math.Float64frombits(lw)*scale, 0)
		}
	default:
		frac := (100 - s) / 100
		preview := opt.Style == StyleV11Preview
		for i, v := range x {
			e := exp[i]
			m := frac * math.Abs(e)
			lm := m
			if preview {
				lm = max(min(m, e-lo), 0)
			}
			if fl[i] {
				isA[i] = v > e+m || v < e-lm
				up[i], low[i] = m, lm
				continue
			}
			ev[i] = finiteOr(e*scale, 0)
			up[i] = finiteOr(m*scale, 0)
			low[i] = finiteOr(lm*scale, 0)
		}
	}
}

// finish completes the flagged points among a..b-1 once the anomalies are
// capped (judge completed the others): GA margins of the points that are
// not anomalies widened to enclose the value, signs and severities of the
// anomalies, and everything scaled back by scale.
func finish(a, b int, x []float64, flagged []bool, f *fit, u []float64, scale float64, style MarginStyle, res *EntireResult) {
	// Local windows of the slices, as in judge.
	x, exp, fl := x[a:b], f.expected[a:b], flagged[a:b]
	exp, fl = exp[:len(x)], fl[:len(x)]
	ev, up, low, sev := res.ExpectedValues[a:b], res.UpperMargins[a:b], res.LowerMargins[a:b], res.Severity[a:b]
	ev, up, low, sev = ev[:len(x)], up[:len(x)], low[:len(x)], sev[:len(x)]
	isA, isP, isN := res.IsAnomaly[a:b], res.IsPositiveAnomaly[a:b], res.IsNegativeAnomaly[a:b]
	isA, isP, isN = isA[:len(x)], isP[:len(x)], isN[:len(x)]
	if u != nil {
		u = u[a:b]
		u = u[:len(x)]
	}
	for i, v := range x {
		if !fl[i] {
			continue
		}
		e := exp[i]
		d := v - e
		if style == StyleV11 {
			if isA[i] {
				if u[i] > 0 {
					sev[i] = severityOf(math.Abs(d) / u[i])
				} else if d != 0 {
					sev[i] = 1
				}
			} else if !(math.Abs(d) <= up[i]) {
				// Not an anomaly (the cap dropped it): widen the value's
				// side to enclose it.
				m := up[i]
				near := math.Abs(d) + m/2
				hi, lo := math.Float64bits(near), math.Float64bits(near/3)
				if !(d > 0) {
					hi, lo = lo, hi
				}
				up[i], low[i] = math.Float64frombits(hi), math.Float64frombits(lo)
			}
		}
		if isA[i] {
			isP[i] = d > 0
			isN[i] = d < 0
			isA[i] = d != 0
			if style == StyleV11Preview && isA[i] {
				if u[i] > 0 {
					sev[i] = severityOf(math.Abs(d) / u[i])
				} else {
					sev[i] = 1
				}
			}
		}
		ev[i] = finiteOr(e*scale, 0)
		up[i] = finiteOr(up[i]*scale, 0)
		low[i] = finiteOr(low[i]*scale, 0)
	}
}

// capAnomalies keeps at most limit anomalies, those with the highest
// scores (earlier index first on ties).
func capAnomalies(isAnom []bool, score []float64, limit int) {
	var idx []int
	for i, a := range isAnom {
		if a {
			idx = append(idx, i)
		}
	}
	if len(idx) <= limit {
		return
	}
	sort.SliceStable(idx, func(a, b int) bool { return score[idx[a]] > score[idx[b]] })
	for _, i := range idx[max(limit, 0):] {
		isAnom[i] = false
	}
}

// DetectLast reports whether the last value of the series is anomalous,
// looking only at the values up to it: the model is fitted to the points
// before the last one and extrapolated one step (level of the recent past
// plus the seasonal value of the last point's phase).
func DetectLast(values []float64, opt Options) (*LastResult, error) {
	ar := getArena()
	defer putArena(ar)
	pr, err := prepareValues(ar, values, opt)
	if err != nil {
		return nil, err
	}
	sr := startSR(ar, pr.x)
	defer sr.release(ar)
	pr.setPeriod(ar, opt)
	return detectLast(ar, pr, opt, &defaultConfig, sr), nil
}

// detectLast is DetectLast on prepared input, with the SR map from job
// (nil: computed in line).
func detectLast(ar *arena, pr *prepared, opt Options, cfg *modelConfig, job *srJob) *LastResult {
	x := pr.x
	n := len(x)
	past := x[:n-1]
	f := fitSeries(ar, past, pr.period, cfg, false)
	pred, sig := causalForecast(ar, past, f, cfg)
	e := pred
	if f.season != nil {
		e += f.season[(n-1)%len(f.season)]
	}
	v := x[n-1]
	d := v - e
	z := 0.0
	if cfg.useResid {
		z = finiteOr(math.Abs(d)/sig, 0)
	}
	sr := 0.0
	if cfg.useSR {
		if job != nil {
			sr = job.wait().ratio(n - 1)
		} else {
			m := srMapOf(ar, x)
			sr = m.ratio(n - 1)
		}
	}
	thr := sensitivityThreshold(opt.Sensitivity, cfg)
	score := combineScore(z, sr, cfg, thr)
	flagged := score > thr && math.Floor(pr.ratio*float64(n)) >= 1

	res := &LastResult{Period: pr.period, SuggestedWindow: 13}
	if pr.period > 0 {
		res.SuggestedWindow = 4*pr.period + 1
	}
	s := opt.Sensitivity
	var up, lo float64
	switch opt.Style {
	case StyleV11:
		u := seriesLevel(ar, f.expected)[n-2]
		m := marginFactor(s) * u
		up, lo = m, m
		if flagged && math.Abs(d) > m {
			res.IsAnomaly = true
			if u > 0 {
				res.Severity = severityOf(math.Abs(d) / u)
			} else {
				res.Severity = 1
			}
		} else if !flagged || math.Abs(d) > m {
			near := math.Abs(d) + m/2
			if d > 0 {
				up, lo = near, near/3
			} else {
				up, lo = near/3, near
			}
		}
	default:
		minV := x[0]
		for _, w := range x {
			minV = min(minV, w)
		}
		m := (100 - s) / 100 * math.Abs(e)
		up, lo = m, m
		if opt.Style == StyleV11Preview {
			lo = max(min(m, e-minV), 0)
		}
		res.IsAnomaly = flagged && (v > e+up || v < e-lo)
		if res.IsAnomaly && opt.Style == StyleV11Preview {
			if u := seriesLevel(ar, f.expected)[n-2]; u > 0 {
				res.Severity = severityOf(math.Abs(d) / u)
			} else {
				res.Severity = 1
			}
		}
	}
	if res.IsAnomaly {
		res.IsPositiveAnomaly = d > 0
		res.IsNegativeAnomaly = d < 0
	}
	res.ExpectedValue = finiteOr(e*pr.scale, 0)
	res.UpperMargin = finiteOr(up*pr.scale, 0)
	res.LowerMargin = finiteOr(lo*pr.scale, 0)
	return res
}

// causalForecast predicts the deseasonalised value one step after past
// and the scale of that prediction's error. The predictor uses only
// earlier points: the median of the last w deseasonalised values plus the
// slope between that median and the one w points earlier, carried forward
// to the next point. The error scale is measured on the same predictor
// applied to every earlier point it can be applied to (one-step-ahead
// errors), robustly and tail-aware as in scaleFit, so a series the
// predictor follows poorly gets a wider scale instead of false alarms.
func causalForecast(ar *arena, past []float64, f *fit, cfg *modelConfig) (pred, sigma float64) {
	m := len(past)
	w := f.win
	h := w / 2
	lm := f.median
	// Trailing median over [i-w, i-1] is lm[i-1-h] for i-1-h ≥ h.
	predict := func(i int) float64 {
		j := i - 1 - h
		base := lm[j]
		if j-w >= h {
			base += (lm[j] - lm[j-w]) / float64(w) * float64(h+1)
		}
		return base
	}
	pred = predict(m)
	first := 2*w + h + 1 // first i with a full slope
	if m-first < 10 {
		first = w + 1 // no slope for the early points, still causal
	}
	if m-first < 10 {
		return pred, f.sigma[m-1] * 1.5
	}
	errs := ar.scratch(m - first)
	for i := first; i < m; i++ {
		errs[i-first] = past[i] - f.seasonal[i] - predict(i)
	}
	k := len(errs)
	abs := ar.scratch(k)
	for i, v := range errs {
		abs[i] = math.Abs(v)
	}
	g := robustScaleAr(ar, errs)
	if cfg.tailScale {
		c := ar.scratch(k)
		copy(c, abs)
		q := selectKth(c, min(int(cfg.tailQ*float64(k)), k-1))
		g = max(g, q/normalQuantile(0.5+cfg.tailQ/2))
	}
	if g == 0 {
		s := 0.0
		for _, v := range abs {
			s += v
		}
		g = s / float64(k)
	}
	// Local scale over the most recent errors.
	loc, cnt := 0.0, 0
	for i := max(0, k-(2*cfg.scaleHalf+1)); i < k; i++ {
		loc += min(abs[i], 4*g)
		cnt++
	}
	loc /= float64(cnt)
	sigma = max(1.2533*loc, cfg.globalShare*g, cfg.floorFrac*f.spread, 1e-12)
	return pred, sigma
}
