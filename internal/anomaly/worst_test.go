package anomaly

import (
	"testing"
	"time"
)

func TestDetectEntire_AdversarialInputsStayFast(t *testing.T) {
	mk := func(f func(i int) float64) []float64 {
		v := make([]float64, 8640)
		for i := range v {
			v[i] = f(i)
		}
		return v
	}
	tests := []struct {
		name string
		v    []float64
		opt  Options
	}{
		{"constant", mk(func(int) float64 { return 7 }), Options{Sensitivity: 99}},
		{"ramp", mk(func(i int) float64 { return float64(i) }), Options{Sensitivity: 99}},
		{"alternating", mk(func(i int) float64 { return float64(i % 2) }), Options{Sensitivity: 99}},
		{"few-levels", mk(func(i int) float64 { return float64(i * 7919 % 3) }), Options{Sensitivity: 99}},
		{"long-given-period", mk(func(i int) float64 { return float64(i % 2880) }), Options{Sensitivity: 99, Period: 2880, PeriodSet: true}},
		{"huge-given-period", mk(func(i int) float64 { return float64(i % 13) }), Options{Sensitivity: 99, Period: 100000, PeriodSet: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			r := mustEntire(t, tt.v, tt.opt)
			checkFinite(t, len(tt.v), r)
			if _, err := DetectLast(tt.v, tt.opt); err != nil {
				t.Fatal(err)
			}
			// Generous bound: the machine may be shared.
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}
