package adapi

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil/internal/vigil"
)

// point is one series element as raw JSON fragments; an empty fragment
// leaves the field out.
type point struct{ ts, val string }

// seriesJSON renders points as the JSON "series" array.
func seriesJSON(pts []point) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, p := range pts {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('{')
		sep := ""
		if p.ts != "" {
			b.WriteString(`"timestamp":` + p.ts)
			sep = ","
		}
		if p.val != "" {
			b.WriteString(sep + `"value":` + p.val)
		}
		b.WriteByte('}')
	}
	b.WriteByte(']')
	return b.String()
}

// points makes n points with timestamps ts(i) (nil: none) and values val(i)
// (nil: 10, 11, ..., 16, 10, ...).
func points(n int, ts func(int) string, val func(int) string) []point {
	pts := make([]point, n)
	for i := range pts {
		if ts != nil {
			pts[i].ts = ts(i)
		}
		if val != nil {
			pts[i].val = val(i)
		} else {
			pts[i].val = strconv.Itoa(10 + i%7)
		}
	}
	return pts
}

// quote returns t as a quoted RFC 3339 timestamp.
func quote(t time.Time) string { return `"` + t.Format(time.RFC3339Nano) + `"` }

var t0 = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// every returns timestamps start, start+d, start+2d, ...
func every(start time.Time, d time.Duration) func(int) string {
	return func(i int) string { return quote(start.Add(time.Duration(i) * d)) }
}

// monthsFrom returns timestamps step months apart, the day clamped to the
// month's end (an independent reimplementation of the service's grid).
func monthsFrom(y int, m time.Month, d, step int) func(int) string {
	return func(i int) string {
		mm := int(m) - 1 + i*step
		ny, nm := y+mm/12, time.Month(mm%12+1)
		last := time.Date(ny, nm+1, 0, 0, 0, 0, 0, time.UTC).Day()
		return quote(time.Date(ny, nm, min(d, last), 0, 0, 0, 0, time.UTC))
	}
}

// daily is the usual test series: n daily timestamped points.
func daily(n int) []point { return points(n, every(t0, 24*time.Hour), nil) }

// set returns a copy of pts with element i replaced.
func set(pts []point, i int, p point) []point {
	c := append([]point(nil), pts...)
	c[i] = p
	return c
}

// swap returns a copy of pts with elements i and j exchanged.
func swap(pts []point, i, j int) []point {
	c := append([]point(nil), pts...)
	c[i], c[j] = c[j], c[i]
	return c
}

// obj renders a JSON object from key and raw-JSON value pairs, in order.
func obj(kv ...string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(kv[i]) + ":" + kv[i+1])
	}
	b.WriteByte('}')
	return b.String()
}

// withSeries renders a body holding pts and the other fields in kv.
func withSeries(pts []point, kv ...string) string {
	return obj(append([]string{"series", seriesJSON(pts)}, kv...)...)
}

// mustDecode decodes body or fails the test.
func mustDecode(t testing.TB, v Version, op Operation, body string) *Request {
	t.Helper()
	r, err := Decode(v, op, []byte(body))
	if err != nil {
		t.Fatalf("Decode(%v, %v): %v", v, op, err)
	}
	return r
}

// apiCodes is the documented set of univariate error codes
// (AnomalyDetectorErrorCodes).
var apiCodes = map[string]bool{
	CodeInvalidCustomInterval:   true,
	CodeBadArgument:             true,
	CodeInvalidGranularity:      true,
	CodeInvalidPeriod:           true,
	CodeInvalidModelArgument:    true,
	CodeInvalidSeries:           true,
	CodeInvalidJSONFormat:       true,
	CodeRequiredGranularity:     true,
	CodeRequiredSeries:          true,
	CodeInvalidImputeMode:       true,
	CodeInvalidImputeFixedValue: true,
}

// checkInvalid fails unless err is a *vigil.Error with code EInvalid, a
// documented APICode and a non-empty message, and returns it.
func checkInvalid(t testing.TB, err error) *vigil.Error {
	t.Helper()
	var ve *vigil.Error
	if !errors.As(err, &ve) {
		t.Fatalf("error %v (%T) is not a *vigil.Error", err, err)
	}
	if ve.Code != vigil.EInvalid {
		t.Errorf("Code = %q, want %q (error %v)", ve.Code, vigil.EInvalid, err)
	}
	if !apiCodes[ve.APICode] {
		t.Errorf("APICode = %q, not a documented Anomaly Detector code (error %v)", ve.APICode, err)
	}
	if ve.Message == "" {
		t.Errorf("Message is empty (APICode %q)", ve.APICode)
	}
	return ve
}

// reversed returns a reversed copy of pts.
func reversed(pts []point) []point {
	c := append([]point(nil), pts...)
	slices.Reverse(c)
	return c
}
