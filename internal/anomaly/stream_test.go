package anomaly

import (
	"math"
	"math/rand/v2"
	"testing"
)

// streamPushAll feeds xs to a new default Stream and returns the scores.
func streamPushAll(xs []float64) []float64 {
	s := NewStream(StreamOptions{})
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = s.Push(x)
	}
	return out
}

// streamNoisySine returns n points of a sine with the given period plus Gaussian
// noise of standard deviation sd, from a fixed seed.
func streamNoisySine(n, period int, sd float64, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = 10 + 3*math.Sin(2*math.Pi*float64(i)/float64(period)) + sd*r.NormFloat64()
	}
	return xs
}

func streamMaxOf(xs []float64) float64 {
	m := math.Inf(-1)
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

func TestStreamScoresInRange(t *testing.T) {
	xs := streamNoisySine(5000, 96, 0.5, 1)
	xs[1000] = math.NaN()
	xs[2000] = math.Inf(1)
	xs[3000] = 1e300
	for i, sc := range streamPushAll(xs) {
		if math.IsNaN(sc) || sc < 0 || sc > 1 {
			t.Fatalf("score[%d] = %v, want in [0, 1]", i, sc)
		}
		if i < streamWarmup && sc != 0 {
			t.Fatalf("score[%d] = %v during warm-up, want 0", i, sc)
		}
	}
}

func TestStreamConstantSeries(t *testing.T) {
	xs := make([]float64, 3000)
	for i := range xs {
		xs[i] = 42
	}
	if m := streamMaxOf(streamPushAll(xs)); m != 0 {
		t.Errorf("max score on a constant series = %v, want 0", m)
	}
}

func TestStreamDeterministic(t *testing.T) {
	xs := streamNoisySine(3000, 50, 1, 7)
	a, b := streamPushAll(xs), streamPushAll(xs)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("score[%d]: %v then %v", i, a[i], b[i])
		}
	}
}

// TestStreamDetects checks that each kind of change gets a score, shortly
// after it starts, above every score of the undisturbed part before it.
func TestStreamDetects(t *testing.T) {
	const n, at = 6000, 4000
	tests := []struct {
		name   string
		modify func(xs []float64)
	}{
		{"spike", func(xs []float64) { xs[at] += 6 }},
		{"dip", func(xs []float64) { xs[at] -= 6 }},
		{"level-shift", func(xs []float64) {
			for i := at; i < n; i++ {
				xs[i] += 4
			}
		}},
		{"variance-increase", func(xs []float64) {
			r := rand.New(rand.NewPCG(9, 9))
			for i := at; i < n; i++ {
				xs[i] += 2 * r.NormFloat64()
			}
		}},
		{"pattern-change", func(xs []float64) { // the cycle gets three times faster
			for i := at; i < n; i++ {
				xs[i] += 3*math.Sin(2*math.Pi*float64(i)/32) - 3*math.Sin(2*math.Pi*float64(i)/96)
			}
		}},
		{"flatline", func(xs []float64) {
			for i := at; i < n; i++ {
				xs[i] = 10
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			xs := streamNoisySine(n, 96, 0.3, 3)
			tt.modify(xs)
			sc := streamPushAll(xs)
			quiet := streamMaxOf(sc[1500:at])
			event := streamMaxOf(sc[at : at+100])
			t.Logf("before %.3f, after %.3f", quiet, event)
			if event <= quiet || event < 0.55 {
				t.Errorf("max score after the change = %.3f, before it = %.3f; want higher and >= 0.55", event, quiet)
			}
		})
	}
}

// TestStreamNoChangeStaysLow checks that an undisturbed series does not
// score like the events above once the detector has warmed up.
func TestStreamNoChangeStaysLow(t *testing.T) {
	sc := streamPushAll(streamNoisySine(6000, 96, 0.3, 3))
	m := streamMaxOf(sc[2000:])
	t.Logf("max score %.3f", m)
	if m > 0.6 {
		t.Errorf("max score on a plain noisy sine = %.3f, want <= 0.6", m)
	}
}

func TestStreamBoundedMemory(t *testing.T) {
	s := NewStream(StreamOptions{Window: 100})
	r := rand.New(rand.NewPCG(5, 5))
	for i := range 60_000 {
		// A slowly rising series keeps pushing the monotone queues.
		s.Push(float64(i)*1e-3 + r.NormFloat64())
	}
	if len(s.hist) != 100 || len(s.sorted) != 100 {
		t.Errorf("history holds %d/%d values, want 100", len(s.hist), len(s.sorted))
	}
	for i, rec := range s.records {
		if len(rec.val) > streamRecordLen || cap(rec.val) > 4*streamRecordLen+1024 {
			t.Errorf("record %d holds %d values (cap %d), want <= %d", i, len(rec.val), cap(rec.val), streamRecordLen)
		}
	}
	for i, c := range s.coarse {
		if len(c.ring) > streamCoarseLen {
			t.Errorf("coarse %d holds %d blocks, want <= %d", i, len(c.ring), streamCoarseLen)
		}
	}
}

func TestStreamSortedWindowConsistent(t *testing.T) {
	s := NewStream(StreamOptions{Window: 64})
	r := rand.New(rand.NewPCG(2, 2))
	for range 5000 {
		s.Push(math.Round(r.NormFloat64() * 3)) // many ties
	}
	for i := 1; i < len(s.sorted); i++ {
		if s.sorted[i] < s.sorted[i-1] {
			t.Fatalf("sorted window out of order at %d", i)
		}
	}
	var a, b float64
	for i := range s.hist {
		a += s.hist[i]
		b += s.sorted[i]
	}
	if a != b {
		t.Errorf("sorted window sum %v != history sum %v", b, a)
	}
}

func BenchmarkStreamPush(b *testing.B) {
	xs := streamNoisySine(10000, 288, 1, 4)
	s := NewStream(StreamOptions{})
	b.ResetTimer()
	for i := range b.N {
		s.Push(xs[i%len(xs)])
	}
}
