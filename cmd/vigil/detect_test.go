package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilhq/vigil/internal/adapi"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

const nabFile = "testdata/speed_7578.csv"

// runVigil runs the command line in-process and returns its exit code,
// standard output and standard error.
func runVigil(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	getenv := func(string) string { return "" }
	code := run(context.Background(), args, strings.NewReader(stdin), &stdout, &stderr, getenv)
	return code, stdout.String(), stderr.String()
}

func TestDetectGolden(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"entire.anomalies.table", []string{"--anomalies-only", nabFile}},
		{"entire.csv", []string{"-o", "csv", nabFile}},
		{"entire.json", []string{"-o", "json", nabFile}},
		{"entire-v1.0.anomalies.table", []string{"--api-version", "v1.0", "--sensitivity", "80", "--anomalies-only", nabFile}},
		{"last.table", []string{"--mode", "last", nabFile}},
		{"last.json", []string{"--mode", "last", "-o", "json", nabFile}},
		{"changepoint.anomalies.csv", []string{"--mode", "changepoint", "--anomalies-only", "-o", "csv", nabFile}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runVigil(t, "", append([]string{"detect"}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit code %d, stderr: %s", code, stderr)
			}
			golden := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(stdout), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if stdout != string(want) {
				t.Errorf("output differs from %s; run go test -update and review the diff\ngot (first 500 bytes):\n%s", golden, clip500(stdout))
			}
		})
	}
}

func clip500(s string) string {
	if len(s) > 500 {
		return s[:500] + "..."
	}
	return s
}

// TestDetectJSONIsAPIResponse checks that -o json prints exactly what the
// API answers for the same request.
func TestDetectJSONIsAPIResponse(t *testing.T) {
	csv := "value\n" + strings.Repeat("1\n2\n3\n2\n", 6) + "40\n"
	code, stdout, stderr := runVigil(t, csv, "detect", "-o", "json", "--sensitivity", "95", "-")
	if code != 0 {
		t.Fatalf("exit code %d, stderr: %s", code, stderr)
	}
	var body strings.Builder
	body.WriteString(`{"granularity":"none","sensitivity":95,"series":[`)
	for i, v := range strings.Fields(strings.TrimPrefix(csv, "value\n")) {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"value":%s}`, v)
	}
	body.WriteString("]}")
	want, err := detectBody(adapi.V11, adapi.Entire, []byte(body.String()))
	if err != nil {
		t.Fatal(err)
	}
	if stdout != string(want)+"\n" {
		t.Errorf("got  %s\nwant %s", stdout, want)
	}
}

// TestDetectWindows checks that a series longer than the API's limit is
// answered in windows, point for point.
func TestDetectWindows(t *testing.T) {
	const n = 9000
	// One point a minute from 2020-01-01, a spike at index 8700.
	var in strings.Builder
	in.WriteString("timestamp,value\n")
	for i := range n {
		v := 10 + 5*math.Sin(2*math.Pi*float64(i)/24)
		if i == 8700 {
			v += 100
		}
		fmt.Fprintf(&in, "2020-01-%02dT%02d:%02d:00Z,%g\n", 1+i/1440, i/60%24, i%60, v)
	}

	code, stdout, stderr := runVigil(t, in.String(), "detect", "--granularity", "minutely", "-")
	if code != 0 {
		t.Fatalf("exit code %d, stderr: %s", code, stderr)
	}
	if !strings.Contains(stdout, "9000 points") || !strings.Contains(stdout, "in 2 windows of at most 8640 points") {
		t.Errorf("summary does not mention the windows:\n%s", lastLine(stdout))
	}
	if !strings.Contains(stdout, "\n   8700  2020-01-07T01:00:00Z") {
		t.Errorf("no row for index 8700")
	}

	code, stdout, stderr = runVigil(t, in.String(), "detect", "-o", "json", "-")
	if code != 0 {
		t.Fatalf("exit code %d, stderr: %s", code, stderr)
	}
	var resp entireResponse
	if err := json.Unmarshal([]byte(stdout), &resp); err != nil {
		t.Fatalf("JSON output does not decode: %v", err)
	}
	for name, l := range map[string]int{
		"expectedValues": len(resp.ExpectedValues), "upperMargins": len(resp.UpperMargins), "lowerMargins": len(resp.LowerMargins),
		"severity": len(resp.Severity), "isAnomaly": len(resp.IsAnomaly), "isPositiveAnomaly": len(resp.IsPositiveAnomaly),
	} {
		if l != n {
			t.Errorf("%s has %d elements, want %d", name, l, n)
		}
	}
	if !resp.IsPositiveAnomaly[8700] {
		t.Errorf("the spike at index 8700 is not a positive anomaly")
	}

	code, _, stderr = runVigil(t, in.String(), "detect", "--mode", "last", "-")
	if code != 0 {
		t.Fatalf("last: exit code %d, stderr: %s", code, stderr)
	}
	if !strings.Contains(stderr, "looks at the last 8640") {
		t.Errorf("last mode does not say it drops points: %q", stderr)
	}
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	return s[strings.LastIndexByte(s, '\n')+1:]
}

func TestDetectPlot(t *testing.T) {
	for _, mode := range []string{"entire", "last", "changepoint"} {
		t.Run(mode, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "plot.svg")
			code, stdout, stderr := runVigil(t, "", "detect", "--mode", mode, "--plot", out, "-o", "csv", nabFile)
			if code != 0 {
				t.Fatalf("exit code %d, stderr: %s", code, stderr)
			}
			svg, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			d := xml.NewDecoder(bytes.NewReader(svg))
			for {
				_, err := d.Token()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("the plot is not well-formed XML: %v", err)
				}
			}
			if !bytes.Contains(svg, []byte("speed_7578.csv")) {
				t.Errorf("the plot has no title")
			}
			if mode == "entire" {
				pos, neg := strings.Count(stdout, ",+,"), strings.Count(stdout, ",-,")
				// One circle per anomaly, and one in the legend for each
				// kind present.
				want := pos + neg
				for _, k := range []int{pos, neg} {
					if k > 0 {
						want++
					}
				}
				if got := bytes.Count(svg, []byte("<circle")); got != want {
					t.Errorf("%d circles for %d+%d anomalies, want %d", got, pos, neg, want)
				}
			}
		})
	}
}

func TestDetectErrors(t *testing.T) {
	// Twelve points: the API's minimum.
	twelve := "value\n" + strings.Repeat("1\n", 12)
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string // in the error message
	}{
		{"fail/no-file", "", []string{"testdata/no-such-file.csv"}, "open testdata/no-such-file.csv: no such file or directory"},
		{"fail/no-args", "", nil, "accepts 1 arg(s), received 0"},
		{"fail/empty", "", []string{"-"}, "stdin: the file is empty"},
		{"fail/header-only", "timestamp,value\n", []string{"-"}, "stdin: the file has a header but no data rows"},
		{"fail/no-value-column", "time,a,b\n1,2,3\n", []string{"-"}, `stdin: line 1: the header "time,a,b" names no value column`},
		{"fail/bad-value", "timestamp,value\n2020-01-01,1\n2020-01-02,abc\n", []string{"-"}, `stdin: line 3: value "abc" is not a finite number`},
		{"fail/nan-value", "value\n1\nNaN\n", []string{"-"}, `stdin: line 3: value "NaN" is not a finite number`},
		{"fail/bad-timestamp", "timestamp,value\n2020-01-01,1\nyesterday,2\n", []string{"-"}, `stdin: line 3: timestamp "yesterday" is not an ISO 8601 date-time`},
		{"fail/short-row", "timestamp,value\n2020-01-01,1\n2020-01-02\n", []string{"-"}, "stdin: line 3: want at least 2 fields, got 1"},
		{"fail/bad-quote", "value\n1\n\"2\"x\n", []string{"-"}, "stdin: line 3:"},
		{"fail/too-few-points", "value\n1\n2\n3\n", []string{"-"}, "InvalidSeries: The 'series' field must contain 12 to 8640 points; it has 3."},
		{"fail/unsorted", "timestamp,value\n" + stamps(12, 5), []string{"-"}, "InvalidSeries: The 'Timestamp' at index 5 is duplicated; timestamps must be unique. (line 7)"},
		{"fail/off-grid", "timestamp,value\n" + stamps(12, -1), []string{"--granularity", "daily", "--custom-interval", "2", "-"}, "InvalidSeries: The 'Timestamp' at index 1 is invalid in daily granularity with 2 gran as interval. (line 3)"},
		{"fail/granularity-without-timestamps", twelve, []string{"--granularity", "daily", "-"}, "stdin: --granularity daily needs timestamps, but the file has no timestamp column"},
		{"fail/bad-granularity", "timestamp,value\n" + stamps(12, -1), []string{"--granularity", "fortnightly", "-"}, `InvalidGranularity: The 'granularity' value "fortnightly" is not one of`},
		{"fail/sensitivity", twelve, []string{"--sensitivity", "120", "-"}, "InvalidModelArgument: The 'sensitivity' field must be a number from 0 to 99."},
		{"fail/ratio", twelve, []string{"--max-anomaly-ratio", "0.5", "-"}, "InvalidModelArgument: The 'maxAnomalyRatio' field must be greater than 0 and less than 0.5."},
		{"fail/period", twelve, []string{"--period", "7", "-"}, "InvalidPeriod: The 'period' field must be an integer from 0 to half the number of points (6)."},
		{"fail/custom-interval", twelve, []string{"--custom-interval", "0", "-"}, "InvalidCustomInterval: The 'customInterval' field must be a positive integer."},
		{"fail/impute-mode", twelve, []string{"--impute-mode", "guess", "-"}, "InvalidImputeMode: The 'imputeMode' field must be one of"},
		{"fail/impute-mode-empty", twelve, []string{"--impute-mode", "", "-"}, "InvalidImputeMode:"},
		{"fail/impute-fixed", twelve, []string{"--impute-mode", "fixed", "-"}, "InvalidImputeFixedValue: The 'imputeFixedValue' field is required when imputeMode is fixed."},
		{"fail/threshold", twelve, []string{"--mode", "changepoint", "--threshold", "2", "-"}, "InvalidModelArgument: The 'threshold' field must be a number from 0 to 1."},
		{"fail/stable-trend-window", twelve, []string{"--mode", "changepoint", "--stable-trend-window", "12", "-"}, "InvalidModelArgument: The 'stableTrendWindow' field must be an integer from 1 to the number of points minus one (11)."},
		{"fail/granularity-empty", "timestamp,value\n" + stamps(12, -1), []string{"--granularity", "", "-"}, "RequiredGranularity: The 'granularity' field must not be empty."},
		{"fail/mode", twelve, []string{"--mode", "everything", "-"}, `--mode "everything": want entire, last or changepoint`},
		{"fail/version", twelve, []string{"--api-version", "v2", "-"}, `--api-version "v2": want v1.0, v1.1-preview.1 or v1.1`},
		{"fail/output", twelve, []string{"-o", "yaml", "-"}, `--output "yaml": want table, csv or json`},
		{"fail/plot-dir", twelve, []string{"--plot", "testdata/no-such-dir/x.svg", "-"}, "plot: open testdata/no-such-dir/x.svg: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runVigil(t, tt.stdin, append([]string{"detect"}, tt.args...)...)
			if code == 0 {
				t.Fatalf("exit code 0, want an error; stdout:\n%s", clip500(stdout))
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.want)
			}
			if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine") {
				t.Errorf("stderr shows a panic: %s", stderr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing on error", clip500(stdout))
			}
		})
	}
}

// stamps returns n daily rows from 2020-01-01; row dup (if in range)
// repeats the timestamp of the row before it.
func stamps(n, dup int) string {
	var b strings.Builder
	day := 1
	for i := range n {
		if i != dup {
			day = i + 1
		}
		fmt.Fprintf(&b, "2020-01-%02d,%d\n", day, i%3)
	}
	return b.String()
}

func TestReadSeries(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		values    []float64
		stamps    []string
		lines     []int
		wantTimes bool
	}{
		{"nab", "timestamp,value\n2014-07-01 00:00:00,10844\n2014-07-01 00:30:00,8127\n", []float64{10844, 8127}, []string{"2014-07-01 00:00:00", "2014-07-01 00:30:00"}, []int{2, 3}, true},
		{"value-only", "value\n1\n2.5\n-3e2\n", []float64{1, 2.5, -300}, nil, []int{2, 3, 4}, false},
		{"one-unnamed-column", "speed\n1\n2\n", []float64{1, 2}, nil, []int{2, 3}, false},
		{"two-columns-unnamed-value", "timestamp,speed\n2020-01-01,1\n", []float64{1}, []string{"2020-01-01"}, []int{2}, true},
		{"value-first-extra-columns", "Value,Timestamp,label\n 4 ,2020-01-01T00:00:00Z,x\n", []float64{4}, []string{"2020-01-01T00:00:00Z"}, []int{2}, true},
		{"bom-crlf-blank-lines", "\ufefftimestamp,value\r\n\r\n2020-01-01T00:00:00+01:00,1\r\n\r\n2020-01-02,2\r\n", []float64{1, 2}, []string{"2020-01-01T00:00:00+01:00", "2020-01-02"}, []int{3, 5}, true},
		{"quoted", "\"timestamp\",\"value\"\n\"2020-01-01\",\"7\"\n", []float64{7}, []string{"2020-01-01"}, []int{2}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := readSeries(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(s.Values) != fmt.Sprint(tt.values) || fmt.Sprint(s.Stamps) != fmt.Sprint(tt.stamps) || fmt.Sprint(s.Lines) != fmt.Sprint(tt.lines) {
				t.Errorf("got values %v stamps %q lines %v; want %v %q %v", s.Values, s.Stamps, s.Lines, tt.values, tt.stamps, tt.lines)
			}
			if (s.Times != nil) != tt.wantTimes {
				t.Errorf("Times = %v, want set: %v", s.Times, tt.wantTimes)
			}
		})
	}
}

func FuzzReadSeries(f *testing.F) {
	for _, seed := range []string{
		"timestamp,value\n2014-07-01 00:00:00,10844\n2014-07-01 00:30:00,8127\n",
		"value\n1\n2\n",
		"\ufefftimestamp,value\r\n2020-01-01T00:00:00Z,1e308\r\n",
		"a,b,c\n1,2,3\n",
		"timestamp,value\n\"2020-01-01\",\"1\"\"\"\n",
		"value\n",
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := readSeries(strings.NewReader(in))
		if err != nil {
			if s != nil {
				t.Fatalf("series %v with error %v", s, err)
			}
			if !strings.HasPrefix(err.Error(), "line ") && !strings.HasPrefix(err.Error(), "the file") && !strings.HasPrefix(err.Error(), "read: ") {
				t.Fatalf("error %q does not say where", err)
			}
			return
		}
		if len(s.Values) == 0 || len(s.Lines) != len(s.Values) {
			t.Fatalf("%d values, %d lines", len(s.Values), len(s.Lines))
		}
		if s.Stamps != nil && (len(s.Stamps) != len(s.Values) || len(s.Times) != len(s.Values)) {
			t.Fatalf("%d values, %d stamps, %d times", len(s.Values), len(s.Stamps), len(s.Times))
		}
		for i, v := range s.Values {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("value %d is %v", i, v)
			}
			if i > 0 && s.Lines[i] <= s.Lines[i-1] {
				t.Fatalf("lines %v do not increase", s.Lines)
			}
		}
	})
}
