package main

import (
	"math"
	"math/bits"
	"math/cmplx"
)

// Plain Spectral Residual, as the reference library (microsoft/anomalydetector,
// msanomalydetector 1.1) computes it in AnomalyOnly mode. Written from the
// behavioural description in /work/shared/specs/spectral-residual.md (§1, §3
// to §5) and the KDD-2019 paper, not from the library's code.
const (
	srEps          = 1e-8 // floor for FFT amplitudes and score divisors
	srThreshold    = 0.3  // flag when score > 0.3, i.e. raw ratio > 3 (the paper's τ)
	srMagWindow    = 3    // q: trailing average window on the log-amplitude spectrum
	srScoreWindow  = 40   // z: trailing average window on the saliency map (library default)
	srExtendPoints = 5    // predicted points appended before the transform
	srLookBack     = 5    // slopes used for the prediction
	srScoreScale   = 10   // score = raw ratio / 10, clipped to [0, 1]
)

// srScores returns the plain SR score in [0, 1] of every point of x
// (len(x) ≥ 7), with saliency averaging window z. A point is
// an SR anomaly at the default threshold when its score > srThreshold.
func srScores(x []float64, z int) []float64 {
	n := len(x)
	ext := extendSeries(x)
	m := len(ext)

	// §4: spectral residual saliency map.
	spec := make([]complex128, m)
	for i, v := range ext {
		spec[i] = complex(v, 0)
	}
	fft(spec, false)
	amp := make([]float64, m)
	logAmp := make([]float64, m)
	clipped := make([]bool, m)
	for i, c := range spec {
		a := cmplx.Abs(c)
		if a <= srEps {
			a = srEps
			clipped[i] = true
		} else {
			logAmp[i] = math.Log(a)
		}
		amp[i] = a
	}
	avgLog := trailingMean(logAmp, srMagWindow)
	for i := range spec {
		if clipped[i] {
			spec[i] = 0
			continue
		}
		f := math.Exp(logAmp[i]-avgLog[i]) / amp[i]
		spec[i] = complex(real(spec[i])*f, imag(spec[i])*f)
	}
	fft(spec, true)
	sal := make([]float64, m)
	for i, c := range spec {
		sal[i] = cmplx.Abs(c)
	}

	// §5: score against the trailing average of the saliency map.
	if z > m {
		z = m
	}
	if z < 1 {
		z = 1
	}
	avg := trailingMean(sal, z)
	maxAvg := math.Inf(-1)
	for _, a := range avg {
		maxAvg = math.Max(maxAvg, a)
	}
	scores := make([]float64, n)
	for i := range scores {
		d := math.Min(math.Max(avg[i], srEps), maxAvg) // numpy clip(avg, eps, max(avg))
		s := math.Abs(sal[i]-avg[i]) / d / srScoreScale
		switch {
		case math.IsNaN(s):
			s = 0 // only for an all-zero series, where numpy gives NaN and no flag
		case s > 1:
			s = 1
		case s < 0:
			s = 0
		}
		scores[i] = s
	}
	return scores
}

// extendSeries appends srExtendPoints copies of the library's prediction of
// the next value (§3): take the six points ending one step before the last
// one, compute the slopes from each of the first five to the newest of the
// six, and walk from the second of the six by the sum of those slopes.
func extendSeries(x []float64) []float64 {
	n := len(x)
	y := x[n-srLookBack-2 : n-1] // positions n−7 … n−2
	sum := 0.0
	for j := 0; j < srLookBack; j++ {
		sum += (y[srLookBack] - y[j]) / float64(srLookBack-j)
	}
	pred := y[1] + sum
	ext := make([]float64, n, n+srExtendPoints)
	copy(ext, x)
	for range srExtendPoints {
		ext = append(ext, pred)
	}
	return ext
}

// trailingMean returns the causal moving average of x with window w: entry
// i is the mean of the last min(w, i+1) values up to i.
func trailingMean(x []float64, w int) []float64 {
	out := make([]float64, len(x))
	sum := 0.0
	for i, v := range x {
		sum += v
		if i >= w {
			sum -= x[i-w]
		}
		out[i] = sum / float64(min(w, i+1))
	}
	return out
}

// srFlags returns score > threshold for every score.
func srFlags(scores []float64, threshold float64) []bool {
	out := make([]bool, len(scores))
	for i, s := range scores {
		out[i] = s > threshold
	}
	return out
}

// fft computes in place the discrete Fourier transform of x of any length
// (numpy's convention: forward X_k = Σ x_n e^{−2πikn/N}; the inverse
// divides by N). Powers of two use an iterative radix-2 transform, other
// lengths Bluestein's chirp-z algorithm.
func fft(x []complex128, inverse bool) {
	n := len(x)
	if n <= 1 {
		return
	}
	if inverse {
		for i := range x {
			x[i] = cmplx.Conj(x[i])
		}
		fft(x, false)
		s := 1 / float64(n)
		for i := range x {
			x[i] = complex(real(x[i])*s, -imag(x[i])*s)
		}
		return
	}
	if n&(n-1) == 0 {
		radix2(x)
		return
	}
	bluestein(x)
}

// radix2 is the in-place forward transform for a power-of-two length.
func radix2(x []complex128) {
	n := len(x)
	shift := 64 - bits.TrailingZeros(uint(n))
	for i := range x {
		j := int(bits.Reverse64(uint64(i)) >> shift)
		if j > i {
			x[i], x[j] = x[j], x[i]
		}
	}
	tw := make([]complex128, n/2)
	for k := range tw {
		s, c := math.Sincos(-2 * math.Pi * float64(k) / float64(n))
		tw[k] = complex(c, s)
	}
	for size := 2; size <= n; size <<= 1 {
		half, step := size/2, n/size
		for start := 0; start < n; start += size {
			for k := 0; k < half; k++ {
				t := tw[k*step] * x[start+k+half]
				x[start+k+half] = x[start+k] - t
				x[start+k] += t
			}
		}
	}
}

// bluestein is the in-place forward transform for any length, as a
// convolution with a chirp computed by power-of-two transforms.
func bluestein(x []complex128) {
	n := len(x)
	m := 1
	for m < 2*n-1 {
		m <<= 1
	}
	// chirp[k] = e^{−iπk²/n}; k² is reduced mod 2n to keep the angle exact.
	chirp := make([]complex128, n)
	for k := range chirp {
		k2 := (uint64(k) * uint64(k)) % uint64(2*n)
		s, c := math.Sincos(-math.Pi * float64(k2) / float64(n))
		chirp[k] = complex(c, s)
	}
	a := make([]complex128, m)
	b := make([]complex128, m)
	for k := 0; k < n; k++ {
		a[k] = x[k] * chirp[k]
		b[k] = cmplx.Conj(chirp[k])
		if k > 0 {
			b[m-k] = b[k]
		}
	}
	radix2(a)
	radix2(b)
	for i := range a {
		a[i] *= b[i]
	}
	fft(a, true)
	for k := 0; k < n; k++ {
		x[k] = a[k] * chirp[k]
	}
}
