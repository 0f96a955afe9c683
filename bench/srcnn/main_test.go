package main

import (
	"bytes"
	"math"
	"math/cmplx"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil/internal/adapi"
)

// boolsOf turns "0110" into []bool.
func boolsOf(s string) []bool {
	out := make([]bool, len(s))
	for i, c := range s {
		out[i] = c == '1'
	}
	return out
}

// TestDelayCounts checks the delay-adjusted metric on hand-computed cases.
func TestDelayCounts(t *testing.T) {
	tests := []struct {
		name          string
		labels, flags string
		delay         int
		want          counts
	}{
		{"detected within delay", "0111100", "0001000", 3, counts{TP: 4}},
		{"detected on the last allowed point", "0111110", "0000100", 3, counts{TP: 5}},
		{"detected too late", "0111110", "0000010", 3, counts{FN: 5}},
		{"delay 0 needs the first point", "011100", "001000", 0, counts{FN: 3}},
		{"delay 0, first point", "011100", "010000", 0, counts{TP: 3}},
		{"false positives outside segments", "0011000", "1101011", 7, counts{TP: 2, FP: 4}},
		{"two segments, one missed", "1100011100", "0100000001", 3, counts{TP: 2, FN: 3, FP: 1}},
		{"segment at the end", "000111", "000001", 7, counts{TP: 3}},
		{"nothing flagged", "0110", "0000", 7, counts{FN: 2}},
		{"nothing labelled", "0000", "0101", 7, counts{FP: 2}},
		{"empty", "", "", 7, counts{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := delayCounts(boolsOf(tt.labels), boolsOf(tt.flags), tt.delay)
			if got != tt.want {
				t.Errorf("delayCounts(%s, %s, %d) = %+v, want %+v", tt.labels, tt.flags, tt.delay, got, tt.want)
			}
		})
	}
}

// TestPooledF1 checks precision, recall and F1 of pooled counts by hand:
// series 1 gives TP 4, FP 1; series 2 gives FN 2, FP 1; pooled TP 4, FP 2,
// FN 2: precision 4/6, recall 4/6, F1 2/3.
func TestPooledF1(t *testing.T) {
	var c counts
	c.add(delayCounts(boolsOf("01111000"), boolsOf("00010001"), 3))
	c.add(delayCounts(boolsOf("00011"), boolsOf("10000"), 3))
	if want := (counts{TP: 4, FP: 2, FN: 2}); c != want {
		t.Fatalf("pooled counts %+v, want %+v", c, want)
	}
	for _, x := range []struct {
		name      string
		got, want float64
	}{{"precision", c.precision(), 4.0 / 6}, {"recall", c.recall(), 4.0 / 6}, {"F1", c.f1(), 2.0 / 3}} {
		if math.Abs(x.got-x.want) > 1e-12 {
			t.Errorf("%s = %v, want %v", x.name, x.got, x.want)
		}
	}
	if z := (counts{}); z.precision() != 0 || z.recall() != 0 || z.f1() != 0 {
		t.Errorf("zero counts give %v %v %v, want 0", z.precision(), z.recall(), z.f1())
	}
}

// TestSweepMatchesDelayCounts checks that the threshold sweep used for the
// SR oracle agrees with delayCounts on thresholded scores.
func TestSweepMatchesDelayCounts(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, delay := range []int{0, 3, 7} {
		sw := sweep{delay: delay}
		var labels [][]bool
		var scores [][]float64
		for range 20 {
			n := 1 + rng.IntN(200)
			l := make([]bool, n)
			s := make([]float64, n)
			for i := range l {
				l[i] = rng.IntN(10) == 0 || (i > 0 && l[i-1] && rng.IntN(2) == 0)
				s[i] = math.Round(rng.Float64()*100) / 100 // ties with the thresholds
			}
			labels, scores = append(labels, l), append(scores, s)
			sw.add(l, s)
		}
		for k := 0; k <= 100; k += 5 {
			th := float64(k) / 100
			var want counts
			for i := range labels {
				want.add(delayCounts(labels[i], srFlags(scores[i], th), delay))
			}
			if got := sw.counts(th); got != want {
				t.Errorf("delay %d, t %.2f: sweep %+v, delayCounts %+v", delay, th, got, want)
			}
		}
	}
}

// TestSegments checks the segment split.
func TestSegments(t *testing.T) {
	got := segments(boolsOf("1100101110"))
	want := []segment{{0, 2}, {4, 5}, {6, 9}}
	if !slices.Equal(got, want) {
		t.Errorf("segments = %v, want %v", got, want)
	}
}

// TestReadSeries checks format detection and bad input.
func TestReadSeries(t *testing.T) {
	tests := []struct {
		name    string
		csv     string
		format  string
		names   []string
		values  [][]float64
		labels  []string // per series, "" for nil
		missing []int
		err     string // substring of the error; "" for success
	}{
		{
			name:   "yahoo A1",
			csv:    "timestamp,value,is_anomaly\n1,0.5,0\n2,7,1\n3,-1e3,0\n",
			format: formatYahoo, names: []string{"f.csv"},
			values: [][]float64{{0.5, 7, -1000}}, labels: []string{"010"},
		},
		{
			name:   "yahoo A3 style",
			csv:    "timestamps,value,anomaly,changepoint,trend,noise,seasonality1\n1416726000,13.89,0,0,1,2,3\n1416729600,100.5,1,0,1,2,3\n",
			format: formatYahooA3, names: []string{"f.csv"},
			values: [][]float64{{13.89, 100.5}}, labels: []string{"01"},
		},
		{
			name:   "KPI multi-ID",
			csv:    "timestamp,value,label,KPI ID\n1,1,0,a\n2,2,1,a\n1,10,0,b\n3,3,0,a\n2,20,0,b\n",
			format: formatKPI, names: []string{"f.csv#a", "f.csv#b"},
			values: [][]float64{{1, 2, 3}, {10, 20}}, labels: []string{"010", "00"},
		},
		{
			name:   "NAB without labels",
			csv:    "timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:05:00,2\n",
			format: formatNAB, names: []string{"f.csv"},
			values: [][]float64{{1, 2}}, labels: []string{""},
		},
		{
			name:   "label column, BOM, spaces, upper case, true/false",
			csv:    "\ufeff Value , LABEL\n 4 , true\n5,False\n6,1.0\n",
			format: formatLabel, names: []string{"f.csv"},
			values: [][]float64{{4, 5, 6}}, labels: []string{"101"},
		},
		{
			name:   "missing value is recorded, not an error",
			csv:    "value,is_anomaly\n1,0\n,0\nNaN,1\n",
			format: formatYahoo, names: []string{"f.csv"},
			labels: []string{"001"}, missing: []int{3},
		},
		{name: "no value column", csv: "timestamp,val,is_anomaly\n1,2,0\n", err: "f.csv: line 1: no value column"},
		{name: "non-numeric value", csv: "value,is_anomaly\n1,0\nabc,0\n", err: `f.csv: line 3: value "abc": not a number`},
		{name: "infinite value", csv: "value,label\n1,0\n2,0\n+Inf,0\n", err: "f.csv: line 4: value \"+Inf\": not a finite number"},
		{name: "bad label", csv: "value,label\n1,yes\n", err: `f.csv: line 2: label "yes"`},
		{name: "short row", csv: "timestamp,value,is_anomaly\n1,2\n", err: "f.csv: line 2: 2 fields, want at least 3"},
		{name: "empty file", csv: "", err: "f.csv: empty file"},
		{name: "header only", csv: "value,label\n", err: "f.csv: no data rows"},
		{name: "bad quoting", csv: "value,label\n\"1,0\n", err: "f.csv: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			format, ss, err := readSeries(strings.NewReader(tt.csv), "f.csv")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if format != tt.format {
				t.Errorf("format %q, want %q", format, tt.format)
			}
			if len(ss) != len(tt.names) {
				t.Fatalf("%d series, want %d", len(ss), len(tt.names))
			}
			for i, s := range ss {
				if s.name != tt.names[i] {
					t.Errorf("series %d name %q, want %q", i, s.name, tt.names[i])
				}
				if tt.values != nil && !slices.Equal(s.values, tt.values[i]) {
					t.Errorf("series %d values %v, want %v", i, s.values, tt.values[i])
				}
				if tt.labels[i] == "" {
					if s.labels != nil {
						t.Errorf("series %d labels %v, want nil", i, s.labels)
					}
				} else if !slices.Equal(s.labels, boolsOf(tt.labels[i])) {
					t.Errorf("series %d labels %v, want %s", i, s.labels, tt.labels[i])
				}
				want := 0
				if tt.missing != nil {
					want = tt.missing[i]
				}
				if s.missingLine != want {
					t.Errorf("series %d missingLine %d, want %d", i, s.missingLine, want)
				}
			}
		})
	}
}

// writeFile writes content to dir/rel, creating directories.
func writeFile(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLoadDirNAB checks NAB labelling from combined_labels.json and that
// only the data directory of a NAB checkout is read.
func TestLoadDirNAB(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "data/cat/a.csv", "timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:05:00,2\n2014-04-01 00:10:00,3\n")
	writeFile(t, dir, "data/cat/b.csv", "timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:05:00,2\n")
	writeFile(t, dir, "labels/combined_labels.json", `{"cat/a.csv": ["2014-04-01 00:05:00.000000"], "cat/b.csv": []}`)
	writeFile(t, dir, "results/x/cat/x_a.csv", "timestamp,value,anomaly_score,label\n1,2,3,0\n")
	for _, d := range []string{dir, filepath.Join(dir, "data")} {
		ss, err := loadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		if len(ss) != 2 || ss[0].name != "cat/a.csv" || ss[1].name != "cat/b.csv" {
			t.Fatalf("loadDir(%s) gave %d series", d, len(ss))
		}
		if !slices.Equal(ss[0].labels, boolsOf("010")) || !slices.Equal(ss[1].labels, boolsOf("00")) {
			t.Errorf("labels %v %v", ss[0].labels, ss[1].labels)
		}
	}

	writeFile(t, dir, "labels/combined_labels.json", `{"cat/a.csv": ["2014-04-02 00:00:00"], "cat/b.csv": []}`)
	if _, err := loadDir(dir); err == nil || !strings.Contains(err.Error(), `cat/a.csv: labelled timestamp "2014-04-02 00:00:00" is not in the file`) {
		t.Errorf("unknown label timestamp: error %v", err)
	}
	writeFile(t, dir, "labels/combined_labels.json", `{"cat/a.csv": []}`)
	if _, err := loadDir(dir); err == nil || !strings.Contains(err.Error(), "cat/b.csv: line 1: no label column and no entry") {
		t.Errorf("unlisted file: error %v", err)
	}

	plain := t.TempDir()
	writeFile(t, plain, "x.csv", "timestamp,value\n1,2\n")
	if _, err := loadDir(plain); err == nil || !strings.Contains(err.Error(), "x.csv: line 1: no label column") {
		t.Errorf("unlabelled file: error %v", err)
	}
	if _, err := loadDir(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no .csv files") {
		t.Errorf("empty dir: error %v", err)
	}
}

// TestWindows checks the cutting of long series into API-sized windows.
func TestWindows(t *testing.T) {
	tests := []struct {
		n, size int
		want    []window
	}{
		{12, 10, []window{{0, 10, 0}, {2, 12, 10}}},
		{10, 10, []window{{0, 10, 0}}},
		{5, 10, []window{{0, 5, 0}}},
		{20, 10, []window{{0, 10, 0}, {10, 20, 10}}},
		{25, 10, []window{{0, 10, 0}, {10, 20, 10}, {15, 25, 20}}},
	}
	for _, tt := range tests {
		got := windows(tt.n, tt.size)
		if !slices.Equal(got, tt.want) {
			t.Errorf("windows(%d, %d) = %v, want %v", tt.n, tt.size, got, tt.want)
		}
		covered := make([]int, tt.n)
		for _, w := range got {
			if w.end-w.start > tt.size || w.own < w.start || w.own > w.end {
				t.Errorf("windows(%d, %d): bad window %v", tt.n, tt.size, w)
			}
			for i := w.own; i < w.end; i++ {
				covered[i]++
			}
		}
		for i, c := range covered {
			if c != 1 {
				t.Errorf("windows(%d, %d): point %d owned %d times", tt.n, tt.size, i, c)
			}
		}
	}
}

// TestRequestBody checks that the request decodes, through the API's
// decoder, to exactly the given values and parameters.
func TestRequestBody(t *testing.T) {
	values := []float64{0.1, -2.5e-300, 1e300, 3, 0.30000000000000004, 5, 6, 7, 8, 9, 10, 11}
	req, err := adapi.Decode(adapi.V11, adapi.Entire, requestBody(values, 90))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(req.Values, values) || req.Sensitivity != 90 || req.MaxAnomalyRatio != adapi.DefaultMaxAnomalyRatio ||
		req.Granularity != adapi.None || req.Times != nil {
		t.Errorf("decoded %+v", req)
	}
	f, err := vigilFlags(values, 90)
	if err != nil || len(f) != len(values) {
		t.Errorf("vigilFlags: %v, %d flags", err, len(f))
	}
}

// TestFFT compares the transform with a direct DFT for lengths that take
// both the radix-2 and the Bluestein path, and checks the inverse.
func TestFFT(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 3, 7, 8, 12, 64, 100, 257} {
		x := make([]complex128, n)
		for i := range x {
			x[i] = complex(rng.NormFloat64(), rng.NormFloat64())
		}
		got := slices.Clone(x)
		fft(got, false)
		for k := range n {
			var want complex128
			for j := range n {
				want += x[j] * cmplx.Rect(1, -2*math.Pi*float64(j*k%n)/float64(n))
			}
			if cmplx.Abs(got[k]-want) > 1e-9*float64(n) {
				t.Fatalf("n %d: X[%d] = %v, want %v", n, k, got[k], want)
			}
		}
		fft(got, true)
		for i := range x {
			if cmplx.Abs(got[i]-x[i]) > 1e-9 {
				t.Fatalf("n %d: inverse[%d] = %v, want %v", n, i, got[i], x[i])
			}
		}
	}
}

// TestExtendSeries checks the look-ahead extension on a line, where the
// quirk of skipping the last point predicts the last value, not the next.
func TestExtendSeries(t *testing.T) {
	x := make([]float64, 20)
	for i := range x {
		x[i] = 2 * float64(i)
	}
	ext := extendSeries(x)
	if len(ext) != 25 || !slices.Equal(ext[:20], x) {
		t.Fatalf("extended series %v", ext)
	}
	for _, v := range ext[20:] {
		if math.Abs(v-38) > 1e-12 {
			t.Errorf("predicted %v, want 38", v)
		}
	}
}

// TestTrailingMean checks the causal moving average that shrinks at the
// start.
func TestTrailingMean(t *testing.T) {
	got := trailingMean([]float64{3, 5, 7, 9, 11}, 3)
	want := []float64{3, 4, 5, 7, 9}
	if !slices.Equal(got, want) {
		t.Errorf("trailingMean = %v, want %v", got, want)
	}
}

// TestSRFlagsSpike checks that plain SR flags a spike on a smooth seasonal
// series and little else.
func TestSRFlagsSpike(t *testing.T) {
	x := make([]float64, 500)
	for i := range x {
		x[i] = 100 + 10*math.Sin(2*math.Pi*float64(i)/24)
	}
	x[300] += 50
	scores := srScores(x, srScoreWindow)
	flags := srFlags(scores, srThreshold)
	if !flags[300] {
		t.Errorf("spike not flagged: score %v", scores[300])
	}
	n := 0
	for i, f := range flags {
		if f && (i < 295 || i > 305) {
			n++
		}
		if scores[i] < 0 || scores[i] > 1 || math.IsNaN(scores[i]) {
			t.Fatalf("score %d = %v out of [0, 1]", i, scores[i])
		}
	}
	if n > 5 {
		t.Errorf("%d points flagged away from the spike", n)
	}
	for _, s := range srScores(make([]float64, 30), srScoreWindow) {
		if s != 0 {
			t.Fatalf("all-zero series scores %v", s)
		}
	}
}

// TestSyntheticDeterministic checks that the synthetic corpus depends only
// on the seed and is labelled.
func TestSyntheticDeterministic(t *testing.T) {
	a, b := synthetic(1), synthetic(1)
	labelled := 0
	for i := range a {
		if !slices.Equal(a[i].values, b[i].values) || !slices.Equal(a[i].labels, b[i].labels) {
			t.Fatalf("series %d differs between runs", i)
		}
		for _, l := range a[i].labels {
			if l {
				labelled++
			}
		}
	}
	if labelled == 0 {
		t.Error("no labelled points")
	}
	if c := synthetic(2); slices.Equal(c[0].values, a[0].values) {
		t.Error("seed 2 gives seed 1's corpus")
	}
}

// methods are the row names every dataset prints.
var methods = []string{"vigil s99", "vigil s90", "vigil s70", "vigil best (s", "plain SR default (t=0.3)", "plain SR oracle (t="}

// checkRows checks that out holds every method row for dataset.
func checkRows(t *testing.T, out, dataset string) {
	t.Helper()
	for _, m := range methods {
		found := false
		for line := range strings.Lines(out) {
			f := strings.Fields(line)
			if len(f) > 0 && f[0] == dataset && strings.Contains(line, m) {
				found = true
			}
		}
		if !found {
			t.Errorf("no %q row for %s in\n%s", m, dataset, out)
		}
	}
}

// TestRunNAB runs the tool on the repository's NAB copy, as
// `go run ./bench/srcnn` does.
func TestRunNAB(t *testing.T) {
	begin := time.Now()
	var out, errOut bytes.Buffer
	if err := run(nil, &out, &errOut); err != nil {
		t.Fatalf("run: %v\n%s", err, errOut.String())
	}
	t.Logf("%s(%v)", out.String(), time.Since(begin))
	if !strings.Contains(out.String(), "nab (") || !strings.Contains(out.String(), ": 58 series, ") {
		t.Errorf("header line missing:\n%s", out.String())
	}
	checkRows(t, out.String(), "nab")
	if errOut.Len() > 0 {
		t.Errorf("unexpected messages:\n%s", errOut.String())
	}
}

// TestRunDataAndSynthetic runs the tool on a small KPI-style directory
// (with one long series cut into windows, one with a missing value and one
// too short) together with the synthetic corpus.
func TestRunDataAndSynthetic(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("timestamp,value,label,KPI ID\n")
	rng := rand.New(rand.NewPCG(3, 3))
	n := adapi.MaxPoints + 500
	for i := range n {
		v := 10*math.Sin(2*math.Pi*float64(i)/288) + rng.NormFloat64()
		l := "0"
		if i == 9000 || i == 9001 || i == 100 {
			v += 40
			l = "1"
		}
		b.WriteString(strings.Join([]string{"0", formatFloat(v), l, "long"}, ",") + "\n")
		if i < 20 {
			val := formatFloat(float64(i % 3))
			if i == 5 {
				val = "NaN"
			}
			b.WriteString("0," + val + ",0,gappy\n")
		}
		if i < 5 {
			b.WriteString("0,1,0,short\n")
		}
	}
	writeFile(t, dir, "kpi/train.csv", b.String())
	var out, errOut bytes.Buffer
	if err := run([]string{"-data", filepath.Join(dir, "kpi"), "-synthetic", "-delay", "3", "-j", "2"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	t.Log(out.String())
	checkRows(t, out.String(), "kpi")
	checkRows(t, out.String(), "synthetic")
	for _, want := range []string{
		"kpi (" + filepath.Join(dir, "kpi") + "): 1 series, 9140 points scored in 2 windows of at most 8640 points; 2 series skipped; 3 labelled points in 2 segments; delay 3",
		"synthetic (generated, seed 1): 100 series",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	for _, want := range []string{"train.csv#gappy: skipped: missing value at line 18", "train.csv#short: skipped: 5 points, fewer than 12"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("messages lack %q:\n%s", want, errOut.String())
		}
	}
}

// formatFloat formats v with 6 decimals for a test CSV.
func formatFloat(v float64) string {
	return strconv.FormatFloat(v, 'f', 6, 64)
}

// TestRunErrors checks that bad flags and bad data are errors, not panics.
func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "bad/a.csv", "timestamp,value,is_anomaly\n1,1,0\n2,x1,0\n")
	tests := []struct {
		args []string
		err  string
	}{
		{[]string{"-data", filepath.Join(dir, "bad")}, `a.csv: line 3: value "x1": not a number`},
		{[]string{"-data", filepath.Join(dir, "missing")}, "missing"},
		{[]string{"-sensitivities", "99,100"}, `"100" is not a number from 0 to 99`},
		{[]string{"-delay", "-1"}, "-delay"},
		{[]string{"-sr-window", "0"}, "-sr-window"},
		{[]string{"extra"}, "unexpected arguments"},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		err := run(tt.args, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("run(%q) = %v, want an error containing %q", tt.args, err, tt.err)
		}
	}
}

// FuzzReadSeries checks that the CSV reader never panics and that what it
// accepts is consistent.
func FuzzReadSeries(f *testing.F) {
	for _, seed := range []string{
		"timestamp,value,is_anomaly\n1,0.5,0\n2,7,1\n",
		"timestamps,value,anomaly,changepoint\n1,2,1,0\n",
		"timestamp,value,label,KPI ID\n1,1,0,a\n2,2,1,b\n",
		"timestamp,value\n2014-04-01 00:00:00,1\n",
		"value,label\n,0\nNaN,1\n",
		"value\n1e400\n",
		"\ufeffVALUE,Label\n\"1\",\"true\"\n",
		"a,b\n1,2\n",
		"value,label\n\"1,0\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		format, ss, err := readSeries(bytes.NewReader(data), "fuzz.csv")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.csv: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if format == "" || len(ss) == 0 {
			t.Fatalf("success with format %q and %d series", format, len(ss))
		}
		for _, s := range ss {
			if len(s.values) == 0 {
				t.Fatalf("empty series %q", s.name)
			}
			if s.labels != nil && len(s.labels) != len(s.values) {
				t.Fatalf("%d labels for %d values", len(s.labels), len(s.values))
			}
			if (s.labels == nil) != (format == formatNAB) {
				t.Fatalf("format %s with labels %v", format, s.labels != nil)
			}
			if s.times != nil && len(s.times) != len(s.values) {
				t.Fatalf("%d times for %d values", len(s.times), len(s.values))
			}
			for i, v := range s.values {
				if math.IsInf(v, 0) || (math.IsNaN(v) && s.missingLine == 0) {
					t.Fatalf("value %d = %v with missingLine %d", i, v, s.missingLine)
				}
			}
		}
	})
}
