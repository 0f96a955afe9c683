// Package tcpd loads the Turing Change Point Dataset (TCPD) and scores
// change-point predictions by the rules of its benchmark, TCPDBench
// (G.J.J. van den Burg and C.K.I. Williams, "An Evaluation of Change Point
// Detection Algorithms", arXiv:2003.06222, v3). The scorer is written from
// the paper's definitions; no TCPDBench code is included.
//
// Two metrics are implemented:
//
//   - [F1]: precision and recall of predicted change points against the
//     points of several annotators, a prediction matching a true point within
//     a margin (5 in the paper). Index 0 is added to every annotator's set and
//     to the predictions, so the score stays defined when nobody marks a
//     change; precision is measured against the union of the annotators'
//     points, recall is the mean over annotators.
//   - [Cover]: the covering metric, the mean over annotators of the
//     Jaccard-weighted overlap between the annotator's segments and the
//     predicted segments.
//
// Predictions are cleaned first, as the benchmark does ([Clean]): duplicates
// are dropped, and so is every index outside 1..n-2.
//
// Missing values. Series files mark missing observations with JSON null. The
// loader keeps them as NaN, as the benchmark's loader does (numpy turns None
// into NaN); the paper leaves the one series that has them (uk_coal_employ)
// out of its averages. [FillMissing] interpolates them linearly for
// detectors, such as Vigil's, that need a dense series.
//
// Multi-dimensional series. The loader reads every dimension
// ([Series.Dims]). Vigil is univariate, so [Series.Univariate] returns an
// error for a series with more than one dimension and the benchmark scores
// univariate series only, as the paper's univariate table does.
package tcpd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
)

// DefaultMargin is the F1 margin used by the paper: a prediction within 5
// points of a true change point counts as a hit.
const DefaultMargin = 5

// Series is one TCPD series.
type Series struct {
	Name     string
	LongName string
	// Dims holds one slice of NObs values per dimension; missing values are
	// NaN.
	Dims [][]float64
}

// Len returns the number of observations.
func (s *Series) Len() int {
	if len(s.Dims) == 0 {
		return 0
	}
	return len(s.Dims[0])
}

// Univariate returns the values of a one-dimensional series, or an error
// when the series has more than one dimension. Missing values are NaN.
func (s *Series) Univariate() ([]float64, error) {
	if len(s.Dims) != 1 {
		return nil, fmt.Errorf("tcpd: series %q has %d dimensions, want 1", s.Name, len(s.Dims))
	}
	return s.Dims[0], nil
}

// Missing returns the number of missing (NaN) values over all dimensions.
func (s *Series) Missing() int {
	n := 0
	for _, d := range s.Dims {
		for _, v := range d {
			if math.IsNaN(v) {
				n++
			}
		}
	}
	return n
}

// jsonSeries is the on-disk layout of a series file.
type jsonSeries struct {
	Name     string `json:"name"`
	LongName string `json:"longname"`
	NObs     *int   `json:"n_obs"`
	NDim     *int   `json:"n_dim"`
	Series   []struct {
		Label string        `json:"label"`
		Raw   []json.Number `json:"raw"`
	} `json:"series"`
}

// maxObs bounds the series length the parser accepts, so a hostile n_obs
// cannot make it allocate without limit.
const maxObs = 1 << 22

// ParseSeries parses a series in TCPD's JSON format. Every dimension must
// have exactly n_obs values; each value is a JSON number or null (missing,
// stored as NaN). Non-finite numbers are rejected.
func ParseSeries(data []byte) (*Series, error) {
	var js jsonSeries
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&js); err != nil {
		return nil, fmt.Errorf("tcpd: parse series: %w", err)
	}
	if js.NObs == nil || js.NDim == nil {
		return nil, errors.New("tcpd: parse series: n_obs and n_dim are required")
	}
	nObs, nDim := *js.NObs, *js.NDim
	if nObs < 1 || nObs > maxObs {
		return nil, fmt.Errorf("tcpd: parse series: n_obs %d out of range", nObs)
	}
	if nDim < 1 || nDim != len(js.Series) {
		return nil, fmt.Errorf("tcpd: parse series: n_dim %d but %d series", nDim, len(js.Series))
	}
	s := &Series{Name: js.Name, LongName: js.LongName, Dims: make([][]float64, nDim)}
	for j, dim := range js.Series {
		if len(dim.Raw) != nObs {
			return nil, fmt.Errorf("tcpd: parse series: dimension %d has %d values, n_obs is %d", j, len(dim.Raw), nObs)
		}
		vals := make([]float64, nObs)
		for i, num := range dim.Raw {
			if num == "" { // JSON null
				vals[i] = math.NaN()
				continue
			}
			v, err := strconv.ParseFloat(string(num), 64)
			if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
				return nil, fmt.Errorf("tcpd: parse series: dimension %d value %d: bad number %q", j, i, string(num))
			}
			vals[i] = v
		}
		s.Dims[j] = vals
	}
	return s, nil
}

// LoadSeries reads and parses a series file.
func LoadSeries(path string) (*Series, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tcpd: %w", err)
	}
	return ParseSeries(data)
}

// FillMissing returns a copy of values with NaNs replaced by linear
// interpolation between the nearest known neighbours; leading and trailing
// gaps take the nearest known value. A series with no known value becomes all
// zeros.
func FillMissing(values []float64) []float64 {
	out := slices.Clone(values)
	prev := -1
	for i := 0; i <= len(out); i++ {
		if i < len(out) && math.IsNaN(out[i]) {
			continue
		}
		// Fill the gap (prev, i).
		for k := prev + 1; k < i; k++ {
			switch {
			case prev < 0 && i == len(out):
				out[k] = 0
			case prev < 0:
				out[k] = out[i]
			case i == len(out):
				out[k] = out[prev]
			default:
				w := float64(k-prev) / float64(i-prev)
				out[k] = out[prev] + w*(out[i]-out[prev])
			}
		}
		prev = i
	}
	return out
}

// Annotations maps a series name to its annotators' change points: annotator
// id to the 0-based indices where that annotator saw a new regime begin. An
// empty list means the annotator saw no change.
type Annotations map[string]map[string][]int

// LoadAnnotations reads annotations.json.
func LoadAnnotations(path string) (Annotations, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tcpd: %w", err)
	}
	var a Annotations
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("tcpd: parse annotations: %w", err)
	}
	return a, nil
}

// Annotators returns the annotators' point sets in a fixed order (ascending
// annotator id, numerically when the ids are numbers), the order the
// benchmark's JSON file lists them in.
func (a Annotations) Annotators(series string) [][]int {
	m := a[series]
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		x, errx := strconv.Atoi(ids[i])
		y, erry := strconv.Atoi(ids[j])
		if errx == nil && erry == nil {
			return x < y
		}
		return ids[i] < ids[j]
	})
	out := make([][]int, len(ids))
	for i, id := range ids {
		out[i] = m[id]
	}
	return out
}

// Scores holds published per-series scores: series name to method name to
// score. A method that failed on a series has a nil score.
type Scores map[string]map[string]*float64

// LoadScores reads one of TCPDBench's score files, such as
// reference-scores/default_f1_scores.json.
func LoadScores(path string) (Scores, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tcpd: %w", err)
	}
	var s Scores
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("tcpd: parse scores: %w", err)
	}
	return s, nil
}

// Mean returns the mean score of method over the named series, a failed run
// (a nil score) counting as 0 as in the paper's "zero_no_coal" aggregation.
// ok is false when a series or the method is missing from the file.
func (s Scores) Mean(method string, series []string) (mean float64, ok bool) {
	if len(series) == 0 {
		return 0, false
	}
	sum := 0.0
	for _, name := range series {
		m, found := s[name]
		if !found {
			return 0, false
		}
		v, found := m[method]
		if !found {
			return 0, false
		}
		if v != nil {
			sum += *v
		}
	}
	return sum / float64(len(series)), true
}
