package main

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// syntheticSeries is the number of series in the synthetic corpus.
const syntheticSeries = 100

// synthetic returns the deterministic Yahoo-like corpus for seed: 100
// series of 1200–1679 points, each a level plus a linear trend, zero to two
// sine seasonalities (periods 12 to 168) and Gaussian noise (σ 3–20 % of the
// seasonal amplitude), with zero to five injected anomalies at least 30
// points apart: spikes (one point up), dips (one to three points down) and
// temporary level shifts (8 to 40 points moved up or down). Every point of
// an injected anomaly is labelled. The generator is independent of the one
// Vigil's detector was tuned with (internal/anomaly/eval_test.go).
func synthetic(seed uint64) []*series {
	out := make([]*series, syntheticSeries)
	for k := range out {
		out[k] = syntheticOne(seed, k)
	}
	return out
}

// syntheticOne makes series k of the synthetic corpus.
func syntheticOne(seed uint64, k int) *series {
	rng := rand.New(rand.NewPCG(seed, uint64(k)+1))
	n := 1200 + rng.IntN(480)
	amp := 10 + rng.Float64()*90
	sigma := amp * (0.03 + rng.Float64()*0.17)
	base := rng.Float64() * 1000
	slope := (rng.Float64()*2 - 1) * 2 * amp / float64(n)
	periods := []int{12, 24, 48, 72, 168}
	type wave struct {
		period      int
		amp, phase  float64
		shapeSecond bool
	}
	var waves []wave
	switch r := rng.IntN(20); {
	case r < 3: // no seasonality
	case r < 13:
		waves = append(waves, wave{periods[rng.IntN(len(periods))], amp, rng.Float64() * 2 * math.Pi, rng.IntN(2) == 0})
	default:
		waves = append(waves, wave{periods[rng.IntN(len(periods))], amp, rng.Float64() * 2 * math.Pi, false})
		waves = append(waves, wave{periods[rng.IntN(len(periods))], amp * 0.4, rng.Float64() * 2 * math.Pi, false})
	}
	v := make([]float64, n)
	for i := range v {
		x := base + slope*float64(i) + rng.NormFloat64()*sigma
		for _, w := range waves {
			ph := 2*math.Pi*float64(i)/float64(w.period) + w.phase
			x += w.amp * math.Sin(ph)
			if w.shapeSecond {
				x += 0.3 * w.amp * math.Sin(2*ph)
			}
		}
		v[i] = x
	}
	labels := make([]bool, n)
	var starts []int
	for range rng.IntN(6) {
		at := 10 + rng.IntN(n-60)
		far := true
		for _, s := range starts {
			if at > s-70 && at < s+70 { // anomalies are at most 40 long
				far = false
			}
		}
		if !far {
			continue
		}
		starts = append(starts, at)
		mag := (4+rng.Float64()*6)*sigma + rng.Float64()*0.5*amp
		length := 1
		switch rng.IntN(3) {
		case 0: // spike
		case 1: // dip
			mag = -mag
			length = 1 + rng.IntN(3)
		case 2: // temporary level shift
			mag = (3+rng.Float64()*3)*sigma + rng.Float64()*0.3*amp
			if rng.IntN(2) == 0 {
				mag = -mag
			}
			length = 8 + rng.IntN(33)
		}
		for j := at; j < at+length && j < n; j++ {
			v[j] += mag
			labels[j] = true
		}
	}
	return &series{name: fmt.Sprintf("synthetic/%03d", k), values: v, labels: labels}
}
