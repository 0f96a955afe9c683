package plot

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// tick is one labelled position on an axis. Label may hold a second line
// after a newline.
type tick struct {
	v     float64
	label string
}

// niceStep returns a step of 1, 2 or 5 times a power of ten close to
// span/n.
func niceStep(span float64, n int) float64 {
	raw := span / float64(n)
	if !(raw > 0) || math.IsInf(raw, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	switch f := raw / p; {
	case f < 1.5:
		return p
	case f < 3.5:
		return 2 * p
	case f < 7.5:
		return 5 * p
	default:
		return 10 * p
	}
}

// valueRange widens [lo, hi] to nice round limits and returns the ticks
// between them; about n ticks are wanted. A zero-width range is padded.
func valueRange(lo, hi float64, n int) (float64, float64, []tick) {
	lo, hi = clampValue(lo), clampValue(hi)
	if lo > hi {
		lo, hi = hi, lo
	}
	if span := hi - lo; span == 0 || span <= 1e-12*math.Max(math.Abs(lo), math.Abs(hi)) {
		// A constant series (or one whose variation is below float64's
		// resolution): centre it in a band of ±10 % of its value, or ±1.
		mid := lo/2 + hi/2
		pad := math.Abs(mid) * 0.1
		if pad == 0 {
			pad = 1
		}
		lo, hi = mid-pad, mid+pad
	} else {
		lo, hi = lo-0.04*span, hi+0.04*span
	}
	step := niceStep(hi-lo, n)
	first := math.Floor(lo/step) * step
	last := math.Ceil(hi/step) * step
	count := int(math.Round((last-first)/step)) + 1
	if count < 2 || count > 4*n+2 {
		// The step cannot be represented next to values this large:
		// label the two ends only.
		return lo, hi, []tick{{lo, formatValue(lo, hi-lo)}, {hi, formatValue(hi, hi-lo)}}
	}
	ticks := make([]tick, count)
	for i := range ticks {
		v := first + float64(i)*step
		if math.Abs(v) < step*1e-9 {
			v = 0
		}
		ticks[i] = tick{v, formatValue(v, step)}
	}
	return first, last, ticks
}

// clampValue keeps v inside ±1e306 so spans between values stay finite.
func clampValue(v float64) float64 {
	const limit = 1e306
	switch {
	case math.IsNaN(v):
		return 0
	case v > limit:
		return limit
	case v < -limit:
		return -limit
	}
	return v
}

// formatValue formats a tick value with as many digits as the step needs:
// plain decimals for ordinary magnitudes, k/M/G/T suffixes from 10 000 up,
// and exponents for the very large and the very small.
func formatValue(v, step float64) string {
	if v == 0 {
		return "0"
	}
	a := math.Abs(v)
	mag := math.Floor(math.Log10(a))
	stepMag := math.Floor(math.Log10(step) + 1e-9)
	if a >= 1e15 || (a < 1e-3) || step < 1e-6 {
		digits := int(mag - stepMag)
		digits = min(max(digits, 0), 15)
		return strings.Replace(strconv.FormatFloat(v, 'e', digits, 64), "e+", "e", 1)
	}
	if a >= 1e4 {
		unit, suffix := 1e3, "k"
		switch {
		case a >= 1e12:
			unit, suffix = 1e12, "T"
		case a >= 1e9:
			unit, suffix = 1e9, "G"
		case a >= 1e6:
			unit, suffix = 1e6, "M"
		}
		d := decimals(step / unit)
		return strconv.FormatFloat(v/unit, 'f', d, 64) + suffix
	}
	return strconv.FormatFloat(v, 'f', decimals(step), 64)
}

// decimals returns the number of decimals that show a multiple of step
// exactly, for steps of 1, 2 or 5 times a power of ten.
func decimals(step float64) int {
	if step >= 1 {
		return 0
	}
	return min(int(math.Ceil(-math.Log10(step)-1e-9)), 12)
}

// indexTicks returns ticks for point indexes 0..n-1.
func indexTicks(lo, hi float64, n int) []tick {
	step := math.Max(1, niceStep(hi-lo, n))
	var ticks []tick
	for i := 0; i <= 4*n+2; i++ {
		v := math.Ceil(lo/step)*step + float64(i)*step
		if v > hi {
			break
		}
		ticks = append(ticks, tick{v, strconv.FormatFloat(v, 'f', 0, 64)})
	}
	return ticks
}

// timeStep is a candidate spacing of time ticks: a fixed duration, or a
// number of calendar months.
type timeStep struct {
	d      time.Duration
	months int
}

var timeSteps = []timeStep{
	{d: time.Microsecond}, {d: 10 * time.Microsecond}, {d: 100 * time.Microsecond},
	{d: time.Millisecond}, {d: 10 * time.Millisecond}, {d: 100 * time.Millisecond},
	{d: time.Second}, {d: 5 * time.Second}, {d: 15 * time.Second}, {d: 30 * time.Second},
	{d: time.Minute}, {d: 5 * time.Minute}, {d: 15 * time.Minute}, {d: 30 * time.Minute},
	{d: time.Hour}, {d: 3 * time.Hour}, {d: 6 * time.Hour}, {d: 12 * time.Hour},
	{d: 24 * time.Hour}, {d: 2 * 24 * time.Hour}, {d: 7 * 24 * time.Hour}, {d: 14 * 24 * time.Hour},
	{months: 1}, {months: 2}, {months: 3}, {months: 6},
	{months: 12}, {months: 24}, {months: 60}, {months: 120}, {months: 240}, {months: 600}, {months: 1200},
}

// approx returns the step's length, a month counting as 30.44 days.
func (s timeStep) approx() float64 {
	if s.months > 0 {
		return float64(s.months) * 30.44 * 86400
	}
	return s.d.Seconds()
}

// timeTicks returns ticks between t0 and t1 (positions in seconds after
// origin), about n of them, labelled for readability: the time of day for
// steps under a day with the date under the first tick and under each
// change of day; the day for steps under a month; the month or the year
// otherwise.
func timeTicks(origin, t0, t1 time.Time, n int) []tick {
	span := seconds(t1, t0)
	st := timeSteps[len(timeSteps)-1]
	for _, s := range timeSteps {
		if span/s.approx() <= float64(n) {
			st = s
			break
		}
	}
	var times []time.Time
	if st.months == 0 {
		var t time.Time
		if st.d >= 24*time.Hour {
			y, m, d := t0.Date()
			t = time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Truncate(st.d)
		} else {
			t = t0.Truncate(st.d)
		}
		for ; !t.After(t1) && len(times) <= 4*n+2; t = t.Add(st.d) {
			if !t.Before(t0) {
				times = append(times, t)
			}
		}
	} else {
		y, m, _ := t0.Date()
		months := (y*12 + int(m) - 1) / st.months * st.months
		for ; len(times) <= 4*n+2; months += st.months {
			t := time.Date(months/12, time.Month(months%12+1), 1, 0, 0, 0, 0, time.UTC)
			if t.After(t1) {
				break
			}
			if !t.Before(t0) {
				times = append(times, t)
			}
		}
	}
	ticks := make([]tick, len(times))
	for i, t := range times {
		var label string
		newDay := i == 0 || !sameDay(t, times[i-1])
		newYear := i == 0 || t.Year() != times[i-1].Year()
		switch {
		case st.months >= 12:
			label = t.Format("2006")
		case st.months > 0:
			label = t.Format("Jan")
			if newYear {
				label += "\n" + t.Format("2006")
			}
		case st.d >= 24*time.Hour:
			label = t.Format("Jan 2")
			if newYear {
				label += "\n" + t.Format("2006")
			}
		default:
			switch {
			case st.d < time.Millisecond:
				label = t.Format("15:04:05.000000")
			case st.d < time.Second:
				label = t.Format("15:04:05.000")
			case st.d < time.Minute:
				label = t.Format("15:04:05")
			default:
				label = t.Format("15:04")
			}
			if newDay {
				label += "\n" + t.Format("2006-01-02")
			}
		}
		ticks[i] = tick{seconds(t, origin), label}
	}
	return ticks
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}

// seconds returns t - origin in seconds, without time.Duration's limit of
// 292 years.
func seconds(t, origin time.Time) float64 {
	return float64(t.Unix()-origin.Unix()) + float64(t.Nanosecond()-origin.Nanosecond())/1e9
}
