package nab

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"strconv"
	"strings"
	"time"
)

// timeLayout is NAB's timestamp format. Fractional seconds, as in the label
// files ("2014-11-25 12:00:00.000000"), are accepted when parsing.
const timeLayout = "2006-01-02 15:04:05"

// ParseTime parses a NAB timestamp as UTC.
func ParseTime(s string) (time.Time, error) {
	return time.ParseInLocation(timeLayout, strings.TrimSpace(s), time.UTC)
}

// FormatTime formats t the way NAB's data and result files do.
func FormatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// Column names used by ReadCSV.
const (
	ValueColumn = "value"         // data files
	ScoreColumn = "anomaly_score" // result files
)

// ReadCSV reads a NAB CSV file: a header row naming a "timestamp" column and
// the column col, then one row per timestamp. Values must be finite numbers.
// Fields are plain (NAB files have no quoting); extra columns are ignored.
func ReadCSV(r io.Reader, col string) ([]time.Time, []float64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return nil, nil, err
		}
		return nil, nil, errors.New("empty file")
	}
	header := strings.Split(strings.TrimPrefix(strings.TrimRight(sc.Text(), "\r"), "\ufeff"), ",")
	ti, vi := -1, -1
	for i, h := range header {
		switch strings.TrimSpace(h) {
		case "timestamp":
			ti = i
		case col:
			vi = i
		}
	}
	if ti < 0 || vi < 0 {
		return nil, nil, fmt.Errorf("header %q lacks timestamp or %s", sc.Text(), col)
	}
	need := max(ti, vi) + 1
	var ts []time.Time
	var vs []float64
	line := 1
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if text == "" {
			continue
		}
		f := strings.Split(text, ",")
		if len(f) < need {
			return nil, nil, fmt.Errorf("line %d: want at least %d fields, got %d", line, need, len(f))
		}
		t, err := ParseTime(f[ti])
		if err != nil {
			return nil, nil, fmt.Errorf("line %d: %w", line, err)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(f[vi]), 64)
		if err != nil {
			return nil, nil, fmt.Errorf("line %d: %w", line, err)
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, nil, fmt.Errorf("line %d: value %v is not finite", line, v)
		}
		ts = append(ts, t)
		vs = append(vs, v)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, err
	}
	return ts, vs, nil
}

// ReadCSVFile is [ReadCSV] on a file.
func ReadCSVFile(name, col string) ([]time.Time, []float64, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	ts, vs, err := ReadCSV(f, col)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return ts, vs, nil
}

// WriteResults writes a NAB result file: header "timestamp,anomaly_score"
// and one row per timestamp.
func WriteResults(w io.Writer, ts []time.Time, scores []float64) error {
	if len(ts) != len(scores) {
		return fmt.Errorf("%d timestamps but %d scores", len(ts), len(scores))
	}
	bw := bufio.NewWriter(w)
	bw.WriteString("timestamp,anomaly_score\n")
	buf := make([]byte, 0, 64)
	for i, t := range ts {
		buf = t.UTC().AppendFormat(buf[:0], timeLayout)
		buf = append(buf, ',')
		buf = strconv.AppendFloat(buf, scores[i], 'g', -1, 64)
		buf = append(buf, '\n')
		bw.Write(buf)
	}
	return bw.Flush()
}

// ReadWindows reads combined_windows.json: a map from "<category>/<name>.csv"
// to a list of [start, end] timestamp pairs.
func ReadWindows(r io.Reader) (map[string][]Window, error) {
	var raw map[string][][]string
	if err := json.NewDecoder(r).Decode(&raw); err != nil {
		return nil, fmt.Errorf("windows: %w", err)
	}
	out := make(map[string][]Window, len(raw))
	for name, ws := range raw {
		list := make([]Window, 0, len(ws))
		for _, w := range ws {
			if len(w) != 2 {
				return nil, fmt.Errorf("windows: %s: want [start, end], got %d items", name, len(w))
			}
			a, err := ParseTime(w[0])
			if err != nil {
				return nil, fmt.Errorf("windows: %s: %w", name, err)
			}
			b, err := ParseTime(w[1])
			if err != nil {
				return nil, fmt.Errorf("windows: %s: %w", name, err)
			}
			list = append(list, Window{Start: a, End: b})
		}
		out[name] = list
	}
	return out, nil
}

// ReadWindowsFile is [ReadWindows] on a file.
func ReadWindowsFile(name string) (map[string][]Window, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadWindows(f)
}

// Profile names in NAB's profiles.json, in NAB's reporting order.
var ProfileNames = []string{"standard", "reward_low_FP_rate", "reward_low_FN_rate"}

// ReadProfilesFile reads NAB's profiles.json: profile name → cost matrix.
func ReadProfilesFile(name string) (map[string]CostMatrix, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var raw map[string]struct {
		CostMatrix CostMatrix
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	out := make(map[string]CostMatrix, len(raw))
	for k, v := range raw {
		out[k] = v.CostMatrix
	}
	return out, nil
}

// Threshold is one entry of NAB's thresholds.json.
type Threshold struct {
	Score     float64 `json:"score"`
	Threshold float64 `json:"threshold"`
}

// ReadThresholdsFile reads NAB's thresholds.json: detector → profile →
// stored threshold and raw score.
func ReadThresholdsFile(name string) (map[string]map[string]Threshold, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var out map[string]map[string]Threshold
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// Results is one detector's output for one data file.
type Results struct {
	Timestamps []time.Time
	Scores     []float64
}

// ReadResultsTGZ reads a gzipped tar of NAB result files laid out as
// "<detector>/<category>/<detector>_<name>.csv" and returns them keyed by
// "<category>/<name>.csv". Other members (such as per-profile summaries)
// are skipped.
func ReadResultsTGZ(r io.Reader) (detector string, results map[string]Results, err error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return "", nil, err
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	results = make(map[string]Results)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", nil, err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		parts := strings.Split(path.Clean(h.Name), "/")
		if len(parts) != 3 || !strings.HasSuffix(parts[2], ".csv") {
			continue
		}
		det, cat, base := parts[0], parts[1], parts[2]
		name, ok := strings.CutPrefix(base, det+"_")
		if !ok {
			continue
		}
		if detector != "" && det != detector {
			return "", nil, fmt.Errorf("archive holds detectors %s and %s", detector, det)
		}
		detector = det
		ts, vs, err := ReadCSV(tr, ScoreColumn)
		if err != nil {
			return "", nil, fmt.Errorf("%s: %w", h.Name, err)
		}
		results[cat+"/"+name] = Results{Timestamps: ts, Scores: vs}
	}
	return detector, results, nil
}
