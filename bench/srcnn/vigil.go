package main

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/vigilhq/vigil/internal/adapi"
)

// window is a slice [start, end) of a series sent as one request. The
// points [own, end) take their flags from this window; the points before
// own were already covered by the previous window.
type window struct {
	start, end, own int
}

// windows cuts n points into consecutive windows of size points; the last
// window takes the final size points, overlapping the one before it, and
// owns only the points that one does not cover. So every point's flag
// comes from the first window covering it. A series of at most size points
// is one window.
func windows(n, size int) []window {
	if n <= size {
		return []window{{0, n, 0}}
	}
	var out []window
	for s := 0; s < n; s += size {
		if s+size >= n {
			out = append(out, window{n - size, n, s})
			break
		}
		out = append(out, window{s, s + size, s})
	}
	return out
}

// requestBody returns the JSON body of a v1.1 entire-detect request as a
// client sends it: values only (no timestamps), granularity none, the given
// sensitivity and maxAnomalyRatio 0.25 (the API default, sent explicitly).
// Values are written with the shortest exact decimal, so the decoder sees
// exactly the float64s given.
func requestBody(values []float64, sensitivity float64) []byte {
	b := make([]byte, 0, 32+len(values)*24)
	b = append(b, `{"series":[`...)
	for i, v := range values {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"value":`...)
		b = strconv.AppendFloat(b, v, 'g', -1, 64)
		b = append(b, '}')
	}
	b = append(b, `],"granularity":"none","sensitivity":`...)
	b = strconv.AppendFloat(b, sensitivity, 'g', -1, 64)
	b = append(b, `,"maxAnomalyRatio":0.25}`...)
	return b
}

// vigilFlags runs one window through the API code path the HTTP handler
// uses for POST /anomalydetector/v1.1/timeseries/entire/detect, in
// process: adapi.Decode of the JSON body, then (*adapi.Request).Detect,
// and reads isAnomaly from the JSON response.
func vigilFlags(values []float64, sensitivity float64) ([]bool, error) {
	req, err := adapi.Decode(adapi.V11, adapi.Entire, requestBody(values, sensitivity))
	if err != nil {
		return nil, err
	}
	resp, err := req.Detect()
	if err != nil {
		return nil, err
	}
	var out struct {
		IsAnomaly []bool `json:"isAnomaly"`
	}
	if err := json.Unmarshal(resp, &out); err != nil {
		return nil, fmt.Errorf("decoding the response: %w", err)
	}
	if len(out.IsAnomaly) != len(values) {
		return nil, fmt.Errorf("response has %d isAnomaly entries for %d points", len(out.IsAnomaly), len(values))
	}
	return out.IsAnomaly, nil
}
