package adapi

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFill(t *testing.T) {
	hours := func(hs ...int) []time.Time {
		ts := make([]time.Time, len(hs))
		for i, h := range hs {
			ts[i] = t0.Add(time.Duration(h) * time.Hour)
		}
		return ts
	}
	months := func(ms ...int) []time.Time {
		ts := make([]time.Time, len(ms))
		for i, m := range ms {
			ts[i] = addMonths(time.Date(2020, 1, 31, 0, 0, 0, 0, time.UTC), m)
		}
		return ts
	}
	// Slots 0, 1, 2, 5, 6, 9: gaps at 3-4 and 7-8.
	gappy := []float64{10, 20, 30, 60, 70, 100}
	gappyTimes := hours(0, 1, 2, 5, 6, 9)
	gappyIndex := []int{0, 1, 2, 5, 6, 9}

	tests := []struct {
		name      string
		values    []float64
		times     []time.Time
		g         Granularity
		interval  int
		mode      ImputeMode
		fixed     float64
		want      []float64
		wantIndex []int // nil: the identity
	}{
		{name: "ok/auto-is-linear", values: gappy, times: gappyTimes, g: Hourly, mode: ImputeAuto,
			want: []float64{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}, wantIndex: gappyIndex},
		{name: "ok/linear", values: gappy, times: gappyTimes, g: Hourly, mode: ImputeLinear,
			want: []float64{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}, wantIndex: gappyIndex},
		{name: "ok/linear-descending", values: []float64{9, 0, -3}, times: hours(0, 3, 4), g: Hourly, mode: ImputeLinear,
			want: []float64{9, 6, 3, 0, -3}, wantIndex: []int{0, 3, 4}},
		{name: "ok/previous", values: gappy, times: gappyTimes, g: Hourly, mode: ImputePrevious,
			want: []float64{10, 20, 30, 30, 30, 60, 70, 70, 70, 100}, wantIndex: gappyIndex},
		{name: "ok/fixed", values: gappy, times: gappyTimes, g: Hourly, mode: ImputeFixed, fixed: -1.5,
			want: []float64{10, 20, 30, -1.5, -1.5, 60, 70, -1.5, -1.5, 100}, wantIndex: gappyIndex},
		{name: "ok/zero", values: gappy, times: gappyTimes, g: Hourly, mode: ImputeZero,
			want: []float64{10, 20, 30, 0, 0, 60, 70, 0, 0, 100}, wantIndex: gappyIndex},
		{name: "ok/notFill-keeps-series", values: gappy, times: gappyTimes, g: Hourly, mode: ImputeNotFill,
			want: gappy},
		{name: "ok/no-gaps", values: []float64{1, 2, 3}, times: hours(0, 1, 2), g: Hourly, mode: ImputeZero,
			want: []float64{1, 2, 3}},
		{name: "ok/no-timestamps", values: []float64{1, 2, 3}, g: None, mode: ImputeZero,
			want: []float64{1, 2, 3}},
		{name: "ok/custom-interval", values: []float64{1, 2, 5}, times: hours(0, 2, 8), g: Hourly, interval: 2, mode: ImputeLinear,
			want: []float64{1, 2, 3, 4, 5}, wantIndex: []int{0, 1, 4}},
		{name: "ok/monthly-31st", values: []float64{1, 4, 5}, times: months(0, 3, 4), g: Monthly, mode: ImputePrevious,
			want: []float64{1, 1, 1, 4, 5}, wantIndex: []int{0, 3, 4}},
		{name: "ok/single-missing-point", values: []float64{1, 3, 4}, times: hours(0, 2, 3), g: Hourly, mode: ImputeAuto,
			want: []float64{1, 2, 3, 4}, wantIndex: []int{0, 2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.interval == 0 {
				tt.interval = 1
			}
			r := &Request{Values: tt.values, Times: tt.times, Granularity: tt.g, CustomInterval: tt.interval, ImputeMode: tt.mode, ImputeFixedValue: tt.fixed}
			in := slices.Clone(tt.values)
			got, index, err := r.fill()
			if err != nil {
				t.Fatalf("fill: %v", err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("values = %v, want %v", got, tt.want)
			}
			if !slices.Equal(index, tt.wantIndex) || (index == nil) != (tt.wantIndex == nil) {
				t.Errorf("index = %v, want %v", index, tt.wantIndex)
			}
			if !slices.Equal(r.Values, in) {
				t.Errorf("fill changed the request's values to %v", r.Values)
			}
			// Every input point sits at its index in the dense series.
			for i, v := range tt.values {
				j := i
				if index != nil {
					j = index[i]
				}
				if got[j] != v {
					t.Errorf("dense[%d] = %v, want input point %d's value %v", j, got[j], i, v)
				}
			}
		})
	}
}

func TestFillLimit(t *testing.T) {
	minutes := func(last int) *Request {
		return &Request{
			Values:         []float64{1, 2},
			Times:          []time.Time{t0, t0.Add(time.Duration(last) * time.Minute)},
			Granularity:    Minutely,
			CustomInterval: 1,
		}
	}
	t.Run("ok/exactly-maxFilled", func(t *testing.T) {
		got, index, err := minutes(maxFilled - 1).fill()
		if err != nil {
			t.Fatalf("fill: %v", err)
		}
		if len(got) != maxFilled || !slices.Equal(index, []int{0, maxFilled - 1}) {
			t.Errorf("len(values), index = %d, %v, want %d, [0 %d]", len(got), index, maxFilled, maxFilled-1)
		}
	})
	t.Run("fail/over-maxFilled", func(t *testing.T) {
		_, _, err := minutes(maxFilled).fill()
		ve := checkInvalid(t, err)
		if ve.APICode != CodeInvalidSeries {
			t.Errorf("APICode = %q, want %q", ve.APICode, CodeInvalidSeries)
		}
		if want := "would make 17281 points, more than 17280"; !strings.Contains(ve.Message, want) {
			t.Errorf("Message = %q, want it to contain %q", ve.Message, want)
		}
	})
	t.Run("ok/notFill-ignores-limit", func(t *testing.T) {
		r := minutes(10 * maxFilled)
		r.ImputeMode = ImputeNotFill
		got, index, err := r.fill()
		if err != nil || len(got) != 2 || index != nil {
			t.Errorf("fill = %v, %v, %v, want the series as it is", got, index, err)
		}
	})
	// Through Decode and Detect: twelve daily points spread over 50 years.
	t.Run("fail/detect-too-sparse", func(t *testing.T) {
		pts := points(12, func(i int) string { return quote(t0.AddDate(0, 0, 1700*i)) }, nil)
		r := mustDecode(t, V11, Entire, withSeries(pts, "granularity", `"daily"`))
		out, err := r.Detect()
		if err == nil {
			t.Fatalf("Detect = %.40s..., want InvalidSeries", out)
		}
		if got := checkInvalid(t, err).APICode; got != CodeInvalidSeries {
			t.Errorf("APICode = %q, want %q", got, CodeInvalidSeries)
		}
	})
}
