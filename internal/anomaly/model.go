package anomaly

import "math"

// The robust seasonal/trend model behind expected values and residual
// scores. Everything works on values scaled to max|x| = 1.

// modelConfig holds the detector's single configuration. It is a struct
// (rather than loose constants) so that the evaluation harness can compare
// variants; production code always uses defaultConfig.
type modelConfig struct {
	levelWin     int     // running-median window for the level, no period
	levelWinSeas int     // same, when a period is present
	levelWinWide int     // the wider window tried first (0: never)
	wideKappa    float64 // the wide window is used when the level's curvature at its scale is below this times the noise (see wideFits)
	smoothHalf   int     // half-width of the moving average on the cleaned level
	winsorZ      float64 // residuals beyond this many σ are clipped before smoothing
	scaleHalf    int     // half-width of the local-scale window
	globalShare  float64 // local σ never falls below this share of the global σ
	srWeight     float64 // SR ratio is multiplied by this before max() with z
	thresh99     float64 // score threshold at sensitivity 99
	thresh70     float64 // score threshold at sensitivity 70
	useSR        bool
	useResid     bool
	seasonPasses int
	combine      int     // 0: max(z, sr·w); 1: weighted geometric mean of z and sr·w·(τz/τsr)
	zWeight      float64 // exponent of z in the geometric mean
	tailScale    bool    // global σ from a high percentile of |resid| too
	tailQ        float64 // that percentile (0.9: divide by 1.645)
	floorFrac    float64 // σ ≥ floorFrac·(spread of the series)
}

var defaultConfig = modelConfig{
	levelWin:     21,
	levelWinSeas: 21,
	levelWinWide: 81,
	wideKappa:    1,
	smoothHalf:   2,
	winsorZ:      2.5,
	scaleHalf:    150,
	globalShare:  1,
	srWeight:     1,
	thresh99:     3.75,
	thresh70:     3.75 * 1.15,
	useSR:        true,
	useResid:     true,
	seasonPasses: 1,
	combine:      1,
	zWeight:      0.8,
	tailScale:    true,
	tailQ:        0.95,
	floorFrac:    1e-3,
}

// fit is the model of one series (scaled units).
type fit struct {
	seasonal []float64 // per point; zero without a period
	season   []float64 // per phase (length period), nil without a period
	level    []float64 // deseasonalised robust level
	expected []float64 // level + seasonal
	resid    []float64 // x − expected
	sigma    []float64 // local robust residual scale, > 0
	yClean   []float64 // deseasonalised, winsorised values
	median   []float64 // running median of the deseasonalised values
	win      int       // its window
	spread   float64   // 99th minus 1st percentile of x
	gaLevel  []float64 // seriesLevel(expected) when asked for, else nil
}

// fitSeries fits the robust model to x (scaled) with period p (0 = none).
// A period is used only when at least two full cycles are present.
func fitSeries(ar *arena, x []float64, p int, cfg *modelConfig, gaLevel bool) *fit {
	n := len(x)
	f := &fit{seasonal: ar.floats(n)}
	spread := func(ar *arena) {
		c := sample(ar, x)
		k := len(c) * 99 / 100
		// Values in time order: see selectKthHoare.
		hi := selectKthHoare(c, k)
		lo := selectKthHoare(c[:k+1], len(c)/100) // everything left of k is ≤ hi
		f.spread = hi - lo
	}
	if p < 2 || n < 2*p {
		p = 0
		spread(ar)
	}
	w := cfg.levelWin
	if p > 0 {
		w = cfg.levelWinSeas
	}
	if p > 0 {
		xc := x
		for pass := 0; pass < cfg.seasonPasses; pass++ {
			var d []float64
			cycle := func() {
				trend := cycleMean(ar, xc, p)
				d = ar.scratch(n)
				for i := range d {
					d[i] = xc[i] - trend[i]
				}
			}
			if pass == 0 {
				// The spread (on the helper) beside the cycle means.
				both(ar, spread, cycle)
			} else {
				cycle()
			}
			f.season = seasonalProfile(ar, d, p)
			for i := 0; i < n; i += p { // f.seasonal[i] = f.season[i%p]
				copy(f.seasonal[i:], f.season)
			}
			if pass+1 < cfg.seasonPasses {
				// Replace outliers before re-estimating the cycle means.
				f.levelFit(ar, x, w, cfg)
				xc = ar.floats(n)
				for i := range xc {
					xc[i] = f.yClean[i] + f.seasonal[i]
				}
			}
		}
	}
	f.levelFit(ar, x, w, cfg)
	f.scaleFit(ar, cfg, gaLevel)
	return f
}

// levelFit computes level, expected, resid and yClean from x and the
// current seasonal component.
func (f *fit) levelFit(ar *arena, x []float64, w int, cfg *modelConfig) {
	n := len(x)
	y := ar.scratch(n)
	for i := range y {
		y[i] = x[i] - f.seasonal[i]
	}
	// A wide window keeps the level where it was through anomalies that
	// last many points (a narrow one follows them after half its width),
	// but lags genuine variation the model does not capture (a cycle too
	// short or irregular to be a period): it is used when the level does
	// not curve at its scale (wideFits) and the series holds at least two
	// wide windows.
	var lm []float64
	if ww := cfg.levelWinWide; ww > w && n >= 2*ww && wideFits(ar, y, w, ww, cfg.wideKappa) {
		w = ww
		lm = decimatedMedian(ar, y, ww)
	} else {
		lm = runningMedian(ar, y, w)
	}
	f.median, f.win = lm, min(w, n)
	if f.win%2 == 0 {
		f.win-- // runningMedian uses the odd window below
	}
	// The smoothed level, expected values and residuals (on the helper)
	// and the winsorised values (here) both start from the median.
	f.expected = ar.scratch(n)
	f.resid = ar.scratch(n)
	r0, yc := ar.scratch(n), ar.scratch(n)
	both(ar, func(har *arena) {
		f.level = movingAverage(har, lm, cfg.smoothHalf)
		level, seasonal, exp, resid := f.level[:n], f.seasonal[:n], f.expected[:n], f.resid[:n]
		for i, v := range x {
			exp[i] = level[i] + seasonal[i]
			resid[i] = v - exp[i]
		}
	}, func() {
		for i := range r0 {
			r0[i] = y[i] - lm[i]
		}
		s0 := robustScaleAr(ar, r0)
		lim := cfg.winsorZ * s0
		for i, r := range r0 {
			yc[i] = lm[i] + clamp(r, -lim, lim)
		}
	})
	f.yClean = yc
}

// decimatedMedian is a running median of window w at a third of the cost:
// the running median of every other value with window w/2 (made odd),
// which spans the same stretch of the series, taken at the even points
// and interpolated linearly between them.
func decimatedMedian(ar *arena, y []float64, w int) []float64 {
	n := len(y)
	z := ar.scratch((n + 1) / 2)
	for k := range z {
		z[k] = y[2*k]
	}
	m := runningMedian(ar, z, w/2|1)
	out := ar.scratch(n)
	// out[2k] = m[k]; out[2k+1] = (m[k]+m[k+1])/2, or m[k] at the end.
	for k := 0; k+1 < len(m); k++ {
		out[2*k] = m[k]
		out[2*k+1] = (m[k] + m[k+1]) / 2
	}
	k := len(m) - 1
	out[2*k] = m[k]
	if 2*k+1 < n {
		out[2*k+1] = m[k]
	}
	return out
}

// wideFits reports whether a centred median of window ww would follow y
// about as well as one of window w: a centred window follows a straight
// line exactly and lags only where the level curves. The curvature at the
// wide scale, |m(i+h) − 2m(i) + m(i−h)|/2 with h = ww/2 and m the moving
// average of window w, is what the wide window would miss; its median
// over the series must stay below kappa times the noise, estimated from
// the differences of consecutive values (their robust scale over √2).
// Short anomalies move neither median. Cost O(n).
func wideFits(ar *arena, y []float64, w, ww int, kappa float64) bool {
	n := len(y)
	h := ww / 2
	if n < 2*h+2 {
		return false
	}
	m := movingAverage(ar, y, w/2)
	// Both medians are taken over at most wideSample evenly spaced points.
	k := min(n-2*h, wideSample)
	curv, diff := ar.scratch(k), ar.scratch(k)
	for j := range k {
		c := h + j*(n-2*h)/k
		curv[j] = math.Abs(m[c+h]-2*m[c]+m[c-h]) / 2
		diff[j] = y[c+1] - y[c]
	}
	noise := robustScaleAr(ar, diff) / math.Sqrt2
	return medianInPlace(curv) <= kappa*noise
}

// wideSample is how many points wideFits looks at.
const wideSample = 256

// scaleFit computes the local residual scale, and f.gaLevel when asked.
func (f *fit) scaleFit(ar *arena, cfg *modelConfig, gaLevel bool) {
	n := len(f.resid)
	// The level of the margins, the tail quantile and the MAD are
	// independent: the level (when asked for) on the helper and the two
	// selections here, or the tail quantile on the helper and the MAD
	// here.
	q := 0.0
	var g float64
	tail := func(ar *arena) {
		if !cfg.tailScale {
			return
		}
		a := sample(ar, f.resid)
		for i, v := range a {
			a[i] = math.Abs(v)
		}
		q = selectKth(a, min(int(cfg.tailQ*float64(len(a))), len(a)-1))
	}
	mad := func() {
		g = robustScaleAr(ar, f.resid)
		if g == 0 {
			// Mostly exact fit: use the mean absolute residual instead so
			// that a few deviations are not infinitely significant.
			s := 0.0
			for _, v := range f.resid {
				s += math.Abs(v)
			}
			g = s / float64(n)
		}
	}
	if gaLevel {
		both(ar, func(har *arena) { f.gaLevel = seriesLevel(har, f.expected) }, func() {
			mad()
			tail(ar)
		})
	} else {
		both(ar, tail, mad)
	}
	if cfg.tailScale {
		g = max(g, q/normalQuantile(0.5+cfg.tailQ/2))
	}
	a := ar.scratch(n)
	resid := f.resid
	g4 := 4 * g
	splitRange(ar, n, func(lo, hi int) {
		for i, v := range resid[lo:hi] {
			a[lo+i] = min(math.Abs(v), g4)
		}
	})
	loc := movingAverageClamped(ar, a, cfg.scaleHalf)
	sigma := ar.scratch(n)
	f.sigma = sigma
	floor := max(cfg.floorFrac*f.spread, 1e-12)
	gs := cfg.globalShare * g
	splitRange(ar, n, func(lo, hi int) {
		l := loc[lo:hi]
		for i, v := range l {
			// max(1.2533·v, gs, floor) for values that are not NaN and
			// not all zero, without the NaN and signed-zero handling of
			// max (floor > 0).
			m := 1.2533 * v
			if gs > m {
				m = gs
			}
			if floor > m {
				m = floor
			}
			sigma[lo+i] = m
		}
	})
}

// movingAverageClamped is a moving average over a fixed-length window of
// 2h+1 points that is shifted (not shrunk) near the ends.
func movingAverageClamped(ar *arena, x []float64, h int) []float64 {
	return shiftedMean(ar, x, min(2*h+1, len(x)))
}

// cycleMean is the mean over a window of exactly p points around each
// index (shifted near the ends), which removes a period-p pattern.
func cycleMean(ar *arena, x []float64, p int) []float64 {
	return shiftedMean(ar, x, p)
}

// shiftedMean is the mean of x over the w points (1 ≤ w ≤ len(x)) from
// a = min(max(i−w/2, 0), n−w) for each index i.
func shiftedMean(ar *arena, x []float64, w int) []float64 {
	n := len(x)
	cs := prefixSums(ar, x)
	out := ar.scratch(n)
	// a is constant at both ends and i−w/2 in between.
	h, fw := w/2, float64(w)
	first := (cs[w] - cs[0]) / fw
	last := (cs[n] - cs[n-w]) / fw
	mid0, mid1 := min(h, n), max(n-w+h, h)
	for i := range mid0 {
		out[i] = first
	}
	if mid1 > mid0 {
		mid := out[mid0:mid1]
		lo, hi := cs[mid0-h:mid1-h], cs[mid0-h+w:mid1-h+w]
		lo, hi = lo[:len(mid)], hi[:len(mid)]
		for j := range mid {
			mid[j] = (hi[j] - lo[j]) / fw
		}
	}
	for i := mid1; i < n; i++ {
		out[i] = last
	}
	return out
}

// seasonalProfile returns the per-phase median of d, centred to zero mean
// and lightly smoothed across neighbouring phases for long periods.
func seasonalProfile(ar *arena, d []float64, p int) []float64 {
	n := len(d)
	prof := ar.scratch(p)
	phases := func(ar *arena, a, b int) {
		buf := ar.scratch(n/p + 1)[:0]
		for ph := a; ph < b; ph++ {
			buf = buf[:0]
			for i := ph; i < n; i += p {
				buf = append(buf, d[i])
			}
			prof[ph] = medianInPlace(buf)
		}
	}
	// Half the phases on the helper.
	both(ar, func(har *arena) { phases(har, p/2, p) }, func() { phases(ar, 0, p/2) })
	if h := p / 48; h > 0 {
		sm := ar.scratch(p)
		for ph := range p {
			s := 0.0
			for k := -h; k <= h; k++ {
				j := ph + k // modulo p, without dividing (h < p)
				if j < 0 {
					j += p
				} else if j >= p {
					j -= p
				}
				s += prof[j]
			}
			sm[ph] = s / float64(2*h+1)
		}
		prof = sm
	}
	mean := 0.0
	for _, v := range prof {
		mean += v
	}
	mean /= float64(p)
	for i := range prof {
		prof[i] -= mean
	}
	return prof
}

// normalQuantile returns the p-quantile of the standard normal distribution.
func normalQuantile(p float64) float64 {
	return math.Sqrt2 * math.Erfinv(2*p-1)
}
