package nab

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// dataDir is the repo's copy of the NAB data, relative to this package.
var dataDir = filepath.Join("..", "..", "data", "nab")

// loadReference builds a corpus from a reference result archive.
func loadReference(t *testing.T, windows map[string][]Window, det string) *Corpus {
	t.Helper()
	f, err := os.Open(filepath.Join(dataDir, "reference", "results", det+".tgz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, results, err := ReadResultsTGZ(f)
	if err != nil {
		t.Fatal(err)
	}
	if got != det {
		t.Fatalf("archive detector = %q, want %q", got, det)
	}
	if len(results) != len(windows) {
		t.Fatalf("archive has %d files, labels have %d", len(results), len(windows))
	}
	names := make([]string, 0, len(windows))
	for name := range windows {
		names = append(names, name)
	}
	slices.Sort(names)
	var files []File
	for _, name := range names {
		r, ok := results[name]
		if !ok {
			t.Fatalf("archive lacks %s", name)
		}
		files = append(files, File{Name: name, Timestamps: r.Timestamps, Scores: r.Scores, Windows: windows[name]})
	}
	c, err := NewCorpus(files)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestReferenceScores reproduces NAB's published normalized scores from the
// shipped result files and stored thresholds.
func TestReferenceScores(t *testing.T) {
	windows, err := ReadWindowsFile(filepath.Join(dataDir, "labels", "combined_windows.json"))
	if err != nil {
		t.Fatal(err)
	}
	profiles, err := ReadProfilesFile(filepath.Join(dataDir, "reference", "config", "profiles.json"))
	if err != nil {
		t.Fatal(err)
	}
	thresholds, err := ReadThresholdsFile(filepath.Join(dataDir, "reference", "config", "thresholds.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][3]float64{ // standard, reward_low_FP_rate, reward_low_FN_rate
		"numenta":          {70.10, 63.12, 74.32},
		"windowedGaussian": {39.65, 20.87, 47.41},
		"twitterADVec":     {47.06, 33.61, 53.50},
		"null":             {0, 0, 0},
	}
	for det, w := range want {
		t.Run(det, func(t *testing.T) {
			t.Parallel()
			c := loadReference(t, windows, det)
			if c.NumWindows() != 116 {
				t.Fatalf("NumWindows = %d, want 116", c.NumWindows())
			}
			for i, prof := range ProfileNames {
				cost, ok := profiles[prof]
				if !ok {
					t.Fatalf("profile %s missing", prof)
				}
				th := thresholds[det][prof]
				r := c.Score(cost, th.Threshold)
				got := c.Normalize(cost, r.Raw)
				if math.Abs(got-w[i]) > 0.005 {
					t.Errorf("%s %s: normalized = %.4f (raw %.4f, TP %d FP %d FN %d), want %.2f",
						det, prof, got, r.Raw, r.TP, r.FP, r.FN, w[i])
				}
				opt := c.Optimize(cost)
				if opt.Raw < r.Raw-1e-9 {
					t.Errorf("%s %s: optimized raw %.6f < stored-threshold raw %.6f", det, prof, opt.Raw, r.Raw)
				}
				// The optimizer's claim must hold when re-scored directly.
				if re := c.Score(cost, opt.Threshold); math.Abs(re.Raw-opt.Raw) > 1e-9 {
					t.Errorf("%s %s: optimizer raw %.9f, re-scored at its threshold %.9f", det, prof, opt.Raw, re.Raw)
				}
				t.Logf("%s %-18s stored threshold %.6g -> %.2f; optimized threshold %.6g -> %.2f",
					det, prof, th.Threshold, got, opt.Threshold, c.Normalize(cost, opt.Raw))
			}
		})
	}
}
