package anomaly

import "math"

// Margin and severity functions of the v1.1 GA API (see
// specs/anomaly-detector-api.md §6.3–6.4).

// marginFactor is g(s), the v1.1 GA base margin as a fraction of the
// series level u_i. With d = 100 − s it is the Hill curve
//
//	g = G·d^k / (d^k + A),  G = 0.04,  A = G/0.0003 − 1,
//	k = log₅(B),  B = A·(0.008/G) / (1 − 0.008/G),
//
// which passes exactly through the recorded anchors g(99) = 0.0003 and
// g(95) = 0.008 (ratio 80/3), is smooth and strictly decreasing in s, and
// saturates at G = 4 % of the level for low sensitivities instead of
// exploding: g(90) ≈ 0.021, g(70) ≈ 0.037, g(0) ≈ 0.040. g(100) = 0.
func marginFactor(s float64) float64 {
	d := 100 - min(max(s, 0), 100)
	if d <= 0 {
		return 0
	}
	const (
		gMax = 0.04
		g99  = 0.0003
		g95  = 0.008
	)
	a := gMax/g99 - 1
	b := a * (g95 / gMax) / (1 - g95/gMax)
	k := math.Log(b) / math.Log(5)
	dk := math.Pow(d, k)
	return gMax * dk / (dk + a)
}

// severityKnots are (r, severity) pairs from the v1.1 recordings; beyond
// the last knot severity is 0.05 + (2/3)·r.
var severityKnots = [...][2]float64{
	{0, 0.0546},
	{0.011, 0.0586},
	{0.033, 0.0667},
	{0.074, 0.0854},
	{0.121, 0.1251},
	{0.155, 0.05 + 2.0/3*0.155},
}

// severityOf is the v1.1 severity of a point whose deviation from its
// expected value is r times the series level: a fixed increasing function,
// piecewise linear through the recorded samples up to r = 0.155 and
// 0.05 + (2/3)·r after that, clamped to [0, 1].
func severityOf(r float64) float64 {
	if !(r >= 0) { // NaN or negative
		return 0
	}
	k := severityKnots
	last := k[len(k)-1]
	if r >= last[0] {
		return min(0.05+2.0/3*r, 1)
	}
	for i := 1; i < len(k); i++ {
		if r <= k[i][0] {
			t := (r - k[i-1][0]) / (k[i][0] - k[i-1][0])
			return k[i-1][1] + t*(k[i][1]-k[i-1][1])
		}
	}
	return min(0.05+2.0/3*r, 1)
}

// seriesLevel returns u_i, the slowly varying magnitude of the series that
// scales v1.1 margins and severities: half a moving average of |expected|
// over a window of min(n/3, 512) points (shifted, not shrunk, at the ends)
// plus half the mean of |expected| over the whole series. A constant series
// c has level |c| exactly.
func seriesLevel(ar *arena, expected []float64) []float64 {
	n := len(expected)
	a := ar.scratch(n)
	mean := 0.0
	for i, v := range expected {
		a[i] = math.Abs(v)
		mean += a[i]
	}
	mean /= float64(n)
	w := max(min(n/3, 512), 1)
	loc := movingAverageClamped(ar, a, w/2)
	for i := range loc {
		if loc[i] == mean {
			continue
		}
		loc[i] = 0.5*loc[i] + 0.5*mean
	}
	return loc
}

// sensitivityThreshold maps a sensitivity in [0, 99] to the score a point
// needs to be reported: thresh99 at 99, thresh70 at 70, geometric in
// between and beyond.
func sensitivityThreshold(s float64, cfg *modelConfig) float64 {
	ratio := cfg.thresh70 / cfg.thresh99
	return cfg.thresh99 * math.Pow(ratio, (99-s)/29)
}
