package adapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
)

// The top-level keys of each response, in the service's (alphabetical) order.
var (
	entireKeys      = []string{"expectedValues", "isAnomaly", "isNegativeAnomaly", "isPositiveAnomaly", "lowerMargins", "period", "upperMargins"}
	entireKeysSev   = []string{"expectedValues", "isAnomaly", "isNegativeAnomaly", "isPositiveAnomaly", "lowerMargins", "period", "severity", "upperMargins"}
	lastKeys        = []string{"expectedValue", "isAnomaly", "isNegativeAnomaly", "isPositiveAnomaly", "lowerMargin", "period", "suggestedWindow", "upperMargin"}
	lastKeysSev     = []string{"expectedValue", "isAnomaly", "isNegativeAnomaly", "isPositiveAnomaly", "lowerMargin", "period", "severity", "suggestedWindow", "upperMargin"}
	changePointKeys = []string{"confidenceScores", "isChangePoint", "period"}
)

type entireResponse struct {
	ExpectedValues    []float64 `json:"expectedValues"`
	IsAnomaly         []bool    `json:"isAnomaly"`
	IsNegativeAnomaly []bool    `json:"isNegativeAnomaly"`
	IsPositiveAnomaly []bool    `json:"isPositiveAnomaly"`
	LowerMargins      []float64 `json:"lowerMargins"`
	Period            int       `json:"period"`
	Severity          []float64 `json:"severity"`
	UpperMargins      []float64 `json:"upperMargins"`
}

type lastResponse struct {
	ExpectedValue     float64 `json:"expectedValue"`
	IsAnomaly         bool    `json:"isAnomaly"`
	IsNegativeAnomaly bool    `json:"isNegativeAnomaly"`
	IsPositiveAnomaly bool    `json:"isPositiveAnomaly"`
	LowerMargin       float64 `json:"lowerMargin"`
	Period            int     `json:"period"`
	Severity          float64 `json:"severity"`
	SuggestedWindow   int     `json:"suggestedWindow"`
	UpperMargin       float64 `json:"upperMargin"`
}

type changePointResponse struct {
	ConfidenceScores []float64 `json:"confidenceScores"`
	IsChangePoint    []bool    `json:"isChangePoint"`
	Period           int       `json:"period"`
}

// topKeys returns the keys of the JSON object b in order.
func topKeys(b []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("not an object (%v, %v)", tok, err)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// checkResponse checks the wire contract of a Detect answer for r: valid
// JSON, the version's keys in the service's order, one array element per
// input point, isAnomaly = isPositiveAnomaly || isNegativeAnomaly and the
// suggested window. It reports failures with t.Errorf and returns the
// decoded answer (*entireResponse, *lastResponse or *changePointResponse).
func checkResponse(t testing.TB, r *Request, out []byte) any {
	t.Helper()
	if !json.Valid(out) {
		t.Errorf("response is not valid JSON: %.200s", out)
		return nil
	}
	keys, err := topKeys(out)
	if err != nil {
		t.Errorf("response: %v", err)
		return nil
	}
	n := len(r.Values)
	lenOK := func(name string, got int) {
		t.Helper()
		if got != n {
			t.Errorf("len(%s) = %d, want %d (one per input point)", name, got, n)
		}
	}
	switch r.Operation {
	case Entire:
		want := entireKeys
		if r.Version != V10 {
			want = entireKeysSev
		}
		if !slices.Equal(keys, want) {
			t.Errorf("%v entire keys = %v, want %v", r.Version, keys, want)
		}
		var res entireResponse
		if err := json.Unmarshal(out, &res); err != nil {
			t.Errorf("decoding entire response: %v", err)
			return nil
		}
		lenOK("expectedValues", len(res.ExpectedValues))
		lenOK("isAnomaly", len(res.IsAnomaly))
		lenOK("isNegativeAnomaly", len(res.IsNegativeAnomaly))
		lenOK("isPositiveAnomaly", len(res.IsPositiveAnomaly))
		lenOK("lowerMargins", len(res.LowerMargins))
		lenOK("upperMargins", len(res.UpperMargins))
		if r.Version != V10 {
			lenOK("severity", len(res.Severity))
		}
		if res.Period < 0 {
			t.Errorf("period = %d, want >= 0", res.Period)
		}
		for i := range min(len(res.IsAnomaly), len(res.IsPositiveAnomaly), len(res.IsNegativeAnomaly)) {
			pos, neg := res.IsPositiveAnomaly[i], res.IsNegativeAnomaly[i]
			if res.IsAnomaly[i] != (pos || neg) {
				t.Errorf("point %d: isAnomaly %v, isPositiveAnomaly %v, isNegativeAnomaly %v", i, res.IsAnomaly[i], pos, neg)
			}
			if pos && neg {
				t.Errorf("point %d is both a positive and a negative anomaly", i)
			}
		}
		return &res
	case Last:
		want := lastKeys
		if r.Version != V10 {
			want = lastKeysSev
		}
		if !slices.Equal(keys, want) {
			t.Errorf("%v last keys = %v, want %v", r.Version, keys, want)
		}
		var res lastResponse
		if err := json.Unmarshal(out, &res); err != nil {
			t.Errorf("decoding last response: %v", err)
			return nil
		}
		if res.IsAnomaly != (res.IsPositiveAnomaly || res.IsNegativeAnomaly) || (res.IsPositiveAnomaly && res.IsNegativeAnomaly) {
			t.Errorf("isAnomaly %v, isPositiveAnomaly %v, isNegativeAnomaly %v", res.IsAnomaly, res.IsPositiveAnomaly, res.IsNegativeAnomaly)
		}
		wantWindow := 4*res.Period + 1
		if res.Period == 0 {
			wantWindow = 13
		}
		if res.SuggestedWindow != wantWindow {
			t.Errorf("suggestedWindow = %d with period %d, want %d", res.SuggestedWindow, res.Period, wantWindow)
		}
		return &res
	case ChangePoint:
		if !slices.Equal(keys, changePointKeys) {
			t.Errorf("changepoint keys = %v, want %v", keys, changePointKeys)
		}
		var res changePointResponse
		if err := json.Unmarshal(out, &res); err != nil {
			t.Errorf("decoding changepoint response: %v", err)
			return nil
		}
		lenOK("confidenceScores", len(res.ConfidenceScores))
		lenOK("isChangePoint", len(res.IsChangePoint))
		return &res
	}
	t.Errorf("unknown operation %v", r.Operation)
	return nil
}
