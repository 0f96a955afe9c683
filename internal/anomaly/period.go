package anomaly

import "math"

// Period detection by autocorrelation.
//
// The series is detrended (least-squares line), winsorised at 4 robust
// standard deviations so spikes do not dominate, and its autocorrelation
// r(k) is computed with an FFT. A lag is a candidate when it is a local
// maximum of r, r(k) ≥ periodMinACF, and r rose by at least periodMinDepth
// from the lowest value at a smaller lag (this rejects the slow, bumpy decay
// of random walks). The best candidate is the highest r(k); a smaller lag
// that divides it and has nearly the same correlation wins instead, so the
// fundamental period is reported rather than a multiple.

const (
	periodMinLag   = 3
	periodMinACF   = 0.3
	periodMinDepth = 0.3
	periodCycles   = 3 // at least this many full cycles must be present
)

// detectPeriod returns the dominant seasonal period of values in points,
// or 0 when there is no clear period. It is safe for any finite input of
// any length (0 for fewer than 12 points), does not modify values, and
// may be called by the other detectors in this package. Periods between
// 3 and len(values)/3 are considered.
func detectPeriod(values []float64) int {
	return periodOf(nil, values)
}

// periodOf is detectPeriod with scratch space from ar.
func periodOf(ar *arena, values []float64) int {
	n := len(values)
	maxLag := n / periodCycles
	if maxLag < periodMinLag+1 {
		return 0
	}
	x := normalise(ar, values)
	detrendLinear(x)
	sd := robustScaleAr(ar, x)
	if sd == 0 {
		// More than half the points equal: fall back to the plain standard
		// deviation so sparse patterns still count.
		ss := 0.0
		for _, v := range x {
			ss += v * v
		}
		sd = math.Sqrt(ss / float64(n))
		if sd == 0 {
			return 0
		}
	}
	c := ar.scratch(n)
	copy(c, x)
	med := medianInPlaceOrdered(c)
	mean := 0.0
	for i, v := range x {
		c := clamp(v-med, -4*sd, 4*sd)
		x[i] = c
		mean += c
	}
	mean /= float64(n)
	for i := range x {
		x[i] -= mean
	}
	r := autocorr(ar, x, maxLag+1)
	if r == nil {
		return 0
	}
	return pickPeriod(r, maxLag)
}

// pickPeriod chooses a period from the autocorrelation r (r[0] = 1).
func pickPeriod(r []float64, maxLag int) int {
	best, bestR := 0, 0.0
	low := r[0]
	var cand []int
	for k := 1; k <= maxLag && k < len(r)-1; k++ {
		low = min(low, r[k])
		if k < periodMinLag {
			continue
		}
		if r[k] < r[k-1] || r[k] < r[k+1] {
			continue
		}
		if r[k] < periodMinACF || r[k]-low < periodMinDepth {
			continue
		}
		cand = append(cand, k)
		if r[k] > bestR {
			best, bestR = k, r[k]
		}
	}
	if best == 0 {
		return 0
	}
	// Prefer the fundamental: the smallest candidate that divides the best
	// lag (within one point) with a correlation close to the best.
	for _, k := range cand {
		if k >= best {
			break
		}
		q := float64(best) / float64(k)
		if math.Abs(q-math.Round(q))*float64(k) <= 1 && r[k] >= 0.85*bestR {
			return k
		}
	}
	return best
}

// autocorr returns the normalised autocorrelation of the zero-mean series
// x for lags 0..lags-1 (lags ≤ len(x)), or nil when x has no variance. It
// zero-pads to at least len(x)+lags−1 points, the fewest with which no lag
// below lags wraps around (a circular lag k of m points also holds the
// linear lag k−m, which is empty while m−k ≥ len(x)).
func autocorr(ar *arena, x []float64, lags int) []float64 {
	n := len(x)
	lags = min(lags, n)
	m := nextSmoothEven(n + lags - 1)
	p := realPlanFor(m)
	h := m / 2
	xs := ar.floats(m)
	copy(xs, x)
	spec := ar.complexScratch(h + 1 + 3*h)
	X, buf := spec[:h+1], spec[h+1:]
	p.forward(X, xs, buf)
	for i, v := range X {
		X[i] = complex(real(v)*real(v)+imag(v)*imag(v), 0)
	}
	p.inverse(xs, X, buf)
	r0 := xs[0]
	if !(r0 > 0) || math.IsInf(r0, 0) {
		return nil
	}
	out := ar.scratch(lags)
	for k := range out {
		out[k] = xs[k] / r0
	}
	return out
}

// normalise returns a copy of x divided by max|x| (a plain copy when x is
// all zeros), so later arithmetic cannot overflow.
func normalise(ar *arena, x []float64) []float64 {
	s := maxAbs(x)
	if s == 1 {
		// Already normalised (the detectors pass x/max|x|): x/1 == x
		// exactly, so a copy gives the same values without the divisions.
		out := ar.scratch(len(x))
		copy(out, x)
		return out
	}
	out := ar.floats(len(x))
	if s == 0 {
		return out
	}
	for i, v := range x {
		out[i] = v / s
	}
	return out
}

// maxAbs returns max|x| (0 for empty x) of finite x. A plain comparison
// keeps the loop free of the NaN and signed-zero handling of max.
func maxAbs(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		if a := math.Abs(v); a > s {
			s = a
		}
	}
	return s
}

// detrendLinear subtracts the least-squares line from x in place.
func detrendLinear(x []float64) {
	n := float64(len(x))
	if n < 2 {
		return
	}
	mt := (n - 1) / 2
	var sy, sty, stt float64
	for _, v := range x {
		sy += v
	}
	my := sy / n
	for i, v := range x {
		t := float64(i) - mt
		sty += t * (v - my)
		stt += t * t
	}
	b := sty / stt
	for i := range x {
		x[i] -= my + b*(float64(i)-mt)
	}
}
