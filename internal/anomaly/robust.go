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
	return medianBy(x, selectKth)
}

// medianInPlaceOrdered is medianInPlace for values in time order from a
// smooth series (see selectKthHoare).
func medianInPlaceOrdered(x []float64) float64 {
	return medianBy(x, selectKthHoare)
}

func medianBy(x []float64, sel func([]float64, int) float64) float64 {
	n := len(x)
	if n == 0 {
		return 0
	}
	hi := sel(x, n/2)
	if n%2 == 1 {
		return hi
	}
	// The lower middle is the maximum of the part left of n/2 (as by
	// max, +0 above −0; the plain comparison keeps the loop fast).
	lo := x[0]
	for _, v := range x[1 : n/2] {
		if v > lo || v == lo && lo == 0 && math.Signbit(lo) {
			lo = v
		}
	}
	return lo/2 + hi/2
}

// selectKth reorders x so that x[k] is the k-th smallest value, everything
// before it ≤ x[k] and everything after ≥ x[k], and returns x[k]. It is a
// quickselect with a median-of-three pivot and branch-free partitioning
// (the comparisons of a partition are unpredictable, so branches would
// cost a misprediction every other element): one pass moves the elements
// below the pivot to the front; when there are none, a second one moves
// the elements equal to it next, so runs of equal values cannot make it
// quadratic.
func selectKth(x []float64, k int) float64 {
	lo, hi := 0, len(x) // half-open
	for hi-lo > 16 {
		a, b, c := x[lo], x[lo+(hi-lo)/2], x[hi-1]
		p := max(min(a, b), min(max(a, b), c)) // median of three
		// [lo, i) < p ≤ [i, j)
		i := lo
		for j := lo; j < hi; j++ {
			v := x[j]
			x[j] = x[i]
			x[i] = v
			i += b2i(v < p)
		}
		if k < i {
			hi = i
			continue
		}
		if i > lo {
			lo = i
			continue
		}
		// Nothing below p: p is the minimum, so k may lie in the run of
		// values equal to it. [i, e) == p < [e, hi)
		e := i
		for j := i; j < hi; j++ {
			v := x[j]
			x[j] = x[e]
			x[e] = v
			e += b2i(v <= p)
		}
		if k < e {
			return x[k]
		}
		lo = e
	}
	insertionSort(x[lo:hi])
	return x[k]
}

// selectKthHoare is selectKth by Hoare partitioning with branches. On
// values in time order from a smooth series (long monotone runs) its
// branches are predictable and it beats the branch-free selectKth, which
// wins on shuffled data such as residuals. Same contract as selectKth.
func selectKthHoare(x []float64, k int) float64 {
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
	return robustScaleAr(nil, x)
}

// robustScaleAr is robustScale with scratch space from ar. The absolute
// deviations are taken in place on the sample that the median reordered:
// the median of a multiset does not depend on the order, so no copy in
// the original order is needed.
func robustScaleAr(ar *arena, x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	c := sample(ar, x)
	m := medianInPlace(c)
	for i, v := range c {
		c[i] = math.Abs(v - m)
	}
	return madToSigma * medianInPlace(c)
}

// runningMedian returns the centred running median of x with odd window w
// (w is made odd and at most len(x)). Near the ends the window keeps its
// length and is shifted inwards, so the first and last values are still
// judged against w points. Cost O(n·w) in the worst case with a tiny
// constant: the window is kept sorted and each step moves only the values
// between the leaving and the entering one ([medianRange]). With a helper
// ([helper]) the second half is computed on another core; the result is
// the same either way.
func runningMedian(ar *arena, x []float64, w int) []float64 {
	n := len(x)
	out := ar.floats(n)
	w = medianWindow(n, w)
	if w <= 1 {
		copy(out, x)
		return out
	}
	if ar.helper() == nil || n < splitMin {
		medianRange(ar, out, x, w, 0, n)
		return out
	}
	// Each half with windows from its own arena, on different cache lines.
	mid := n / 2
	both(ar, func(har *arena) { medianRange(har, out, x, w, mid, n) }, func() { medianRange(ar, out, x, w, 0, mid) })
	return out
}

// medianWindow is the window runningMedian uses for n values and window w:
// w made odd and at most n.
func medianWindow(n, w int) int {
	w = min(w, n)
	if w%2 == 0 {
		w--
	}
	return max(w, 0)
}

// medianRange writes out[lo:hi] of the running median of x with odd
// window w <= len(x), with scratch space from ar. The window is kept
// sorted, and for each of its values the place where it sits: the value
// that leaves is found without a search (a binary search is a chain of
// dependent loads, the longest part of a step), and the value that
// enters walks in from there, the values it passes moving one place
// towards the gap. Neighbouring values of a series are usually close in
// rank, so the walk is short.
func medianRange(ar *arena, out, x []float64, w, lo, hi int) {
	n, h := len(x), w/2
	start := func(i int) int { return min(max(i-h, 0), n-w) }
	s := start(lo)
	// win[k] is the k-th smallest value of the window x[s:s+w], id[k]
	// the slot (index mod w) of that value and pos[slot] its place in
	// win. The value entering at s+w takes the slot of the one leaving
	// at s.
	win, id, pos := ar.scratch(w), ar.int32s(w), ar.int32s(w)
	for k := range w {
		v, slot := x[s+k], int32((s+k)%w)
		j := k
		for j > 0 && win[j-1] > v {
			win[j], id[j] = win[j-1], id[j-1]
			j--
		}
		win[j], id[j] = v, slot
	}
	for k, slot := range id {
		pos[slot] = int32(k)
	}
	slot := int32(s % w)
	for i := lo; i < hi; i++ {
		for ns := start(i); s < ns; s++ {
			old, nv := x[s], x[s+w]
			k := int(pos[slot])
			if nv >= old {
				// win[:k] <= old <= nv: nv belongs at k or to its right.
				for k+1 < len(win) && win[k+1] < nv {
					win[k], id[k] = win[k+1], id[k+1]
					pos[id[k]] = int32(k)
					k++
				}
			} else {
				for k > 0 && win[k-1] > nv {
					win[k], id[k] = win[k-1], id[k-1]
					pos[id[k]] = int32(k)
					k--
				}
			}
			win[k], id[k] = nv, slot
			pos[slot] = int32(k)
			if slot++; int(slot) == w {
				slot = 0
			}
		}
		out[i] = win[h]
	}
}

// clamp is min(max(v, lo), hi) for v, lo and hi that are not NaN, with
// lo ≤ hi: the same value, signed zeros included, without the NaN
// handling of min and max.
func clamp(v, lo, hi float64) float64 {
	if v < lo || v == lo && !math.Signbit(lo) { // max(−0, +0) is +0
		v = lo
	}
	if v > hi || v == hi && math.Signbit(hi) { // min(−0, +0) is −0
		v = hi
	}
	return v
}

// b2i is 1 for true and 0 for false; the compiler makes it branch-free.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// movingAverage returns the centred moving average of x with half-width h,
// truncated symmetrically at the ends (out[0] = x[0]).
func movingAverage(ar *arena, x []float64, h int) []float64 {
	n := len(x)
	out := ar.floats(n)
	if n == 0 {
		return out
	}
	cs := prefixSums(ar, x)
	// The window shrinks near the ends (k = min(h, i, n−1−i)); in between
	// it is the full 2h+1 points, without the per-point minimum and
	// conversion.
	h = min(h, (n-1)/2)
	for i := range h {
		out[i] = (cs[2*i+1] - cs[0]) / float64(2*i+1)
	}
	fw := float64(2*h + 1)
	lo, hi := cs[:n-2*h], cs[2*h+1:]
	mid := out[h : n-h]
	lo, hi = lo[:len(mid)], hi[:len(mid)]
	for j := range mid {
		mid[j] = (hi[j] - lo[j]) / fw
	}
	for i := n - h; i < n; i++ {
		k := n - 1 - i
		out[i] = (cs[n] - cs[i-k]) / float64(2*k+1)
	}
	return out
}

// prefixSums returns cs with cs[0] = 0 and cs[i+1] = x[0] + … + x[i].
func prefixSums(ar *arena, x []float64) []float64 {
	cs := ar.scratch(len(x) + 1)
	cs[0] = 0
	sum := 0.0 // in a register: no store-to-load round trip per element
	for i, v := range x {
		sum += v
		cs[i+1] = sum
	}
	return cs
}

// trailingMean returns, for each i, the mean of x[max(0,i-w+1) .. i].
func trailingMean(ar *arena, x []float64, w int) []float64 {
	out := ar.scratch(len(x))
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
	if v-v == 0 { // NaN and ±Inf give NaN
		return v
	}
	return def
}

// sample returns a copy of x, or of about robustScaleSample evenly spaced
// elements of it when x is longer (a deterministic stride sample), for
// quantile estimates that need not look at every point.
func sample(ar *arena, x []float64) []float64 {
	step := 1
	if len(x) > robustScaleSample {
		step = (len(x) + robustScaleSample - 1) / robustScaleSample
	}
	c := ar.scratch((len(x) + step - 1) / step)
	for i := range c {
		c[i] = x[i*step]
	}
	return c
}
