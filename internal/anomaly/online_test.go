package anomaly

import (
	"math"
	"slices"
	"testing"
	"time"
)

// onlinePushAll feeds xs at 5-minute steps to a new Online detector.
func onlinePushAll(xs []float64) []float64 {
	o := NewOnline()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = o.PushAt(t0.Add(time.Duration(i)*5*time.Minute), x)
	}
	return out
}

func TestOnlineScoresInRangeAndDeterministic(t *testing.T) {
	xs := streamNoisySine(6000, 288, 0.5, 21)
	xs[1000], xs[2000], xs[3000] = math.NaN(), math.Inf(-1), 1e300
	a, b := onlinePushAll(xs), onlinePushAll(xs)
	if !slices.Equal(a, b) {
		t.Fatal("two runs over the same series gave different scores")
	}
	for i, sc := range a {
		if math.IsNaN(sc) || sc < 0 || sc > 1 {
			t.Fatalf("score[%d] = %v, want in [0, 1]", i, sc)
		}
	}
}

// Each part alone catches what the other misses; the combination catches
// both: a spike (Stream and the spatial rule) and a pattern at a new hour
// (time-of-day contexts).
func TestOnlineCatchesWhatEitherPartCatches(t *testing.T) {
	xs := streamNoisySine(6000, 288, 0.3, 22)
	xs[4000] = 40
	if sc := onlinePushAll(xs); sc[4000] < 0.9 {
		t.Errorf("spike scored %.3f, want >= 0.9", sc[4000])
	}
	ts, ys := dailyBlock(20, 12, 15, 0)
	o := NewOnline()
	sc := make([]float64, len(ys))
	for i := range ys {
		sc[i] = o.PushAt(ts[i], ys[i])
	}
	if event, before := cadOnset(sc, 15*288, 24); event < 0.5 || event <= before {
		t.Errorf("block at a new hour: max score %.3f (before %.3f), want >= 0.5 and above before", event, before)
	}
}

// When both parts react to one event, only the onset scores high: a
// repeat that does not beat the recent memory is halved.
func TestOnlineAlarmsOncePerEvent(t *testing.T) {
	o := NewOnline()
	if got := o.combine(0.8, 0.2); got != 0.8 {
		t.Errorf("first alarm = %v, want 0.8", got)
	}
	if got := o.combine(0.3, 0.75); got != 0.375 {
		t.Errorf("second, smaller alarm right after = %v, want 0.375 (halved)", got)
	}
	if got := o.combine(1, 0); got != 1 {
		t.Errorf("a stronger alarm = %v, want 1 (not halved)", got)
	}
	for range 2000 { // the memory decays
		o.combine(0, 0)
	}
	if got := o.combine(0.6, 0); got != 0.6 {
		t.Errorf("alarm long after = %v, want 0.6", got)
	}
}

func BenchmarkOnlinePushAt(b *testing.B) {
	xs := streamNoisySine(10000, 288, 1, 4)
	o := NewOnline()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.ResetTimer()
	for i := range b.N {
		o.PushAt(t0.Add(time.Duration(i)*5*time.Minute), xs[i%len(xs)])
	}
}
