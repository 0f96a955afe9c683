package tcpd

import (
	"math"
	"slices"
)

// Clean returns the predictions the benchmark scores: the distinct indices
// in 1..n-2, ascending. The first and last points are never counted as
// change points.
func Clean(predictions []int, n int) []int {
	out := make([]int, 0, len(predictions))
	for _, p := range predictions {
		if p >= 1 && p <= n-2 {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Result is the pair of scores for one series.
type Result struct {
	F1, Precision, Recall float64
	Cover                 float64
}

// Evaluate cleans the predictions of a series of n points ([Clean]) and
// scores them against the annotators' change points with [F1] (margin
// [DefaultMargin]) and [Cover].
func Evaluate(annotators [][]int, predictions []int, n int) Result {
	x := Clean(predictions, n)
	f, p, r := F1(annotators, x, DefaultMargin)
	return Result{F1: f, Precision: p, Recall: r, Cover: Cover(annotators, x, n)}
}

// F1 returns the F1 score, precision and recall of the predicted change
// points against the annotators' points, with a hit meaning a distance of at
// most margin. It follows van den Burg and Williams:
//
//   - T_k is annotator k's set of points with 0 added, T* the union of the
//     T_k, and X the set of predictions with 0 added.
//   - A set of true points T is matched against X greedily: each τ in T, in
//     turn, consumes the closest unused prediction within the margin (ties
//     go to the smaller prediction) and counts as a hit.
//   - Precision is |hits(T*)| / |X|; recall is the mean over annotators of
//     |hits(T_k)| / |T_k|; F1 = 2PR / (P + R).
//
// Greedy matching depends on the order in which the true points are visited.
// The published scores come from a Python implementation that walks Python
// sets, so F1 visits each set in the order CPython 3 iterates a set of small
// integers built the same way (see [pySetOrder]); this reproduces the
// published numbers exactly, including on dense predictions where plain
// ascending order differs.
//
// predictions are used as given; call [Clean] first to score as the benchmark
// does. With no annotators the recall is taken as 1.
func F1(annotators [][]int, predictions []int, margin int) (f1, precision, recall float64) {
	// Annotator sets: set(list) then add(0).
	tks := make([][]int, len(annotators))
	for k, a := range annotators {
		s := newPySet()
		for _, v := range a {
			s.add(v)
		}
		s.add(0)
		tks[k] = s.order()
	}
	star := newPySet()
	for _, tk := range tks {
		for _, v := range tk {
			star.add(v)
		}
	}
	xs := slices.Clone(predictions)
	xs = append(xs, 0)
	slices.Sort(xs)
	xs = slices.Compact(xs)

	precision = float64(truePositives(star.order(), xs, margin)) / float64(len(xs))
	recall = 1
	if len(tks) > 0 {
		sum := 0.0
		for _, tk := range tks {
			sum += float64(truePositives(tk, xs, margin)) / float64(len(tk))
		}
		recall = sum / float64(len(tks))
	}
	if precision+recall == 0 {
		return 0, precision, recall
	}
	return 2 * precision * recall / (precision + recall), precision, recall
}

// truePositives counts the points of truth, visited in the given order, that
// consume a distinct prediction of xs (sorted, distinct) within margin; each
// takes the closest unused one, the smaller on a tie.
func truePositives(truth, xs []int, margin int) int {
	used := make([]bool, len(xs))
	hits := 0
	for _, tau := range truth {
		best, bestDist := -1, 0
		lo, _ := slices.BinarySearch(xs, tau-margin)
		for i := lo; i < len(xs) && xs[i] <= tau+margin; i++ {
			if used[i] {
				continue
			}
			d := xs[i] - tau
			if d < 0 {
				d = -d
			}
			if best < 0 || d < bestDist {
				best, bestDist = i, d
			}
		}
		if best >= 0 {
			used[best] = true
			hits++
		}
	}
	return hits
}

// Cover returns the covering metric of the predicted change points against
// the annotators' points for a series of n points: the mean over annotators
// of (1/n) Σ_{R in A_k} |R| · max_{R' in P} |R ∩ R'| / |R ∪ R'|, where A_k and
// P are the partitions of 0..n-1 that the annotator's and the predicted
// points induce (a point c starts a new segment at c). With no annotators the
// result is 0.
func Cover(annotators [][]int, predictions []int, n int) float64 {
	if n <= 0 || len(annotators) == 0 {
		return 0
	}
	pred := partition(predictions, n)
	sum := 0.0
	for _, a := range annotators {
		sum += coverSingle(pred, partition(a, n), n)
	}
	return sum / float64(len(annotators))
}

// segment is the half-open index range [lo, hi).
type segment struct{ lo, hi int }

// partition splits 0..n-1 at the distinct points of cps, as the benchmark's
// partition_from_cps does: a point 0 or a repeated point adds no segment,
// and points at or beyond n are ignored. A negative point stops the walk
// there, as it does in the benchmark.
func partition(cps []int, n int) []segment {
	s := slices.Clone(cps)
	slices.Sort(s)
	s = slices.Compact(s)
	var out []segment
	start := 0
	for _, c := range s {
		if c < 0 || c >= n {
			break
		}
		if c == 0 {
			continue
		}
		out = append(out, segment{start, c})
		start = c
	}
	return append(out, segment{start, n})
}

// coverSingle is C(pred, truth): the Jaccard-weighted cover of the truth
// partition by the predicted one.
func coverSingle(pred, truth []segment, n int) float64 {
	c := 0.0
	for _, r := range truth {
		best := 0.0
		for _, q := range pred {
			inter := min(r.hi, q.hi) - max(r.lo, q.lo)
			if inter <= 0 {
				continue
			}
			union := (r.hi - r.lo) + (q.hi - q.lo) - inter
			if j := float64(inter) / float64(union); j > best {
				best = j
			}
		}
		c += float64(r.hi-r.lo) * best
	}
	return c / float64(n)
}

// pySet mimics the slot layout of a CPython 3 set (Objects/setobject.c) of
// small integers, whose hash is the integer itself, so that its iteration
// order is the one Python would use. Only insertion is needed.
type pySet struct {
	table []int // slot contents; empty slots hold emptySlot
	fill  int
}

const (
	emptySlot    = -1 << 62
	linearProbes = 9
	perturbShift = 5
	pySetMinSize = 8
)

func newPySet() *pySet {
	s := &pySet{table: make([]int, pySetMinSize)}
	for i := range s.table {
		s.table[i] = emptySlot
	}
	return s
}

// pyHash is CPython's hash of a small int: the value, except that -1 maps to
// -2.
func pyHash(v int) uint64 {
	if v == -1 {
		return math.MaxUint64 - 1
	}
	return uint64(int64(v))
}

// slot returns the slot where key is, or the empty slot where it would be
// inserted, following CPython's probe sequence: a run of linear probes, then
// perturbed jumps.
func slot(table []int, key int) int {
	mask := uint64(len(table) - 1)
	h := pyHash(key)
	i := h & mask
	perturb := h
	for {
		probes := 0
		if i+linearProbes <= mask {
			probes = linearProbes
		}
		for j := uint64(0); j <= uint64(probes); j++ {
			v := table[i+j]
			if v == emptySlot || v == key {
				return int(i + j)
			}
		}
		perturb >>= perturbShift
		i = (i*5 + 1 + perturb) & mask
	}
}

func (s *pySet) add(key int) {
	i := slot(s.table, key)
	if s.table[i] == key {
		return
	}
	s.table[i] = key
	s.fill++
	mask := len(s.table) - 1
	if s.fill*5 < mask*3 {
		return
	}
	minUsed := s.fill * 4
	if s.fill > 50000 {
		minUsed = s.fill * 2
	}
	size := pySetMinSize
	for size <= minUsed {
		size <<= 1
	}
	old := s.table
	s.table = make([]int, size)
	for i := range s.table {
		s.table[i] = emptySlot
	}
	for _, v := range old {
		if v != emptySlot {
			s.table[slot(s.table, v)] = v
		}
	}
}

// order returns the members in iteration order.
func (s *pySet) order() []int {
	out := make([]int, 0, s.fill)
	for _, v := range s.table {
		if v != emptySlot {
			out = append(out, v)
		}
	}
	return out
}

// pySetOrder returns the iteration order of set(values) in CPython 3.
func pySetOrder(values []int) []int {
	s := newPySet()
	for _, v := range values {
		s.add(v)
	}
	return s.order()
}
