package adapi

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil/internal/vigil"
)

var (
	fuzzVersions   = []Version{V10, V11Preview1, V11}
	fuzzOperations = []Operation{Entire, Last, ChangePoint}
)

// addDecodeSeeds adds request bodies for every version and operation:
// valid ones, one per error code and some malformed JSON, plus the golden
// requests.
func addDecodeSeeds(f *testing.F) {
	f.Helper()
	d12 := daily(12)
	bodies := []string{
		withSeries(d12, "granularity", `"daily"`),
		withSeries(d12),
		withSeries(points(12, nil, nil), "granularity", `"none"`),
		withSeries(points(12, nil, func(i int) string { return `"` + string(rune('1'+i%9)) + `"` }), "granularity", `"none"`),
		withSeries(slicesDelete(points(20, every(t0, time.Hour), nil), 5, 9), "granularity", `"hourly"`, "imputeMode", `"fixed"`, "imputeFixedValue", "3"),
		withSeries(points(12, monthsFrom(2020, time.January, 31, 1), nil), "granularity", `"monthly"`, "period", "3", "sensitivity", "95", "maxAnomalyRatio", "0.1"),
		withSeries(points(12, every(t0, 5*time.Minute), nil), "granularity", `"minutely"`, "customInterval", "5"),
		withSeries(d12, "stableTrendWindow", "5", "threshold", "0.9"),
		withSeries(swap(d12, 3, 4), "granularity", `"daily"`),
		withSeries(set(d12, 2, point{quote(t0), `"NaN"`}), "granularity", `"daily"`),
		withSeries(d12, "granularity", `""`),
		withSeries(d12, "granularity", `"daily"`, "customInterval", "616385997"),
		withSeries(d12, "granularity", `"daily"`, "imputeMode", `"fixed"`),
		`{"series":[{"timestamp":"2020-01-01T00:00:00Z","value":1e400}]}`,
		`{}`, ``, `[]`, `null`, `{"series":`, `{"series":{}}`, `{"Series":[], "GRANULARITY":7}`,
	}
	golden, _ := filepath.Glob(filepath.Join("testdata", "golden", "*.request.json"))
	for _, path := range golden {
		if b, err := os.ReadFile(path); err == nil {
			bodies = append(bodies, string(b))
		}
	}
	for i, b := range bodies {
		f.Add(uint8(i%3), uint8(i/3%3), []byte(b))
	}
	for i := range 9 {
		f.Add(uint8(i%3), uint8(i/3), []byte(bodies[0]))
	}
}

func slicesDelete(pts []point, i, j int) []point {
	return append(append([]point(nil), pts[:i]...), pts[j:]...)
}

func FuzzDecode(f *testing.F) {
	addDecodeSeeds(f)
	f.Fuzz(func(t *testing.T, vi, oi uint8, body []byte) {
		v := fuzzVersions[int(vi)%len(fuzzVersions)]
		op := fuzzOperations[int(oi)%len(fuzzOperations)]
		r, err := Decode(v, op, body)
		if err != nil {
			if r != nil {
				t.Fatalf("Decode returned a request and error %v", err)
			}
			var ve *vigil.Error
			if !errors.As(err, &ve) {
				t.Fatalf("error %v (%T) is not a *vigil.Error", err, err)
			}
			if ve.Code != vigil.EInvalid || !apiCodes[ve.APICode] || ve.Message == "" {
				t.Fatalf("error %+v: want Code invalid, a documented APICode and a message", ve)
			}
			return
		}
		checkRequest(t, r, v, op)
	})
}

// checkRequest checks the invariants of a decoded request.
func checkRequest(t *testing.T, r *Request, v Version, op Operation) {
	t.Helper()
	if r.Version != v || r.Operation != op {
		t.Fatalf("Version, Operation = %v, %v, want %v, %v", r.Version, r.Operation, v, op)
	}
	if n := len(r.Values); n < MinPoints || n > MaxPoints {
		t.Fatalf("len(Values) = %d, want %d..%d", n, MinPoints, MaxPoints)
	}
	for i, x := range r.Values {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			t.Fatalf("Values[%d] = %v, want finite", i, x)
		}
	}
	if r.Granularity < None || r.Granularity > Microsecond {
		t.Fatalf("Granularity = %d", r.Granularity)
	}
	if r.CustomInterval < 1 || r.CustomInterval > math.MaxInt32 {
		t.Fatalf("CustomInterval = %d", r.CustomInterval)
	}
	if (r.Times == nil) != (r.Granularity == None) {
		t.Fatalf("Times set = %v with granularity %v", r.Times != nil, r.Granularity)
	}
	if r.Times != nil {
		if len(r.Times) != len(r.Values) {
			t.Fatalf("len(Times) = %d, len(Values) = %d", len(r.Times), len(r.Values))
		}
		gr := grid{g: r.Granularity, interval: r.CustomInterval, origin: r.Times[0]}
		prev := -1
		for i, ts := range r.Times {
			if ts.Location() != time.UTC {
				t.Fatalf("Times[%d] = %v, want UTC", i, ts)
			}
			k, ok := gr.slot(ts)
			if !ok || k <= prev {
				t.Fatalf("Times[%d] = %v: slot %d, %v after slot %d", i, ts, k, ok, prev)
			}
			prev = k
		}
	}
	if r.Period < 0 || r.Period > len(r.Values)/2 || (!r.PeriodSet && r.Period != 0) {
		t.Fatalf("Period, PeriodSet = %d, %v", r.Period, r.PeriodSet)
	}
	if op == ChangePoint {
		if r.StableTrendWindow < 0 || r.StableTrendWindow >= len(r.Values) {
			t.Fatalf("StableTrendWindow = %d", r.StableTrendWindow)
		}
		if r.Threshold < 0 || r.Threshold > 1 {
			t.Fatalf("Threshold = %v", r.Threshold)
		}
		return
	}
	if r.Sensitivity < 0 || r.Sensitivity > 99 {
		t.Fatalf("Sensitivity = %v", r.Sensitivity)
	}
	if !(r.MaxAnomalyRatio > 0 && r.MaxAnomalyRatio < 0.5) {
		t.Fatalf("MaxAnomalyRatio = %v", r.MaxAnomalyRatio)
	}
	if r.ImputeMode < ImputeAuto || r.ImputeMode > ImputeNotFill || (v == V10 && r.ImputeMode != ImputeAuto) {
		t.Fatalf("ImputeMode = %d in %v", r.ImputeMode, v)
	}
	if math.IsNaN(r.ImputeFixedValue) || math.IsInf(r.ImputeFixedValue, 0) {
		t.Fatalf("ImputeFixedValue = %v", r.ImputeFixedValue)
	}
}

// FuzzDetect runs Decode and Detect and checks the answer's wire contract.
func FuzzDetect(f *testing.F) {
	addDecodeSeeds(f)
	f.Fuzz(func(t *testing.T, vi, oi uint8, body []byte) {
		v := fuzzVersions[int(vi)%len(fuzzVersions)]
		op := fuzzOperations[int(oi)%len(fuzzOperations)]
		r, err := Decode(v, op, body)
		if err != nil {
			return // FuzzDecode covers the errors
		}
		out, err := r.Detect()
		if err != nil {
			// Only a series whose gaps are too wide is refused here.
			var ve *vigil.Error
			if !errors.As(err, &ve) || ve.Code != vigil.EInvalid || ve.APICode != CodeInvalidSeries || !strings.Contains(ve.Message, "misses too many points") {
				t.Fatalf("Detect: %v (%#v)", err, err)
			}
			return
		}
		checkResponse(t, r, out)
	})
}

// FuzzDetectSeries builds a valid request from the fuzzer's bytes (values,
// gaps, granularity, impute mode, parameters) so that every input reaches
// the detector, and checks the answer's wire contract.
func FuzzDetectSeries(f *testing.F) {
	f.Add(uint8(2), uint8(0), uint8(4), uint8(0), uint8(0), []byte("\x10\x20\x30\x40\x50\x60\x70\x80\x90\xa0\xb0\xc0"))
	f.Add(uint8(2), uint8(1), uint8(5), uint8(1), uint8(7), []byte("abcdefghijklmnopqrstuvwxyz0123456789"))
	f.Add(uint8(0), uint8(2), uint8(2), uint8(5), uint8(0), []byte("\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff"))
	f.Add(uint8(1), uint8(0), uint8(6), uint8(3), uint8(3), []byte("\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\xfe\x01\x01\x01\x01\x01"))
	f.Fuzz(func(t *testing.T, vi, oi, gi, mi, period uint8, data []byte) {
		v := fuzzVersions[int(vi)%len(fuzzVersions)]
		op := fuzzOperations[int(oi)%len(fuzzOperations)]
		gran := Granularity(int(gi) % (int(Microsecond) + 1))
		if len(data) < MinPoints {
			return
		}
		data = data[:min(len(data), 400)]
		// Each byte is a point: its low 7 bits the value, its high bit a
		// gap of one slot before it (granularities other than none).
		var pts []point
		slot := 0
		for i, c := range data {
			if i > 0 && c&0x80 != 0 && gran != None {
				slot++
			}
			var ts string
			if gran == None {
				ts = ""
			} else if step := gran.fixedStep(); step > 0 {
				ts = quote(t0.Add(time.Duration(slot) * step))
			} else {
				months := slot
				if gran == Yearly {
					months *= 12
				}
				ts = quote(addMonths(t0, months))
			}
			pts = append(pts, point{ts, strconv.Itoa(int(c&0x7f) - 40)})
			slot++
		}
		kv := []string{"granularity", `"` + gran.String() + `"`, "imputeMode", `"` + imputeNames[int(mi)%len(imputeNames)] + `"`, "imputeFixedValue", "-1"}
		if p := int(period) % 16; p > 0 && p-1 <= len(pts)/2 {
			kv = append(kv, "period", strconv.Itoa(p-1))
		}
		if mi&0x80 != 0 {
			kv = append(kv, "sensitivity", strconv.Itoa(int(mi)%100), "maxAnomalyRatio", "0.1")
		}
		body := withSeries(pts, kv...)
		r, err := Decode(v, op, []byte(body))
		if err != nil {
			t.Fatalf("Decode of a valid body: %v\n%s", err, body)
		}
		out, err := r.Detect()
		if err != nil {
			t.Fatalf("Detect: %v", err)
		}
		checkResponse(t, r, out)
	})
}
