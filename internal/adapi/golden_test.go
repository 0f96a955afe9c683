package adapi

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden responses under testdata/golden/")

// goldenCase is one testdata/golden/<op>_<version>_<description>.request.json.
type goldenCase struct {
	name string // file name without ".request.json"
	v    Version
	op   Operation
	body []byte
}

func (c goldenCase) responsePath() string {
	return filepath.Join("testdata", "golden", c.name+".response.json")
}

// goldenCases reads the golden requests; the file name gives the operation
// and the version.
func goldenCases(t *testing.T) []goldenCase {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "golden", "*.request.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no testdata/golden/*.request.json")
	}
	var cases []goldenCase
	for _, p := range paths {
		name := strings.TrimSuffix(filepath.Base(p), ".request.json")
		parts := strings.SplitN(name, "_", 3)
		if len(parts) != 3 {
			t.Fatalf("%s: want <operation>_<version>_<description>.request.json", p)
		}
		op, ok := ParseOperation(parts[0])
		if !ok {
			t.Fatalf("%s: unknown operation %q", p, parts[0])
		}
		v, ok := ParseVersion(parts[1])
		if !ok {
			t.Fatalf("%s: unknown version %q", p, parts[1])
		}
		body, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, goldenCase{name: name, v: v, op: op, body: body})
	}
	return cases
}

// detect runs Decode and Detect, failing the test on any error.
func detect(t testing.TB, v Version, op Operation, body []byte) (*Request, []byte) {
	t.Helper()
	r, err := Decode(v, op, body)
	if err != nil {
		t.Fatalf("Decode(%v, %v): %v", v, op, err)
	}
	out, err := r.Detect()
	if err != nil {
		t.Fatalf("Detect(%v, %v): %v", v, op, err)
	}
	return r, out
}

// TestGolden runs every golden request and compares the answer with its
// .response.json byte for byte. Run go test ./internal/adapi -update to
// rewrite the responses after a deliberate change, and review the diff.
func TestGolden(t *testing.T) {
	for _, c := range goldenCases(t) {
		t.Run(c.name, func(t *testing.T) {
			r, got := detect(t, c.v, c.op, c.body)
			checkResponse(t, r, got)
			path := c.responsePath()
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/adapi -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("response differs from %s at byte %d:\n got: %s\nwant: %s\nrun go test ./internal/adapi -update and review the diff",
					path, firstDiff(got, want), excerpt(got, firstDiff(got, want)), excerpt(want, firstDiff(got, want)))
			}
		})
	}
}

// TestGoldenFilesPaired fails on a response without a request, which a
// renamed request would leave behind.
func TestGoldenFilesPaired(t *testing.T) {
	responses, err := filepath.Glob(filepath.Join("testdata", "golden", "*.response.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range responses {
		req := strings.TrimSuffix(p, ".response.json") + ".request.json"
		if _, err := os.Stat(req); err != nil {
			t.Errorf("%s has no request file %s", p, req)
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func excerpt(b []byte, at int) string {
	lo, hi := max(0, at-40), min(len(b), at+40)
	return "…" + string(b[lo:hi]) + "…"
}

// TestDetectDeterministic checks the service's first behaviour fact:
// identical requests give byte-identical answers, also when run at once
// from several goroutines.
func TestDetectDeterministic(t *testing.T) {
	for _, c := range goldenCases(t) {
		t.Run(c.name, func(t *testing.T) {
			_, first := detect(t, c.v, c.op, c.body)
			const n = 4
			outs := make([][]byte, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					r, err := Decode(c.v, c.op, c.body)
					if err != nil {
						return
					}
					outs[i], _ = r.Detect()
				})
			}
			wg.Wait()
			for i, out := range outs {
				if !bytes.Equal(out, first) {
					t.Errorf("run %d differs from the first at byte %d", i+1, firstDiff(out, first))
				}
			}
		})
	}
}

// TestResponseProperties checks properties of the answers that hold for
// any series: run on the golden requests and on generated series with gaps.
func TestResponseProperties(t *testing.T) {
	type tcase struct {
		name string
		v    Version
		op   Operation
		body []byte
	}
	var cases []tcase
	for _, c := range goldenCases(t) {
		cases = append(cases, tcase{"golden/" + c.name, c.v, c.op, c.body})
	}
	// Hourly points with every third hour missing, each version, operation
	// and impute mode: answers still have one element per input point.
	var gappy []point
	for i := range 60 {
		if i%3 != 2 {
			gappy = append(gappy, point{quote(t0.Add(time.Duration(i) * time.Hour)), fmtInt(100 + (i*37)%23)})
		}
	}
	for _, v := range fuzzVersions {
		for _, op := range fuzzOperations {
			for _, mode := range imputeNames {
				body := withSeries(gappy, "granularity", `"hourly"`, "imputeMode", `"`+mode+`"`, "imputeFixedValue", "1")
				cases = append(cases, tcase{"gappy/" + v.String() + "/" + op.String() + "/" + mode, v, op, []byte(body)})
			}
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, out := detect(t, c.v, c.op, c.body)
			res := checkResponse(t, r, out)
			hasSeverity := bytes.Contains(out, []byte(`"severity"`))
			if c.op != ChangePoint && hasSeverity != (c.v != V10) {
				t.Errorf("%v answer has severity = %v, want %v", c.v, hasSeverity, c.v != V10)
			}
			switch res := res.(type) {
			case *entireResponse:
				checkEntire(t, r, res)
			case *lastResponse:
				checkLast(t, r, res)
			case *changePointResponse:
				for i, s := range res.ConfidenceScores {
					if s < 0 || s > 1 || math.IsNaN(s) {
						t.Errorf("confidenceScores[%d] = %v, want within [0, 1]", i, s)
					}
				}
			}
		})
	}
}

func fmtInt(i int) string { return strconv.Itoa(i) }

// checkEntire checks an entire-series answer against the request's values.
func checkEntire(t *testing.T, r *Request, res *entireResponse) {
	t.Helper()
	for i, x := range r.Values {
		if i >= len(res.ExpectedValues) {
			return
		}
		e, lo, up := res.ExpectedValues[i], res.LowerMargins[i], res.UpperMargins[i]
		if lo < 0 || up < 0 {
			t.Errorf("point %d: margins %v, %v, want >= 0", i, lo, up)
		}
		if res.IsPositiveAnomaly[i] && !(x > e) {
			t.Errorf("point %d: positive anomaly with value %v <= expected %v", i, x, e)
		}
		if res.IsNegativeAnomaly[i] && !(x < e) {
			t.Errorf("point %d: negative anomaly with value %v >= expected %v", i, x, e)
		}
		if r.Version != V10 {
			if s := res.Severity[i]; s < 0 || (!res.IsAnomaly[i] && s != 0) {
				t.Errorf("point %d: severity %v with isAnomaly %v, want 0 for normal points and >= 0 otherwise", i, s, res.IsAnomaly[i])
			}
		}
		// v1.1 GA: normal points lie inside their band, anomalies outside.
		if r.Version == V11 {
			outside := x > e+up || x < e-lo
			if outside != res.IsAnomaly[i] {
				t.Errorf("point %d: value %v, band [%v, %v], isAnomaly %v", i, x, e-lo, e+up, res.IsAnomaly[i])
			}
		}
	}
}

// checkLast checks a last-point answer against the request's last value.
func checkLast(t *testing.T, r *Request, res *lastResponse) {
	t.Helper()
	x := r.Values[len(r.Values)-1]
	if res.LowerMargin < 0 || res.UpperMargin < 0 {
		t.Errorf("margins %v, %v, want >= 0", res.LowerMargin, res.UpperMargin)
	}
	if res.IsPositiveAnomaly && !(x > res.ExpectedValue) {
		t.Errorf("positive anomaly with value %v <= expected %v", x, res.ExpectedValue)
	}
	if res.IsNegativeAnomaly && !(x < res.ExpectedValue) {
		t.Errorf("negative anomaly with value %v >= expected %v", x, res.ExpectedValue)
	}
	if r.Version != V10 && res.Severity < 0 {
		t.Errorf("severity %v, want >= 0", res.Severity)
	}
}

// TestImputeModesReachDetector checks that the impute mode changes what the
// detector sees: auto and linear give the same bytes, every other mode a
// different answer, and v1.0 ignores the mode.
func TestImputeModesReachDetector(t *testing.T) {
	var pts []point
	for i := range 72 {
		if i >= 30 && i <= 34 {
			continue // a five-hour gap
		}
		pts = append(pts, point{quote(t0.Add(time.Duration(i) * time.Hour)), strconv.Itoa(50 + (i*29)%17)})
	}
	answer := func(v Version, mode string) string {
		t.Helper()
		kv := []string{"granularity", `"hourly"`, "imputeFixedValue", "500"}
		if mode != "" {
			kv = append(kv, "imputeMode", `"`+mode+`"`)
		}
		_, out := detect(t, v, Entire, []byte(withSeries(pts, kv...)))
		return string(out)
	}
	seen := map[string]string{}
	for _, mode := range []string{"linear", "previous", "fixed", "zero", "notFill"} {
		out := answer(V11, mode)
		if other, ok := seen[out]; ok {
			t.Errorf("imputeMode %s gives the same answer as %s", mode, other)
		}
		seen[out] = mode
	}
	if got, want := answer(V11, "auto"), answer(V11, "linear"); got != want {
		t.Errorf("imputeMode auto differs from linear at byte %d", firstDiff([]byte(got), []byte(want)))
	}
	if got, want := answer(V11, ""), answer(V11, "auto"); got != want {
		t.Errorf("no imputeMode differs from auto at byte %d", firstDiff([]byte(got), []byte(want)))
	}
	for _, mode := range []string{"zero", "previous", "notFill", "fixed"} {
		if got, want := answer(V10, mode), answer(V10, ""); got != want {
			t.Errorf("v1.0 with imputeMode %s differs from none at byte %d", mode, firstDiff([]byte(got), []byte(want)))
		}
	}
}
