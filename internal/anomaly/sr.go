package anomaly

import (
	"math"
	"math/cmplx"
)

// Spectral Residual (SR) saliency, after Ren et al., "Time-Series Anomaly
// Detection Service at Microsoft" (KDD 2019), implemented from the paper and
// the behavioural description in specs/spectral-residual.md.

const (
	srEps       = 1e-8 // amplitude floor
	srMagWindow = 3    // q: trailing average over the log-amplitude spectrum
	srScoreWin  = 40   // z: trailing average over the saliency map (library default; the paper uses 21)
	srExtendBy  = 5    // predicted points appended at the right edge
	srLookBack  = 5    // slopes used by the prediction
	srRawThresh = 3.0  // the paper's τ on the raw saliency ratio
	srMinPoints = srLookBack + 2
)

// srExtend returns x followed by predicted values, at least srExtendBy of
// them, so that the total length m is even with m/2 5-smooth (the FFT
// needs it). The
// prediction walks from x[n-6] with the mean slope of the five points
// x[n-7..n-3] towards x[n-2], as in the paper's look-ahead trick. Padding
// beyond the five points repeats the same value.
func srExtend(ar *arena, x []float64) []float64 {
	n := len(x)
	total := nextSmoothEven(n + srExtendBy)
	out := ar.scratch(total)
	copy(out, x)
	pred := x[n-1]
	if n >= srMinPoints {
		last := n - 2
		sum := 0.0
		for j := last - srLookBack; j < last; j++ {
			sum += (x[last] - x[j]) / float64(last-j)
		}
		pred = x[last-srLookBack+1] + sum
	}
	for i := n; i < total; i++ {
		out[i] = pred
	}
	return out
}

// srSaliency returns the SR saliency map of x (one value per input point,
// len(x) ≥ 1; ar may be nil),
// computed on the right-extended series. x should be scaled to a modest
// range (the detector passes values divided by max|x|); the map itself is
// invariant to scaling apart from the amplitude floor.
func srSaliency(ar *arena, x []float64) []float64 {
	n := len(x)
	if n == 0 {
		return nil
	}
	ext := srExtend(ar, x)
	m := len(ext)
	p := planFor(m)
	buf := ar.complexScratch(2 * m)
	src, spec := buf[:m], buf[m:]
	tmp := src // free until the inverse transform
	// Real input: half a spectrum by the packed real FFT, the rest by
	// Hermitian symmetry.
	rp := realPlanFor(m)
	rp.forward(spec[:m/2+1], ext, tmp)
	for k := m/2 + 1; k < m; k++ {
		spec[k] = cmplx.Conj(spec[m-k])
	}
	// With L the log-amplitude and AL its trailing mean over frequency
	// (window q = 3), the new coefficient is c·exp(L−AL)/|c| = c·exp(−AL).
	// Bins with amplitude ≤ ε count as L = 0 and are zeroed. Writing
	// e_i = exp(−L_i/q) = |c_i|^(−1/q), exp(−AL_i) is the product of the
	// e over the window (for the full window), so no logarithms are
	// needed; |X[k]| = |X[m−k]| for a real input, so e is computed for
	// half the spectrum only.
	e := ar.scratch(m)
	for i := 0; i <= m/2; i++ {
		c := spec[i]
		a2 := real(c)*real(c) + imag(c)*imag(c)
		if a2 <= srEps*srEps {
			e[i] = 1
		} else {
			e[i] = 1 / math.Sqrt(math.Cbrt(a2)) // (a²)^(−1/6) = a^(−1/3)
		}
	}
	for i := m/2 + 1; i < m; i++ {
		e[i] = e[m-i]
	}
	for i, c := range spec {
		a2 := real(c)*real(c) + imag(c)*imag(c)
		if a2 <= srEps*srEps {
			spec[i] = cmplx.Conj(0)
			continue
		}
		var f float64
		switch i {
		case 0: // window of one: exp(−L_0) = e_0³
			f = e[0] * e[0] * e[0]
		case 1: // window of two: exp(−(L_0+L_1)/2) = (e_0·e_1)^(3/2)
			g := e[0] * e[1]
			f = g * math.Sqrt(g)
		default:
			f = e[i] * e[i-1] * e[i-2]
		}
		spec[i] = cmplx.Conj(complex(real(c)*f, imag(c)*f))
	}
	// The inverse transform ([fftPlan.inverse]) is inlined: spec holds the
	// conjugated coefficients, and the conjugation and 1/m scaling of the
	// result are applied only to the n points used, with the same
	// operations.
	res := p.stockham(spec, src)
	inv := 1 / float64(m)
	out := ar.scratch(n)
	for i, v := range res[:n] {
		re, im := real(v)*inv, -imag(v)*inv
		out[i] = math.Sqrt(re*re + im*im)
	}
	return out
}

// srRawScores returns the SR ratio |S − avg| / avg per point, where S is
// the saliency map and avg its trailing mean over srScoreWin points. The
// paper flags points whose ratio exceeds srRawThresh (3). Pass x scaled
// to max|x| ≤ 1 (see normalise) and ar = nil outside a detection call;
// the result is finite for finite input.
func srRawScores(ar *arena, x []float64) []float64 {
	m := srMapOf(ar, x)
	out := ar.scratch(len(m.sal))
	for i := range out {
		out[i] = m.ratio(i)
	}
	return out
}

// srMap is the saliency map of a series with its trailing mean, from
// which [srMap.ratio] gives the SR ratio of any point: the detectors
// that need only some ratios, or compute them in parts, skip the rest.
type srMap struct {
	sal, avg []float64
	hi       float64 // max of avg
}

// srMapOf computes the saliency map of x and its trailing mean.
func srMapOf(ar *arena, x []float64) srMap {
	sal := srSaliency(ar, x)
	avg := trailingMean(ar, sal, srScoreWin)
	hi := 0.0
	for _, v := range avg {
		hi = max(hi, v)
	}
	return srMap{sal: sal, avg: avg, hi: hi}
}

// ratio is point i's SR ratio, as srRawScores returns it.
func (m *srMap) ratio(i int) float64 {
	d := min(max(m.avg[i], srEps), max(m.hi, srEps))
	return finiteOr(math.Abs(m.sal[i]-m.avg[i])/d, 0)
}
