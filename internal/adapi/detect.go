package adapi

import (
	"strconv"

	"github.com/vigilhq/vigil/internal/anomaly"
)

// Detect runs the request's operation and returns the JSON response body.
// Errors are *vigil.Error values: EInvalid for a series the detector cannot
// take, EInternal for a failure of the detector itself.
func (r *Request) Detect() ([]byte, error) {
	values, index, err := r.fill()
	if err != nil {
		return nil, err
	}
	switch r.Operation {
	case Last:
		return r.detectLast(values)
	case ChangePoint:
		return r.detectChangePoint(values, index)
	default:
		return r.detectEntire(values, index)
	}
}

func (r *Request) options() anomaly.Options {
	o := anomaly.Options{
		Period:          r.Period,
		PeriodSet:       r.PeriodSet,
		Sensitivity:     r.Sensitivity,
		MaxAnomalyRatio: r.MaxAnomalyRatio,
	}
	switch r.Version {
	case V10:
		o.Style = anomaly.StyleV10
	case V11Preview1:
		o.Style = anomaly.StyleV11Preview
	default:
		o.Style = anomaly.StyleV11
	}
	return o
}

func (r *Request) detectEntire(values []float64, index []int) ([]byte, error) {
	res, err := anomaly.DetectEntire(values, r.options())
	if err != nil {
		return nil, internalError(err)
	}
	n := len(r.Values)
	at := func(i int) int {
		if index == nil {
			return i
		}
		return index[i]
	}
	b := make([]byte, 0, 64+n*90)
	b = append(b, `{"expectedValues":`...)
	b = appendFloats(b, res.ExpectedValues, n, at)
	b = append(b, `,"isAnomaly":`...)
	b = appendBools(b, res.IsAnomaly, n, at)
	b = append(b, `,"isNegativeAnomaly":`...)
	b = appendBools(b, res.IsNegativeAnomaly, n, at)
	b = append(b, `,"isPositiveAnomaly":`...)
	b = appendBools(b, res.IsPositiveAnomaly, n, at)
	b = append(b, `,"lowerMargins":`...)
	b = appendFloats(b, res.LowerMargins, n, at)
	b = append(b, `,"period":`...)
	b = strconv.AppendInt(b, int64(res.Period), 10)
	if r.Version.hasSeverity() {
		b = append(b, `,"severity":`...)
		b = appendFloats(b, res.Severity, n, at)
	}
	b = append(b, `,"upperMargins":`...)
	b = appendFloats(b, res.UpperMargins, n, at)
	return append(b, '}'), nil
}

func (r *Request) detectLast(values []float64) ([]byte, error) {
	res, err := anomaly.DetectLast(values, r.options())
	if err != nil {
		return nil, internalError(err)
	}
	b := make([]byte, 0, 320)
	b = append(b, `{"expectedValue":`...)
	b = appendFloat(b, res.ExpectedValue)
	b = append(b, `,"isAnomaly":`...)
	b = strconv.AppendBool(b, res.IsAnomaly)
	b = append(b, `,"isNegativeAnomaly":`...)
	b = strconv.AppendBool(b, res.IsNegativeAnomaly)
	b = append(b, `,"isPositiveAnomaly":`...)
	b = strconv.AppendBool(b, res.IsPositiveAnomaly)
	b = append(b, `,"lowerMargin":`...)
	b = appendFloat(b, res.LowerMargin)
	b = append(b, `,"period":`...)
	b = strconv.AppendInt(b, int64(res.Period), 10)
	if r.Version.hasSeverity() {
		b = append(b, `,"severity":`...)
		b = appendFloat(b, res.Severity)
	}
	b = append(b, `,"suggestedWindow":`...)
	b = strconv.AppendInt(b, int64(res.SuggestedWindow), 10)
	b = append(b, `,"upperMargin":`...)
	b = appendFloat(b, res.UpperMargin)
	return append(b, '}'), nil
}

func (r *Request) detectChangePoint(values []float64, index []int) ([]byte, error) {
	opt := anomaly.ChangePointOptions{
		Period:            r.Period,
		PeriodSet:         r.PeriodSet,
		StableTrendWindow: r.StableTrendWindow,
		Threshold:         r.Threshold,
		ThresholdSet:      r.ThresholdSet,
	}
	res, err := anomaly.DetectChangePoints(values, opt)
	if err != nil {
		return nil, internalError(err)
	}
	n := len(r.Values)
	at := func(i int) int {
		if index == nil {
			return i
		}
		return index[i]
	}
	b := make([]byte, 0, 64+n*30)
	b = append(b, `{"confidenceScores":`...)
	b = appendFloats(b, res.ConfidenceScores, n, at)
	b = append(b, `,"isChangePoint":`...)
	b = appendBools(b, res.IsChangePoint, n, at)
	b = append(b, `,"period":`...)
	b = strconv.AppendInt(b, int64(res.Period), 10)
	return append(b, '}'), nil
}

// appendFloats appends a JSON array of the n values src[at(0)], ...,
// src[at(n-1)]; a missing element (src too short) is written as 0.
func appendFloats(b []byte, src []float64, n int, at func(int) int) []byte {
	b = append(b, '[')
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		var f float64
		if j := at(i); j < len(src) {
			f = src[j]
		}
		b = appendFloat(b, f)
	}
	return append(b, ']')
}

func appendBools(b []byte, src []bool, n int, at func(int) int) []byte {
	b = append(b, '[')
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		j := at(i)
		b = strconv.AppendBool(b, j < len(src) && src[j])
	}
	return append(b, ']')
}
