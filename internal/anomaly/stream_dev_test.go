package anomaly

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/vigilhq/vigil/internal/nab"
)

type devSet struct {
	f    nab.File
	vals []float64
}

func devEval(sets []devSet) (float64, nab.Result) {
	files := make([]nab.File, len(sets))
	var wg sync.WaitGroup
	ch := make(chan int)
	for range 2 {
		wg.Go(func() {
			for i := range ch {
				s := NewStream(StreamOptions{})
				sc := make([]float64, len(sets[i].vals))
				for j, v := range sets[i].vals {
					sc[j] = s.Push(v)
				}
				f := sets[i].f
				f.Scores = sc
				files[i] = f
			}
		})
	}
	for i := range sets {
		ch <- i
	}
	close(ch)
	wg.Wait()
	c, _ := nab.NewCorpus(files)
	cost := nab.CostMatrix{TP: 1, FP: 0.11, FN: 1}
	r := c.Optimize(cost)
	return c.Normalize(cost, r.Raw), r
}

func TestDevNAB(t *testing.T) {
	if os.Getenv("DEVNAB") == "" {
		t.Skip()
	}
	dir := filepath.Join("..", "..", "data", "nab")
	windows, _ := nab.ReadWindowsFile(filepath.Join(dir, "labels", "combined_windows.json"))
	var sets []devSet
	for n, w := range windows {
		ts, vs, _ := nab.ReadCSVFile(filepath.Join(dir, "data", n), nab.ValueColumn)
		sets = append(sets, devSet{nab.File{Name: n, Timestamps: ts, Windows: w}, vs})
	}
	slices.SortFunc(sets, func(a, b devSet) int { return len(b.vals) - len(a.vals) })
	for _, m := range []int{31, 31 &^ 8, 31 &^ 4, 31 &^ 1} {
		devMask = m
		sc, r := devEval(sets)
		fmt.Printf("mask %2d %6.2f th %.4f TP %d FP %d\n", m, sc, r.Threshold, r.TP, r.FP)
	}
}
