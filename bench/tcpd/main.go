// Command tcpd runs Vigil's change-point detector with its default
// parameters on the TCPD benchmark series and prints, per series and in
// total, the F1 score (margin 5) and the covering metric beside the best
// published default methods (binseg for F1, PELT for cover).
//
// Usage:
//
//	go run ./bench/tcpd [-data data/tcpd] [-v]
//
// The series are the 25 univariate benchmark series shipped in data/tcpd:
// the quality-control series and uk_coal_employ (missing values, left out of
// the paper's averages) are scored separately, below the totals.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vigilhq/vigil/internal/anomaly"
	"github.com/vigilhq/vigil/internal/tcpd"
)

// extra are shipped series outside the 25-series average.
var extra = map[string]bool{
	"uk_coal_employ":    true,
	"quality_control_1": true,
	"quality_control_2": true,
	"quality_control_3": true,
	"quality_control_4": true,
	"quality_control_5": true,
}

func main() {
	dir := flag.String("data", "data/tcpd", "TCPD data directory (series/, annotations.json, reference-scores/)")
	verbose := flag.Bool("v", false, "print the predicted and annotated change points")
	flag.Parse()
	if err := run(*dir, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "tcpd:", err)
		os.Exit(1)
	}
}

func run(dir string, verbose bool) error {
	ann, err := tcpd.LoadAnnotations(filepath.Join(dir, "annotations.json"))
	if err != nil {
		return err
	}
	refF1, err := tcpd.LoadScores(filepath.Join(dir, "reference-scores", "default_f1_scores.json"))
	if err != nil {
		return err
	}
	refCover, err := tcpd.LoadScores(filepath.Join(dir, "reference-scores", "default_cover_scores.json"))
	if err != nil {
		return err
	}
	paths, err := filepath.Glob(filepath.Join(dir, "series", "*.json"))
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		return fmt.Errorf("no series in %s", filepath.Join(dir, "series"))
	}
	slices.Sort(paths)

	var main25, rest []string
	fmt.Printf("%-20s %5s %4s %7s %7s   %7s %7s  %s\n", "series", "n", "cps", "F1", "cover", "binseg", "pelt", "time")
	fmt.Printf("%-20s %5s %4s %7s %7s   %7s %7s\n", "", "", "", "vigil", "vigil", "F1", "cover")
	var sumF1, sumCover float64
	var total time.Duration
	lines := map[string]string{}
	for _, p := range paths {
		s, err := tcpd.LoadSeries(p)
		if err != nil {
			return err
		}
		vals, err := s.Univariate()
		if err != nil {
			fmt.Printf("%-20s skipped: %v\n", s.Name, err)
			continue
		}
		vals = tcpd.FillMissing(vals)
		start := time.Now()
		res, err := anomaly.DetectChangePoints(vals, anomaly.ChangePointOptions{})
		el := time.Since(start)
		if err != nil {
			return fmt.Errorf("%s: %w", s.Name, err)
		}
		var pred []int
		for i, c := range res.IsChangePoint {
			if c {
				pred = append(pred, i)
			}
		}
		r := tcpd.Evaluate(ann.Annotators(s.Name), pred, s.Len())
		line := fmt.Sprintf("%-20s %5d %4d %7.3f %7.3f   %7s %7s  %v", s.Name, s.Len(), len(pred), r.F1, r.Cover,
			ref(refF1, s.Name, "binseg"), ref(refCover, s.Name, "pelt"), el.Round(time.Microsecond))
		if verbose {
			line += fmt.Sprintf("\n    period %d, predicted %v\n    annotated %v", res.Period, pred, ann.Annotators(s.Name))
		}
		lines[s.Name] = line
		if extra[s.Name] {
			rest = append(rest, s.Name)
			continue
		}
		main25 = append(main25, s.Name)
		sumF1 += r.F1
		sumCover += r.Cover
		total += el
	}
	for _, name := range main25 {
		fmt.Println(lines[name])
	}
	n := float64(len(main25))
	binF1, _ := refF1.Mean("binseg", main25)
	peltCover, _ := refCover.Mean("pelt", main25)
	zeroF1, _ := refF1.Mean("zero", main25)
	zeroCover, _ := refCover.Mean("zero", main25)
	fmt.Println(strings.Repeat("-", 78))
	fmt.Printf("%-20s %5d %4s %7.3f %7.3f   %7.3f %7.3f  %v\n", "MEAN (series)", len(main25), "", sumF1/n, sumCover/n, binF1, peltCover, total.Round(time.Microsecond))
	fmt.Printf("published defaults over the same series: binseg F1 %.3f, PELT cover %.3f; zero (no change) F1 %.3f, cover %.3f\n",
		binF1, peltCover, zeroF1, zeroCover)
	fmt.Printf("vigil - best published default: F1 %+.3f, cover %+.3f\n", sumF1/n-binF1, sumCover/n-peltCover)
	if len(rest) > 0 {
		fmt.Println("\nnot in the average (uk_coal_employ: missing values, linearly interpolated here; quality_control_*: synthetic):")
		for _, name := range rest {
			fmt.Println(lines[name])
		}
	}
	return nil
}

func ref(s tcpd.Scores, series, method string) string {
	v, ok := s[series][method]
	if !ok {
		return "-"
	}
	if v == nil {
		return "fail"
	}
	return fmt.Sprintf("%.3f", *v)
}
