package main

import (
	"math"
	"sort"
)

// counts holds point counts of the delay-adjusted metric. They add up over
// series, so pooling them gives the paper's total precision, recall and F1.
type counts struct {
	TP, FP, FN int
}

// add adds o to c.
func (c *counts) add(o counts) {
	c.TP += o.TP
	c.FP += o.FP
	c.FN += o.FN
}

// precision is TP/(TP+FP), 0 when nothing was flagged.
func (c counts) precision() float64 {
	if c.TP+c.FP == 0 {
		return 0
	}
	return float64(c.TP) / float64(c.TP+c.FP)
}

// recall is TP/(TP+FN), 0 when nothing is labelled.
func (c counts) recall() float64 {
	if c.TP+c.FN == 0 {
		return 0
	}
	return float64(c.TP) / float64(c.TP+c.FN)
}

// f1 is the harmonic mean of precision and recall, 0 when both are 0.
func (c counts) f1() float64 {
	p, r := c.precision(), c.recall()
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

// segment is a run of consecutive labelled points [start, end).
type segment struct {
	start, end int
}

// segments returns the anomaly segments of labels: maximal runs of
// consecutive true values.
func segments(labels []bool) []segment {
	var out []segment
	for i := 0; i < len(labels); {
		if !labels[i] {
			i++
			continue
		}
		j := i
		for j < len(labels) && labels[j] {
			j++
		}
		out = append(out, segment{i, j})
		i = j
	}
	return out
}

// delayCounts scores one series with the delay-adjusted point-wise metric
// of the SR-CNN paper. A segment whose first delay+1 points hold a flagged
// point counts as len(segment) true positives, otherwise as len(segment)
// false negatives; every flagged point outside the segments is a false
// positive. labels and flags have the same length.
func delayCounts(labels, flags []bool, delay int) counts {
	var c counts
	for i := 0; i < len(labels); {
		if !labels[i] {
			if flags[i] {
				c.FP++
			}
			i++
			continue
		}
		j := i
		for j < len(labels) && labels[j] {
			j++
		}
		hit := false
		for k := i; k < j && k <= i+delay; k++ {
			if flags[k] {
				hit = true
				break
			}
		}
		if hit {
			c.TP += j - i
		} else {
			c.FN += j - i
		}
		i = j
	}
	return c
}

// sweep scores the flags "score > t" for many thresholds t at once over a
// pooled corpus. add takes one series; counts then gives the metric for a
// threshold. It is equivalent to delayCounts on thresholded scores, but
// costs one sort instead of one pass over the corpus per threshold.
type sweep struct {
	delay int
	// detect holds, for each segment, the highest score among its first
	// delay+1 points, and segLen its length.
	detect []float64
	segLen []int
	// outside holds the scores of the points outside every segment.
	outside []float64
	sorted  bool
}

// add adds one series' labels and scores. A NaN score never flags.
func (s *sweep) add(labels []bool, scores []float64) {
	s.sorted = false
	for i := 0; i < len(labels); {
		if !labels[i] {
			if !math.IsNaN(scores[i]) {
				s.outside = append(s.outside, scores[i])
			}
			i++
			continue
		}
		j := i
		for j < len(labels) && labels[j] {
			j++
		}
		best := math.Inf(-1)
		for k := i; k < j && k <= i+s.delay; k++ {
			if scores[k] > best { // false for NaN
				best = scores[k]
			}
		}
		s.detect = append(s.detect, best)
		s.segLen = append(s.segLen, j-i)
		i = j
	}
}

// counts returns the pooled counts for the flags "score > t".
func (s *sweep) counts(t float64) counts {
	if !s.sorted {
		sort.Float64s(s.outside)
		s.sorted = true
	}
	var c counts
	c.FP = len(s.outside) - sort.Search(len(s.outside), func(i int) bool { return s.outside[i] > t })
	for i, d := range s.detect {
		if d > t {
			c.TP += s.segLen[i]
		} else {
			c.FN += s.segLen[i]
		}
	}
	return c
}
