package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Format names what readSeries recognised in a CSV header.
const (
	formatYahoo   = "yahoo"    // value + is_anomaly (Yahoo S5 A1, A2)
	formatYahooA3 = "yahoo-a3" // value + anomaly (Yahoo S5 A3, A4)
	formatLabel   = "label"    // value + label, one series per file
	formatKPI     = "kpi"      // value + label + KPI ID, one series per ID
	formatNAB     = "nab"      // value and no label column: labels come from combined_labels.json
)

// series is one labelled time series.
type series struct {
	// name is the file path relative to the data directory, followed by
	// "#<id>" for one KPI of a multi-KPI file.
	name string
	// times holds the raw timestamp strings when the file has a timestamp
	// column, else nil. Only NAB labelling uses them.
	times []string
	// values holds the points in file order; a missing value is NaN.
	values []float64
	// labels holds the per-point labels, or nil when the file has no label
	// column (NAB, labelled afterwards by applyNABLabels).
	labels []bool
	// missingLine is the file line of the first missing value (an empty
	// field, NaN, NA or null), 0 when there is none.
	missingLine int
}

// Header names, compared case-insensitively after trimming spaces.
var (
	valueNames = []string{"value"}
	labelNames = []string{"is_anomaly", "anomaly", "label"}
	idNames    = []string{"kpi id", "kpi_id", "kpiid"}
	timeNames  = []string{"timestamp", "timestamps", "time"}
)

// column returns the index of the first header field named by one of names
// (in the order of names), or -1.
func column(header []string, names []string) (int, string) {
	for _, want := range names {
		for i, h := range header {
			if h == want {
				return i, want
			}
		}
	}
	return -1, ""
}

// readSeries reads one CSV file with a header line. name is used in errors
// and series names. It recognises the columns by header name: a value
// column "value"; a label column "is_anomaly", "anomaly" or "label"; a
// "KPI ID" column, which splits the file into one series per ID (in order
// of first appearance, rows kept in file order); and a timestamp column
// "timestamp", "timestamps" or "time". Other columns are ignored. It
// returns the recognised format and the series. Bad input is an error
// naming the file and the line; a missing value is not an error but is
// recorded in series.missingLine.
func readSeries(r io.Reader, name string) (string, []*series, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	rec, err := cr.Read()
	if err == io.EOF {
		return "", nil, fmt.Errorf("%s: empty file, want a header line", name)
	}
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", name, err)
	}
	header := make([]string, len(rec))
	for i, h := range rec {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff")
		}
		header[i] = strings.ToLower(strings.TrimSpace(h))
	}
	vcol, _ := column(header, valueNames)
	if vcol < 0 {
		return "", nil, fmt.Errorf("%s: line 1: no value column in header %q (want a column named value)", name, strings.Join(rec, ","))
	}
	lcol, lname := column(header, labelNames)
	idcol, _ := column(header, idNames)
	tcol, _ := column(header, timeNames)
	format := formatNAB
	switch {
	case lcol >= 0 && idcol >= 0:
		format = formatKPI
	case lname == "is_anomaly":
		format = formatYahoo
	case lname == "anomaly":
		format = formatYahooA3
	case lname == "label":
		format = formatLabel
	}
	need := max(vcol, lcol, idcol, tcol) + 1

	var out []*series
	byID := map[string]*series{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", nil, fmt.Errorf("%s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line with spaces
		}
		if len(rec) < need {
			return "", nil, fmt.Errorf("%s: line %d: %d fields, want at least %d", name, line, len(rec), need)
		}
		s := byID[""]
		if idcol >= 0 {
			id := strings.TrimSpace(rec[idcol])
			s = byID[id]
			if s == nil {
				s = &series{name: name + "#" + id}
				byID[id] = s
				out = append(out, s)
			}
		} else if s == nil {
			s = &series{name: name}
			byID[""] = s
			out = append(out, s)
		}
		v, missing, err := parseValue(rec[vcol])
		if err != nil {
			return "", nil, fmt.Errorf("%s: line %d: value %q: %v", name, line, clip(rec[vcol]), err)
		}
		if missing && s.missingLine == 0 {
			s.missingLine = line
		}
		s.values = append(s.values, v)
		if lcol >= 0 {
			l, err := parseLabel(rec[lcol])
			if err != nil {
				return "", nil, fmt.Errorf("%s: line %d: label %q: %v", name, line, clip(rec[lcol]), err)
			}
			s.labels = append(s.labels, l)
		}
		if tcol >= 0 {
			s.times = append(s.times, strings.TrimSpace(rec[tcol]))
		}
	}
	if len(out) == 0 {
		return "", nil, fmt.Errorf("%s: no data rows after the header", name)
	}
	return format, out, nil
}

// parseValue parses a value field. An empty field, NaN, NA or null is a
// missing value (NaN, missing true); anything else must be a finite number.
func parseValue(s string) (v float64, missing bool, err error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "", "nan", "na", "null":
		return math.NaN(), true, nil
	}
	v, err = strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false, errors.New("not a number")
	}
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, false, errors.New("not a finite number")
	}
	return v, false, nil
}

// parseLabel parses a label field: a number (non-zero is an anomaly) or
// true/false.
func parseLabel(s string) (bool, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) {
		return false, errors.New("not 0/1 (or a number, or true/false)")
	}
	return v != 0, nil
}

// clip shortens a field before it is quoted in an error.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// nabLabels maps a NAB file key ("<category>/<name>.csv") to its labelled
// timestamps, as in labels/combined_labels.json.
type nabLabels map[string][]string

// readNABLabels reads a combined_labels.json file.
func readNABLabels(name string) (nabLabels, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var l nabLabels
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return l, nil
}

// lookup returns the labelled timestamps for the file at rel (a slash path
// relative to the data directory): the entry whose key equals rel or is a
// suffix of it after a slash.
func (l nabLabels) lookup(rel string) ([]string, bool) {
	if ts, ok := l[rel]; ok {
		return ts, true
	}
	for k, ts := range l {
		if strings.HasSuffix(rel, "/"+k) {
			return ts, true
		}
	}
	return nil, false
}

// timeLayouts are the timestamp layouts tried when a NAB label does not
// match a row's timestamp string exactly.
var timeLayouts = []string{
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	time.RFC3339Nano,
}

// parseTime parses s in one of timeLayouts.
func parseTime(s string) (time.Time, bool) {
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// applyNABLabels labels s from NAB label timestamps: the row whose
// timestamp equals a labelled one (as a string, or else as a parsed time)
// becomes a one-point anomaly. A label that matches no row is an error.
func applyNABLabels(s *series, stamps []string) error {
	s.labels = make([]bool, len(s.values))
	if len(stamps) == 0 {
		return nil
	}
	if s.times == nil {
		return fmt.Errorf("%s: no timestamp column, so its NAB labels cannot be placed", s.name)
	}
	row := make(map[string]int, len(s.times))
	byTime := map[time.Time]int{}
	for i, t := range s.times {
		if _, dup := row[t]; !dup {
			row[t] = i
		}
		if pt, ok := parseTime(t); ok {
			if _, dup := byTime[pt]; !dup {
				byTime[pt] = i
			}
		}
	}
	for _, st := range stamps {
		i, ok := row[strings.TrimSpace(st)]
		if !ok {
			if pt, pok := parseTime(strings.TrimSpace(st)); pok {
				i, ok = byTime[pt]
			}
		}
		if !ok {
			return fmt.Errorf("%s: labelled timestamp %q is not in the file", s.name, st)
		}
		s.labels[i] = true
	}
	return nil
}

// loadDir reads every *.csv file under dir, recursively, in lexical order.
// If dir/labels/combined_labels.json exists (a NAB checkout) only dir/data
// is searched, when it exists, and files without a label column are
// labelled from that file; dir/../labels/combined_labels.json is used the
// same way when dir is a NAB data directory itself. A file with neither a
// label column nor a NAB label entry is an error.
func loadDir(dir string) ([]*series, error) {
	root := dir
	var labels nabLabels
	for _, cand := range []string{filepath.Join(dir, "labels", "combined_labels.json"), filepath.Join(dir, "..", "labels", "combined_labels.json")} {
		if _, err := os.Stat(cand); err == nil {
			l, err := readNABLabels(cand)
			if err != nil {
				return nil, err
			}
			labels = l
			if cand == filepath.Join(dir, "labels", "combined_labels.json") {
				if fi, err := os.Stat(filepath.Join(dir, "data")); err == nil && fi.IsDir() {
					root = filepath.Join(dir, "data")
				}
			}
			break
		}
	}
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.EqualFold(filepath.Ext(path), ".csv") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no .csv files under %s", root)
	}
	sort.Strings(files)
	var out []*series
	for _, path := range files {
		rel, err := filepath.Rel(root, path)
		if err != nil {
			rel = path
		}
		rel = filepath.ToSlash(rel)
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		format, ss, err := readSeries(f, rel)
		f.Close()
		if err != nil {
			return nil, err
		}
		if format == formatNAB {
			stamps, ok := labels.lookup(rel)
			if !ok {
				if labels == nil {
					return nil, fmt.Errorf("%s: line 1: no label column (is_anomaly, anomaly or label) and no labels/combined_labels.json next to the data", rel)
				}
				return nil, fmt.Errorf("%s: line 1: no label column and no entry in combined_labels.json", rel)
			}
			for _, s := range ss {
				if err := applyNABLabels(s, stamps); err != nil {
					return nil, err
				}
			}
		}
		out = append(out, ss...)
	}
	return out, nil
}
