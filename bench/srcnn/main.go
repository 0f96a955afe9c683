// Command srcnn scores Vigil's entire-series anomaly detection the way the
// SR-CNN paper (Ren et al., KDD 2019, "Time-Series Anomaly Detection Service
// at Microsoft") evaluates detectors, next to plain Spectral Residual (SR).
// It is a held-out evaluation: point it at Yahoo S5, KPI or any labelled
// CSV data with -data. Run it from anywhere inside the module:
//
//	go run ./bench/srcnn [-data DIR] [-synthetic] [-delay 7] [-sensitivities 99,90,70] [-sr-window 40] [-seed 1] [-j N]
//
// # Datasets
//
// -data DIR reads every *.csv file under DIR, recursively, in lexical
// order. Columns are found by header name (case-insensitive): the value
// column is "value"; the label column is "is_anomaly" (Yahoo S5 A1/A2),
// "anomaly" (Yahoo S5 A3/A4, whose other columns are ignored) or "label";
// a "KPI ID" column (the KPI dataset: timestamp,value,label,KPI ID) splits
// a file into one series per ID, in order of first appearance, with rows
// in file order (the file is not re-sorted by timestamp). Labels are 0/1
// (any non-zero number, or true/false). A file without a label column is
// a NAB file: its labels come from labels/combined_labels.json in DIR or
// in DIR/.. (the anomaly timestamps per file; each labelled timestamp is a
// one-point anomaly, and adjacent labelled points would form one
// segment). When DIR/labels/combined_labels.json exists and DIR/data is a
// directory, only DIR/data is searched, so NAB result files elsewhere in a
// NAB checkout are not read as data.
//
// -synthetic adds a deterministic Yahoo-like corpus generated in process
// (see synthetic; -seed picks the corpus). Without -data and -synthetic
// the tool runs on the NAB copy in the repository, data/nab under the
// module root. -data and -synthetic can be combined; each dataset gets its
// own rows.
//
// A CSV without a value column, a non-numeric or infinite value, a bad
// label or a short row is an error naming the file and line, and stops the
// run. A missing value (an empty field, NaN, NA or null) is not filled:
// its series is skipped with a message on stderr, as is a series of fewer
// than 12 points (the API minimum). Skipped series are counted in the
// header line.
//
// # Vigil
//
// Vigil is called as an API client would call it, through the same code
// the HTTP handler runs for POST /anomalydetector/v1.1/timeseries/entire/detect:
// a JSON body with values only (no timestamps), granularity "none", the
// sensitivity, and maxAnomalyRatio 0.25 (the API default) goes through
// adapi.Decode(adapi.V11, adapi.Entire, body) and (*adapi.Request).Detect,
// in process, and isAnomaly is read back from the JSON response. So every
// default (period detection, v1.1 margins) is the API's. A request holds
// at most 8640 points, the API limit: a longer series is cut into
// consecutive windows of 8640 points, the last window taking the final
// 8640 points, and each point's flag comes from the first window that
// covers it. Vigil is scored at sensitivities 99, 90 and 70 (-sensitivities);
// "vigil best" is the one of them with the highest F1 (an oracle choice
// among three settings; its wall time is the sum of the three runs). A
// window the API rejects is reported on stderr, counted in the header line
// and contributes no flags.
//
// # Plain SR
//
// The baseline is Spectral Residual as the reference library
// (microsoft/anomalydetector, msanomalydetector 1.1) computes it in
// AnomalyOnly mode, implemented here from a behavioural description of it
// and the paper: the series is extended by 5 points predicted from 5
// look-back slopes; FFT; log amplitude floored at 1e-8; trailing average of
// the log amplitude with window 3; spectral residual; inverse FFT; saliency
// map; score = |S − avg| / avg / 10 clipped to [0, 1], with avg the
// trailing average of the saliency map over 40 points (-sr-window; the
// paper uses 21); a point is an anomaly when its score exceeds 0.3 (raw
// ratio 3, the paper's τ). SR sees the same windows as Vigil. "plain SR
// default" uses threshold 0.3; "plain SR oracle" uses the threshold in
// 0.01, 0.02, …, 0.99 with the best F1 on that very dataset: an oracle
// threshold, chosen with the labels, which favours SR.
//
// # Metric
//
// Delay-adjusted point-wise F1, as in the SR-CNN paper: labels are per
// point; consecutive labelled points form an anomaly segment; if any
// flagged point lies within the first delay+1 points of a segment, every
// point of the segment is a true positive, otherwise every point of it is
// a false negative; flagged points outside segments are false positives.
// Precision, recall and F1 are computed over all points pooled across the
// series of a dataset (the paper's total F1). The delay is -delay (default
// 7, the paper's value for KPI; use 3 for Yahoo). Precision is 0 when
// nothing is flagged.
//
// The wall times are for scoring the whole dataset with -j parallel
// workers, not counting reading the data.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/vigilhq/vigil/internal/adapi"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "srcnn:", err)
		os.Exit(1)
	}
}

// config holds the parsed flags.
type config struct {
	delay         int
	sensitivities []float64
	srWindow      int
	jobs          int
}

// dataset is one scored corpus.
type dataset struct {
	name    string
	source  string
	series  []*series // the series scored
	skipped int       // series skipped (missing values, too short)
}

// row is one line of the result table.
type row struct {
	dataset string
	method  string
	c       counts
	wall    time.Duration
}

// run parses args, scores the datasets and writes the table to out and
// notes on skipped input to errOut.
func run(args []string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("srcnn", flag.ContinueOnError)
	fs.SetOutput(errOut)
	dataDir := fs.String("data", "", "directory of labelled CSV files, read recursively (default: the repository's data/nab, unless -synthetic)")
	synth := fs.Bool("synthetic", false, "score the deterministic synthetic Yahoo-like corpus (alone, or with -data)")
	seed := fs.Uint64("seed", 1, "seed of the synthetic corpus")
	delay := fs.Int("delay", 7, "delay k of the metric: a segment counts as detected if flagged within its first k+1 points (7 for KPI, 3 for Yahoo)")
	sens := fs.String("sensitivities", "99,90,70", "comma-separated Vigil sensitivities (0 to 99)")
	srWindow := fs.Int("sr-window", srScoreWindow, "plain SR saliency averaging window z (library default 40, paper 21)")
	jobs := fs.Int("j", runtime.GOMAXPROCS(0), "number of windows scored in parallel")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil // -h: the usage is printed
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	cfg := config{delay: *delay, srWindow: *srWindow, jobs: max(*jobs, 1)}
	if cfg.delay < 0 {
		return errors.New("-delay must not be negative")
	}
	if cfg.srWindow < 1 {
		return errors.New("-sr-window must be positive")
	}
	for f := range strings.SplitSeq(*sens, ",") {
		s, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || s < 0 || s > 99 {
			return fmt.Errorf("-sensitivities: %q is not a number from 0 to 99", f)
		}
		cfg.sensitivities = append(cfg.sensitivities, s)
	}

	var sets []dataset
	if *dataDir != "" || !*synth {
		dir, name := *dataDir, ""
		if dir == "" {
			root, err := moduleRoot()
			if err != nil {
				return err
			}
			dir, name = filepath.Join(root, "data", "nab"), "nab"
		} else {
			name = filepath.Base(filepath.Clean(dir))
		}
		all, err := loadDir(dir)
		if err != nil {
			return err
		}
		sets = append(sets, prepare(name, dir, all, errOut))
	}
	if *synth {
		sets = append(sets, prepare("synthetic", fmt.Sprintf("generated, seed %d", *seed), synthetic(*seed), errOut))
	}

	var rows []row
	for _, ds := range sets {
		r, err := score(ds, cfg, out, errOut)
		if err != nil {
			return err
		}
		rows = append(rows, r...)
	}
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "dataset\tmethod\tprecision\trecall\tF1\tTP\tFP\tFN\twall\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%.3f\t%.3f\t%.3f\t%d\t%d\t%d\t%.2fs\t\n", r.dataset, r.method,
			r.c.precision(), r.c.recall(), r.c.f1(), r.c.TP, r.c.FP, r.c.FN, r.wall.Seconds())
	}
	return tw.Flush()
}

// prepare keeps the series that can be scored and notes the others on
// errOut: a series with a missing value, or with fewer than the API's
// minimum of points.
func prepare(name, source string, all []*series, errOut io.Writer) dataset {
	ds := dataset{name: name, source: source}
	for _, s := range all {
		switch {
		case s.missingLine > 0:
			fmt.Fprintf(errOut, "srcnn: %s: skipped: missing value at line %d\n", s.name, s.missingLine)
		case len(s.values) < adapi.MinPoints:
			fmt.Fprintf(errOut, "srcnn: %s: skipped: %d points, fewer than %d\n", s.name, len(s.values), adapi.MinPoints)
		default:
			ds.series = append(ds.series, s)
			continue
		}
		ds.skipped++
	}
	return ds
}

// job is one window of one series.
type job struct {
	s int // index in dataset.series
	w window
}

// jobsOf lists the windows of every series of ds.
func jobsOf(ds dataset) []job {
	var js []job
	for i, s := range ds.series {
		for _, w := range windows(len(s.values), adapi.MaxPoints) {
			js = append(js, job{i, w})
		}
	}
	return js
}

// parallel calls f(0), …, f(n−1) on at most workers goroutines.
func parallel(workers, n int, f func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(workers, n) {
		wg.Go(func() {
			for i := range next {
				f(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// score runs every method on ds, prints the dataset's header line to out
// and returns its table rows.
func score(ds dataset, cfg config, out, errOut io.Writer) ([]row, error) {
	if len(ds.series) == 0 {
		return nil, fmt.Errorf("%s: no series to score", ds.name)
	}
	js := jobsOf(ds)
	points, labelled, segs := 0, 0, 0
	for _, s := range ds.series {
		points += len(s.values)
		for _, l := range s.labels {
			if l {
				labelled++
			}
		}
		segs += len(segments(s.labels))
	}

	var rows []row
	failed := 0
	var mu sync.Mutex
	best := -1
	var bestWall time.Duration
	for _, sens := range cfg.sensitivities {
		flags := make([][]bool, len(ds.series))
		for i, s := range ds.series {
			flags[i] = make([]bool, len(s.values))
		}
		begin := time.Now()
		parallel(cfg.jobs, len(js), func(k int) {
			j := js[k]
			s := ds.series[j.s]
			f, err := vigilFlags(s.values[j.w.start:j.w.end], sens)
			if err != nil {
				mu.Lock()
				failed++
				fmt.Fprintf(errOut, "srcnn: %s: points %d–%d, sensitivity %g: vigil: %v\n", s.name, j.w.start, j.w.end-1, sens, err)
				mu.Unlock()
				return
			}
			copy(flags[j.s][j.w.own:j.w.end], f[j.w.own-j.w.start:])
		})
		wall := time.Since(begin)
		var c counts
		for i, s := range ds.series {
			c.add(delayCounts(s.labels, flags[i], cfg.delay))
		}
		rows = append(rows, row{ds.name, fmt.Sprintf("vigil s%g", sens), c, wall})
		bestWall += wall
		if best < 0 || c.f1() > rows[best].c.f1() {
			best = len(rows) - 1
		}
	}
	if best >= 0 {
		b := rows[best]
		rows = append(rows, row{ds.name, "vigil best (" + strings.TrimPrefix(b.method, "vigil ") + ")", b.c, bestWall})
	}

	// Plain SR: one scoring pass; the default threshold and the oracle
	// threshold are read from the same scores.
	scores := make([][]float64, len(ds.series))
	for i, s := range ds.series {
		scores[i] = make([]float64, len(s.values))
	}
	begin := time.Now()
	parallel(cfg.jobs, len(js), func(k int) {
		j := js[k]
		sc := srScores(ds.series[j.s].values[j.w.start:j.w.end], cfg.srWindow)
		copy(scores[j.s][j.w.own:j.w.end], sc[j.w.own-j.w.start:])
	})
	srWall := time.Since(begin)
	var c counts
	for i, s := range ds.series {
		c.add(delayCounts(s.labels, srFlags(scores[i], srThreshold), cfg.delay))
	}
	rows = append(rows, row{ds.name, "plain SR default (t=0.3)", c, srWall})

	begin = time.Now()
	sw := sweep{delay: cfg.delay}
	for i, s := range ds.series {
		sw.add(s.labels, scores[i])
	}
	bestT, bestC := 0.0, counts{}
	for k := 1; k <= 99; k++ {
		t := float64(k) / 100
		if c := sw.counts(t); k == 1 || c.f1() > bestC.f1() {
			bestT, bestC = t, c
		}
	}
	rows = append(rows, row{ds.name, fmt.Sprintf("plain SR oracle (t=%.2f)", bestT), bestC, srWall + time.Since(begin)})

	fmt.Fprintf(out, "%s (%s): %d series, %d points scored in %d windows of at most %d points; %d series skipped; %d labelled points in %d segments; delay %d",
		ds.name, ds.source, len(ds.series), points, len(js), adapi.MaxPoints, ds.skipped, labelled, segs, cfg.delay)
	if failed > 0 {
		fmt.Fprintf(out, "; %d Vigil requests failed (no flags)", failed)
	}
	fmt.Fprintln(out)
	return rows, nil
}

// moduleRoot returns the nearest directory at or above the working
// directory that holds go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory; pass -data")
		}
		dir = parent
	}
}
