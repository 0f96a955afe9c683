package anomaly

// Evaluation harness (not a unit test): compares detector variants with
// plain spectral residual on the NAB corpus (entire-series mode, windows as
// events) and on synthetic Yahoo-style series. Run with
//
//	VIGIL_EVAL=1 go test -run TestEvaluate -v ./internal/anomaly

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

type evalSeries struct {
	name   string
	values []float64
	// label per point: for NAB, window id+1 (0 = outside); for synthetic,
	// anomaly segment id+1.
	label []int
	nseg  int
}

func loadNAB(t *testing.T, root string) []evalSeries {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "labels/combined_windows.json"))
	if err != nil {
		t.Skip(err)
	}
	var wins map[string][][2]string
	if err := json.Unmarshal(b, &wins); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(wins))
	for k := range wins {
		names = append(names, k)
	}
	sort.Strings(names)
	const layout = "2006-01-02 15:04:05"
	var out []evalSeries
	for _, name := range names {
		f, err := os.Open(filepath.Join(root, "data", name))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Scan()
		var ts []time.Time
		var vs []float64
		for sc.Scan() {
			parts := strings.Split(sc.Text(), ",")
			tt, _ := time.Parse(layout, parts[0])
			v, _ := strconv.ParseFloat(parts[1], 64)
			ts = append(ts, tt)
			vs = append(vs, v)
		}
		f.Close()
		lab := make([]int, len(vs))
		for wi, w := range wins[name] {
			a, _ := time.Parse(layout, w[0][:19])
			z, _ := time.Parse(layout, w[1][:19])
			for i, tt := range ts {
				if !tt.Before(a) && !tt.After(z) {
					lab[i] = wi + 1
				}
			}
		}
		out = append(out, evalSeries{name: name, values: vs, label: lab, nseg: len(wins[name])})
	}
	return out
}

// synthSeries makes Yahoo-A2/A3-like series: seasonality, trend, noise,
// sometimes heteroscedastic or random-walk components, labelled spikes and
// short anomalous segments.
func synthSeries(seed uint64) evalSeries {
	rng := rand.New(rand.NewPCG(seed, 99))
	n := 1400 + rng.IntN(300)
	periods := []int{0, 12, 24, 24, 48, 96, 168}
	p := periods[rng.IntN(len(periods))]
	base := rng.Float64() * 1000
	amp := rng.Float64() * 300
	trend := (rng.Float64() - 0.5) * 0.5
	noise := 5 + rng.Float64()*40
	rw := rng.IntN(3) == 0
	het := rng.IntN(3) == 0
	v := make([]float64, n)
	lab := make([]int, n)
	walk := 0.0
	for i := range v {
		s := 0.0
		if p > 0 {
			ph := 2 * math.Pi * float64(i) / float64(p)
			s = amp * (math.Sin(ph) + 0.3*math.Sin(2*ph+1))
		}
		ns := noise
		if het {
			ns *= 1 + 0.8*math.Sin(2*math.Pi*float64(i)/float64(n)*3)
		}
		if rw {
			walk += rng.NormFloat64() * noise * 0.3
		}
		v[i] = base + trend*float64(i) + s + walk + rng.NormFloat64()*ns
	}
	seg := 0
	k := 2 + rng.IntN(6)
	for range k {
		i := 20 + rng.IntN(n-40)
		mag := (3 + rng.Float64()*7) * noise
		if rng.IntN(2) == 0 {
			mag = -mag
		}
		length := 1
		if rng.IntN(4) == 0 {
			length = 2 + rng.IntN(8)
		}
		seg++
		for j := i; j < i+length && j < n; j++ {
			v[j] += mag
			lab[j] = seg
		}
	}
	// Unlabelled level shift in a third of the series.
	if rng.IntN(3) == 0 {
		at := n/4 + rng.IntN(n/2)
		shift := (rng.Float64() - 0.5) * 6 * noise
		for j := at; j < n; j++ {
			v[j] += shift
		}
	}
	return evalSeries{name: fmt.Sprintf("synth-%d(p=%d)", seed, p), values: v, label: lab, nseg: seg}
}

type evalCounts struct{ tp, fp, fn, ptp, pfp, pfn int }

func (c evalCounts) f1() float64 {
	return 2 * float64(c.tp) / float64(max(2*c.tp+c.fp+c.fn, 1))
}

func (c evalCounts) pf1() float64 {
	return 2 * float64(c.ptp) / float64(max(2*c.ptp+c.pfp+c.pfn, 1))
}

// score counts detected segments (tp), missed ones (fn), and flag
// clusters outside segments (fp); also point-adjusted point counts.
func scoreFlags(s evalSeries, flags []bool) evalCounts {
	var c evalCounts
	hit := make([]bool, s.nseg+1)
	lastFP := -100
	for i, f := range flags {
		if !f {
			continue
		}
		if s.label[i] > 0 {
			hit[s.label[i]] = true
		} else {
			if i-lastFP > 3 {
				c.fp++
			}
			lastFP = i
			c.pfp++
		}
	}
	segLen := make([]int, s.nseg+1)
	for _, l := range s.label {
		segLen[l]++
	}
	for k := 1; k <= s.nseg; k++ {
		if hit[k] {
			c.tp++
			c.ptp += segLen[k]
		} else {
			c.fn++
			c.pfn += segLen[k]
		}
	}
	return c
}

func chunks(s evalSeries, size int) []evalSeries {
	if len(s.values) <= size {
		return []evalSeries{s}
	}
	var out []evalSeries
	for a := 0; a < len(s.values); a += size {
		b := min(a+size, len(s.values))
		if b-a < size {
			a = b - size
		}
		lab := s.label[a:b]
		out = append(out, evalSeries{name: s.name, values: s.values[a:b], label: lab, nseg: s.nseg})
	}
	return out
}

type detector func(values []float64, sens float64) []bool

func plainSR(values []float64, _ float64) []bool {
	x := normalise(nil, values)
	sr := srRawScores(nil, x)
	out := make([]bool, len(x))
	for i, v := range sr {
		out[i] = v > srRawThresh
	}
	return out
}

func withConfig(cfg modelConfig, style MarginStyle) detector {
	return func(values []float64, sens float64) []bool {
		pr, err := prepare(nil, values, Options{Sensitivity: sens, MaxAnomalyRatio: 0.25, Style: style})
		if err != nil {
			panic(err)
		}
		return detectEntire(nil, pr, Options{Sensitivity: sens, MaxAnomalyRatio: 0.25, Style: style}, &cfg).IsAnomaly
	}
}

func runEval(set []evalSeries, det detector, sens float64) evalCounts {
	var tot evalCounts
	for _, s := range set {
		for _, ch := range chunks(s, 8640) {
			c := scoreFlags(ch, det(ch.values, sens))
			tot.tp += c.tp
			tot.fp += c.fp
			tot.ptp += c.ptp
			tot.pfp += c.pfp
			tot.pfn += c.pfn
		}
		// Missed segments are counted once per series.
	}
	// recompute fn per series (segments hit in any chunk)
	return tot
}

func TestEvaluate(t *testing.T) {
	if os.Getenv("VIGIL_EVAL") == "" {
		t.Skip("set VIGIL_EVAL=1 to run the evaluation")
	}
	nabSet := loadNAB(t, "../../data/nab")
	var syn []evalSeries
	for i := range 120 {
		syn = append(syn, synthSeries(uint64(i)))
	}
	variants := map[string]detector{
		"plainSR": plainSR,
		"default": withConfig(defaultConfig, StyleV11),
	}
	if v := os.Getenv("VIGIL_EVAL_VARIANTS"); v != "" {
		for k, cfg := range evalVariants() {
			if strings.Contains(v, k) || v == "all" {
				variants[k] = withConfig(cfg, StyleV11)
			}
		}
	}
	keys := make([]string, 0, len(variants))
	for k := range variants {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, set := range []struct {
		name string
		s    []evalSeries
	}{{"synthetic", syn}, {"nab", nabSet}} {
		segs := 0
		for _, s := range set.s {
			segs += s.nseg
		}
		for _, k := range keys {
			line := fmt.Sprintf("%-10s %-14s", set.name, k)
			sum := 0.0
			for _, sens := range []float64{99, 90, 70} {
				c := runEval(set.s, variants[k], sens)
				c.fn = segs - c.tp
				line += fmt.Sprintf("  s%.0f: F1 %.3f (tp %d fp %d) pF1 %.3f", sens, c.f1(), c.tp, c.fp, c.pf1())
				sum += c.f1() + c.pf1()
			}
			t.Logf("%s  mean %.3f", line, sum/6)
		}
	}
}

func evalVariants() map[string]modelConfig {
	m := map[string]modelConfig{}
	for _, t := range []float64{3.5, 4.0} {
		c := defaultConfig
		c.thresh99, c.thresh70 = t, t*1.15
		m[fmt.Sprintf("t%.2f", t)] = c
	}
	return m
}

func TestEvaluateLast(t *testing.T) {
	if os.Getenv("VIGIL_EVAL") == "" {
		t.Skip("set VIGIL_EVAL=1 to run the evaluation")
	}
	const win = 289
	for _, name := range []string{"last", "plainSR-last"} {
		for _, sens := range []float64{99, 90, 70} {
			var tot evalCounts
			segs := 0
			for i := range 20 {
				s := synthSeries(uint64(i))
				flags := make([]bool, len(s.values))
				for j := win - 1; j < len(s.values); j++ {
					w := s.values[j-win+1 : j+1]
					if name == "last" {
						r, err := DetectLast(w, Options{Sensitivity: sens, MaxAnomalyRatio: 0.25})
						if err != nil {
							t.Fatal(err)
						}
						flags[j] = r.IsAnomaly
					} else {
						sc := srRawScores(nil, normalise(nil, w))
						flags[j] = sc[len(sc)-1] > srRawThresh
					}
				}
				// Only score the part that was scored.
				s.label = append([]int(nil), s.label...)
				seen := map[int]bool{}
				for j := 0; j < win-1; j++ {
					if s.label[j] > 0 {
						seen[s.label[j]] = true
					}
				}
				for j := win - 1; j < len(s.values); j++ {
					if seen[s.label[j]] {
						s.label[j] = 0
					}
				}
				c := scoreFlags(s, flags)
				tot.tp += c.tp
				tot.fp += c.fp
				for k := 1; k <= s.nseg; k++ {
					if !seen[k] {
						segs++
					}
				}
			}
			tot.fn = segs - tot.tp
			t.Logf("%-14s s%.0f: F1 %.3f (tp %d fp %d fn %d)", name, sens, tot.f1(), tot.tp, tot.fp, tot.fn)
		}
	}
}
