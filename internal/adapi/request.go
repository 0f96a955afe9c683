package adapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/vigilhq/vigil/internal/vigil"
)

// Limits of the univariate API.
const (
	MinPoints = 12   // fewest points in a series
	MaxPoints = 8640 // most points in a series
	// maxFilled is the most points a series may have once its gaps are
	// filled: twice the request limit, so a full-size series may miss half
	// its points and still be answered.
	maxFilled = 2 * MaxPoints
)

// Default parameters, as the Azure service documents them.
const (
	DefaultSensitivity     = 99
	DefaultMaxAnomalyRatio = 0.25
)

// Error codes of the Anomaly Detector API (AnomalyDetectorErrorCodes).
const (
	CodeInvalidCustomInterval   = "InvalidCustomInterval"
	CodeBadArgument             = "BadArgument"
	CodeInvalidGranularity      = "InvalidGranularity"
	CodeInvalidPeriod           = "InvalidPeriod"
	CodeInvalidModelArgument    = "InvalidModelArgument"
	CodeInvalidSeries           = "InvalidSeries"
	CodeInvalidJSONFormat       = "InvalidJsonFormat"
	CodeRequiredGranularity     = "RequiredGranularity"
	CodeRequiredSeries          = "RequiredSeries"
	CodeInvalidImputeMode       = "InvalidImputeMode"
	CodeInvalidImputeFixedValue = "InvalidImputeFixedValue"
)

// ImputeMode says how missing points of a timestamped series are filled.
type ImputeMode int

// The impute modes.
const (
	ImputeAuto ImputeMode = iota
	ImputePrevious
	ImputeLinear
	ImputeFixed
	ImputeZero
	ImputeNotFill
)

var imputeNames = [...]string{"auto", "previous", "linear", "fixed", "zero", "notFill"}

// String returns the wire name of the mode.
func (m ImputeMode) String() string { return imputeNames[m] }

// Request is a decoded and validated univariate request.
type Request struct {
	Version   Version
	Operation Operation

	// Values holds the series' values in request order.
	Values []float64
	// Times holds the parsed timestamps when the granularity is not None,
	// else nil.
	Times []time.Time

	Granularity    Granularity
	CustomInterval int

	Period    int
	PeriodSet bool

	Sensitivity     float64
	MaxAnomalyRatio float64

	ImputeMode       ImputeMode
	ImputeFixedValue float64

	StableTrendWindow int
	Threshold         float64
	ThresholdSet      bool
}

// number is a JSON number or a string holding one, as the Python SDK sends
// values. It records problems instead of failing, so that validation can name
// the offending field and index.
type number struct {
	v    float64
	set  bool // present and not null
	bad  bool // present but not a finite number
	frac bool // has a fractional part
}

// UnmarshalJSON implements json.Unmarshaler.
func (n *number) UnmarshalJSON(b []byte) error {
	*n = number{}
	if len(b) == 4 && string(b) == "null" {
		return nil
	}
	n.set = true
	s := b
	if len(b) > 0 && b[0] == '"' {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			n.bad = true
			return nil
		}
		s = bytes.TrimSpace([]byte(str))
		// Only decimal notation, as in a JSON number: no hex floats, no
		// digit separators, no "Inf" or "NaN".
		if len(s) == 0 || bytes.IndexFunc(s, func(r rune) bool { return !strings.ContainsRune("0123456789+-.eE", r) }) >= 0 {
			n.bad = true
			return nil
		}
	} else if len(b) > 0 && (b[0] == '{' || b[0] == '[' || b[0] == 't' || b[0] == 'f') {
		n.bad = true
		return nil
	}
	f, err := strconv.ParseFloat(string(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		n.bad = true
		return nil
	}
	n.v = f
	n.frac = f != math.Trunc(f)
	return nil
}

// text is a JSON string that records a wrong type instead of failing.
type text struct {
	s   string
	set bool
	bad bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *text) UnmarshalJSON(b []byte) error {
	*t = text{}
	if string(b) == "null" {
		return nil
	}
	t.set = true
	if len(b) == 0 || b[0] != '"' {
		t.bad = true
		return nil
	}
	// Fast path: the decoder has validated the literal, so a string of
	// plain ASCII without escapes is its own content.
	if plain(b[1 : len(b)-1]) {
		t.s = string(b[1 : len(b)-1])
		return nil
	}
	if err := json.Unmarshal(b, &t.s); err != nil {
		t.bad = true
	}
	return nil
}

// plain reports whether b, the inside of a JSON string, is plain ASCII
// with no escapes.
func plain(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c >= 0x80 || c == '\\' || c == '"' {
			return false
		}
	}
	return true
}

type wirePoint struct {
	Timestamp text   `json:"timestamp"`
	Value     number `json:"value"`
}

// wireSeries is the series array; it records a wrong type (an object, a
// string) instead of failing the whole decode.
type wireSeries struct {
	points []wirePoint
	set    bool
	bad    bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (s *wireSeries) UnmarshalJSON(b []byte) error {
	*s = wireSeries{}
	if string(b) == "null" {
		return nil
	}
	s.set = true
	if len(b) == 0 || b[0] != '[' {
		s.bad = true
		return nil
	}
	if err := json.Unmarshal(b, &s.points); err != nil {
		s.bad = true
	}
	return nil
}

type wireRequest struct {
	Series            wireSeries `json:"series"`
	Granularity       text       `json:"granularity"`
	CustomInterval    number     `json:"customInterval"`
	Period            number     `json:"period"`
	MaxAnomalyRatio   number     `json:"maxAnomalyRatio"`
	Sensitivity       number     `json:"sensitivity"`
	ImputeMode        text       `json:"imputeMode"`
	ImputeFixedValue  number     `json:"imputeFixedValue"`
	StableTrendWindow number     `json:"stableTrendWindow"`
	Threshold         number     `json:"threshold"`
}

func invalid(code, format string, args ...any) error {
	return vigil.APIErrorf(vigil.EInvalid, code, format, args...)
}

// Decode parses and validates a request body for the given version and
// operation. Every error it returns is a *vigil.Error with code EInvalid and
// the service's error code in APICode.
func Decode(v Version, op Operation, body []byte) (*Request, error) {
	var w wireRequest
	if err := decodeJSON(body, &w); err != nil {
		return nil, err
	}
	r := &Request{Version: v, Operation: op}
	steps := []func(*wireRequest) error{r.granularity, r.series, r.period}
	if op == ChangePoint {
		steps = append(steps, r.changePointArgs)
	} else {
		steps = append(steps, r.modelArgs, r.impute)
	}
	for _, step := range steps {
		if err := step(&w); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// decodeJSON unmarshals body into w, reporting malformed JSON and a body
// that is not an object as InvalidJsonFormat.
func decodeJSON(body []byte, w *wireRequest) error {
	body = bytes.TrimSpace(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))) // a UTF-8 byte-order mark is allowed
	if len(body) == 0 {
		return invalid(CodeInvalidJSONFormat, "The request body is empty; send a JSON object.")
	}
	if body[0] != '{' {
		return invalid(CodeInvalidJSONFormat, "The request body must be a JSON object.")
	}
	if decodeFast(body, w) {
		return nil
	}
	*w = wireRequest{}
	if err := json.Unmarshal(body, w); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return invalid(CodeInvalidJSONFormat, "The request body is not valid JSON (at byte %d).", se.Offset)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return invalid(CodeInvalidJSONFormat, "The field '%s' has the wrong JSON type.", te.Field)
		}
		return invalid(CodeInvalidJSONFormat, "The request body is not valid JSON.")
	}
	return nil
}

func (r *Request) granularity(w *wireRequest) error {
	switch {
	case w.Granularity.bad:
		return invalid(CodeInvalidGranularity, "The 'granularity' field must be a string, one of yearly, monthly, weekly, daily, hourly, minutely, secondly, microsecond, none.")
	case !w.Granularity.set:
		// v1.0 required a granularity for entire and last detection; a
		// change-point request without one is treated as "none" (as the
		// v1.1 service answered it).
		if r.Version == V10 && r.Operation != ChangePoint {
			return invalid(CodeRequiredGranularity, "The 'granularity' field is required in v1.0.")
		}
		r.Granularity = None
	case w.Granularity.s == "":
		return invalid(CodeRequiredGranularity, "The 'granularity' field must not be empty.")
	default:
		g, ok := ParseGranularity(w.Granularity.s)
		if !ok {
			return invalid(CodeInvalidGranularity, "The 'granularity' value %q is not one of yearly, monthly, weekly, daily, hourly, minutely, secondly, microsecond, none.", clip(w.Granularity.s))
		}
		r.Granularity = g
	}
	r.CustomInterval = 1
	if ci := w.CustomInterval; ci.set {
		if ci.bad || ci.frac || ci.v < 1 || ci.v > math.MaxInt32 {
			return invalid(CodeInvalidCustomInterval, "The 'customInterval' field must be a positive integer.")
		}
		r.CustomInterval = int(ci.v)
	}
	return nil
}

func (r *Request) series(w *wireRequest) error {
	if !w.Series.set {
		return invalid(CodeRequiredSeries, "The 'series' field is required.")
	}
	if w.Series.bad {
		return invalid(CodeInvalidSeries, "The 'series' field must be an array of points, each with a 'value' and a 'timestamp'.")
	}
	pts := w.Series.points
	if len(pts) < MinPoints || len(pts) > MaxPoints {
		return invalid(CodeInvalidSeries, "The 'series' field must contain %d to %d points; it has %d.", MinPoints, MaxPoints, len(pts))
	}
	r.Values = make([]float64, len(pts))
	for i := range pts {
		v := pts[i].Value
		switch {
		case !v.set:
			return invalid(CodeInvalidSeries, "The 'value' at index %d is missing.", i)
		case v.bad:
			return invalid(CodeInvalidSeries, "The 'value' at index %d is not a finite number.", i)
		}
		r.Values[i] = v.v
	}
	return r.timestamps(pts)
}

// timestamps checks the points' timestamps: with a granularity each point
// needs one, on the granularity's grid, in strictly ascending order; with
// granularity none they are ignored unless all are given, in which case
// they must still ascend strictly.
func (r *Request) timestamps(pts []wirePoint) error {
	times := make([]time.Time, len(pts))
	for i := range pts {
		ts := pts[i].Timestamp
		if !ts.set || ts.bad {
			if r.Granularity == None {
				return nil
			}
			if ts.bad {
				return invalid(CodeInvalidSeries, "The 'Timestamp' at index %d must be an ISO 8601 date-time string.", i)
			}
			return invalid(CodeInvalidSeries, "The 'Timestamp' at index %d is missing; timestamps are required unless granularity is none.", i)
		}
		t, ok := parseTimestamp(ts.s)
		if !ok {
			if r.Granularity == None {
				return nil
			}
			return invalid(CodeInvalidSeries, "The 'Timestamp' at index %d is not an ISO 8601 date-time.", i)
		}
		times[i] = t
	}
	for i := 1; i < len(times); i++ {
		switch c := times[i].Compare(times[i-1]); {
		case c == 0:
			return invalid(CodeInvalidSeries, "The 'Timestamp' at index %d is duplicated; timestamps must be unique.", i)
		case c < 0:
			return invalid(CodeInvalidSeries, "The 'Timestamp' at index %d is earlier than the one before it; the series must be sorted by timestamp in ascending order.", i)
		}
	}
	if r.Granularity == None {
		return nil
	}
	gr := grid{g: r.Granularity, interval: r.CustomInterval, origin: times[0]}
	for i := 1; i < len(times); i++ {
		if _, ok := gr.slot(times[i]); !ok {
			return invalid(CodeInvalidSeries, "The 'Timestamp' at index %d is invalid in %s granularity with %d gran as interval.", i, r.Granularity, r.CustomInterval)
		}
	}
	r.Times = times
	return nil
}

func (r *Request) period(w *wireRequest) error {
	p := w.Period
	if !p.set {
		return nil
	}
	if p.bad || p.frac || p.v < 0 || p.v > float64(len(r.Values)/2) {
		return invalid(CodeInvalidPeriod, "The 'period' field must be an integer from 0 to half the number of points (%d).", len(r.Values)/2)
	}
	r.Period, r.PeriodSet = int(p.v), true
	return nil
}

func (r *Request) modelArgs(w *wireRequest) error {
	r.Sensitivity = DefaultSensitivity
	if s := w.Sensitivity; s.set {
		if s.bad || s.v < 0 || s.v > 99 {
			return invalid(CodeInvalidModelArgument, "The 'sensitivity' field must be a number from 0 to 99.")
		}
		r.Sensitivity = s.v
	}
	r.MaxAnomalyRatio = DefaultMaxAnomalyRatio
	if m := w.MaxAnomalyRatio; m.set {
		if m.bad || m.v <= 0 || m.v >= 0.5 {
			return invalid(CodeInvalidModelArgument, "The 'maxAnomalyRatio' field must be greater than 0 and less than 0.5.")
		}
		r.MaxAnomalyRatio = m.v
	}
	return nil
}

func (r *Request) impute(w *wireRequest) error {
	r.ImputeMode = ImputeAuto
	if !r.Version.hasImpute() {
		return nil // v1.0 does not know imputeMode: ignored, as any unknown field
	}
	if m := w.ImputeMode; m.set {
		found := false
		for i, n := range imputeNames {
			if !m.bad && equalFoldASCII(m.s, n) {
				r.ImputeMode, found = ImputeMode(i), true
				break
			}
		}
		if !found {
			return invalid(CodeInvalidImputeMode, "The 'imputeMode' field must be one of auto, previous, linear, fixed, zero, notFill.")
		}
	}
	if f := w.ImputeFixedValue; f.set && f.bad {
		return invalid(CodeInvalidImputeFixedValue, "The 'imputeFixedValue' field must be a finite number.")
	}
	if r.ImputeMode == ImputeFixed {
		if !w.ImputeFixedValue.set {
			return invalid(CodeInvalidImputeFixedValue, "The 'imputeFixedValue' field is required when imputeMode is fixed.")
		}
		r.ImputeFixedValue = w.ImputeFixedValue.v
	}
	return nil
}

// Change-point defaults.
const (
	DefaultStableTrendWindow = 10
)

func (r *Request) changePointArgs(w *wireRequest) error {
	if s := w.StableTrendWindow; s.set {
		if s.bad || s.frac || s.v < 1 || s.v >= float64(len(r.Values)) {
			return invalid(CodeInvalidModelArgument, "The 'stableTrendWindow' field must be an integer from 1 to the number of points minus one (%d).", len(r.Values)-1)
		}
		r.StableTrendWindow = int(s.v)
	}
	if t := w.Threshold; t.set {
		if t.bad || t.v < 0 || t.v > 1 {
			return invalid(CodeInvalidModelArgument, "The 'threshold' field must be a number from 0 to 1.")
		}
		r.Threshold, r.ThresholdSet = t.v, true
	}
	return nil
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// clip shortens a caller-supplied string before it is echoed in a message.
func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "..."
	}
	return s
}
