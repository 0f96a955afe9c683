package adapi

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestDecodeErrors(t *testing.T) {
	day := 24 * time.Hour
	d12 := daily(12)
	hourly := points(12, every(t0, time.Hour), nil)
	minutely := points(12, every(t0, time.Minute), nil)
	secondly := points(12, every(t0, time.Second), nil)
	micro := points(12, every(t0, time.Microsecond), nil)
	weekly := points(12, every(t0, 7*day), nil)
	monthly15 := points(12, monthsFrom(2020, time.January, 15, 1), nil)
	monthly31 := points(12, monthsFrom(2020, time.January, 31, 1), nil)
	yearly := points(12, monthsFrom(2000, time.January, 1, 12), nil)
	fiveMin := points(12, every(t0, 5*time.Minute), nil)
	untimed := points(12, nil, nil)
	ts := func(t time.Time) point { return point{quote(t), "1"} }
	tsRaw := func(s string) point { return point{s, "1"} }
	val := func(v string) point { return point{quote(t0.Add(2 * day)), v} }

	tests := []struct {
		name string
		v    Version   // V11 when 0
		op   Operation // Entire when 0
		body string
		code string
		msg  string // a substring of the message
	}{
		// InvalidJsonFormat
		{name: "fail/json/empty-body", body: "", code: CodeInvalidJSONFormat, msg: "empty"},
		{name: "fail/json/blank-body", body: " \n\t ", code: CodeInvalidJSONFormat, msg: "empty"},
		{name: "fail/json/array-body", body: "[" + seriesJSON(d12) + "]", code: CodeInvalidJSONFormat, msg: "JSON object"},
		{name: "fail/json/empty-array-body", body: "[]", code: CodeInvalidJSONFormat, msg: "JSON object"},
		{name: "fail/json/null-body", body: "null", code: CodeInvalidJSONFormat, msg: "JSON object"},
		{name: "fail/json/string-body", body: `"series"`, code: CodeInvalidJSONFormat, msg: "JSON object"},
		{name: "fail/json/number-body", body: `12`, code: CodeInvalidJSONFormat, msg: "JSON object"},
		{name: "fail/json/truncated", body: `{"series":`, code: CodeInvalidJSONFormat, msg: "not valid JSON"},
		{name: "fail/json/truncated-series", body: withSeries(d12)[:40], code: CodeInvalidJSONFormat, msg: "not valid JSON"},
		{name: "fail/json/trailing-comma", body: `{"series":[],}`, code: CodeInvalidJSONFormat, msg: "not valid JSON"},
		{name: "fail/json/trailing-garbage", body: withSeries(d12, "granularity", `"daily"`) + "x", code: CodeInvalidJSONFormat, msg: "not valid JSON"},
		{name: "fail/json/two-objects", body: "{} {}", code: CodeInvalidJSONFormat, msg: "not valid JSON"},
		{name: "fail/json/single-quotes", body: `{'series':[]}`, code: CodeInvalidJSONFormat, msg: "not valid JSON"},
		{name: "fail/json/nan-literal", body: withSeries(set(d12, 2, val("NaN"))), code: CodeInvalidJSONFormat, msg: "not valid JSON"},
		{name: "fail/json/changepoint", op: ChangePoint, body: `{"series":[`, code: CodeInvalidJSONFormat},
		{name: "fail/json/v1.0", v: V10, body: `{"series":[`, code: CodeInvalidJSONFormat},

		// RequiredGranularity
		{name: "fail/granularity/v1.0-entire-missing", v: V10, body: withSeries(d12), code: CodeRequiredGranularity, msg: "required in v1.0"},
		{name: "fail/granularity/v1.0-last-missing", v: V10, op: Last, body: withSeries(d12), code: CodeRequiredGranularity, msg: "required in v1.0"},
		{name: "fail/granularity/v1.0-entire-null", v: V10, body: withSeries(d12, "granularity", "null"), code: CodeRequiredGranularity},
		{name: "fail/granularity/empty-v1.1-entire", body: withSeries(d12, "granularity", `""`), code: CodeRequiredGranularity, msg: "must not be empty"},
		{name: "fail/granularity/empty-v1.1-last", op: Last, body: withSeries(d12, "granularity", `""`), code: CodeRequiredGranularity},
		{name: "fail/granularity/empty-v1.0-entire", v: V10, body: withSeries(d12, "granularity", `""`), code: CodeRequiredGranularity},
		{name: "fail/granularity/empty-preview-last", v: V11Preview1, op: Last, body: withSeries(d12, "granularity", `""`), code: CodeRequiredGranularity},
		{name: "fail/granularity/empty-changepoint", op: ChangePoint, body: withSeries(d12, "granularity", `""`), code: CodeRequiredGranularity},

		// InvalidGranularity
		{name: "fail/granularity/unknown-name", body: withSeries(d12, "granularity", `"fortnightly"`), code: CodeInvalidGranularity, msg: `"fortnightly"`},
		{name: "fail/granularity/sdk-enum-name", body: withSeries(d12, "granularity", `"perMinute"`), code: CodeInvalidGranularity},
		{name: "fail/granularity/padded", body: withSeries(d12, "granularity", `" daily"`), code: CodeInvalidGranularity},
		{name: "fail/granularity/long-name-clipped", body: withSeries(d12, "granularity", `"`+strings.Repeat("x", 100)+`"`), code: CodeInvalidGranularity, msg: strings.Repeat("x", 32) + "..."},
		{name: "fail/granularity/number", body: withSeries(d12, "granularity", `5`), code: CodeInvalidGranularity, msg: "must be a string"},
		{name: "fail/granularity/bool", body: withSeries(d12, "granularity", `true`), code: CodeInvalidGranularity},
		{name: "fail/granularity/object", body: withSeries(d12, "granularity", `{"name":"daily"}`), code: CodeInvalidGranularity},
		{name: "fail/granularity/changepoint-unknown", op: ChangePoint, body: withSeries(d12, "granularity", `"daly"`), code: CodeInvalidGranularity},

		// InvalidCustomInterval
		{name: "fail/customInterval/zero", body: withSeries(d12, "granularity", `"daily"`, "customInterval", "0"), code: CodeInvalidCustomInterval, msg: "positive integer"},
		{name: "fail/customInterval/negative", body: withSeries(d12, "granularity", `"daily"`, "customInterval", "-5"), code: CodeInvalidCustomInterval},
		{name: "fail/customInterval/fraction", body: withSeries(d12, "granularity", `"daily"`, "customInterval", "1.5"), code: CodeInvalidCustomInterval},
		{name: "fail/customInterval/over-int32", body: withSeries(d12, "granularity", `"daily"`, "customInterval", "2147483648"), code: CodeInvalidCustomInterval},
		{name: "fail/customInterval/string", body: withSeries(d12, "granularity", `"daily"`, "customInterval", `"five"`), code: CodeInvalidCustomInterval},
		{name: "fail/customInterval/bool", body: withSeries(d12, "granularity", `"daily"`, "customInterval", `true`), code: CodeInvalidCustomInterval},
		{name: "fail/customInterval/array", body: withSeries(d12, "granularity", `"daily"`, "customInterval", `[5]`), code: CodeInvalidCustomInterval},
		{name: "fail/customInterval/without-granularity", op: ChangePoint, body: withSeries(d12, "customInterval", "0"), code: CodeInvalidCustomInterval},

		// RequiredSeries
		{name: "fail/series/missing", body: obj("granularity", `"daily"`), code: CodeRequiredSeries, msg: "required"},
		{name: "fail/series/empty-object", body: `{}`, code: CodeRequiredSeries},
		{name: "fail/series/null", body: obj("series", "null", "granularity", `"daily"`), code: CodeRequiredSeries},
		{name: "fail/series/missing-last", op: Last, body: obj("granularity", `"none"`), code: CodeRequiredSeries},
		{name: "fail/series/missing-changepoint", op: ChangePoint, body: `{}`, code: CodeRequiredSeries},
		{name: "fail/series/missing-v1.0", v: V10, body: obj("granularity", `"daily"`), code: CodeRequiredSeries},

		// InvalidSeries: shape and size
		{name: "fail/series/object", body: obj("series", `{"value":1}`), code: CodeInvalidSeries, msg: "array of points"},
		{name: "fail/series/string", body: obj("series", `"1,2,3"`), code: CodeInvalidSeries, msg: "array of points"},
		{name: "fail/series/number", body: obj("series", `12`), code: CodeInvalidSeries},
		{name: "fail/series/array-of-numbers", body: obj("series", "["+strings.Repeat("1,", 11)+"1]"), code: CodeInvalidSeries, msg: "array of points"},
		{name: "fail/series/array-of-arrays", body: obj("series", "["+strings.Repeat("[1],", 11)+"[1]]"), code: CodeInvalidSeries},
		{name: "fail/series/empty", body: obj("series", "[]", "granularity", `"daily"`), code: CodeInvalidSeries, msg: "it has 0"},
		{name: "fail/series/too-few", body: withSeries(daily(11), "granularity", `"daily"`), code: CodeInvalidSeries, msg: "12 to 8640 points; it has 11"},
		{name: "fail/series/too-many", body: withSeries(points(8641, nil, nil), "granularity", `"none"`), code: CodeInvalidSeries, msg: "it has 8641"},
		{name: "fail/series/too-few-changepoint", op: ChangePoint, body: withSeries(daily(11)), code: CodeInvalidSeries, msg: "it has 11"},
		{name: "fail/series/too-many-v1.0-last", v: V10, op: Last, body: withSeries(points(8641, nil, nil), "granularity", `"none"`), code: CodeInvalidSeries},

		// InvalidSeries: values
		{name: "fail/value/missing", body: withSeries(set(d12, 2, point{quote(t0.Add(2 * day)), ""}), "granularity", `"daily"`), code: CodeInvalidSeries, msg: "'value' at index 2 is missing"},
		{name: "fail/value/null", body: withSeries(set(d12, 2, val("null")), "granularity", `"daily"`), code: CodeInvalidSeries, msg: "index 2 is missing"},
		{name: "fail/value/point-null", body: withSeries(d12, "granularity", `"none"`)[:len(`{"series":[`)] + "null," + seriesJSON(d12)[1:] + "}", code: CodeInvalidSeries, msg: "index 0 is missing"},
		{name: "fail/value/non-numeric-string", body: withSeries(set(d12, 2, val(`"abc"`)), "granularity", `"daily"`), code: CodeInvalidSeries, msg: "index 2 is not a finite number"},
		{name: "fail/value/empty-string", body: withSeries(set(d12, 2, val(`""`)), "granularity", `"daily"`), code: CodeInvalidSeries, msg: "index 2 is not a finite number"},
		{name: "fail/value/nan-string", body: withSeries(set(d12, 2, val(`"NaN"`)), "granularity", `"daily"`), code: CodeInvalidSeries, msg: "index 2 is not a finite number"},
		{name: "fail/value/lower-nan-string", body: withSeries(set(d12, 2, val(`"nan"`)), "granularity", `"daily"`), code: CodeInvalidSeries, msg: "index 2"},
		{name: "fail/value/infinity-string", body: withSeries(set(d12, 2, val(`"Infinity"`)), "granularity", `"daily"`), code: CodeInvalidSeries, msg: "index 2"},
		{name: "fail/value/negative-inf-string", body: withSeries(set(d12, 2, val(`"-inf"`)), "granularity", `"daily"`), code: CodeInvalidSeries, msg: "index 2"},
		{name: "fail/value/overflowing-number", body: withSeries(set(d12, 2, val(`1e400`)), "granularity", `"daily"`), code: CodeInvalidSeries, msg: "index 2 is not a finite number"},
		{name: "fail/value/overflowing-negative", body: withSeries(set(d12, 11, point{quote(t0.Add(11 * day)), `-1.8e308`}), "granularity", `"daily"`), code: CodeInvalidSeries, msg: "index 11"},
		{name: "fail/value/overflowing-string", body: withSeries(set(d12, 2, val(`"1e400"`)), "granularity", `"daily"`), code: CodeInvalidSeries, msg: "index 2"},
		{name: "fail/value/bool", body: withSeries(set(d12, 2, val(`true`)), "granularity", `"daily"`), code: CodeInvalidSeries, msg: "index 2"},
		{name: "fail/value/object", body: withSeries(set(d12, 2, val(`{"v":1}`)), "granularity", `"daily"`), code: CodeInvalidSeries, msg: "index 2"},
		{name: "fail/value/array", body: withSeries(set(d12, 2, val(`[1]`)), "granularity", `"daily"`), code: CodeInvalidSeries, msg: "index 2"},
		{name: "fail/value/string-with-unit", body: withSeries(set(d12, 2, val(`"12kg"`)), "granularity", `"daily"`), code: CodeInvalidSeries, msg: "index 2"},
		{name: "fail/value/missing-granularity-none", body: withSeries(set(untimed, 5, point{}), "granularity", `"none"`), code: CodeInvalidSeries, msg: "index 5 is missing"},
		{name: "fail/value/checked-before-timestamps", body: withSeries(set(swap(d12, 3, 4), 7, val(`"x"`)), "granularity", `"daily"`), code: CodeInvalidSeries, msg: "'value' at index 7"},
		{name: "fail/value/changepoint", op: ChangePoint, body: withSeries(set(d12, 2, val(`"NaN"`))), code: CodeInvalidSeries, msg: "index 2"},

		// InvalidSeries: timestamps
		{name: "fail/timestamp/missing-with-granularity", body: withSeries(set(d12, 4, point{"", "1"}), "granularity", `"daily"`), code: CodeInvalidSeries, msg: "'Timestamp' at index 4 is missing"},
		{name: "fail/timestamp/all-missing-with-granularity", body: withSeries(untimed, "granularity", `"hourly"`), code: CodeInvalidSeries, msg: "index 0 is missing"},
		{name: "fail/timestamp/null-with-granularity", body: withSeries(set(d12, 4, tsRaw("null")), "granularity", `"daily"`), code: CodeInvalidSeries, msg: "index 4 is missing"},
		{name: "fail/timestamp/number", body: withSeries(set(d12, 4, tsRaw("1577923200")), "granularity", `"daily"`), code: CodeInvalidSeries, msg: "index 4 must be an ISO 8601 date-time string"},
		{name: "fail/timestamp/object", body: withSeries(set(d12, 4, tsRaw(`{}`)), "granularity", `"daily"`), code: CodeInvalidSeries, msg: "index 4 must be"},
		{name: "fail/timestamp/unparseable", body: withSeries(set(d12, 4, tsRaw(`"yesterday"`)), "granularity", `"daily"`), code: CodeInvalidSeries, msg: "index 4 is not an ISO 8601 date-time"},
		{name: "fail/timestamp/empty-string", body: withSeries(set(d12, 4, tsRaw(`""`)), "granularity", `"daily"`), code: CodeInvalidSeries, msg: "index 4 is not"},
		{name: "fail/timestamp/month-13", body: withSeries(set(d12, 4, tsRaw(`"2020-13-05T00:00:00Z"`)), "granularity", `"daily"`), code: CodeInvalidSeries, msg: "index 4 is not"},
		{name: "fail/timestamp/feb-30", body: withSeries(set(d12, 4, tsRaw(`"2020-02-30T00:00:00Z"`)), "granularity", `"daily"`), code: CodeInvalidSeries, msg: "index 4 is not"},
		{name: "fail/timestamp/hour-25", body: withSeries(set(d12, 4, tsRaw(`"2020-01-05T25:00:00Z"`)), "granularity", `"daily"`), code: CodeInvalidSeries, msg: "index 4 is not"},
		{name: "fail/timestamp/slashes", body: withSeries(set(d12, 4, tsRaw(`"2020/01/05 00:00:00"`)), "granularity", `"daily"`), code: CodeInvalidSeries, msg: "index 4 is not"},
		{name: "fail/timestamp/too-long", body: withSeries(set(d12, 4, tsRaw(`"2020-01-05T00:00:00.000000000000000000000000Z"`)), "granularity", `"daily"`), code: CodeInvalidSeries, msg: "index 4 is not"},
		{name: "fail/timestamp/unsorted", body: withSeries(swap(d12, 3, 4), "granularity", `"daily"`), code: CodeInvalidSeries, msg: "index 4 is earlier than the one before it"},
		{name: "fail/timestamp/reversed", body: withSeries(reversed(d12), "granularity", `"daily"`), code: CodeInvalidSeries, msg: "index 1 is earlier"},
		{name: "fail/timestamp/duplicated", body: withSeries(set(d12, 4, ts(t0.Add(3*day))), "granularity", `"daily"`), code: CodeInvalidSeries, msg: "index 4 is duplicated"},
		{name: "fail/timestamp/duplicated-other-zone", body: withSeries(set(d12, 4, tsRaw(`"2020-01-04T02:00:00+02:00"`)), "granularity", `"daily"`), code: CodeInvalidSeries, msg: "index 4 is duplicated"},
		{name: "fail/timestamp/unsorted-granularity-none", body: withSeries(swap(d12, 3, 4), "granularity", `"none"`), code: CodeInvalidSeries, msg: "index 4 is earlier"},
		{name: "fail/timestamp/duplicated-granularity-none", body: withSeries(set(d12, 4, ts(t0.Add(3*day))), "granularity", `"none"`), code: CodeInvalidSeries, msg: "index 4 is duplicated"},
		{name: "fail/timestamp/unsorted-changepoint-without-granularity", op: ChangePoint, body: withSeries(swap(d12, 3, 4)), code: CodeInvalidSeries, msg: "index 4 is earlier"},
		{name: "fail/timestamp/unsorted-v1.0-changepoint", v: V10, op: ChangePoint, body: withSeries(swap(d12, 10, 11)), code: CodeInvalidSeries, msg: "index 11 is earlier"},

		// InvalidSeries: off the granularity's grid
		{name: "fail/grid/daily-half-day", body: withSeries(set(d12, 5, ts(t0.Add(5*day+12*time.Hour))), "granularity", `"daily"`), code: CodeInvalidSeries, msg: "The 'Timestamp' at index 5 is invalid in daily granularity with 1 gran as interval."},
		{name: "fail/grid/daily-hourly-data", body: withSeries(hourly, "granularity", `"daily"`), code: CodeInvalidSeries, msg: "index 1 is invalid in daily granularity"},
		{name: "fail/grid/hourly", body: withSeries(set(hourly, 3, ts(t0.Add(3*time.Hour+30*time.Minute))), "granularity", `"hourly"`), code: CodeInvalidSeries, msg: "index 3 is invalid in hourly granularity with 1 gran as interval."},
		{name: "fail/grid/minutely", body: withSeries(set(minutely, 3, ts(t0.Add(3*time.Minute+time.Second))), "granularity", `"minutely"`), code: CodeInvalidSeries, msg: "index 3 is invalid in minutely granularity"},
		{name: "fail/grid/secondly", body: withSeries(set(secondly, 3, ts(t0.Add(3*time.Second+500*time.Millisecond))), "granularity", `"secondly"`), code: CodeInvalidSeries, msg: "index 3 is invalid in secondly granularity"},
		{name: "fail/grid/microsecond", body: withSeries(set(micro, 3, ts(t0.Add(3*time.Microsecond+time.Nanosecond))), "granularity", `"microsecond"`), code: CodeInvalidSeries, msg: "index 3 is invalid in microsecond granularity"},
		{name: "fail/grid/weekly-daily-data", body: withSeries(d12, "granularity", `"weekly"`), code: CodeInvalidSeries, msg: "index 1 is invalid in weekly granularity"},
		{name: "fail/grid/weekly-six-days", body: withSeries(set(weekly, 6, ts(t0.Add(41*day))), "granularity", `"weekly"`), code: CodeInvalidSeries, msg: "index 6 is invalid in weekly"},
		{name: "fail/grid/monthly-wrong-day", body: withSeries(set(monthly15, 4, ts(time.Date(2020, 5, 16, 0, 0, 0, 0, time.UTC))), "granularity", `"monthly"`), code: CodeInvalidSeries, msg: "index 4 is invalid in monthly granularity"},
		{name: "fail/grid/monthly-wrong-hour", body: withSeries(set(monthly15, 4, ts(time.Date(2020, 5, 15, 1, 0, 0, 0, time.UTC))), "granularity", `"monthly"`), code: CodeInvalidSeries, msg: "index 4 is invalid in monthly"},
		{name: "fail/grid/monthly-30-days", body: withSeries(points(12, every(t0, 30*day), nil), "granularity", `"monthly"`), code: CodeInvalidSeries, msg: "index 1 is invalid in monthly"},
		{name: "fail/grid/monthly-31st-not-clamped", body: withSeries(set(monthly31, 1, ts(time.Date(2020, 2, 28, 0, 0, 0, 0, time.UTC))), "granularity", `"monthly"`), code: CodeInvalidSeries, msg: "index 1 is invalid in monthly"},
		{name: "fail/grid/monthly-31st-first-of-month", body: withSeries(set(monthly31, 1, ts(time.Date(2020, 3, 1, 0, 0, 0, 0, time.UTC))), "granularity", `"monthly"`), code: CodeInvalidSeries, msg: "index 1 is invalid in monthly"},
		{name: "fail/grid/monthly-daily-data", body: withSeries(d12, "granularity", `"monthly"`), code: CodeInvalidSeries, msg: "index 1 is invalid in monthly"},
		{name: "fail/grid/yearly-monthly-data", body: withSeries(monthly15, "granularity", `"yearly"`), code: CodeInvalidSeries, msg: "index 1 is invalid in yearly granularity"},
		{name: "fail/grid/yearly-wrong-month", body: withSeries(set(yearly, 2, ts(time.Date(2002, 2, 1, 0, 0, 0, 0, time.UTC))), "granularity", `"yearly"`), code: CodeInvalidSeries, msg: "index 2 is invalid in yearly"},
		{name: "fail/grid/yearly-365-days", body: withSeries(points(12, every(t0, 365*day), nil), "granularity", `"yearly"`), code: CodeInvalidSeries, msg: "index 1 is invalid in yearly"},
		{name: "fail/grid/custom-interval-5-minutely", body: withSeries(set(fiveMin, 6, ts(t0.Add(31*time.Minute))), "granularity", `"minutely"`, "customInterval", "5"), code: CodeInvalidSeries, msg: "index 6 is invalid in minutely granularity with 5 gran as interval."},
		{name: "fail/grid/custom-interval-5-one-minute-data", body: withSeries(minutely, "granularity", `"minutely"`, "customInterval", "5"), code: CodeInvalidSeries, msg: "index 1 is invalid in minutely granularity with 5 gran"},
		{name: "fail/grid/custom-interval-2-monthly", body: withSeries(monthly15, "granularity", `"monthly"`, "customInterval", "2"), code: CodeInvalidSeries, msg: "index 1 is invalid in monthly granularity with 2 gran"},
		{name: "fail/grid/custom-interval-3-daily-v1.0", v: V10, body: withSeries(points(12, every(t0, 2*day), nil), "granularity", `"daily"`, "customInterval", "3"), code: CodeInvalidSeries, msg: "with 3 gran"},
		{name: "fail/grid/custom-interval-huge-minutely", body: withSeries(minutely, "granularity", `"minutely"`, "customInterval", "2147483647"), code: CodeInvalidSeries, msg: "index 1 is invalid"},
		// step × customInterval overflows time.Duration: 616385997 days wrap
		// to 524.484608 ms, which must not become the grid's stride.
		{name: "fail/grid/custom-interval-overflow-daily", body: withSeries(points(12, every(t0, 524484608*time.Nanosecond), nil), "granularity", `"daily"`, "customInterval", "616385997"), code: CodeInvalidSeries, msg: "index 1 is invalid in daily granularity with 616385997 gran"},
		{name: "fail/grid/custom-interval-overflow-minutely", body: withSeries(points(12, every(t0, 11452241920*time.Nanosecond), nil), "granularity", `"minutely"`, "customInterval", "1537228673"), code: CodeInvalidSeries, msg: "index 1 is invalid"},
		{name: "fail/grid/changepoint-daily", op: ChangePoint, body: withSeries(set(d12, 5, ts(t0.Add(5*day+time.Hour))), "granularity", `"daily"`), code: CodeInvalidSeries, msg: "index 5 is invalid in daily"},
		{name: "fail/grid/last-hourly", op: Last, body: withSeries(set(hourly, 11, ts(t0.Add(11*time.Hour+time.Minute))), "granularity", `"hourly"`), code: CodeInvalidSeries, msg: "index 11 is invalid in hourly"},

		// InvalidPeriod
		{name: "fail/period/negative", body: withSeries(d12, "granularity", `"daily"`, "period", "-1"), code: CodeInvalidPeriod, msg: "from 0 to half the number of points (6)"},
		{name: "fail/period/over-half", body: withSeries(d12, "granularity", `"daily"`, "period", "7"), code: CodeInvalidPeriod, msg: "(6)"},
		{name: "fail/period/fraction", body: withSeries(d12, "granularity", `"daily"`, "period", "2.5"), code: CodeInvalidPeriod},
		{name: "fail/period/string", body: withSeries(d12, "granularity", `"daily"`, "period", `"weekly"`), code: CodeInvalidPeriod},
		{name: "fail/period/bool", body: withSeries(d12, "granularity", `"daily"`, "period", `false`), code: CodeInvalidPeriod},
		{name: "fail/period/huge", body: withSeries(d12, "granularity", `"daily"`, "period", `1e300`), code: CodeInvalidPeriod},
		{name: "fail/period/last", op: Last, body: withSeries(d12, "granularity", `"daily"`, "period", "7"), code: CodeInvalidPeriod},
		{name: "fail/period/changepoint", op: ChangePoint, body: withSeries(d12, "period", "-3"), code: CodeInvalidPeriod},

		// InvalidModelArgument
		{name: "fail/sensitivity/negative", body: withSeries(d12, "granularity", `"daily"`, "sensitivity", "-1"), code: CodeInvalidModelArgument, msg: "'sensitivity'"},
		{name: "fail/sensitivity/over-99", body: withSeries(d12, "granularity", `"daily"`, "sensitivity", "100"), code: CodeInvalidModelArgument, msg: "from 0 to 99"},
		{name: "fail/sensitivity/string", body: withSeries(d12, "granularity", `"daily"`, "sensitivity", `"high"`), code: CodeInvalidModelArgument},
		{name: "fail/sensitivity/v1.0-last", v: V10, op: Last, body: withSeries(d12, "granularity", `"daily"`, "sensitivity", "150"), code: CodeInvalidModelArgument},
		{name: "fail/maxAnomalyRatio/zero", body: withSeries(d12, "granularity", `"daily"`, "maxAnomalyRatio", "0"), code: CodeInvalidModelArgument, msg: "'maxAnomalyRatio'"},
		{name: "fail/maxAnomalyRatio/half", body: withSeries(d12, "granularity", `"daily"`, "maxAnomalyRatio", "0.5"), code: CodeInvalidModelArgument, msg: "less than 0.5"},
		{name: "fail/maxAnomalyRatio/negative", body: withSeries(d12, "granularity", `"daily"`, "maxAnomalyRatio", "-0.1"), code: CodeInvalidModelArgument},
		{name: "fail/maxAnomalyRatio/string", body: withSeries(d12, "granularity", `"daily"`, "maxAnomalyRatio", `"a lot"`), code: CodeInvalidModelArgument},
		{name: "fail/stableTrendWindow/zero", op: ChangePoint, body: withSeries(d12, "stableTrendWindow", "0"), code: CodeInvalidModelArgument, msg: "'stableTrendWindow'"},
		{name: "fail/stableTrendWindow/series-length", op: ChangePoint, body: withSeries(d12, "stableTrendWindow", "12"), code: CodeInvalidModelArgument, msg: "minus one (11)"},
		{name: "fail/stableTrendWindow/fraction", op: ChangePoint, body: withSeries(d12, "stableTrendWindow", "2.5"), code: CodeInvalidModelArgument},
		{name: "fail/stableTrendWindow/string", op: ChangePoint, body: withSeries(d12, "stableTrendWindow", `"ten"`), code: CodeInvalidModelArgument},
		{name: "fail/threshold/negative", op: ChangePoint, body: withSeries(d12, "threshold", "-0.01"), code: CodeInvalidModelArgument, msg: "'threshold'"},
		{name: "fail/threshold/over-one", op: ChangePoint, body: withSeries(d12, "threshold", "1.01"), code: CodeInvalidModelArgument, msg: "from 0 to 1"},
		{name: "fail/threshold/string", op: ChangePoint, body: withSeries(d12, "threshold", `"high"`), code: CodeInvalidModelArgument},
		{name: "fail/threshold/v1.0", v: V10, op: ChangePoint, body: withSeries(d12, "granularity", `"daily"`, "threshold", "2"), code: CodeInvalidModelArgument},

		// InvalidImputeMode
		{name: "fail/imputeMode/unknown", body: withSeries(d12, "granularity", `"daily"`, "imputeMode", `"spline"`), code: CodeInvalidImputeMode, msg: "auto, previous, linear, fixed, zero, notFill"},
		{name: "fail/imputeMode/empty", body: withSeries(d12, "granularity", `"daily"`, "imputeMode", `""`), code: CodeInvalidImputeMode},
		{name: "fail/imputeMode/number", body: withSeries(d12, "granularity", `"daily"`, "imputeMode", `1`), code: CodeInvalidImputeMode},
		{name: "fail/imputeMode/not-fill-spaced", body: withSeries(d12, "granularity", `"daily"`, "imputeMode", `"not fill"`), code: CodeInvalidImputeMode},
		{name: "fail/imputeMode/preview-last", v: V11Preview1, op: Last, body: withSeries(d12, "granularity", `"daily"`, "imputeMode", `"mean"`), code: CodeInvalidImputeMode},

		// InvalidImputeFixedValue
		{name: "fail/imputeFixedValue/required", body: withSeries(d12, "granularity", `"daily"`, "imputeMode", `"fixed"`), code: CodeInvalidImputeFixedValue, msg: "required when imputeMode is fixed"},
		{name: "fail/imputeFixedValue/null", body: withSeries(d12, "granularity", `"daily"`, "imputeMode", `"fixed"`, "imputeFixedValue", "null"), code: CodeInvalidImputeFixedValue, msg: "required"},
		{name: "fail/imputeFixedValue/string", body: withSeries(d12, "granularity", `"daily"`, "imputeMode", `"fixed"`, "imputeFixedValue", `"zero"`), code: CodeInvalidImputeFixedValue, msg: "finite number"},
		{name: "fail/imputeFixedValue/nan-string", body: withSeries(d12, "granularity", `"daily"`, "imputeMode", `"fixed"`, "imputeFixedValue", `"NaN"`), code: CodeInvalidImputeFixedValue, msg: "finite number"},
		{name: "fail/imputeFixedValue/overflow", body: withSeries(d12, "granularity", `"daily"`, "imputeMode", `"fixed"`, "imputeFixedValue", `1e999`), code: CodeInvalidImputeFixedValue},
		{name: "fail/imputeFixedValue/bad-with-other-mode", body: withSeries(d12, "granularity", `"daily"`, "imputeMode", `"linear"`, "imputeFixedValue", `"x"`), code: CodeInvalidImputeFixedValue},
		{name: "fail/imputeFixedValue/bad-without-mode", op: Last, body: withSeries(d12, "granularity", `"daily"`, "imputeFixedValue", `[]`), code: CodeInvalidImputeFixedValue},

		// Order of checks: granularity, series, period, model arguments, impute.
		{name: "fail/order/granularity-before-series", body: obj("granularity", `"daly"`), code: CodeInvalidGranularity},
		{name: "fail/order/series-before-period", body: withSeries(daily(3), "granularity", `"daily"`, "period", "-1"), code: CodeInvalidSeries},
		{name: "fail/order/period-before-model", body: withSeries(d12, "granularity", `"daily"`, "period", "-1", "sensitivity", "-1"), code: CodeInvalidPeriod},
		{name: "fail/order/model-before-impute", body: withSeries(d12, "granularity", `"daily"`, "sensitivity", "-1", "imputeMode", `"x"`), code: CodeInvalidModelArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, op := tt.v, tt.op
			if v == 0 {
				v = V11
			}
			if op == 0 {
				op = Entire
			}
			r, err := Decode(v, op, []byte(tt.body))
			if err == nil {
				t.Fatalf("Decode(%v, %v) = %d values, want error %s", v, op, len(r.Values), tt.code)
			}
			if r != nil {
				t.Errorf("Decode returned a request along with error %v", err)
			}
			ve := checkInvalid(t, err)
			if got, want := ve.APICode, tt.code; got != want {
				t.Errorf("APICode = %q, want %q (message %q)", got, want, ve.Message)
			}
			if !strings.Contains(ve.Message, tt.msg) {
				t.Errorf("Message = %q, want it to contain %q", ve.Message, tt.msg)
			}
		})
	}
}

// TestDecodeErrorCodesCovered fails when a documented error code that
// Decode can produce has no case above, by decoding one body per code.
func TestDecodeErrorCodesCovered(t *testing.T) {
	d12 := daily(12)
	bodies := map[string]string{
		CodeInvalidCustomInterval:   withSeries(d12, "granularity", `"daily"`, "customInterval", "0"),
		CodeInvalidGranularity:      withSeries(d12, "granularity", `"x"`),
		CodeInvalidPeriod:           withSeries(d12, "granularity", `"daily"`, "period", "-1"),
		CodeInvalidModelArgument:    withSeries(d12, "granularity", `"daily"`, "sensitivity", "-1"),
		CodeInvalidSeries:           withSeries(d12[:11], "granularity", `"daily"`),
		CodeInvalidJSONFormat:       `{`,
		CodeRequiredGranularity:     withSeries(d12, "granularity", `""`),
		CodeRequiredSeries:          `{}`,
		CodeInvalidImputeMode:       withSeries(d12, "granularity", `"daily"`, "imputeMode", `"x"`),
		CodeInvalidImputeFixedValue: withSeries(d12, "granularity", `"daily"`, "imputeMode", `"fixed"`),
	}
	for code := range apiCodes {
		if code == CodeBadArgument {
			continue // documented, but nothing in a univariate request maps to it
		}
		body, ok := bodies[code]
		if !ok {
			t.Errorf("no body produces %s", code)
			continue
		}
		_, err := Decode(V11, Entire, []byte(body))
		if got := checkInvalid(t, err).APICode; got != code {
			t.Errorf("APICode = %q, want %q", got, code)
		}
	}
}

func TestDecodeOK(t *testing.T) {
	day := 24 * time.Hour
	d12 := daily(12)
	untimed := points(12, nil, nil)
	tenToSixteen := []float64{10, 11, 12, 13, 14, 15, 16, 10, 11, 12, 13, 14}
	dailyTimes := make([]time.Time, 12)
	for i := range dailyTimes {
		dailyTimes[i] = t0.Add(time.Duration(i) * day)
	}
	stamped := func(format string) []point {
		return points(12, func(i int) string { return `"` + t0.Add(time.Duration(i)*day).Format(format) + `"` }, nil)
	}
	// The same instants written in zone +05:30.
	ist := time.FixedZone("IST", 5*3600+1800)
	offsets := points(12, func(i int) string { return `"` + t0.Add(time.Duration(i)*day).In(ist).Format(time.RFC3339) + `"` }, nil)

	tests := []struct {
		name  string
		v     Version
		op    Operation
		body  string
		check func(t *testing.T, r *Request)
	}{
		{name: "ok/minimal-v1.1", body: withSeries(d12, "granularity", `"daily"`), check: func(t *testing.T, r *Request) {
			wantValues(t, r, tenToSixteen)
			wantTimes(t, r, dailyTimes)
		}},
		{name: "ok/values-as-strings", body: withSeries(points(12, every(t0, day), func(i int) string { return `"` + strconv.Itoa(32858923+i) + `"` }), "granularity", `"daily"`), check: func(t *testing.T, r *Request) {
			want := make([]float64, 12)
			for i := range want {
				want[i] = float64(32858923 + i)
			}
			wantValues(t, r, want)
		}},
		{name: "ok/values-as-padded-and-exponent-strings", body: withSeries(set(set(set(d12, 0, point{quote(t0), `" 1.5 "`}), 1, point{quote(t0.Add(day)), `"-2e3"`}), 2, point{quote(t0.Add(2 * day)), `"1E-2"`}), "granularity", `"daily"`), check: func(t *testing.T, r *Request) {
			if got, want := r.Values[:3], []float64{1.5, -2000, 0.01}; !slices.Equal(got, want) {
				t.Errorf("Values[:3] = %v, want %v", got, want)
			}
		}},
		{name: "ok/values-mixed-numbers", body: withSeries(set(set(d12, 3, point{quote(t0.Add(3 * day)), `-0.000123`}), 4, point{quote(t0.Add(4 * day)), `1.7976931348623157e308`}), "granularity", `"daily"`), check: func(t *testing.T, r *Request) {
			if got, want := r.Values[3:5], []float64{-0.000123, math.MaxFloat64}; !slices.Equal(got, want) {
				t.Errorf("Values[3:5] = %v, want %v", got, want)
			}
		}},
		{name: "ok/unknown-fields-ignored", body: withSeries(points(12, func(i int) string { return quote(t0.Add(time.Duration(i) * day)) }, nil), "granularity", `"daily"`, "foo", `{"bar":[1,2,{"baz":null}]}`, "modelId", `"abc"`), check: func(t *testing.T, r *Request) {
			wantValues(t, r, tenToSixteen)
		}},
		{name: "ok/unknown-point-fields-ignored", body: obj("granularity", `"daily"`, "series", strings.ReplaceAll(seriesJSON(d12), `"value"`, `"label":"x","value"`)), check: func(t *testing.T, r *Request) {
			wantValues(t, r, tenToSixteen)
		}},
		{name: "ok/field-names-case-insensitive", body: strings.NewReplacer(`"series"`, `"Series"`, `"timestamp"`, `"Timestamp"`, `"value"`, `"VALUE"`).Replace(withSeries(d12, "GRANULARITY", `"daily"`, "Period", "3", "SENSITIVITY", "95", "maxanomalyratio", "0.1", "ImputeMode", `"previous"`, "customINTERVAL", "1")), check: func(t *testing.T, r *Request) {
			wantValues(t, r, tenToSixteen)
			wantTimes(t, r, dailyTimes)
			if r.Period != 3 || !r.PeriodSet || r.Sensitivity != 95 || r.MaxAnomalyRatio != 0.1 || r.ImputeMode != ImputePrevious {
				t.Errorf("got period %d/%v sensitivity %v ratio %v impute %v, want 3/true 95 0.1 previous", r.Period, r.PeriodSet, r.Sensitivity, r.MaxAnomalyRatio, r.ImputeMode)
			}
		}},
		{name: "ok/granularity-value-case-insensitive", body: withSeries(d12, "granularity", `"DAILY"`), check: func(t *testing.T, r *Request) {
			if r.Granularity != Daily {
				t.Errorf("Granularity = %v, want daily", r.Granularity)
			}
		}},
		{name: "ok/timestamps-Z", body: withSeries(stamped("2006-01-02T15:04:05Z"), "granularity", `"daily"`), check: func(t *testing.T, r *Request) { wantTimes(t, r, dailyTimes) }},
		{name: "ok/timestamps-millis-Z", body: withSeries(stamped("2006-01-02T15:04:05.000Z"), "granularity", `"daily"`), check: func(t *testing.T, r *Request) { wantTimes(t, r, dailyTimes) }},
		{name: "ok/timestamps-dotnet-7-digits-Z", body: withSeries(stamped("2006-01-02T15:04:05.0000000Z"), "granularity", `"daily"`), check: func(t *testing.T, r *Request) { wantTimes(t, r, dailyTimes) }},
		{name: "ok/timestamps-offset", body: withSeries(offsets, "granularity", `"daily"`), check: func(t *testing.T, r *Request) { wantTimes(t, r, dailyTimes) }},
		{name: "ok/timestamps-zero-offset", body: withSeries(stamped("2006-01-02T15:04:05+00:00"), "granularity", `"daily"`), check: func(t *testing.T, r *Request) { wantTimes(t, r, dailyTimes) }},
		{name: "ok/timestamps-no-zone-are-utc", body: withSeries(stamped("2006-01-02T15:04:05"), "granularity", `"daily"`), check: func(t *testing.T, r *Request) { wantTimes(t, r, dailyTimes) }},
		{name: "ok/timestamps-no-zone-fraction", body: withSeries(stamped("2006-01-02T15:04:05.000"), "granularity", `"daily"`), check: func(t *testing.T, r *Request) { wantTimes(t, r, dailyTimes) }},
		{name: "ok/timestamps-no-seconds", body: withSeries(stamped("2006-01-02T15:04"), "granularity", `"daily"`), check: func(t *testing.T, r *Request) { wantTimes(t, r, dailyTimes) }},
		{name: "ok/timestamps-space-separator", body: withSeries(stamped("2006-01-02 15:04:05"), "granularity", `"daily"`), check: func(t *testing.T, r *Request) { wantTimes(t, r, dailyTimes) }},
		{name: "ok/timestamps-date-only", body: withSeries(stamped("2006-01-02"), "granularity", `"daily"`), check: func(t *testing.T, r *Request) { wantTimes(t, r, dailyTimes) }},
		{name: "ok/granularity-none-no-timestamps", body: withSeries(untimed, "granularity", `"none"`), check: func(t *testing.T, r *Request) {
			wantValues(t, r, tenToSixteen)
			wantTimes(t, r, nil)
		}},
		{name: "ok/granularity-none-ignores-off-grid", body: withSeries(points(12, every(t0, 7*time.Minute+3*time.Second), nil), "granularity", `"none"`), check: func(t *testing.T, r *Request) {
			if r.Granularity != None {
				t.Errorf("Granularity = %v, want none", r.Granularity)
			}
			wantTimes(t, r, nil)
		}},
		{name: "ok/granularity-none-ignores-some-missing", body: withSeries(set(swap(d12, 3, 4), 7, point{"", "1"}), "granularity", `"none"`), check: func(t *testing.T, r *Request) { wantTimes(t, r, nil) }},
		{name: "ok/granularity-none-ignores-unparseable", body: withSeries(set(swap(d12, 3, 4), 7, point{`"soon"`, "1"}), "granularity", `"none"`), check: func(t *testing.T, r *Request) { wantTimes(t, r, nil) }},
		{name: "ok/granularity-none-ignores-wrong-type", body: withSeries(set(swap(d12, 3, 4), 7, point{`17`, "1"}), "granularity", `"NONE"`), check: func(t *testing.T, r *Request) { wantTimes(t, r, nil) }},
		{name: "ok/granularity-absent-is-none-v1.1", body: withSeries(untimed), check: func(t *testing.T, r *Request) {
			if r.Granularity != None {
				t.Errorf("Granularity = %v, want none", r.Granularity)
			}
		}},
		{name: "ok/granularity-null-is-none-v1.1", body: withSeries(untimed, "granularity", "null"), check: func(t *testing.T, r *Request) {
			if r.Granularity != None {
				t.Errorf("Granularity = %v, want none", r.Granularity)
			}
		}},
		{name: "ok/granularity-absent-preview-last", v: V11Preview1, op: Last, body: withSeries(untimed)},
		{name: "ok/changepoint-no-granularity-v1.0", v: V10, op: ChangePoint, body: withSeries(d12), check: func(t *testing.T, r *Request) { wantTimes(t, r, nil) }},
		{name: "ok/changepoint-no-granularity-preview", v: V11Preview1, op: ChangePoint, body: withSeries(d12)},
		{name: "ok/changepoint-no-granularity-v1.1-customInterval", op: ChangePoint, body: withSeries(points(12, every(t0, 5*time.Minute), nil), "customInterval", "5"), check: func(t *testing.T, r *Request) {
			if r.Granularity != None || r.CustomInterval != 5 {
				t.Errorf("Granularity, CustomInterval = %v, %d, want none, 5", r.Granularity, r.CustomInterval)
			}
		}},
		{name: "ok/changepoint-args", op: ChangePoint, body: withSeries(d12, "granularity", `"daily"`, "stableTrendWindow", "5", "threshold", "0.99", "period", "0"), check: func(t *testing.T, r *Request) {
			if r.StableTrendWindow != 5 || r.Threshold != 0.99 || !r.ThresholdSet || r.Period != 0 || !r.PeriodSet {
				t.Errorf("got window %d threshold %v/%v period %d/%v, want 5 0.99/true 0/true", r.StableTrendWindow, r.Threshold, r.ThresholdSet, r.Period, r.PeriodSet)
			}
		}},
		{name: "ok/changepoint-ignores-model-and-impute-fields", op: ChangePoint, body: withSeries(d12, "sensitivity", "-5", "maxAnomalyRatio", "3", "imputeMode", `"spline"`, "imputeFixedValue", `"x"`)},
		{name: "ok/v1.0-ignores-invalid-imputeMode", v: V10, body: withSeries(d12, "granularity", `"daily"`, "imputeMode", `"spline"`), check: func(t *testing.T, r *Request) {
			if r.ImputeMode != ImputeAuto {
				t.Errorf("ImputeMode = %v, want auto", r.ImputeMode)
			}
		}},
		{name: "ok/v1.0-ignores-imputeMode", v: V10, op: Last, body: withSeries(d12, "granularity", `"daily"`, "imputeMode", `"zero"`), check: func(t *testing.T, r *Request) {
			if r.ImputeMode != ImputeAuto {
				t.Errorf("ImputeMode = %v, want auto", r.ImputeMode)
			}
		}},
		{name: "ok/v1.0-ignores-fixed-without-value", v: V10, body: withSeries(d12, "granularity", `"daily"`, "imputeMode", `"fixed"`, "imputeFixedValue", `"x"`)},
		{name: "ok/defaults", body: withSeries(d12, "granularity", `"daily"`), check: func(t *testing.T, r *Request) {
			if r.Sensitivity != 99 || r.MaxAnomalyRatio != 0.25 || r.CustomInterval != 1 {
				t.Errorf("sensitivity, ratio, interval = %v, %v, %d, want 99, 0.25, 1", r.Sensitivity, r.MaxAnomalyRatio, r.CustomInterval)
			}
			if r.PeriodSet || r.Period != 0 {
				t.Errorf("Period, PeriodSet = %d, %v, want 0, false", r.Period, r.PeriodSet)
			}
			if r.ImputeMode != ImputeAuto || r.ImputeFixedValue != 0 {
				t.Errorf("ImputeMode, ImputeFixedValue = %v, %v, want auto, 0", r.ImputeMode, r.ImputeFixedValue)
			}
			if r.Version != V11 || r.Operation != Entire {
				t.Errorf("Version, Operation = %v, %v, want v1.1, entire", r.Version, r.Operation)
			}
		}},
		{name: "ok/defaults-v1.0-last", v: V10, op: Last, body: withSeries(d12, "granularity", `"daily"`), check: func(t *testing.T, r *Request) {
			if r.Sensitivity != DefaultSensitivity || r.MaxAnomalyRatio != DefaultMaxAnomalyRatio || r.CustomInterval != 1 {
				t.Errorf("sensitivity, ratio, interval = %v, %v, %d, want 99, 0.25, 1", r.Sensitivity, r.MaxAnomalyRatio, r.CustomInterval)
			}
		}},
		{name: "ok/defaults-changepoint", op: ChangePoint, body: withSeries(d12), check: func(t *testing.T, r *Request) {
			if r.StableTrendWindow != 0 || r.ThresholdSet || r.PeriodSet || r.CustomInterval != 1 {
				t.Errorf("window %d thresholdSet %v periodSet %v interval %d, want 0 false false 1 (engine defaults)", r.StableTrendWindow, r.ThresholdSet, r.PeriodSet, r.CustomInterval)
			}
		}},
		{name: "ok/nulls-are-absent", body: withSeries(d12, "granularity", `"daily"`, "period", "null", "sensitivity", "null", "maxAnomalyRatio", "null", "customInterval", "null", "imputeMode", "null"), check: func(t *testing.T, r *Request) {
			if r.PeriodSet || r.Sensitivity != 99 || r.MaxAnomalyRatio != 0.25 || r.CustomInterval != 1 || r.ImputeMode != ImputeAuto {
				t.Errorf("nulls not treated as absent: %+v", r)
			}
		}},
		{name: "ok/limits", body: withSeries(d12, "granularity", `"daily"`, "period", "6", "sensitivity", "0", "maxAnomalyRatio", "0.4999"), check: func(t *testing.T, r *Request) {
			if r.Period != 6 || r.Sensitivity != 0 || r.MaxAnomalyRatio != 0.4999 {
				t.Errorf("period, sensitivity, ratio = %d, %v, %v, want 6, 0, 0.4999", r.Period, r.Sensitivity, r.MaxAnomalyRatio)
			}
		}},
		{name: "ok/numeric-strings-for-parameters", body: withSeries(d12, "granularity", `"daily"`, "period", `"3"`, "sensitivity", `"95"`, "customInterval", `"1"`), check: func(t *testing.T, r *Request) {
			if r.Period != 3 || r.Sensitivity != 95 {
				t.Errorf("period, sensitivity = %d, %v, want 3, 95", r.Period, r.Sensitivity)
			}
		}},
		{name: "ok/integral-float-parameters", body: withSeries(d12, "granularity", `"daily"`, "period", `3.0`, "customInterval", `1e0`), check: func(t *testing.T, r *Request) {
			if r.Period != 3 || r.CustomInterval != 1 {
				t.Errorf("period, interval = %d, %d, want 3, 1", r.Period, r.CustomInterval)
			}
		}},
		{name: "ok/fractional-sensitivity", body: withSeries(d12, "granularity", `"daily"`, "sensitivity", `97.5`), check: func(t *testing.T, r *Request) {
			if r.Sensitivity != 97.5 {
				t.Errorf("Sensitivity = %v, want 97.5", r.Sensitivity)
			}
		}},
		{name: "ok/imputeMode-case-insensitive", body: withSeries(d12, "granularity", `"daily"`, "imputeMode", `"NOTFILL"`), check: func(t *testing.T, r *Request) {
			if r.ImputeMode != ImputeNotFill {
				t.Errorf("ImputeMode = %v, want notFill", r.ImputeMode)
			}
		}},
		{name: "ok/imputeMode-fixed", v: V11Preview1, body: withSeries(d12, "granularity", `"daily"`, "imputeMode", `"fixed"`, "imputeFixedValue", `"-7.5"`), check: func(t *testing.T, r *Request) {
			if r.ImputeMode != ImputeFixed || r.ImputeFixedValue != -7.5 {
				t.Errorf("ImputeMode, ImputeFixedValue = %v, %v, want fixed, -7.5", r.ImputeMode, r.ImputeFixedValue)
			}
		}},
		{name: "ok/imputeFixedValue-ignored-unless-fixed", body: withSeries(d12, "granularity", `"daily"`, "imputeMode", `"zero"`, "imputeFixedValue", `3`), check: func(t *testing.T, r *Request) {
			if r.ImputeMode != ImputeZero || r.ImputeFixedValue != 0 {
				t.Errorf("ImputeMode, ImputeFixedValue = %v, %v, want zero, 0", r.ImputeMode, r.ImputeFixedValue)
			}
		}},
		{name: "ok/max-points", body: withSeries(points(MaxPoints, every(t0, time.Minute), nil), "granularity", `"minutely"`), check: func(t *testing.T, r *Request) {
			if len(r.Values) != MaxPoints || len(r.Times) != MaxPoints {
				t.Errorf("len(Values), len(Times) = %d, %d, want %d", len(r.Values), len(r.Times), MaxPoints)
			}
		}},
		{name: "ok/gaps-allowed", body: withSeries(slices.Delete(points(14, every(t0, time.Hour), nil), 5, 7), "granularity", `"hourly"`), check: func(t *testing.T, r *Request) {
			if got, want := r.Times[5], t0.Add(7*time.Hour); !got.Equal(want) {
				t.Errorf("Times[5] = %v, want %v", got, want)
			}
		}},
		{name: "ok/monthly-31st-clamps", body: withSeries(points(14, monthsFrom(2019, time.December, 31, 1), nil), "granularity", `"monthly"`), check: func(t *testing.T, r *Request) {
			if got, want := r.Times[2], time.Date(2020, 2, 29, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
				t.Errorf("Times[2] = %v, want %v", got, want)
			}
		}},
		{name: "ok/yearly-feb-29-clamps", body: withSeries(points(12, monthsFrom(2000, time.February, 29, 12), nil), "granularity", `"yearly"`)},
		{name: "ok/custom-interval-5-minutely", body: withSeries(points(12, every(t0, 5*time.Minute), nil), "granularity", `"minutely"`, "customInterval", "5"), check: func(t *testing.T, r *Request) {
			if r.CustomInterval != 5 || r.Granularity != Minutely {
				t.Errorf("Granularity, CustomInterval = %v, %d, want minutely, 5", r.Granularity, r.CustomInterval)
			}
		}},
		{name: "ok/body-surrounded-by-whitespace", body: "\n  " + withSeries(d12, "granularity", `"daily"`) + "\r\n"},
		{name: "ok/duplicate-key-last-wins", body: withSeries(d12, "granularity", `"fortnightly"`, "granularity", `"daily"`), check: func(t *testing.T, r *Request) {
			if r.Granularity != Daily {
				t.Errorf("Granularity = %v, want daily", r.Granularity)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, op := tt.v, tt.op
			if v == 0 {
				v = V11
			}
			if op == 0 {
				op = Entire
			}
			r := mustDecode(t, v, op, tt.body)
			if r.Version != v || r.Operation != op {
				t.Errorf("Version, Operation = %v, %v, want %v, %v", r.Version, r.Operation, v, op)
			}
			if tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

func wantValues(t *testing.T, r *Request, want []float64) {
	t.Helper()
	if !slices.Equal(r.Values, want) {
		t.Errorf("Values = %v, want %v", r.Values, want)
	}
}

func wantTimes(t *testing.T, r *Request, want []time.Time) {
	t.Helper()
	if want == nil {
		if r.Times != nil {
			t.Errorf("Times = %v, want nil", r.Times)
		}
		return
	}
	if len(r.Times) != len(want) {
		t.Fatalf("len(Times) = %d, want %d", len(r.Times), len(want))
	}
	for i := range want {
		if !r.Times[i].Equal(want[i]) || r.Times[i].Location() != time.UTC {
			t.Errorf("Times[%d] = %v, want %v in UTC", i, r.Times[i], want[i])
		}
	}
}

func TestVersionAndOperationNames(t *testing.T) {
	for _, v := range []Version{V10, V11Preview1, V11} {
		got, ok := ParseVersion(v.String())
		if !ok || got != v {
			t.Errorf("ParseVersion(%q) = %v, %v, want %v, true", v.String(), got, ok, v)
		}
	}
	for _, s := range []string{"", "v1", "V1.1", "v1.1-preview", "v1.1-preview.2", "v1.2-preview"} {
		if _, ok := ParseVersion(s); ok {
			t.Errorf("ParseVersion(%q) reports ok, want not served", s)
		}
	}
	for _, op := range []Operation{Entire, Last, ChangePoint} {
		got, ok := ParseOperation(op.String())
		if !ok || got != op {
			t.Errorf("ParseOperation(%q) = %v, %v, want %v, true", op.String(), got, ok, op)
		}
	}
	for _, s := range []string{"", "Entire", "change-point", "detect"} {
		if _, ok := ParseOperation(s); ok {
			t.Errorf("ParseOperation(%q) reports ok", s)
		}
	}
	if got := Version(0).String(); got != "unknown" {
		t.Errorf("Version(0).String() = %q, want unknown", got)
	}
	if got := Operation(0).String(); got != "unknown" {
		t.Errorf("Operation(0).String() = %q, want unknown", got)
	}
}
