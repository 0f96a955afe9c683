package anomaly

import (
	"math"
	"slices"
)

// Robust statistics shared by the detectors. All functions are
// deterministic and allocate only what they return unless noted.

// madToSigma turns a median absolute deviation into a Gaussian standard
// deviation.
const madToSigma = 1.4826

// median returns the median of x without modifying it (0 for empty x).
func median(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	c := slices.Clone(x)
	return medianInPlace(c)
}

// medianInPlace returns the median of x, reordering x. It runs in expected
// linear time (quickselect with a median-of-three pivot).
func medianInPlace(x []float64) float64 {
	n := len(x)
	if n == 0 {
		return 0
	}
	hi := selectKth(x, n/2)
	if n%2 == 1 {
		return hi
	}
	// The lower middle is the maximum of the part left of n/2.
	lo := x[0]
	for _, v := range x[1 : n/2] {
		lo = max(lo, v)
	}
	return lo/2 + hi/2
}

// selectKth reorders x so that x[k] is the k-th smallest value, everything
// before it ≤ x[k] and everything after ≥ x[k], and returns x[k].
func selectKth(x []float64, k int) float64 {
	lo, hi := 0, len(x)-1
	for hi > lo {
		if hi-lo < 16 {
			insertionSort(x[lo : hi+1])
			return x[k]
		}
		mid := lo + (hi-lo)/2
		// Median of three as pivot.
		if x[mid] < x[lo] {
			x[mid], x[lo] = x[lo], x[mid]
		}
		if x[hi] < x[lo] {
			x[hi], x[lo] = x[lo], x[hi]
		}
		if x[hi] < x[mid] {
			x[hi], x[mid] = x[mid], x[hi]
		}
		pivot := x[mid]
		i, j := lo, hi
		for i <= j {
			for x[i] < pivot {
				i++
			}
			for x[j] > pivot {
				j--
			}
			if i <= j {
				x[i], x[j] = x[j], x[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return x[k]
		}
	}
	return x[k]
}

func insertionSort(x []float64) {
	for i := 1; i < len(x); i++ {
		v := x[i]
		j := i - 1
		for j >= 0 && x[j] > v {
			x[j+1] = x[j]
			j--
		}
		x[j+1] = v
	}
}

// robustScaleSample caps the points robustScale looks at; longer inputs
// are sampled with an even stride (deterministically).
const robustScaleSample = 2048

// robustScale returns 1.4826·MAD of x around its median: a standard
// deviation estimate that ignores up to half the points being outliers.
// It is 0 when more than half of the values are equal. Long inputs are
// subsampled to about robustScaleSample evenly spaced points.
func robustScale(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	c := sample(nil, x)
	x = slices.Clone(c)
	m := medianInPlace(c)
	for i, v := range x {
		c[i] = math.Abs(v - m)
	}
	return madToSigma * medianInPlace(c)
}

// runningMedian returns the centred running median of x with odd window w
// (w is made odd and at most len(x)). Near the ends the window keeps its
// length and is shifted inwards, so the first and last values are still
// judged against w points. Cost O(n·w) with a small constant: the sorted
// window is updated by one shift per step.
func runningMedian(ar *arena, x []float64, w int) []float64 {
	n := len(x)
	out := ar.floats(n)
	if n == 0 {
		return out
	}
	w = min(w, n)
	if w%2 == 0 {
		w--
	}
	if w <= 1 {
		copy(out, x)
		return out
	}
	h := w / 2
	win := ar.floats(w)
	copy(win, x[:w])
	insertionSort(win)
	for i := 0; i <= h; i++ {
		out[i] = win[h]
	}
	for i := h + 1; i < n-h; i++ {
		old, nv := x[i-h-1], x[i+h]
		// Find old (any equal element will do) and slide nv into place.
		j := 0
		for win[j] != old {
			j++
		}
		if nv >= old {
			for j+1 < w && win[j+1] < nv {
				win[j] = win[j+1]
				j++
			}
		} else {
			for j > 0 && win[j-1] > nv {
				win[j] = win[j-1]
				j--
			}
		}
		win[j] = nv
		out[i] = win[h]
	}
	for i := max(n-h, h+1); i < n; i++ {
		out[i] = win[h]
	}
	return out
}

// movingAverage returns the centred moving average of x with half-width h,
// truncated symmetrically at the ends (out[0] = x[0]).
func movingAverage(ar *arena, x []float64, h int) []float64 {
	n := len(x)
	out := ar.floats(n)
	if n == 0 {
		return out
	}
	cs := ar.floats(n + 1)
	for i, v := range x {
		cs[i+1] = cs[i] + v
	}
	for i := range n {
		k := min(h, i, n-1-i)
		out[i] = (cs[i+k+1] - cs[i-k]) / float64(2*k+1)
	}
	return out
}

// trailingMean returns, for each i, the mean of x[max(0,i-w+1) .. i].
func trailingMean(ar *arena, x []float64, w int) []float64 {
	out := ar.floats(len(x))
	s := 0.0
	for i, v := range x {
		s += v
		if i >= w {
			s -= x[i-w]
		}
		out[i] = s / float64(min(i+1, w))
	}
	return out
}

// finiteOr returns v if it is finite, else def.
func finiteOr(v, def float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return def
	}
	return v
}

// sample returns a copy of x, or of about robustScaleSample evenly spaced
// elements of it when x is longer (a deterministic stride sample), for
// quantile estimates that need not look at every point.
func sample(ar *arena, x []float64) []float64 {
	step := 1
	if len(x) > robustScaleSample {
		step = (len(x) + robustScaleSample - 1) / robustScaleSample
	}
	c := ar.floats((len(x) + step - 1) / step)
	for i := range c {
		c[i] = x[i*step]
	}
	return c
}
