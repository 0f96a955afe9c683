package adapi

import (
	"math"
	"strings"
	"time"
)

// Granularity is the spacing the timestamps of a series must follow.
type Granularity int

// The granularities of the API. None means timestamps are not checked.
const (
	None Granularity = iota
	Yearly
	Monthly
	Weekly
	Daily
	Hourly
	Minutely
	Secondly
	Microsecond
)

var granularityNames = [...]string{"none", "yearly", "monthly", "weekly", "daily", "hourly", "minutely", "secondly", "microsecond"}

// ParseGranularity maps the wire name (case-insensitive) to a granularity.
func ParseGranularity(s string) (Granularity, bool) {
	for i, n := range granularityNames {
		if strings.EqualFold(s, n) {
			return Granularity(i), true
		}
	}
	return None, false
}

// String returns the wire name.
func (g Granularity) String() string {
	if g < 0 || int(g) >= len(granularityNames) {
		return "unknown"
	}
	return granularityNames[g]
}

// fixedStep returns the length of one granule for granularities of fixed
// duration, and 0 for months and years.
func (g Granularity) fixedStep() time.Duration {
	switch g {
	case Weekly:
		return 7 * 24 * time.Hour
	case Daily:
		return 24 * time.Hour
	case Hourly:
		return time.Hour
	case Minutely:
		return time.Minute
	case Secondly:
		return time.Second
	case Microsecond:
		return time.Microsecond
	}
	return 0
}

// grid places timestamps on the granularity's grid, which starts at the
// first timestamp and steps by interval granules.
type grid struct {
	g        Granularity
	interval int
	origin   time.Time
}

// slot returns the grid index of t and reports whether t lies exactly on the
// grid at or after the origin.
func (gr grid) slot(t time.Time) (int, bool) {
	if t.Before(gr.origin) {
		return 0, false
	}
	if step := gr.g.fixedStep(); step > 0 {
		d := t.Sub(gr.origin)
		// A stride beyond time.Duration's range would wrap around and
		// accept timestamps off the real grid.
		if gr.interval <= 0 || step > math.MaxInt64/time.Duration(gr.interval) {
			return 0, false
		}
		stride := step * time.Duration(gr.interval)
		if d%stride != 0 || d == 1<<63-1 {
			return 0, false
		}
		k := d / stride
		if k > 1<<31 {
			return 0, false
		}
		return int(k), true
	}
	months := gr.interval
	if gr.g == Yearly {
		months *= 12
	}
	y0, m0, _ := gr.origin.Date()
	y, m, _ := t.Date()
	diff := (y-y0)*12 + int(m-m0)
	if diff < 0 || diff%months != 0 {
		return 0, false
	}
	if !addMonths(gr.origin, diff).Equal(t) {
		return 0, false
	}
	return diff / months, true
}

// addMonths adds n calendar months to t, keeping the day of the month or
// clamping it to the last day of a shorter month, so that monthly series
// anchored on the 31st stay on each month's last day.
func addMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	hh, mm, ss := t.Clock()
	total := int(m) - 1 + n
	ny := y + total/12
	nm := total % 12
	if nm < 0 {
		nm += 12
		ny--
	}
	last := time.Date(ny, time.Month(nm+2), 0, 0, 0, 0, 0, t.Location()).Day()
	if d > last {
		d = last
	}
	return time.Date(ny, time.Month(nm+1), d, hh, mm, ss, t.Nanosecond(), t.Location())
}

// timestampLayouts are the ISO 8601 forms clients send: with a zone ("Z" or
// an offset) and any number of fractional digits, or without a zone (UTC).
var timestampLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

// parseTimestamp parses an ISO 8601 date-time and returns it in UTC.
func parseTimestamp(s string) (time.Time, bool) {
	if len(s) < 10 || len(s) > 40 {
		return time.Time{}, false
	}
	for _, layout := range timestampLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
