package anomaly

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// hourlySeries returns n hourly points with a daily cycle, a slow trend and
// Gaussian noise (deterministic for a seed), plus spikes of the given size
// (in noise standard deviations) at the given indices.
func hourlySeries(n int, seed uint64, spikes map[int]float64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 7))
	const noise = 4.0
	v := make([]float64, n)
	for i := range v {
		ph := 2 * math.Pi * float64(i) / 24
		v[i] = 500 + 0.05*float64(i) + 120*math.Sin(ph) + 40*math.Sin(2*ph+0.5) + noise*rng.NormFloat64()
	}
	for i, k := range spikes {
		v[i] += k * noise
	}
	return v
}

func countTrue(b []bool) int {
	c := 0
	for _, v := range b {
		if v {
			c++
		}
	}
	return c
}

func mustEntire(t testing.TB, v []float64, opt Options) *EntireResult {
	t.Helper()
	r, err := DetectEntire(v, opt)
	if err != nil {
		t.Fatalf("DetectEntire: %v", err)
	}
	return r
}

func TestDetectEntire_V10MarginsArePercentOfExpected(t *testing.T) {
	v := hourlySeries(24*14, 1, map[int]float64{100: 12})
	tests := []struct {
		name string
		sens float64
		frac float64
	}{
		{"s99-is-1-percent", 99, 0.01},
		{"s95-is-5-percent", 95, 0.05},
		{"s70-is-30-percent", 70, 0.30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustEntire(t, v, Options{Sensitivity: tt.sens, Style: StyleV10})
			for i, e := range r.ExpectedValues {
				want := tt.frac * math.Abs(e)
				if math.Abs(r.UpperMargins[i]-want) > 1e-12*math.Abs(e) || r.LowerMargins[i] != r.UpperMargins[i] {
					t.Fatalf("point %d: margins %v/%v, want %v both", i, r.UpperMargins[i], r.LowerMargins[i], want)
				}
			}
			if r.Severity != nil {
				t.Errorf("severity = %v, want nil for v1.0", r.Severity)
			}
		})
	}
}

func TestDetectEntire_PreviewClampsLowerBoundaryAtSeriesMin(t *testing.T) {
	v := hourlySeries(24*14, 2, nil)
	lo := v[0]
	for _, x := range v {
		lo = min(lo, x)
	}
	r := mustEntire(t, v, Options{Sensitivity: 70, Style: StyleV11Preview})
	clamped := 0
	for i, e := range r.ExpectedValues {
		m := 0.30 * math.Abs(e)
		if math.Abs(r.UpperMargins[i]-m) > 1e-9*math.Abs(e) {
			t.Fatalf("point %d: upper %v, want %v", i, r.UpperMargins[i], m)
		}
		want := max(min(m, e-lo), 0)
		if math.Abs(r.LowerMargins[i]-want) > 1e-9*math.Abs(e) {
			t.Fatalf("point %d: lower %v, want %v", i, r.LowerMargins[i], want)
		}
		if r.LowerMargins[i] < 0 || e-r.LowerMargins[i] < lo-1e-9 {
			t.Fatalf("point %d: lower boundary %v below series min %v", i, e-r.LowerMargins[i], lo)
		}
		if want < m {
			clamped++
		}
	}
	if clamped == 0 {
		t.Errorf("no point was clamped; the test series should exercise the clamp")
	}
}

func TestMarginFactor_PassesAnchorsAndDecreases(t *testing.T) {
	if got := marginFactor(99); math.Abs(got-0.0003) > 1e-15 {
		t.Errorf("g(99) = %v, want 0.0003", got)
	}
	if got := marginFactor(95); math.Abs(got-0.008) > 1e-15 {
		t.Errorf("g(95) = %v, want 0.008", got)
	}
	if got := marginFactor(95) / marginFactor(99); math.Abs(got-80.0/3) > 1e-9 {
		t.Errorf("g(95)/g(99) = %v, want 80/3", got)
	}
	prev := math.Inf(1)
	for s := 0.0; s <= 99.5; s += 0.5 {
		g := marginFactor(s)
		if !(g < prev) || g <= 0 {
			t.Fatalf("g(%v) = %v not strictly decreasing and positive (prev %v)", s, g, prev)
		}
		prev = g
	}
	if marginFactor(100) != 0 {
		t.Errorf("g(100) = %v, want 0", marginFactor(100))
	}
}

func TestDetectEntire_GABaseMarginRatioIs80Over3(t *testing.T) {
	v := hourlySeries(24*14, 3, nil)
	r95 := mustEntire(t, v, Options{Sensitivity: 95})
	r99 := mustEntire(t, v, Options{Sensitivity: 99})
	// Base margin m = g·u_i; both runs share u_i, so a point that is flagged
	// in neither run has margins (|d| + m/2) on its side. Recover m from
	// the opposite (one-third) side: m = 2·(3·opp − |d|).
	checked := 0
	for i, e := range r99.ExpectedValues {
		if r95.IsAnomaly[i] || r99.IsAnomaly[i] || r95.Severity[i] != 0 {
			continue
		}
		d := math.Abs(v[i] - e)
		base := func(r *EntireResult) float64 {
			near := max(r.UpperMargins[i], r.LowerMargins[i])
			return 2 * (near - d)
		}
		b95, b99 := base(r95), base(r99)
		if b99 <= 0 {
			continue
		}
		if got := b95 / b99; math.Abs(got-80.0/3) > 1e-6*80/3 {
			t.Fatalf("point %d: base margin ratio %v, want 80/3", i, got)
		}
		checked++
	}
	if checked < len(v)/2 {
		t.Fatalf("only %d points checked", checked)
	}
}

func TestDetectEntire_ConstantSeriesHasLevelOfItsValue(t *testing.T) {
	v := make([]float64, 100)
	for i := range v {
		v[i] = 855
	}
	for _, s := range []float64{99, 95} {
		r := mustEntire(t, v, Options{Sensitivity: s})
		m := marginFactor(s) * 855
		for i := range v {
			if r.ExpectedValues[i] != 855 {
				t.Fatalf("s%v point %d: expected %v, want 855", s, i, r.ExpectedValues[i])
			}
			// v == e: the tie goes to the lower side.
			if math.Abs(r.LowerMargins[i]-m/2) > 1e-12 || math.Abs(r.UpperMargins[i]-m/6) > 1e-12 {
				t.Fatalf("s%v point %d: margins up %v low %v, want %v/%v", s, i, r.UpperMargins[i], r.LowerMargins[i], m/6, m/2)
			}
			if r.IsAnomaly[i] || r.Severity[i] != 0 {
				t.Fatalf("s%v point %d flagged", s, i)
			}
		}
	}
	u := seriesLevel(nil, make([]float64, 50))
	if u[0] != 0 {
		t.Errorf("level of zeros = %v, want 0", u[0])
	}
	c := make([]float64, 30)
	for i := range c {
		c[i] = 1
	}
	if u := seriesLevel(nil, c); u[0] != 1 || u[29] != 1 {
		t.Errorf("level of ones = %v..%v, want 1", u[0], u[29])
	}
}

func TestDetectEntire_GANormalPointsInsideBandAnomaliesOutside(t *testing.T) {
	spikes := map[int]float64{50: 15, 120: -12, 200: 20, 201: 18, 300: -25}
	v := hourlySeries(24*16, 4, spikes)
	for _, s := range []float64{99, 90, 70, 30} {
		r := mustEntire(t, v, Options{Sensitivity: s})
		for i, e := range r.ExpectedValues {
			up, lo := e+r.UpperMargins[i], e-r.LowerMargins[i]
			inside := v[i] <= up && v[i] >= lo
			if r.IsAnomaly[i] == inside {
				t.Fatalf("s%v point %d: anomaly=%v but value %v band [%v, %v]", s, i, r.IsAnomaly[i], v[i], lo, up)
			}
			if r.IsAnomaly[i] != (r.IsPositiveAnomaly[i] || r.IsNegativeAnomaly[i]) ||
				(r.IsPositiveAnomaly[i] && r.IsNegativeAnomaly[i]) {
				t.Fatalf("s%v point %d: inconsistent flags", s, i)
			}
			if r.IsPositiveAnomaly[i] && !(v[i] > e) || r.IsNegativeAnomaly[i] && !(v[i] < e) {
				t.Fatalf("s%v point %d: direction wrong", s, i)
			}
			if r.IsAnomaly[i] != (r.Severity[i] > 0) {
				t.Fatalf("s%v point %d: severity %v for anomaly=%v", s, i, r.Severity[i], r.IsAnomaly[i])
			}
			if !r.IsAnomaly[i] && r.UpperMargins[i] != r.LowerMargins[i] {
				hi, lo := max(r.UpperMargins[i], r.LowerMargins[i]), min(r.UpperMargins[i], r.LowerMargins[i])
				if math.Abs(lo*3-hi) > 1e-9*hi {
					t.Fatalf("s%v point %d: opposite margin %v is not a third of %v", s, i, lo, hi)
				}
			}
		}
	}
}

func TestSeverityOf_MatchesRecordedSamples(t *testing.T) {
	tests := []struct{ r, want float64 }{
		{0.011, 0.0586}, {0.033, 0.0667}, {0.074, 0.0854}, {0.121, 0.1251},
		{0.155, 0.1535}, {0.271, 0.2310}, {0.5, 0.05 + 2.0/3*0.5}, {1.0, 0.05 + 2.0/3},
	}
	for _, tt := range tests {
		if got := severityOf(tt.r); math.Abs(got-tt.want) > 0.001 {
			t.Errorf("severityOf(%v) = %v, want %v", tt.r, got, tt.want)
		}
	}
	prev := -1.0
	for r := 0.0; r < 3; r += 0.001 {
		s := severityOf(r)
		if s < prev || s < 0 || s > 1 {
			t.Fatalf("severityOf(%v) = %v: not increasing within [0,1]", r, s)
		}
		prev = s
	}
	if got := severityOf(1e9); got != 1 {
		t.Errorf("severityOf(1e9) = %v, want 1", got)
	}
	if got := severityOf(math.NaN()); got != 0 {
		t.Errorf("severityOf(NaN) = %v, want 0", got)
	}
}

func TestDetectEntire_FindsInjectedSpikes(t *testing.T) {
	spikes := map[int]float64{40: 10, 150: -9, 333: 12, 500: -15, 620: 8}
	v := hourlySeries(24*28, 5, spikes)
	tests := []struct {
		name    string
		sens    float64
		minSize float64 // spikes at least this big must be found
	}{
		{"s99-finds-all", 99, 0},
		{"s90-finds-all", 90, 0},
		{"s70-finds-big", 70, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustEntire(t, v, Options{Sensitivity: tt.sens})
			for i, k := range spikes {
				if math.Abs(k) < tt.minSize {
					continue
				}
				if !r.IsAnomaly[i] {
					t.Errorf("spike at %d (%.0fσ) not flagged", i, k)
				}
				if k > 0 && !r.IsPositiveAnomaly[i] || k < 0 && !r.IsNegativeAnomaly[i] {
					t.Errorf("spike at %d has wrong direction", i)
				}
			}
			if fp := countTrue(r.IsAnomaly) - len(spikes); fp > 3 {
				t.Errorf("%d anomalies beyond the %d spikes", fp, len(spikes))
			}
			if r.Period != 24 {
				t.Errorf("period = %d, want 24", r.Period)
			}
		})
	}
}

func TestDetectEntire_CleanSeriesNotFlagged(t *testing.T) {
	sine := make([]float64, 24*20)
	noisy := make([]float64, 24*20)
	rng := rand.New(rand.NewPCG(6, 6))
	for i := range sine {
		sine[i] = 100 + 30*math.Sin(2*math.Pi*float64(i)/24)
		noisy[i] = sine[i] + rng.NormFloat64()*0.5
	}
	tests := []struct {
		name   string
		v      []float64
		maxAny int
	}{
		{"pure-sine-none", sine, 0},
		{"sine-with-small-noise-at-most-1", noisy, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, s := range []float64{99, 90, 70} {
				r := mustEntire(t, tt.v, Options{Sensitivity: s})
				if got := countTrue(r.IsAnomaly); got > tt.maxAny {
					t.Errorf("s%v: %d anomalies, want ≤ %d", s, got, tt.maxAny)
				}
			}
		})
	}
}

func TestDetectEntire_SensitivityOrdersAnomalyCounts(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	spikes := map[int]float64{}
	for range 25 {
		spikes[rng.IntN(24*30)] = 3 + rng.Float64()*10
	}
	v := hourlySeries(24*30, 8, spikes)
	prev := math.MaxInt
	for _, s := range []float64{99, 95, 90, 80, 70, 50, 0} {
		c := countTrue(mustEntire(t, v, Options{Sensitivity: s}).IsAnomaly)
		if c > prev {
			t.Errorf("s%v: %d anomalies, more than %d at a higher sensitivity", s, c, prev)
		}
		prev = c
	}
}

func TestDetectEntire_MaxAnomalyRatioKeepsLargest(t *testing.T) {
	spikes := map[int]float64{}
	for i := 0; i < 30; i++ {
		spikes[10+i*16] = float64(8 + i) // later spikes are larger
	}
	v := hourlySeries(500, 9, spikes)
	r := mustEntire(t, v, Options{Sensitivity: 99, MaxAnomalyRatio: 0.02})
	limit := int(math.Floor(0.02 * 500))
	if got := countTrue(r.IsAnomaly); got != limit {
		t.Fatalf("%d anomalies, want the cap %d", got, limit)
	}
	for i := 0; i < 15; i++ {
		if r.IsAnomaly[10+i*16] {
			t.Errorf("small spike %d kept while larger ones exist", 10+i*16)
		}
	}
	full := mustEntire(t, v, Options{Sensitivity: 99, MaxAnomalyRatio: 0.25})
	if countTrue(full.IsAnomaly) <= limit {
		t.Errorf("uncapped run found only %d anomalies", countTrue(full.IsAnomaly))
	}
}

func TestDetectEntire_HonoursGivenPeriod(t *testing.T) {
	v := hourlySeries(24*10, 10, nil)
	tests := []struct {
		name string
		opt  Options
		want int
	}{
		{"auto-detects-24", Options{Sensitivity: 99}, 24},
		{"given-12-kept", Options{Sensitivity: 99, Period: 12, PeriodSet: true}, 12},
		{"given-0-means-none", Options{Sensitivity: 99, Period: 0, PeriodSet: true}, 0},
		{"given-too-long-still-reported", Options{Sensitivity: 99, Period: 500, PeriodSet: true}, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustEntire(t, v, tt.opt).Period; got != tt.want {
				t.Errorf("period = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestDetectEntire_RejectsBadInput(t *testing.T) {
	ok := hourlySeries(24, 1, nil)
	tests := []struct {
		name string
		v    []float64
		opt  Options
	}{
		{"fail/too-short", ok[:11], Options{Sensitivity: 99}},
		{"fail/nan", append([]float64{math.NaN()}, ok...), Options{Sensitivity: 99}},
		{"fail/inf", append([]float64{math.Inf(-1)}, ok...), Options{Sensitivity: 99}},
		{"fail/sensitivity-negative", ok, Options{Sensitivity: -1}},
		{"fail/sensitivity-nan", ok, Options{Sensitivity: math.NaN()}},
		{"fail/ratio-one", ok, Options{Sensitivity: 99, MaxAnomalyRatio: 1}},
		{"fail/period-negative", ok, Options{Sensitivity: 99, Period: -2, PeriodSet: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := DetectEntire(tt.v, tt.opt); err == nil {
				t.Errorf("DetectEntire: no error")
			}
			if _, err := DetectLast(tt.v, tt.opt); err == nil {
				t.Errorf("DetectLast: no error")
			}
		})
	}
}

// checkFinite fails the test if any output is NaN/Inf or has the wrong length.
func checkFinite(t testing.TB, n int, r *EntireResult) {
	t.Helper()
	for name, s := range map[string][]float64{
		"expected": r.ExpectedValues, "upper": r.UpperMargins, "lower": r.LowerMargins, "severity": r.Severity,
	} {
		if len(s) != n {
			t.Fatalf("%s has %d values, want %d", name, len(s), n)
		}
		for i, x := range s {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				t.Fatalf("%s[%d] = %v", name, i, x)
			}
			if name != "expected" && x < 0 {
				t.Fatalf("%s[%d] = %v is negative", name, i, x)
			}
		}
	}
	if len(r.IsAnomaly) != n || len(r.IsPositiveAnomaly) != n || len(r.IsNegativeAnomaly) != n {
		t.Fatalf("flag lengths differ from %d", n)
	}
}

func TestDetect_ExtremeInputsStayFinite(t *testing.T) {
	mk := func(n int, f func(i int) float64) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = f(i)
		}
		return v
	}
	rng := rand.New(rand.NewPCG(11, 11))
	tests := []struct {
		name string
		v    []float64
	}{
		{"zeros", mk(12, func(int) float64 { return 0 })},
		{"constant", mk(200, func(int) float64 { return -3.5 })},
		{"huge", mk(300, func(i int) float64 { return 1e300 * (1 + math.Sin(float64(i))) })},
		{"max-float-alternating", mk(100, func(i int) float64 { return math.MaxFloat64 * float64(1-2*(i%2)) })},
		{"tiny", mk(300, func(i int) float64 { return 1e-300 * float64(i%7) })},
		{"subnormal", mk(50, func(i int) float64 { return 5e-324 * float64(i%3) })},
		{"negative-trend", mk(400, func(i int) float64 { return -1e6 - float64(i)*1e3 })},
		{"step", mk(300, func(i int) float64 { return float64(i / 150) })},
		{"single-spike", mk(100, func(i int) float64 { return map[bool]float64{true: 1e9, false: 1}[i == 50] })},
		{"mixed-magnitudes", mk(200, func(i int) float64 { return math.Pow(10, float64(rng.IntN(600)-300)) })},
		{"longest", hourlySeries(8640, 12, map[int]float64{4000: 20})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, style := range []MarginStyle{StyleV11, StyleV11Preview, StyleV10} {
				for _, s := range []float64{0, 70, 99, 100} {
					opt := Options{Sensitivity: s, Style: style, MaxAnomalyRatio: 0.25}
					r := mustEntire(t, tt.v, opt)
					if style == StyleV11 {
						checkFinite(t, len(tt.v), r)
					} else {
						r.Severity = make([]float64, len(tt.v))
						checkFinite(t, len(tt.v), r)
					}
					l, err := DetectLast(tt.v, opt)
					if err != nil {
						t.Fatal(err)
					}
					for _, x := range []float64{l.ExpectedValue, l.UpperMargin, l.LowerMargin, l.Severity} {
						if math.IsNaN(x) || math.IsInf(x, 0) {
							t.Fatalf("last: non-finite output %+v", l)
						}
					}
				}
			}
		})
	}
}

func TestDetect_IsDeterministic(t *testing.T) {
	v := hourlySeries(1000, 13, map[int]float64{10: 9, 700: -11})
	opt := Options{Sensitivity: 95}
	a := mustEntire(t, v, opt)
	// Touch other FFT lengths in between: plan caching must not matter.
	mustEntire(t, hourlySeries(777, 1, nil), opt)
	b := mustEntire(t, v, opt)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("two runs of DetectEntire differ")
	}
	la, _ := DetectLast(v, opt)
	lb, _ := DetectLast(v, opt)
	if *la != *lb {
		t.Errorf("two runs of DetectLast differ: %+v vs %+v", la, lb)
	}
}
