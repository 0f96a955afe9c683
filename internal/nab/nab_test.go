package nab

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"
)

func TestScaledSigmoid(t *testing.T) {
	tests := []struct {
		name string
		x    float64
		want float64
	}{
		{"window-left-edge", -1, 0.9866142981514305},
		{"window-right-edge", 0, 0},
		{"mid-window", -0.5, 2/(1+math.Exp(-2.5)) - 1},
		{"just-past-window", 0.1, 2/(1+math.Exp(0.5)) - 1},
		{"at-clamp", 3, 2/(1+math.Exp(15)) - 1},
		{"past-clamp", 3.0001, -1},
		{"far-past", 100, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ScaledSigmoid(tt.x); math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("ScaledSigmoid(%v) = %v, want %v", tt.x, got, tt.want)
			}
		})
	}
}

func TestProbationaryLength(t *testing.T) {
	tests := []struct{ n, want int }{
		{0, 0}, {6, 0}, {7, 1}, {100, 15}, {4032, 604}, {5000, 750}, {5007, 750}, {22695, 750},
	}
	for _, tt := range tests {
		if got := ProbationaryLength(tt.n); got != tt.want {
			t.Errorf("ProbationaryLength(%d) = %d, want %d", tt.n, got, tt.want)
		}
	}
}

// synthFile returns a 100-row file (probation 15 rows) with one window over
// rows 40..49 and detections at the given rows.
func synthFile(t *testing.T, detect ...int) File {
	t.Helper()
	t0 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	f := File{Name: "x/y.csv"}
	for i := range 100 {
		f.Timestamps = append(f.Timestamps, t0.Add(time.Duration(i)*time.Minute))
		f.Scores = append(f.Scores, 0)
	}
	for _, d := range detect {
		f.Scores[d] = 1
	}
	f.Windows = []Window{{Start: f.Timestamps[40], End: f.Timestamps[49]}}
	return f
}

func TestScoreWindows(t *testing.T) {
	cost := CostMatrix{TP: 1, FP: 0.11, FN: 1}
	tests := []struct {
		name    string
		detect  []int
		wantRaw float64
		tp, fp  int
	}{
		{"ok/none-is-fn", nil, -1, 0, 0},
		{"ok/left-edge-full-credit", []int{40}, ScaledSigmoid(-1) / tpScale, 1, 0},
		{"ok/right-edge", []int{49}, ScaledSigmoid(-0.1) / tpScale, 1, 0},
		{"ok/earliest-counts", []int{45, 41, 48}, ScaledSigmoid(-0.9) / tpScale, 1, 0},
		{"ok/probation-ignored", []int{3, 14}, -1, 0, 0},
		{"fail/fp-before-window", []int{15}, -1 - 0.11, 0, 1},
		{"fail/fp-just-after", []int{50}, -1 + 0.11*ScaledSigmoid(1.0/9), 0, 1},
		{"fail/fp-far-after", []int{99}, -1 - 0.11, 0, 1},
		{"ok/tp-plus-fp", []int{40, 60}, ScaledSigmoid(-1)/tpScale + 0.11*ScaledSigmoid(11.0/9), 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewCorpus([]File{synthFile(t, tt.detect...)})
			if err != nil {
				t.Fatal(err)
			}
			r := c.Score(cost, 0.5)
			if math.Abs(r.Raw-tt.wantRaw) > 1e-12 || r.TP != tt.tp || r.FP != tt.fp {
				t.Errorf("got raw %v TP %d FP %d, want raw %v TP %d FP %d", r.Raw, r.TP, r.FP, tt.wantRaw, tt.tp, tt.fp)
			}
			if o := c.Optimize(cost); o.Raw < r.Raw-1e-12 {
				t.Errorf("Optimize raw %v < fixed-threshold raw %v", o.Raw, r.Raw)
			}
		})
	}
}

func TestOptimizePicksBestThreshold(t *testing.T) {
	// Row 20 (before the window, an FP) scores 0.9; row 42 (in the window)
	// scores 0.8. The best threshold is 0.8: the TP outweighs the FP.
	f := synthFile(t)
	f.Scores[20], f.Scores[42] = 0.9, 0.8
	c, err := NewCorpus([]File{f})
	if err != nil {
		t.Fatal(err)
	}
	cost := CostMatrix{TP: 1, FP: 0.11, FN: 1}
	got := c.Optimize(cost)
	want := ScaledSigmoid(-0.8)/tpScale - 0.11
	if got.Threshold != 0.8 || math.Abs(got.Raw-want) > 1e-12 {
		t.Errorf("Optimize = threshold %v raw %v, want 0.8 raw %v", got.Threshold, got.Raw, want)
	}
	// With a huge FP cost, never firing is best.
	if got := c.Optimize(CostMatrix{TP: 1, FP: 10, FN: 1}); !math.IsInf(got.Threshold, 1) || got.Raw != -1 {
		t.Errorf("Optimize with costly FPs = %+v, want never fire", got)
	}
	if n := c.Normalize(cost, c.NullRaw(cost)); n != 0 {
		t.Errorf("Normalize(null) = %v, want 0", n)
	}
	if n := c.Normalize(cost, c.PerfectRaw(cost)); n != 100 {
		t.Errorf("Normalize(perfect) = %v, want 100", n)
	}
}

func TestNewCorpusRejectsBadWindow(t *testing.T) {
	f := synthFile(t)
	f.Windows[0].End = f.Windows[0].End.Add(time.Second) // not a row timestamp
	if _, err := NewCorpus([]File{f}); err == nil {
		t.Error("NewCorpus accepted a window whose end is not a row")
	}
}

func TestReadCSV(t *testing.T) {
	in := "timestamp,anomaly_score\n2014-07-01 00:00:00,0.5\r\n2014-07-01 00:05:00.000000,1e-3\n\n"
	ts, vs, err := ReadCSV(strings.NewReader(in), ScoreColumn)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 || vs[0] != 0.5 || vs[1] != 0.001 || ts[1].Sub(ts[0]) != 5*time.Minute {
		t.Errorf("got %v %v", ts, vs)
	}
	for name, bad := range map[string]string{
		"fail/no-header-column": "timestamp,value\n2014-07-01 00:00:00,1\n",
		"fail/bad-time":         "timestamp,anomaly_score\nyesterday,1\n",
		"fail/nan":              "timestamp,anomaly_score\n2014-07-01 00:00:00,NaN\n",
		"fail/short-row":        "timestamp,anomaly_score\n2014-07-01 00:00:00\n",
		"fail/empty":            "",
	} {
		if _, _, err := ReadCSV(strings.NewReader(bad), ScoreColumn); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzReadCSV(f *testing.F) {
	f.Add("timestamp,anomaly_score\n2014-07-01 00:00:00,0.5\n")
	f.Add("anomaly_score,timestamp,extra\n1,2014-07-01 00:00:00.5,x\n")
	f.Add("timestamp,anomaly_score\r\n2014-07-01 00:00:00,1e308\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		ts, vs, err := ReadCSV(strings.NewReader(in), ScoreColumn)
		if err != nil {
			return
		}
		if len(ts) != len(vs) {
			t.Fatalf("%d timestamps, %d values", len(ts), len(vs))
		}
		for _, v := range vs {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("non-finite value %v accepted", v)
			}
		}
		// What was accepted must survive a write/read round trip.
		var buf bytes.Buffer
		if err := WriteResults(&buf, ts, vs); err != nil {
			t.Fatal(err)
		}
		ts2, vs2, err := ReadCSV(&buf, ScoreColumn)
		if err != nil {
			t.Fatalf("re-read: %v", err)
		}
		if len(ts2) != len(ts) {
			t.Fatalf("round trip: %d rows, want %d", len(ts2), len(ts))
		}
		for i := range ts {
			if vs2[i] != vs[i] || !ts2[i].Equal(ts[i].Truncate(time.Second)) {
				t.Fatalf("row %d: round trip %v,%v want %v,%v", i, ts2[i], vs2[i], ts[i], vs[i])
			}
		}
	})
}
