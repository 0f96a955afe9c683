package adapi

import (
	"testing"
	"time"
)

func TestParseGranularity(t *testing.T) {
	tests := []struct {
		in     string
		want   Granularity
		wantOK bool
	}{
		{"none", None, true},
		{"yearly", Yearly, true},
		{"monthly", Monthly, true},
		{"weekly", Weekly, true},
		{"daily", Daily, true},
		{"hourly", Hourly, true},
		{"minutely", Minutely, true},
		{"secondly", Secondly, true},
		{"microsecond", Microsecond, true},
		{"Daily", Daily, true},
		{"MINUTELY", Minutely, true},
		{"", None, false},
		{"perMinute", None, false},
		{"microseconds", None, false},
		{"day", None, false},
	}
	for _, tt := range tests {
		got, ok := ParseGranularity(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("ParseGranularity(%q) = %v, %v, want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
		if ok && !equalFoldASCII(got.String(), tt.in) {
			t.Errorf("ParseGranularity(%q).String() = %q", tt.in, got.String())
		}
	}
	if got := Granularity(99).String(); got != "unknown" {
		t.Errorf("Granularity(99).String() = %q, want unknown", got)
	}
	if got := Granularity(-1).String(); got != "unknown" {
		t.Errorf("Granularity(-1).String() = %q, want unknown", got)
	}
}

func TestGridSlot(t *testing.T) {
	date := func(y int, m time.Month, d, hh int) time.Time { return time.Date(y, m, d, hh, 0, 0, 0, time.UTC) }
	day := 24 * time.Hour
	tests := []struct {
		name     string
		g        Granularity
		interval int
		origin   time.Time
		t        time.Time
		want     int
		wantOK   bool
	}{
		{"ok/origin", Daily, 1, t0, t0, 0, true},
		{"ok/daily", Daily, 1, t0, t0.Add(3 * day), 3, true},
		{"ok/daily-across-leap-day", Daily, 1, date(2020, 2, 28, 0), date(2020, 3, 1, 0), 2, true},
		{"fail/daily-plus-1ns", Daily, 1, t0, t0.Add(3*day + 1), 0, false},
		{"fail/before-origin", Daily, 1, t0, t0.Add(-day), 0, false},
		{"fail/daily-beyond-duration-range", Daily, 1, t0, date(2400, 1, 1, 0), 0, false},
		{"ok/weekly", Weekly, 1, t0, t0.Add(14 * day), 2, true},
		{"fail/weekly-13-days", Weekly, 1, t0, t0.Add(13 * day), 0, false},
		{"ok/hourly", Hourly, 1, t0, t0.Add(49 * time.Hour), 49, true},
		{"ok/hourly-interval-6", Hourly, 6, t0, t0.Add(18 * time.Hour), 3, true},
		{"fail/hourly-interval-6", Hourly, 6, t0, t0.Add(3 * time.Hour), 0, false},
		{"ok/minutely", Minutely, 1, t0, t0.Add(90 * time.Minute), 90, true},
		{"ok/minutely-interval-5", Minutely, 5, t0, t0.Add(25 * time.Minute), 5, true},
		{"fail/minutely-interval-5", Minutely, 5, t0, t0.Add(26 * time.Minute), 0, false},
		{"ok/secondly", Secondly, 1, t0, t0.Add(90 * time.Second), 90, true},
		{"fail/secondly-half", Secondly, 1, t0, t0.Add(1500 * time.Millisecond), 0, false},
		{"ok/microsecond", Microsecond, 1, t0, t0.Add(1500 * time.Microsecond), 1500, true},
		{"fail/microsecond-plus-1ns", Microsecond, 1, t0, t0.Add(1500*time.Microsecond + 1), 0, false},
		{"ok/microsecond-slot-2^31", Microsecond, 1, t0, t0.Add((1 << 31) * time.Microsecond), 1 << 31, true},
		{"fail/microsecond-slot-over-2^31", Microsecond, 1, t0, t0.Add((1<<31 + 1) * time.Microsecond), 0, false},
		{"fail/interval-zero", Daily, 0, t0, t0.Add(day), 0, false},
		{"fail/stride-overflows-daily", Daily, 616385997, t0, t0.Add(524484608), 0, false},
		{"fail/stride-overflows-weekly", Weekly, 1 << 30, t0, t0.Add(7 * day), 0, false},
		{"ok/monthly", Monthly, 1, date(2020, 1, 15, 0), date(2020, 4, 15, 0), 3, true},
		{"ok/monthly-next-year", Monthly, 1, date(2020, 11, 15, 0), date(2021, 2, 15, 0), 3, true},
		{"fail/monthly-wrong-day", Monthly, 1, date(2020, 1, 15, 0), date(2020, 4, 16, 0), 0, false},
		{"fail/monthly-wrong-hour", Monthly, 1, date(2020, 1, 15, 0), date(2020, 4, 15, 1), 0, false},
		{"fail/monthly-before-origin", Monthly, 1, date(2020, 1, 15, 0), date(2019, 12, 15, 0), 0, false},
		{"ok/monthly-31st-clamps-to-feb-29", Monthly, 1, date(2020, 1, 31, 0), date(2020, 2, 29, 0), 1, true},
		{"fail/monthly-31st-feb-28-in-leap-year", Monthly, 1, date(2020, 1, 31, 0), date(2020, 2, 28, 0), 0, false},
		{"ok/monthly-31st-back-to-31st", Monthly, 1, date(2020, 1, 31, 0), date(2020, 3, 31, 0), 2, true},
		{"fail/monthly-31st-on-30th-of-long-month", Monthly, 1, date(2020, 1, 31, 0), date(2020, 3, 30, 0), 0, false},
		{"ok/monthly-31st-clamps-to-apr-30", Monthly, 1, date(2020, 1, 31, 0), date(2020, 4, 30, 0), 3, true},
		{"ok/monthly-31st-clamps-to-feb-28", Monthly, 1, date(2020, 1, 31, 0), date(2021, 2, 28, 0), 13, true},
		{"ok/monthly-30th-clamps-to-feb-29", Monthly, 1, date(2020, 1, 30, 0), date(2020, 2, 29, 0), 1, true},
		{"ok/monthly-30th-keeps-30th", Monthly, 1, date(2020, 1, 30, 0), date(2020, 3, 30, 0), 2, true},
		{"ok/monthly-interval-3", Monthly, 3, date(2020, 1, 15, 0), date(2020, 7, 15, 0), 2, true},
		{"fail/monthly-interval-3", Monthly, 3, date(2020, 1, 15, 0), date(2020, 3, 15, 0), 0, false},
		{"ok/yearly", Yearly, 1, date(2000, 1, 1, 0), date(2011, 1, 1, 0), 11, true},
		{"fail/yearly-wrong-month", Yearly, 1, date(2000, 1, 1, 0), date(2001, 2, 1, 0), 0, false},
		{"ok/yearly-feb-29-clamps", Yearly, 1, date(2000, 2, 29, 0), date(2001, 2, 28, 0), 1, true},
		{"ok/yearly-feb-29-leap", Yearly, 1, date(2000, 2, 29, 0), date(2004, 2, 29, 0), 4, true},
		{"fail/yearly-feb-29-mar-1", Yearly, 1, date(2000, 2, 29, 0), date(2001, 3, 1, 0), 0, false},
		{"ok/yearly-interval-2", Yearly, 2, date(2000, 6, 1, 0), date(2004, 6, 1, 0), 2, true},
		{"fail/yearly-interval-2", Yearly, 2, date(2000, 6, 1, 0), date(2001, 6, 1, 0), 0, false},
		{"ok/yearly-across-centuries", Yearly, 1, date(1, 1, 1, 0), date(9999, 1, 1, 0), 9998, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gr := grid{g: tt.g, interval: tt.interval, origin: tt.origin}
			got, ok := gr.slot(tt.t)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("%v×%d grid from %v: slot(%v) = %d, %v, want %d, %v", tt.g, tt.interval, tt.origin, tt.t, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestAddMonths(t *testing.T) {
	date := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 6, 30, 15, 500, time.UTC) }
	tests := []struct {
		from time.Time
		n    int
		want time.Time
	}{
		{date(2020, 1, 31), 0, date(2020, 1, 31)},
		{date(2020, 1, 31), 1, date(2020, 2, 29)},
		{date(2021, 1, 31), 1, date(2021, 2, 28)},
		{date(2020, 1, 31), 3, date(2020, 4, 30)},
		{date(2020, 12, 31), 1, date(2021, 1, 31)},
		{date(2020, 11, 30), 3, date(2021, 2, 28)},
		{date(2020, 2, 29), 12, date(2021, 2, 28)},
		{date(2020, 2, 29), 48, date(2024, 2, 29)},
		{date(2020, 5, 15), 120, date(2030, 5, 15)},
		{date(2020, 3, 31), -1, date(2020, 2, 29)},
		{date(2020, 1, 15), -13, date(2018, 12, 15)},
	}
	for _, tt := range tests {
		if got := addMonths(tt.from, tt.n); !got.Equal(tt.want) {
			t.Errorf("addMonths(%v, %d) = %v, want %v", tt.from, tt.n, got, tt.want)
		}
	}
}

func TestParseTimestamp(t *testing.T) {
	want := time.Date(2020, 3, 1, 12, 30, 15, 0, time.UTC)
	tests := []struct {
		name string
		in   string
		want time.Time
		ok   bool
	}{
		{"ok/Z", "2020-03-01T12:30:15Z", want, true},
		{"ok/millis-Z", "2020-03-01T12:30:15.000Z", want, true},
		{"ok/dotnet-7-digits-Z", "2020-03-01T12:30:15.0000000Z", want, true},
		{"ok/nanos", "2020-03-01T12:30:15.123456789Z", want.Add(123456789), true},
		{"ok/offset-east", "2020-03-01T14:30:15+02:00", want, true},
		{"ok/offset-west", "2020-03-01T07:30:15-05:00", want, true},
		{"ok/offset-crosses-day", "2020-02-29T23:30:15-13:00", want, true},
		{"ok/offset-with-fraction", "2020-03-01T14:30:15.500+02:00", want.Add(500 * time.Millisecond), true},
		{"ok/no-zone", "2020-03-01T12:30:15", want, true},
		{"ok/no-zone-fraction", "2020-03-01T12:30:15.0000000", want, true},
		{"ok/no-seconds", "2020-03-01T12:30", want.Add(-15 * time.Second), true},
		{"ok/space", "2020-03-01 12:30:15", want, true},
		{"ok/space-Z", "2020-03-01 12:30:15Z", want, true},
		{"ok/space-offset", "2020-03-01 13:30:15+01:00", want, true},
		{"ok/date-only", "2020-03-01", time.Date(2020, 3, 1, 0, 0, 0, 0, time.UTC), true},
		{"fail/empty", "", time.Time{}, false},
		{"fail/short", "2020-03", time.Time{}, false},
		{"fail/too-long", "2020-03-01T12:30:15.000000000000000000000000000Z", time.Time{}, false},
		{"fail/words", "yesterday noon", time.Time{}, false},
		{"fail/slashes", "2020/03/01 12:30:15", time.Time{}, false},
		{"fail/month-13", "2020-13-01T12:30:15Z", time.Time{}, false},
		{"fail/feb-30", "2020-02-30T12:30:15Z", time.Time{}, false},
		{"fail/hour-24", "2020-03-01T24:00:00Z", time.Time{}, false},
		{"fail/unix-seconds", "1583065815", time.Time{}, false},
		{"fail/trailing-text", "2020-03-01T12:30:15Z junk", time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseTimestamp(tt.in)
			if ok != tt.ok || !got.Equal(tt.want) {
				t.Fatalf("parseTimestamp(%q) = %v, %v, want %v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
			if ok && got.Location() != time.UTC {
				t.Errorf("parseTimestamp(%q) is in %v, want UTC", tt.in, got.Location())
			}
		})
	}
}

func FuzzParseTimestamp(f *testing.F) {
	for _, s := range []string{
		"2020-03-01T12:30:15Z", "2020-03-01T12:30:15.000Z", "2020-03-01T12:30:15.0000000Z",
		"2020-03-01T12:30:15+02:00", "2020-03-01T12:30:15", "2020-03-01 12:30:15", "2020-03-01",
		"2020-03-01T12:30", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999-23:59",
		"2020-02-30T00:00:00Z", "", "yesterday", "2020-03-01T12:30:15+24:00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseTimestamp(s)
		if !ok {
			if !got.IsZero() {
				t.Fatalf("parseTimestamp(%q) = %v, false, want the zero time", s, got)
			}
			return
		}
		if got.Location() != time.UTC {
			t.Fatalf("parseTimestamp(%q) is in %v, want UTC", s, got.Location())
		}
		if y := got.Year(); y < 1 || y > 9999 {
			return // an offset moved it out of RFC 3339's range; nothing to reparse
		}
		// Printing the instant and reading it back gives the same instant.
		back, ok := parseTimestamp(got.Format(time.RFC3339Nano))
		if !ok || !back.Equal(got) {
			t.Fatalf("parseTimestamp(%q) = %v; reparsing its RFC 3339 form gives %v, %v", s, got, back, ok)
		}
	})
}

// FuzzGridSlot checks that slot never panics and that a slot it reports
// leads back from the origin to exactly the timestamp.
func FuzzGridSlot(f *testing.F) {
	f.Add(t0.Unix(), int64(0), uint8(Daily), int32(1), int64(3*24*time.Hour))
	f.Add(t0.Unix(), int64(0), uint8(Minutely), int32(5), int64(25*time.Minute))
	f.Add(t0.Unix(), int64(0), uint8(Microsecond), int32(1), int64(1500*time.Microsecond+1))
	f.Add(t0.Unix(), int64(0), uint8(Daily), int32(616385997), int64(524484608))
	f.Add(time.Date(2020, 1, 31, 0, 0, 0, 0, time.UTC).Unix(), int64(0), uint8(Monthly), int32(1), int64(29*24*time.Hour))
	f.Add(time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC).Unix(), int64(0), uint8(Yearly), int32(1), int64(365*24*time.Hour))
	f.Add(int64(-62135596800), int64(0), uint8(Weekly), int32(1<<30), int64(-1))
	f.Fuzz(func(t *testing.T, sec, nsec int64, g uint8, interval int32, offset int64) {
		// Keep the origin within years 1..9999, the range of parseable timestamps.
		const lo, hi = -62135596800, 253402300799
		if sec < lo || sec > hi {
			sec = lo + (sec%(hi-lo)+(hi-lo))%(hi-lo)
		}
		origin := time.Unix(sec, nsec%1e9).UTC()
		gran := Granularity(int(g)%(int(Microsecond)) + 1) // never None
		// Grids are built from validated requests: customInterval >= 1.
		iv := int(interval)
		if iv < 1 {
			iv = 1 + (-iv)%(1<<31-2)
		}
		gr := grid{g: gran, interval: iv, origin: origin}
		tt := origin.Add(time.Duration(offset))
		k, ok := gr.slot(tt)
		if !ok {
			if k != 0 {
				t.Fatalf("slot(%v) = %d, false, want 0", tt, k)
			}
			return
		}
		if k < 0 {
			t.Fatalf("%v×%d from %v: slot(%v) = %d, true", gran, iv, origin, tt, k)
		}
		var back time.Time
		if step := gran.fixedStep(); step > 0 {
			back = origin.Add(time.Duration(k) * step * time.Duration(iv))
		} else {
			months := iv * k
			if gran == Yearly {
				months *= 12
			}
			back = addMonths(origin, months)
		}
		if !back.Equal(tt) {
			t.Fatalf("%v×%d from %v: slot(%v) = %d, but slot %d is %v", gran, iv, origin, tt, k, k, back)
		}
	})
}
