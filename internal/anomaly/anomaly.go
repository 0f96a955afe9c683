// Package anomaly is Vigil's built-in univariate anomaly detector: plain
// functions over a series of values, with no I/O, no HTTP and no storage.
//
// The caller (the Anomaly Detector API adapter) validates requests, fills
// gaps by the request's impute mode and hands this package a dense series of
// finite values. Every function here is deterministic: the same input gives
// the same output, bit for bit.
package anomaly

// MarginStyle selects how expected-value margins are computed, which differs
// between versions of the Azure Anomaly Detector API.
type MarginStyle int

const (
	// StyleV11 is the v1.1 GA behaviour: base margin g(sensitivity)*level,
	// asymmetric margins for normal points, severity reported.
	StyleV11 MarginStyle = iota
	// StyleV11Preview is v1.1-preview.1: margin = (100-sensitivity)% of
	// |expected|, symmetric, lower boundary clamped at the series minimum.
	StyleV11Preview
	// StyleV10 is v1.0: margin = (100-sensitivity)% of |expected|, symmetric,
	// no clamp.
	StyleV10
)

// Options configures entire-series and last-point detection.
type Options struct {
	// Period is the seasonal period in points, used when PeriodSet is true;
	// 0 means "no period".
	Period int
	// PeriodSet reports whether Period was given; when false the period is
	// detected from the data.
	PeriodSet bool
	// Sensitivity in [0, 99]; higher means narrower margins and more
	// anomalies. The API's default is 99. 100 is accepted (zero base
	// margin); values outside [0, 100] are an error.
	Sensitivity float64
	// MaxAnomalyRatio in (0, 0.5): at most floor(ratio·n) points are
	// reported as anomalous (those with the highest scores). The API's
	// default is 0.25; 0 selects that default. Values outside [0, 1) are
	// an error.
	MaxAnomalyRatio float64
	// Style selects the API version's margin behaviour.
	Style MarginStyle
}

// EntireResult is the answer for a whole series; every slice has one
// element per input value, in order.
type EntireResult struct {
	Period            int
	ExpectedValues    []float64
	UpperMargins      []float64
	LowerMargins      []float64
	Severity          []float64
	IsAnomaly         []bool
	IsPositiveAnomaly []bool
	IsNegativeAnomaly []bool
}

// LastResult is the answer for the last point of a series, computed from
// that point and the ones before it only.
type LastResult struct {
	Period            int
	SuggestedWindow   int
	ExpectedValue     float64
	UpperMargin       float64
	LowerMargin       float64
	Severity          float64
	IsAnomaly         bool
	IsPositiveAnomaly bool
	IsNegativeAnomaly bool
}

// ChangePointOptions configures change-point detection.
type ChangePointOptions struct {
	// Period and PeriodSet as in [Options].
	Period    int
	PeriodSet bool
	// StableTrendWindow is the number of points a new trend must hold; 0
	// selects the default.
	StableTrendWindow int
	// Threshold in [0, 1]; used when ThresholdSet is true. A point is a
	// change point only when its confidence score reaches the threshold, so
	// higher values accept fewer change points (at 0.99 only points scoring
	// 1, as the Azure service answered).
	Threshold    float64
	ThresholdSet bool
}

// ChangePointResult has one element per input value in each slice.
type ChangePointResult struct {
	Period           int
	IsChangePoint    []bool
	ConfidenceScores []float64
}
