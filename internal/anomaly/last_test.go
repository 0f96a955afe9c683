package anomaly

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestDetectLast_SuggestedWindow(t *testing.T) {
	v := hourlySeries(24*8, 20, nil)
	tests := []struct {
		name string
		opt  Options
		want int
	}{
		{"period-7-gives-29", Options{Sensitivity: 99, Period: 7, PeriodSet: true}, 29},
		{"period-12-gives-49", Options{Sensitivity: 99, Period: 12, PeriodSet: true}, 49},
		{"period-0-gives-13", Options{Sensitivity: 99, Period: 0, PeriodSet: true}, 13},
		{"detected-24-gives-97", Options{Sensitivity: 99}, 97},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := DetectLast(v, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			if r.SuggestedWindow != tt.want {
				t.Errorf("suggestedWindow = %d, want %d", r.SuggestedWindow, tt.want)
			}
		})
	}
}

func TestDetectLast_FlagsSpikeAtEndOnly(t *testing.T) {
	tests := []struct {
		name    string
		spike   float64
		want    bool
		wantPos bool
	}{
		{"ok/normal-last-point", 0, false, false},
		{"ok/positive-spike", 12, true, true},
		{"ok/negative-spike", -12, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for seed := uint64(0); seed < 5; seed++ {
				n := 4*24 + 1
				v := hourlySeries(n, 30+seed, map[int]float64{n - 1: tt.spike})
				r, err := DetectLast(v, Options{Sensitivity: 95})
				if err != nil {
					t.Fatal(err)
				}
				if r.IsAnomaly != tt.want || r.IsPositiveAnomaly != (tt.want && tt.wantPos) ||
					r.IsNegativeAnomaly != (tt.want && !tt.wantPos) {
					t.Fatalf("seed %d: got %+v", seed, r)
				}
				e := r.ExpectedValue
				inside := v[n-1] <= e+r.UpperMargin && v[n-1] >= e-r.LowerMargin
				if inside == r.IsAnomaly {
					t.Fatalf("seed %d: anomaly=%v but value %v in band [%v, %v]", seed, r.IsAnomaly, v[n-1], e-r.LowerMargin, e+r.UpperMargin)
				}
				if r.IsAnomaly != (r.Severity > 0) {
					t.Fatalf("seed %d: severity %v", seed, r.Severity)
				}
			}
		})
	}
}

func TestDetectLast_UsesOnlyThePast(t *testing.T) {
	v := hourlySeries(24*6, 40, nil)
	r1, _ := DetectLast(v, Options{Sensitivity: 99})
	w := append([]float64(nil), v...)
	w[len(w)-1] += 1000 // only the scored value changes
	r2, _ := DetectLast(w, Options{Sensitivity: 99, Period: r1.Period, PeriodSet: true})
	// Equal up to rounding: the values are scaled by max|v| internally.
	if math.Abs(r1.ExpectedValue-r2.ExpectedValue) > 1e-9*math.Abs(r1.ExpectedValue) {
		t.Errorf("expected value moved with the last point: %v vs %v", r1.ExpectedValue, r2.ExpectedValue)
	}
	if !r2.IsAnomaly {
		t.Errorf("a +1000 last point is not an anomaly")
	}
}

func TestDetectPeriod(t *testing.T) {
	rng := rand.New(rand.NewPCG(50, 50))
	noise := make([]float64, 600)
	walk := make([]float64, 600)
	w := 0.0
	for i := range noise {
		noise[i] = rng.NormFloat64()
		w += rng.NormFloat64()
		walk[i] = w
	}
	weekly := make([]float64, 7*30)
	for i := range weekly {
		weekly[i] = 10 + 5*float64(i%7/5) + rng.NormFloat64()*0.5 // weekends high
	}
	square := make([]float64, 12*20)
	for i := range square {
		square[i] = float64(i % 12 / 6)
	}
	tests := []struct {
		name string
		v    []float64
		want int
	}{
		{"hourly-daily-is-24", hourlySeries(24*14, 51, map[int]float64{30: 30, 200: -40}), 24},
		{"hourly-daily-long-is-24", hourlySeries(8640, 52, nil), 24},
		{"weekly-is-7", weekly, 7},
		{"square-wave-is-12", square, 12},
		{"white-noise-is-0", noise, 0},
		{"random-walk-is-0", walk, 0},
		{"constant-is-0", make([]float64, 100), 0},
		{"too-short-is-0", hourlySeries(12, 53, nil), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := detectPeriod(tt.v); got != tt.want {
				t.Errorf("detectPeriod = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestSRSaliency_PeaksAtSpike(t *testing.T) {
	v := make([]float64, 200)
	for i := range v {
		v[i] = math.Sin(float64(i) / 5)
	}
	v[120] += 5
	sc := srRawScores(nil, v)
	best := 0
	for i := range sc {
		if sc[i] > sc[best] {
			best = i
		}
	}
	if best != 120 || sc[120] <= srRawThresh {
		t.Errorf("SR peak at %d (score %v), want 120 above %v", best, sc[best], srRawThresh)
	}
}

func TestRunningMedian_MatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(60, 60))
	// Each length runs in one piece and, with a helper, in two halves on
	// two goroutines (n >= splitMin), which must give the same medians.
	ar := &arena{par: &helper{ar: &arena{}}}
	defer ar.par.close()
	for _, n := range []int{97, 5001} {
		x := make([]float64, n)
		for i := range x {
			x[i] = float64(rng.IntN(20)) // ties on purpose
		}
		for _, w := range []int{1, 2, 3, 9, 21, 81, 97, 200} {
			got := runningMedian(nil, x, w)
			if split := runningMedian(ar, x, w); !slices.Equal(split, got) {
				t.Fatalf("n=%d w=%d: the split running median differs", n, w)
			}
			ww := min(w, len(x))
			if ww%2 == 0 {
				ww--
			}
			for i := range x {
				a := min(max(i-ww/2, 0), len(x)-ww)
				if want := median(x[a : a+ww]); got[i] != want {
					t.Fatalf("n=%d w=%d i=%d: got %v, want %v", n, w, i, got[i], want)
				}
			}
		}
	}
	for n := 1; n < 40; n++ {
		y := make([]float64, n)
		for i := range y {
			y[i] = rng.NormFloat64()
		}
		c := append([]float64(nil), y...)
		got := median(y)
		// Naive: sort a copy.
		for i := 1; i < n; i++ {
			for j := i; j > 0 && c[j] < c[j-1]; j-- {
				c[j], c[j-1] = c[j-1], c[j]
			}
		}
		want := c[n/2]
		if n%2 == 0 {
			want = c[n/2-1]/2 + c[n/2]/2
		}
		if got != want {
			t.Fatalf("median n=%d: got %v, want %v", n, got, want)
		}
	}
}

func TestSelectKth_MatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 61))
	for _, sel := range []struct {
		name string
		f    func([]float64, int) float64
	}{{"branchfree", selectKth}, {"hoare", selectKthHoare}} {
		for trial := range 400 {
			n := 1 + rng.IntN(300)
			x := make([]float64, n)
			for i := range x {
				switch trial % 4 {
				case 0:
					x[i] = rng.NormFloat64()
				case 1:
					x[i] = float64(rng.IntN(3)) // long runs of ties
				case 2:
					x[i] = float64(i) // sorted
				default:
					x[i] = float64(n - i) // reversed
				}
			}
			want := append([]float64(nil), x...)
			slices.Sort(want)
			k := rng.IntN(n)
			got := sel.f(x, k)
			if got != want[k] || x[k] != want[k] {
				t.Fatalf("%s n=%d k=%d: got %v, want %v", sel.name, n, k, got, want[k])
			}
			for i := range x {
				if i < k && x[i] > got || i > k && x[i] < got {
					t.Fatalf("%s n=%d k=%d: x[%d]=%v on the wrong side of %v", sel.name, n, k, i, x[i], got)
				}
			}
		}
	}
}
