package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/vigilhq/vigil/internal/adapi"
	"github.com/vigilhq/vigil/internal/plot"
	"github.com/vigilhq/vigil/internal/vigil"
)

// detectOptions holds the flags of "vigil detect".
type detectOptions struct {
	mode              string
	apiVersion        string
	granularity       string
	customInterval    int
	period            int
	sensitivity       float64
	maxAnomalyRatio   float64
	imputeMode        string
	imputeFixedValue  float64
	stableTrendWindow int
	threshold         float64
	output            string
	plotPath          string
	anomaliesOnly     bool
}

func newDetectCmd() *cobra.Command {
	var o detectOptions
	cmd := &cobra.Command{
		Use:   "detect FILE.csv",
		Short: "Detect anomalies in a CSV file, offline",
		Long: `Detect anomalies or change points in a time series read from a CSV file,
offline, with the same model, options, validation and answers as the
Anomaly Detector API that "vigil serve" offers. FILE "-" reads standard input.

The CSV file has a header row. The values come from the column named
"value" (or the only column); the optional "timestamp" column holds ISO 8601
date-times such as 2014-07-01T00:00:00Z or NAB's 2014-07-01 00:00:00, which
are checked against --granularity. Other columns are ignored.

--mode selects the API operation: entire (every point), last (the last
point, judged from the points before it) or changepoint. The API takes 12
to 8640 points a request: longer files are processed in consecutive windows
of at most 8640 points (entire and changepoint modes; the JSON output then
joins the windows' answers and gives the first window's period), and last
mode looks at the last 8640 points only.

Output (-o): "table" prints one row per point and a summary; "csv" the
same columns with a header; "json" the API's response body. In the table
and CSV, lower and upper are the bounds of the expected band
(expected - lowerMargin and expected + upperMargin), and anomaly is "+"
above the band, "-" below it. --plot draws the series, the expected band
and the anomalies (or the change points) as an SVG image.`,
		Example: `  vigil detect nyc_taxi.csv
  vigil detect --granularity minutely --custom-interval 30 --plot taxi.svg nyc_taxi.csv
  vigil detect --mode changepoint -o csv - < series.csv`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDetect(cmd, &o, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.mode, "mode", "entire", "operation: entire, last or changepoint")
	f.StringVar(&o.apiVersion, "api-version", "v1.1", "API version whose behaviour to follow: v1.0, v1.1-preview.1 or v1.1")
	f.StringVar(&o.granularity, "granularity", "none", "spacing of the timestamps: none, yearly, monthly, weekly, daily, hourly, minutely, secondly or microsecond")
	f.IntVar(&o.customInterval, "custom-interval", 1, "number of granules between consecutive timestamps, e.g. 5 with minutely")
	f.IntVar(&o.period, "period", 0, "seasonal period in points (default: detected; 0 means none)")
	f.Float64Var(&o.sensitivity, "sensitivity", adapi.DefaultSensitivity, "0 to 99; higher gives a narrower band and more anomalies (entire, last)")
	f.Float64Var(&o.maxAnomalyRatio, "max-anomaly-ratio", adapi.DefaultMaxAnomalyRatio, "largest fraction of points reported as anomalies, above 0 and below 0.5 (entire, last)")
	f.StringVar(&o.imputeMode, "impute-mode", "auto", "how gaps in the timestamps are filled: auto, previous, linear, fixed, zero or notFill (not in v1.0)")
	f.Float64Var(&o.imputeFixedValue, "impute-fixed-value", 0, "the value that fills gaps with --impute-mode fixed")
	f.IntVar(&o.stableTrendWindow, "stable-trend-window", adapi.DefaultStableTrendWindow, "points a new trend must hold (changepoint)")
	f.Float64Var(&o.threshold, "threshold", 0, "0 to 1; lower accepts fewer change points (changepoint; default: the model's)")
	f.StringVarP(&o.output, "output", "o", "table", "output format: table, csv or json")
	f.StringVar(&o.plotPath, "plot", "", "also draw the result as an SVG image in this file")
	f.BoolVar(&o.anomaliesOnly, "anomalies-only", false, "list only the anomalies (or change points) in table and csv output")
	return cmd
}

// detection is the outcome of one detect run: the answers of the API for
// each window of the series.
type detection struct {
	op      adapi.Operation
	version adapi.Version
	s       *series
	// first is the index in s of the first point the API saw: non-zero in
	// last mode when the file is longer than the API's limit.
	first int
	// windows holds the [from, to) bounds of each request, indexes into s.
	windows [][2]int
	// bodies holds the API's response body for each window.
	bodies [][]byte
	// res is the answer decoded per point.
	res *result
}

// runDetect reads the file at path ("-": standard input), runs the API's
// operation on it window by window, and prints the answer and draws the plot
// as o asks. Nothing is printed unless every step succeeds.
func runDetect(cmd *cobra.Command, o *detectOptions, path string) error {
	op, ok := adapi.ParseOperation(o.mode)
	if !ok {
		return fmt.Errorf("--mode %q: want entire, last or changepoint", o.mode)
	}
	version, ok := adapi.ParseVersion(o.apiVersion)
	if !ok {
		return fmt.Errorf("--api-version %q: want v1.0, v1.1-preview.1 or v1.1", o.apiVersion)
	}
	switch o.output {
	case "table", "csv", "json":
	default:
		return fmt.Errorf("--output %q: want table, csv or json", o.output)
	}

	name := path
	var in io.Reader
	if path == "-" {
		name, in = "stdin", cmd.InOrStdin()
	} else {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	s, err := readSeries(in)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if s.Times == nil && !strings.EqualFold(o.granularity, "none") {
		return fmt.Errorf("%s: --granularity %s needs timestamps, but the file has no timestamp column", name, o.granularity)
	}

	d := &detection{op: op, version: version, s: s}
	n := len(s.Values)
	switch {
	case op == adapi.Last && n > adapi.MaxPoints:
		d.first = n - adapi.MaxPoints
		d.windows = [][2]int{{d.first, n}}
		fmt.Fprintf(cmd.ErrOrStderr(), "vigil: %s has %d points; last-point detection looks at the last %d\n", name, n, adapi.MaxPoints)
	case n > adapi.MaxPoints:
		k := (n + adapi.MaxPoints - 1) / adapi.MaxPoints
		from := 0
		for i := range k {
			size := n / k
			if i < n%k {
				size++
			}
			d.windows = append(d.windows, [2]int{from, from + size})
			from += size
		}
	default:
		d.windows = [][2]int{{0, n}}
	}
	for w, win := range d.windows {
		if err := cmd.Context().Err(); err != nil {
			return err
		}
		body, err := requestBody(cmd, o, s, win[0], win[1])
		if err != nil {
			return err
		}
		resp, err := detectBody(version, op, body)
		if err != nil {
			return d.explain(err, w)
		}
		d.bodies = append(d.bodies, resp)
	}
	if d.res, err = d.decode(); err != nil {
		return err
	}

	var out bytes.Buffer
	switch o.output {
	case "json":
		b, err := d.json()
		if err != nil {
			return err
		}
		out.Write(b)
		out.WriteByte('\n')
	default:
		num := formatShort
		if o.output == "csv" {
			num = formatNumber
		}
		rows := d.rows(num)
		if o.anomaliesOnly {
			rows.keepMarked()
		}
		var err error
		if o.output == "csv" {
			err = rows.writeCSV(&out)
		} else {
			err = rows.writeTable(&out, d.summary())
		}
		if err != nil {
			return err
		}
	}
	if o.plotPath != "" {
		if err := d.plot(o, name); err != nil {
			return err
		}
	}
	_, err = cmd.OutOrStdout().Write(out.Bytes())
	return err
}

// wireBody is the API's request body.
type wireBody struct {
	Series            []wirePoint `json:"series"`
	Granularity       string      `json:"granularity"`
	CustomInterval    *int        `json:"customInterval,omitempty"`
	Period            *int        `json:"period,omitempty"`
	Sensitivity       *float64    `json:"sensitivity,omitempty"`
	MaxAnomalyRatio   *float64    `json:"maxAnomalyRatio,omitempty"`
	ImputeMode        string      `json:"imputeMode,omitempty"`
	ImputeFixedValue  *float64    `json:"imputeFixedValue,omitempty"`
	StableTrendWindow *int        `json:"stableTrendWindow,omitempty"`
	Threshold         *float64    `json:"threshold,omitempty"`
}

type wirePoint struct {
	Timestamp string  `json:"timestamp,omitempty"`
	Value     float64 `json:"value"`
}

// requestBody builds the API request for the points [from, to) of s. Only
// flags given on the command line are sent, so the API applies its own
// defaults exactly as it does for HTTP clients.
func requestBody(cmd *cobra.Command, o *detectOptions, s *series, from, to int) ([]byte, error) {
	b := wireBody{Granularity: o.granularity, Series: make([]wirePoint, 0, to-from)}
	for i := from; i < to; i++ {
		p := wirePoint{Value: s.Values[i]}
		if s.Times != nil {
			p.Timestamp = s.Times[i].Format(time.RFC3339Nano)
		}
		b.Series = append(b.Series, p)
	}
	set := cmd.Flags().Changed
	if set("custom-interval") {
		b.CustomInterval = &o.customInterval
	}
	if set("period") {
		b.Period = &o.period
	}
	if set("sensitivity") {
		b.Sensitivity = &o.sensitivity
	}
	if set("max-anomaly-ratio") {
		b.MaxAnomalyRatio = &o.maxAnomalyRatio
	}
	if set("impute-mode") {
		b.ImputeMode = o.imputeMode
		if b.ImputeMode == "" {
			b.ImputeMode = " " // present but invalid: let the API say so
		}
	}
	if set("impute-fixed-value") {
		b.ImputeFixedValue = &o.imputeFixedValue
	}
	if set("stable-trend-window") {
		b.StableTrendWindow = &o.stableTrendWindow
	}
	if set("threshold") {
		b.Threshold = &o.threshold
	}
	body, err := json.Marshal(&b)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	return body, nil
}

// detectBody runs one API request in-process. A panic in the detector is
// reported as an internal error rather than crashing the command.
func detectBody(v adapi.Version, op adapi.Operation, body []byte) (resp []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &vigil.Error{Code: vigil.EInternal, Message: "the detector failed", Err: fmt.Errorf("panic: %v", r)}
		}
	}()
	req, err := adapi.Decode(v, op, body)
	if err != nil {
		return nil, err
	}
	return req.Detect()
}

var atIndex = regexp.MustCompile(`at index (\d+)`)

// explain turns an error of window w into a message for the command line:
// the API's own code and message, with the file line of the point it names,
// or the internal cause of a detector failure.
func (d *detection) explain(err error, w int) error {
	win := d.windows[w]
	var prefix string
	if len(d.windows) > 1 {
		prefix = fmt.Sprintf("window %d of %d (lines %d-%d): ", w+1, len(d.windows), d.s.Lines[win[0]], d.s.Lines[win[1]-1])
	}
	var e *vigil.Error
	if !errors.As(err, &e) {
		return fmt.Errorf("%sinternal error: %w", prefix, err)
	}
	if e.Code == vigil.EInternal {
		if e.Err != nil {
			return fmt.Errorf("%sinternal error: %s: %w", prefix, e.Message, e.Err)
		}
		return fmt.Errorf("%sinternal error: %s", prefix, e.Message)
	}
	msg := e.Error()
	if m := atIndex.FindStringSubmatch(e.Message); m != nil {
		if i, err := strconv.Atoi(m[1]); err == nil && win[0]+i < win[1] {
			msg += fmt.Sprintf(" (line %d)", d.s.Lines[win[0]+i])
		}
	}
	return errors.New(prefix + msg)
}

// json returns the API's response, or the windows' responses joined: every
// array concatenated, the other fields from the first window. The fields
// keep the API's (alphabetical) order and number format.
func (d *detection) json() ([]byte, error) {
	if len(d.bodies) == 1 {
		return d.bodies[0], nil
	}
	var merged map[string]json.RawMessage
	for _, body := range d.bodies {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, fmt.Errorf("decode response: %w", err)
		}
		if merged == nil {
			merged = m
			continue
		}
		for k, v := range m {
			prev := merged[k]
			if len(prev) >= 2 && prev[0] == '[' && len(v) >= 2 && v[0] == '[' {
				joined := append(slices.Clip(prev[:len(prev)-1]), ',')
				merged[k] = append(joined, v[1:]...)
			}
		}
	}
	keys := make([]string, 0, len(merged))
	for k := range merged {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		b.Write(merged[k])
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// entireResponse, lastResponse and changePointResponse are the API's
// answers; Severity is nil in v1.0, which has none.
type entireResponse struct {
	Period            int       `json:"period"`
	ExpectedValues    []float64 `json:"expectedValues"`
	UpperMargins      []float64 `json:"upperMargins"`
	LowerMargins      []float64 `json:"lowerMargins"`
	Severity          []float64 `json:"severity"`
	IsAnomaly         []bool    `json:"isAnomaly"`
	IsPositiveAnomaly []bool    `json:"isPositiveAnomaly"`
	IsNegativeAnomaly []bool    `json:"isNegativeAnomaly"`
}

type lastResponse struct {
	Period            int      `json:"period"`
	SuggestedWindow   int      `json:"suggestedWindow"`
	ExpectedValue     float64  `json:"expectedValue"`
	UpperMargin       float64  `json:"upperMargin"`
	LowerMargin       float64  `json:"lowerMargin"`
	Severity          *float64 `json:"severity"`
	IsAnomaly         bool     `json:"isAnomaly"`
	IsPositiveAnomaly bool     `json:"isPositiveAnomaly"`
	IsNegativeAnomaly bool     `json:"isNegativeAnomaly"`
}

type changePointResponse struct {
	Period           int       `json:"period"`
	IsChangePoint    []bool    `json:"isChangePoint"`
	ConfidenceScores []float64 `json:"confidenceScores"`
}

// result is the answer decoded per point of the series, windows joined.
// Slices not filled by the operation are nil.
type result struct {
	periods []int // one per window
	// entire, and the last point in last mode (NaN elsewhere)
	expected, lower, upper, severity []float64
	positive, negative               []bool
	// last
	suggestedWindow int
	// changepoint
	change     []bool
	confidence []float64
}

// decode decodes the windows' answers into per-point slices over the whole
// series.
func (d *detection) decode() (*result, error) {
	n := len(d.s.Values)
	r := &result{}
	nan := func() []float64 {
		f := make([]float64, n)
		for i := range f {
			f[i] = math.NaN()
		}
		return f
	}
	bad := func(err error) error { return fmt.Errorf("internal error: decode the detector's answer: %w", err) }
	switch d.op {
	case adapi.Last:
		var a lastResponse
		if err := json.Unmarshal(d.bodies[0], &a); err != nil {
			return nil, bad(err)
		}
		r.periods, r.suggestedWindow = []int{a.Period}, a.SuggestedWindow
		r.expected, r.lower, r.upper = nan(), nan(), nan()
		r.positive, r.negative = make([]bool, n), make([]bool, n)
		r.expected[n-1], r.lower[n-1], r.upper[n-1] = a.ExpectedValue, a.ExpectedValue-a.LowerMargin, a.ExpectedValue+a.UpperMargin
		r.positive[n-1], r.negative[n-1] = a.IsAnomaly && a.IsPositiveAnomaly, a.IsAnomaly && a.IsNegativeAnomaly
		if a.Severity != nil {
			r.severity = nan()
			r.severity[n-1] = *a.Severity
		}
	case adapi.ChangePoint:
		for w, body := range d.bodies {
			var a changePointResponse
			if err := json.Unmarshal(body, &a); err != nil {
				return nil, bad(err)
			}
			if want := d.windows[w][1] - d.windows[w][0]; len(a.IsChangePoint) != want || len(a.ConfidenceScores) != want {
				return nil, bad(fmt.Errorf("window %d: %d answers for %d points", w+1, len(a.IsChangePoint), want))
			}
			r.periods = append(r.periods, a.Period)
			r.change = append(r.change, a.IsChangePoint...)
			r.confidence = append(r.confidence, a.ConfidenceScores...)
		}
	default:
		for w, body := range d.bodies {
			var a entireResponse
			if err := json.Unmarshal(body, &a); err != nil {
				return nil, bad(err)
			}
			want := d.windows[w][1] - d.windows[w][0]
			for _, l := range []int{len(a.ExpectedValues), len(a.UpperMargins), len(a.LowerMargins), len(a.IsAnomaly), len(a.IsPositiveAnomaly), len(a.IsNegativeAnomaly)} {
				if l != want {
					return nil, bad(fmt.Errorf("window %d: %d answers for %d points", w+1, l, want))
				}
			}
			r.periods = append(r.periods, a.Period)
			for i := range want {
				e := a.ExpectedValues[i]
				r.expected = append(r.expected, e)
				r.lower = append(r.lower, e-a.LowerMargins[i])
				r.upper = append(r.upper, e+a.UpperMargins[i])
				r.positive = append(r.positive, a.IsAnomaly[i] && a.IsPositiveAnomaly[i])
				r.negative = append(r.negative, a.IsAnomaly[i] && a.IsNegativeAnomaly[i])
			}
			if a.Severity != nil {
				r.severity = append(r.severity, a.Severity...)
			}
		}
		if r.severity != nil && len(r.severity) != n {
			return nil, bad(fmt.Errorf("%d severities for %d points", len(r.severity), n))
		}
	}
	return r, nil
}

// summary describes the result in one line.
func (d *detection) summary() string {
	r := d.res
	n := len(d.s.Values)
	var b strings.Builder
	switch d.op {
	case adapi.Last:
		state := "normal"
		switch {
		case r.positive[n-1]:
			state = "an anomaly (above the band)"
		case r.negative[n-1]:
			state = "an anomaly (below the band)"
		}
		fmt.Fprintf(&b, "last point (index %d) of %d: %s; period %d, suggested window %d", n-1, n-d.first, state, r.periods[0], r.suggestedWindow)
		return b.String()
	case adapi.ChangePoint:
		fmt.Fprintf(&b, "%d points, %d change points", n, countTrue(r.change))
	default:
		pos, neg := countTrue(r.positive), countTrue(r.negative)
		fmt.Fprintf(&b, "%d points, %d anomalies (%d above, %d below the band)", n, pos+neg, pos, neg)
	}
	if len(d.windows) == 1 {
		fmt.Fprintf(&b, ", period %d", r.periods[0])
	} else {
		ps := make([]string, len(r.periods))
		for i, p := range r.periods {
			ps[i] = strconv.Itoa(p)
		}
		fmt.Fprintf(&b, ", in %d windows of at most %d points (periods %s)", len(d.windows), adapi.MaxPoints, strings.Join(ps, ", "))
	}
	return b.String()
}

func countTrue(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// rowSet is the table or CSV output: a header and string cells.
type rowSet struct {
	header []string
	cells  [][]string
	marked []bool // the row is an anomaly or a change point
}

// rows lays the result out one row per point (one row in last mode),
// formatting numbers with num.
func (d *detection) rows(num func(float64) string) *rowSet {
	r, s := d.res, d.s
	rs := &rowSet{header: []string{"index"}}
	if s.Stamps != nil {
		rs.header = append(rs.header, "timestamp")
	}
	rs.header = append(rs.header, "value")
	if d.op == adapi.ChangePoint {
		rs.header = append(rs.header, "changepoint", "confidence")
	} else {
		rs.header = append(rs.header, "expected", "lower", "upper", "anomaly")
		if r.severity != nil {
			rs.header = append(rs.header, "severity")
		}
	}
	from := 0
	if d.op == adapi.Last {
		from = len(s.Values) - 1
	}
	for i := from; i < len(s.Values); i++ {
		row := []string{strconv.Itoa(i)}
		if s.Stamps != nil {
			row = append(row, s.Stamps[i])
		}
		row = append(row, num(s.Values[i]))
		var marked bool
		if d.op == adapi.ChangePoint {
			mark := ""
			if r.change[i] {
				mark, marked = "yes", true
			}
			row = append(row, mark, num(r.confidence[i]))
		} else {
			mark := ""
			switch {
			case r.positive[i]:
				mark, marked = "+", true
			case r.negative[i]:
				mark, marked = "-", true
			}
			row = append(row, num(r.expected[i]), num(r.lower[i]), num(r.upper[i]), mark)
			if r.severity != nil {
				row = append(row, num(r.severity[i]))
			}
		}
		rs.cells = append(rs.cells, row)
		rs.marked = append(rs.marked, marked)
	}
	return rs
}

// keepMarked drops the rows that are neither anomalies nor change points.
func (rs *rowSet) keepMarked() {
	var cells [][]string
	for i, row := range rs.cells {
		if rs.marked[i] {
			cells = append(cells, row)
		}
	}
	rs.cells = cells
	rs.marked = slices.Repeat([]bool{true}, len(cells))
}

func (rs *rowSet) writeCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(rs.header); err != nil {
		return err
	}
	if err := cw.WriteAll(rs.cells); err != nil {
		return err
	}
	return cw.Error()
}

func (rs *rowSet) writeTable(w io.Writer, summary string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	line := func(cells []string) {
		// A trailing tab ends the last cell, so that it is aligned too.
		fmt.Fprint(tw, strings.Join(cells, "\t")+"\t\n")
	}
	line(rs.header)
	for _, row := range rs.cells {
		line(row)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, summary)
	return err
}

// formatShort prints a value for people: six significant digits, without
// an exponent from 1e-4 up to 1e15.
func formatShort(v float64) string {
	if a := math.Abs(v); a >= 1e6 && a < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

// formatNumber prints a value in the shortest form that reads back to it,
// in plain decimals unless it is very large or very small.
func formatNumber(v float64) string {
	if a := math.Abs(v); a != 0 && (a < 1e-6 || a >= 1e21) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// plot draws the result into o.plotPath.
func (d *detection) plot(o *detectOptions, name string) error {
	r, s := d.res, d.s
	c := &plot.Chart{
		Title:  filepath.Base(name),
		Times:  s.Times,
		Values: s.Values,
	}
	opts := []string{d.op.String() + " detection", "API " + d.version.String()}
	if d.op != adapi.ChangePoint {
		opts = append(opts, "sensitivity "+formatNumber(o.sensitivity))
	}
	opts = append(opts, d.summary())
	c.Subtitle = strings.Join(opts, " · ")
	if d.op == adapi.ChangePoint {
		c.ChangePoints = r.change
	} else {
		c.Expected, c.Lower, c.Upper = r.expected, r.lower, r.upper
		c.Positive, c.Negative = r.positive, r.negative
	}
	var b bytes.Buffer
	if err := plot.Render(&b, c); err != nil {
		return err
	}
	if err := os.WriteFile(o.plotPath, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	return nil
}

// maxSeriesRows bounds the rows readSeries accepts, so that a runaway input
// fails with a message instead of exhausting memory.
const maxSeriesRows = 10_000_000

// series is a time series read from a CSV file.
type series struct {
	// Values holds one finite value per data row, in file order.
	Values []float64
	// Stamps holds each row's timestamp as written in the file, or is nil
	// when the file has no timestamp column.
	Stamps []string
	// Times holds the parsed timestamps (UTC), nil with Stamps.
	Times []time.Time
	// Lines holds each row's line number in the file, for messages.
	Lines []int
}

// readSeries reads a CSV file with a header row. The value column is the
// one named "value" (case-insensitive); failing that, the only column of a
// one-column file, or the column that is not "timestamp" in a two-column
// file. The optional "timestamp" column holds ISO 8601 date-times, NAB's
// "2014-07-01 00:00:00" included. Extra columns are ignored; blank lines are
// skipped. Errors name the offending line.
func readSeries(r io.Reader) (*series, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("the file is empty; want a header row such as timestamp,value")
	}
	if err != nil {
		return nil, csvError(err)
	}
	ti, vi, err := headerColumns(header)
	if err != nil {
		return nil, err
	}
	s := &series{}
	if ti >= 0 {
		s.Stamps, s.Times = []string{}, []time.Time{}
	}
	need := max(ti, vi) + 1
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a line of blanks
		}
		if len(s.Values) == maxSeriesRows {
			return nil, fmt.Errorf("line %d: the file has more than %d rows", line, maxSeriesRows)
		}
		if len(rec) < need {
			return nil, fmt.Errorf("line %d: want at least %d fields, got %d", line, need, len(rec))
		}
		field := strings.TrimSpace(rec[vi])
		v, err := strconv.ParseFloat(field, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("line %d: value %q is not a finite number", line, clipField(field))
		}
		if ti >= 0 {
			stamp := strings.TrimSpace(rec[ti])
			t, ok := parseTime(stamp)
			if !ok {
				return nil, fmt.Errorf("line %d: timestamp %q is not an ISO 8601 date-time such as 2014-07-01T00:00:00Z or 2014-07-01 00:00:00", line, clipField(stamp))
			}
			s.Stamps = append(s.Stamps, stamp)
			s.Times = append(s.Times, t)
		}
		s.Values = append(s.Values, v)
		s.Lines = append(s.Lines, line)
	}
	if len(s.Values) == 0 {
		return nil, errors.New("the file has a header but no data rows")
	}
	return s, nil
}

// headerColumns returns the indexes of the timestamp column (-1 when there
// is none) and of the value column.
func headerColumns(header []string) (ti, vi int, err error) {
	ti, vi = -1, -1
	for i, h := range header {
		h = strings.TrimSpace(h)
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff")
		}
		switch {
		case strings.EqualFold(h, "timestamp"):
			if ti < 0 {
				ti = i
			}
		case strings.EqualFold(h, "value"):
			if vi < 0 {
				vi = i
			}
		}
	}
	switch {
	case vi >= 0:
	case len(header) == 1 && ti < 0:
		vi = 0
	case len(header) == 2 && ti >= 0:
		vi = 1 - ti
	default:
		return 0, 0, fmt.Errorf("line 1: the header %q names no value column; want timestamp,value or value", clipField(strings.Join(header, ",")))
	}
	return ti, vi, nil
}

// csvError rewords encoding/csv's errors ("record on line 3: ...") into the
// "line N: ..." form of readSeries' other errors.
func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("line %d: %v", pe.Line, pe.Err)
	}
	return fmt.Errorf("read: %w", err)
}

// timeLayouts are the ISO 8601 forms the API accepts, NAB's among them.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04",
	"2006-01-02",
}

// parseTime parses an ISO 8601 date-time, without a zone meaning UTC.
func parseTime(s string) (time.Time, bool) {
	if len(s) < 10 || len(s) > 40 {
		return time.Time{}, false
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// clipField shortens a field of the input before a message quotes it.
func clipField(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
