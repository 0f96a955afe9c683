package adapi

import (
	"encoding/json"
	"reflect"
	"testing"
)

func slowDecode(body []byte) (wireRequest, bool) {
	var w wireRequest
	err := json.Unmarshal(body, &w)
	if err != nil {
		return w, false
	}
	return w, true
}

func FuzzFastMatchesSlow(f *testing.F) {
	f.Add([]byte(`{"series":[{"timestamp":"2026-01-01T00:00:00Z","value":1.5},{"timestamp":"2026-01-01T01:00:00Z","value":"2"}],"granularity":"hourly","sensitivity":95,"period":24}`))
	f.Add([]byte(`{"series":[], "maxAnomalyRatio":0.25, "imputeMode":"auto", "customInterval": 5}`))
	f.Add([]byte(` { "series" : [ { "value" : -0.5e-3 , "timestamp" : "x" } ] , "series":[{"value":1}] } `))
	f.Add([]byte(`{"series":null,"period":null,"imputeMode":null,"series":[{"timestamp":null,"value":null}]}`))
	f.Add([]byte(`{"threshold":0.9,"stableTrendWindow":5,"imputeFixedValue":1e400}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var fast wireRequest
		if !decodeFast(body, &fast) {
			return
		}
		slow, ok := slowDecode(body)
		if !ok {
			t.Fatalf("fast accepted what encoding/json refuses: %q", body)
		}
		if len(fast.Series.points) == 0 && len(slow.Series.points) == 0 {
			fast.Series.points, slow.Series.points = nil, nil
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("differ on %q:\nfast %+v\nslow %+v", body, fast, slow)
		}
	})
}
