package anomaly

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// cadPushAll feeds xs to a new ContextStream and returns the scores.
func cadPushAll(xs []float64) []float64 {
	c := NewContextStream()
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = c.Push(x)
	}
	return out
}

func TestContextStreamScoresInRange(t *testing.T) {
	xs := streamNoisySine(6000, 96, 0.5, 1)
	xs[1000] = math.NaN()
	xs[2000] = math.Inf(1)
	xs[3000] = 1e300
	xs[4000] = -1e300
	for i, sc := range cadPushAll(xs) {
		if math.IsNaN(sc) || sc < 0 || sc > 1 {
			t.Fatalf("score[%d] = %v, want in [0, 1]", i, sc)
		}
		if i < cadLearn && sc != 0 {
			t.Fatalf("score[%d] = %v during learning, want 0", i, sc)
		}
	}
}

func TestContextStreamDeterministic(t *testing.T) {
	xs := streamNoisySine(5000, 50, 0.8, 7)
	xs[3000] += 20
	a, b := cadPushAll(xs), cadPushAll(xs)
	if !slices.Equal(a, b) {
		t.Fatal("two runs over the same series gave different scores")
	}
}

func TestContextStreamConstantSeries(t *testing.T) {
	xs := make([]float64, 3000)
	for i := range xs {
		xs[i] = 42
	}
	// A raw score equal to its mean has tail probability 0.5, which scores
	// log(0.5)/log(1e-10) ≈ 0.03, the floor of the likelihood layer.
	if m := streamMaxOf(cadPushAll(xs)); m > 0.05 {
		t.Errorf("max score on a constant series = %v, want <= 0.05", m)
	}
}

// A regular periodic series, once learned, must stay quiet.
func TestContextStreamPeriodicQuiet(t *testing.T) {
	for _, sd := range []float64{0, 0.05, 0.3} {
		sc := cadPushAll(streamNoisySine(8000, 96, sd, 3))
		if m := streamMaxOf(sc[3000:]); m >= 0.5 {
			t.Errorf("noise sd %v: max score after learning = %.3f, want < 0.5", sd, m)
		}
	}
}

// cadOnset returns the largest score in sc[at:at+within] and the largest
// score in the 1000 points before at.
func cadOnset(sc []float64, at, within int) (event, before float64) {
	return streamMaxOf(sc[at : at+within]), streamMaxOf(sc[at-1000 : at])
}

func TestContextStreamSpike(t *testing.T) {
	xs := streamNoisySine(6000, 96, 0.3, 4)
	xs[4000] = 30
	sc := cadPushAll(xs)
	if sc[4000] != 1 {
		t.Errorf("spike scored %.3f, want 1", sc[4000])
	}
	if _, before := cadOnset(sc, 4000, 1); before >= 0.5 {
		t.Errorf("max score before the spike = %.3f, want < 0.5", before)
	}
}

// A level shift to a value inside the usual range is not caught by the
// spatial rule; the contexts must catch it.
func TestContextStreamLevelShiftInsideRange(t *testing.T) {
	xs := streamNoisySine(6000, 96, 0.1, 5)
	for i := 4000; i < len(xs); i++ {
		xs[i] = 10 + 0.1*math.Sin(float64(i))
	}
	event, before := cadOnset(cadPushAll(xs), 4000, 50)
	if event < 0.5 || event <= before {
		t.Errorf("level shift: max score %.3f (before %.3f), want >= 0.5 and above before", event, before)
	}
}

// A new pattern in the same range (the period drops from 96 to 24) must
// alarm.
func TestContextStreamNewPattern(t *testing.T) {
	xs := streamNoisySine(6000, 96, 0.1, 6)
	fast := streamNoisySine(2000, 24, 0.1, 8)
	copy(xs[4000:], fast)
	event, before := cadOnset(cadPushAll(xs), 4000, 100)
	if event < 0.5 || event <= before {
		t.Errorf("new pattern: max score %.3f (before %.3f), want >= 0.5 and above before", event, before)
	}
}

// Once reported, a sustained change must not alarm at full strength on
// every point.
func TestContextStreamAlarmsOnce(t *testing.T) {
	xs := streamNoisySine(6000, 96, 0.1, 9)
	fast := streamNoisySine(2000, 24, 0.1, 10)
	copy(xs[4000:], fast)
	sc := cadPushAll(xs)
	high := 0
	for _, s := range sc[4000:4300] {
		if s >= 0.5 {
			high++
		}
	}
	if high == 0 || high > 30 {
		t.Errorf("%d of 300 points after a new pattern score >= 0.5, want 1..30", high)
	}
}

// dailyBlock returns 5-minute values over days days from midnight: noise
// around 0 with a block of 10 for an hour each day starting at startHour,
// except on day odd, when the block starts at oddHour instead.
func dailyBlock(days, startHour, odd, oddHour int) ([]time.Time, []float64) {
	r := rand.New(rand.NewPCG(11, 1))
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	n := days * 288
	ts, xs := make([]time.Time, n), make([]float64, n)
	for i := range n {
		ts[i] = t0.Add(time.Duration(i) * 5 * time.Minute)
		h := startHour
		if i/288 == odd {
			h = oddHour
		}
		xs[i] = 0.3 * r.NormFloat64()
		if slot := i % 288; slot >= h*12 && slot < h*12+12 {
			xs[i] += 10
		}
	}
	return ts, xs
}

// A daily pattern at an hour it never occurred at is new with timestamps
// (PushAt) and ordinary without them (Push).
func TestContextStreamTimeOfDay(t *testing.T) {
	const odd = 15
	ts, xs := dailyBlock(20, 12, odd, 0) // day 15's block comes at midnight
	at, without := NewContextStream(), NewContextStream()
	scAt, scWithout := make([]float64, len(xs)), make([]float64, len(xs))
	for i := range xs {
		scAt[i] = at.PushAt(ts[i], xs[i])
		scWithout[i] = without.Push(xs[i])
	}
	lo := odd * 288
	eventAt, beforeAt := cadOnset(scAt, lo, 24)
	eventWithout, _ := cadOnset(scWithout, lo, 24)
	t.Logf("at %.3f before %.3f without %.3f", eventAt, beforeAt, eventWithout)
	if eventAt < 0.5 || eventAt <= beforeAt {
		t.Errorf("block at midnight with timestamps: max score %.3f (before %.3f), want >= 0.5 and above before", eventAt, beforeAt)
	}
	if eventWithout >= 0.5 {
		t.Errorf("block at midnight without timestamps: max score %.3f, want < 0.5 (the pattern itself is known)", eventWithout)
	}
	if dayPart(ts[0]) != 0 || dayPart(ts[12*12]) != 2 || dayPart(ts[287]) != 3 {
		t.Errorf("day parts of 00:00, 12:00, 23:55 = %d, %d, %d; want 0, 2, 3", dayPart(ts[0]), dayPart(ts[12*12]), dayPart(ts[287]))
	}
}
