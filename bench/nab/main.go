// Command nab runs Vigil's streaming anomaly detector over the Numenta
// Anomaly Benchmark and prints its normalized NAB scores.
//
// Every row is scored with only the rows up to and including it, as NAB
// requires. -detector picks the detector: online (anomaly.Online, Vigil's
// streaming detector and the default), or one of its two parts alone,
// stream (anomaly.Stream) or context (anomaly.ContextStream, CAD/HTM-style
// contexts and anomaly likelihood). The threshold is tuned per profile over
// the pooled corpus, as NAB's optimizer does, and the result files can be
// kept in NAB's layout with -results. Run it from anywhere inside the
// module:
//
//	go run ./bench/nab [-detector online|stream|context] [-data DIR] [-results DIR] [-j N] [-batch]
package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vigilhq/vigil/internal/anomaly"
	"github.com/vigilhq/vigil/internal/nab"
)

// detectorName is the detector directory written under -results.
const detectorName = "vigil"

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "nab:", err)
		os.Exit(1)
	}
}

// dataset is one NAB data file.
type dataset struct {
	name   string // "<category>/<name>.csv"
	times  []time.Time
	values []float64
	scores []float64
}

func run(args []string, out io.Writer) error {
	begin := time.Now()
	defer func() { fmt.Fprintf(out, "total wall time %.2fs\n", time.Since(begin).Seconds()) }()
	fs := flag.NewFlagSet("nab", flag.ContinueOnError)
	dataDir := fs.String("data", "", "NAB data directory (default: data/nab under the module root)")
	resultsDir := fs.String("results", "", "write NAB-layout result files under this directory (default: a temporary directory, removed afterwards)")
	jobs := fs.Int("j", runtime.GOMAXPROCS(0), "number of files scored in parallel")
	detector := fs.String("detector", defaultDetector, "streaming detector: online (anomaly.Online), stream (anomaly.Stream) or context (anomaly.ContextStream)")
	batch := fs.Bool("batch", false, "also score entire-series (batch) detection, which sees the future and is not a NAB streaming result")
	if err := fs.Parse(args); err != nil {
		return err
	}
	newDetector, ok := detectors[*detector]
	if !ok {
		return fmt.Errorf("unknown -detector %q (want online, stream or context)", *detector)
	}
	if *dataDir == "" {
		root, err := moduleRoot()
		if err != nil {
			return err
		}
		*dataDir = filepath.Join(root, "data", "nab")
	}
	windows, err := nab.ReadWindowsFile(filepath.Join(*dataDir, "labels", "combined_windows.json"))
	if err != nil {
		return err
	}
	profiles, err := nab.ReadProfilesFile(filepath.Join(*dataDir, "reference", "config", "profiles.json"))
	if err != nil {
		return err
	}
	sets, err := loadData(*dataDir, windows)
	if err != nil {
		return err
	}

	start := time.Now()
	cpu0, cpuOK := cpuTime()
	rows := detectStreaming(sets, max(*jobs, 1), newDetector)
	wall := time.Since(start)
	cpu1, _ := cpuTime()

	fmt.Fprintf(out, "NAB v1.1, %d files, %d rows, data %s\n", len(sets), rows, *dataDir)
	fmt.Fprintf(out, "streaming detector %s (%s, each row scored from the rows up to it):\n", *detector, detectorDoc[*detector])
	if err := report(out, sets, windows, profiles); err != nil {
		return err
	}
	fmt.Fprintf(out, "  detection wall time %.2fs on %d workers, %.0f points/s (ML.NET SR ~27,000 points/s)\n",
		wall.Seconds(), max(*jobs, 1), float64(rows)/wall.Seconds())
	if cpuOK {
		cpu := (cpu1 - cpu0).Seconds()
		fmt.Fprintf(out, "  detection CPU time %.2fs, %.0f points per CPU-second\n", cpu, float64(rows)/cpu)
	}

	dir := *resultsDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "vigil-nab-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	if err := writeResults(dir, sets); err != nil {
		return err
	}
	if *resultsDir != "" {
		fmt.Fprintf(out, "  results written to %s\n", filepath.Join(dir, detectorName))
	}

	if *batch {
		return runBatch(out, sets, windows, profiles, max(*jobs, 1))
	}
	return nil
}

// pusher scores the next value of a series from the values before it.
type pusher func(t time.Time, v float64) float64

// detectors builds a fresh streaming detector per file, by -detector name.
var detectors = map[string]func() pusher{
	"online": func() pusher { return anomaly.NewOnline().PushAt },
	"stream": func() pusher {
		s := anomaly.NewStream(anomaly.StreamOptions{})
		return func(_ time.Time, v float64) float64 { return s.Push(v) }
	},
	"context": func() pusher { return anomaly.NewContextStream().PushAt },
}

// detectorDoc describes each -detector for the report.
var detectorDoc = map[string]string{
	"online":  "anomaly.Online: max of Stream and ContextStream, once per event",
	"stream":  "anomaly.Stream alone",
	"context": "anomaly.ContextStream alone",
}

// defaultDetector is the -detector used by default and by the regression
// test.
const defaultDetector = "online"

// detectStreaming scores every row of every set with a fresh detector per
// file, feeding the rows in order, and returns the number of rows.
func detectStreaming(sets []*dataset, jobs int, newDetector func() pusher) int {
	return parallel(sets, jobs, func(d *dataset) {
		push := newDetector()
		d.scores = make([]float64, len(d.values))
		for i, v := range d.values {
			d.scores[i] = push(d.times[i], v)
		}
	})
}

// profileScore is the outcome of one profile with its tuned threshold.
type profileScore struct {
	profile    string
	normalized float64
	nab.Result
}

// score tunes the threshold of each profile over the pooled corpus, as
// NAB's optimizer does, and returns the normalized scores in NAB's
// profile order.
func score(sets []*dataset, windows map[string][]nab.Window, profiles map[string]nab.CostMatrix) ([]profileScore, error) {
	files := make([]nab.File, len(sets))
	for i, d := range sets {
		files[i] = nab.File{Name: d.name, Timestamps: d.times, Scores: d.scores, Windows: windows[d.name]}
	}
	c, err := nab.NewCorpus(files)
	if err != nil {
		return nil, err
	}
	var out []profileScore
	for _, p := range nab.ProfileNames {
		cost, ok := profiles[p]
		if !ok {
			return nil, fmt.Errorf("profile %s missing from profiles.json", p)
		}
		r := c.Optimize(cost)
		out = append(out, profileScore{profile: p, normalized: c.Normalize(cost, r.Raw), Result: r})
	}
	return out, nil
}

// report prints one line per profile.
func report(out io.Writer, sets []*dataset, windows map[string][]nab.Window, profiles map[string]nab.CostMatrix) error {
	scores, err := score(sets, windows, profiles)
	if err != nil {
		return err
	}
	for _, p := range scores {
		fmt.Fprintf(out, "  %-19s score %6.2f  threshold %.6f  (raw %.3f, windows detected %d of %d, FP rows %d)\n",
			p.profile, p.normalized, p.Threshold, p.Raw, p.TP, p.TP+p.FN, p.FP)
	}
	return nil
}

// batchSensitivities are the sensitivities -batch runs, most sensitive
// first, so a later (more cautious) run overwrites a point's score.
var batchSensitivities = []float64{99, 95, 90, 80, 70, 50, 30, 10, 1}

// runBatch scores anomaly.DetectEntire on consecutive chunks of at most
// 8640 points. A chunk's scores depend on rows after them, so this figure
// is not comparable with NAB's streaming scoreboard.
func runBatch(out io.Writer, sets []*dataset, windows map[string][]nab.Window, profiles map[string]nab.CostMatrix, jobs int) error {
	const chunk = 8640
	var mu sync.Mutex
	var firstErr error
	start := time.Now()
	rows := parallel(sets, jobs, func(d *dataset) {
		d.scores = make([]float64, len(d.values))
		for lo := 0; lo < len(d.values); lo += chunk {
			hi := min(lo+chunk, len(d.values))
			if hi-lo < 12 { // too short alone: re-run on the last chunk
				lo = max(0, hi-chunk)
			}
			// Score: the lowest sensitivity at which the point is still
			// flagged, as (100 - sensitivity)/100, so points flagged even
			// by a cautious detector rank first. Only the onset of a run
			// of flagged points scores; the rest of a run scores 0,
			// since NAB counts every row above the threshold outside a
			// window as a false positive.
			for _, sens := range batchSensitivities {
				res, err := anomaly.DetectEntire(d.values[lo:hi], anomaly.Options{Sensitivity: sens, MaxAnomalyRatio: 0.25})
				if err != nil {
					mu.Lock()
					firstErr = cmp.Or(firstErr, fmt.Errorf("%s: %w", d.name, err))
					mu.Unlock()
					return
				}
				for i, a := range res.IsAnomaly {
					if a && (i == 0 || !res.IsAnomaly[i-1]) {
						d.scores[lo+i] = (100 - sens) / 100
					}
				}
			}
		}
	})
	wall := time.Since(start)
	if firstErr != nil {
		fmt.Fprintf(out, "batch mode (DetectEntire): skipped: %v\n", firstErr)
		return nil
	}
	fmt.Fprintf(out, "batch mode (DetectEntire on chunks of <= %d points; sees future rows, NOT a NAB streaming score):\n", chunk)
	if err := report(out, sets, windows, profiles); err != nil {
		return err
	}
	fmt.Fprintf(out, "  wall time %.2fs, %.0f points/s\n", wall.Seconds(), float64(rows)/wall.Seconds())
	return nil
}

// parallel runs fn over sets on jobs goroutines, largest files first, and
// returns the total number of rows.
func parallel(sets []*dataset, jobs int, fn func(*dataset)) int {
	order := slices.Clone(sets)
	slices.SortFunc(order, func(a, b *dataset) int { return cmp.Compare(len(b.values), len(a.values)) })
	ch := make(chan *dataset)
	var wg sync.WaitGroup
	for range jobs {
		wg.Go(func() {
			for d := range ch {
				fn(d)
			}
		})
	}
	rows := 0
	for _, d := range order {
		rows += len(d.values)
		ch <- d
	}
	close(ch)
	wg.Wait()
	return rows
}

// loadData reads every data file named in the labels.
func loadData(dir string, windows map[string][]nab.Window) ([]*dataset, error) {
	names := make([]string, 0, len(windows))
	for n := range windows {
		names = append(names, n)
	}
	slices.Sort(names)
	sets := make([]*dataset, 0, len(names))
	for _, n := range names {
		ts, vs, err := nab.ReadCSVFile(filepath.Join(dir, "data", filepath.FromSlash(n)), nab.ValueColumn)
		if err != nil {
			return nil, err
		}
		sets = append(sets, &dataset{name: n, times: ts, values: vs})
	}
	if len(sets) == 0 {
		return nil, errors.New("no data files")
	}
	return sets, nil
}

// writeResults writes <dir>/vigil/<category>/vigil_<name>.csv per file.
func writeResults(dir string, sets []*dataset) error {
	for _, d := range sets {
		cat, base, ok := strings.Cut(d.name, "/")
		if !ok {
			return fmt.Errorf("bad data file name %q", d.name)
		}
		sub := filepath.Join(dir, detectorName, cat)
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return err
		}
		f, err := os.Create(filepath.Join(sub, detectorName+"_"+base))
		if err != nil {
			return err
		}
		err = nab.WriteResults(f, d.times, d.scores)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// moduleRoot walks up from the working directory to the directory holding
// go.mod.
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
