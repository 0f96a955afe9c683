package anomaly

import (
	"math"
	"math/rand/v2"
	"os"
	"syscall"
	"testing"
	"time"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestCPUCost reports CPU time per call, which unlike wall time is not
// inflated when other processes share the machine.
func TestCPUCost(t *testing.T) {
	if os.Getenv("VIGIL_CPU") == "" {
		t.Skip("set VIGIL_CPU=1")
	}
	v := benchSeries(8640)
	rng := rand.New(rand.NewPCG(7, 7))
	w := make([]float64, 673)
	for i := range w {
		w[i] = 100 + 30*math.Sin(2*math.Pi*float64(i)/24) + 3*rng.NormFloat64()
	}
	opt := Options{Sensitivity: 99, MaxAnomalyRatio: 0.25}
	for _, c := range []struct {
		name string
		f    func()
		n    int
	}{
		{"entire8640", func() { DetectEntire(v, opt) }, 200},
		{"last673", func() { DetectLast(w, opt) }, 2000},
		{"period8640", func() { detectPeriod(v) }, 200},
		{"sr8640", func() { srRawScores(nil, v) }, 200},
		{"fit8640", func() { fitSeries(nil, v, 288, &defaultConfig, true) }, 200},
	} {
		c.f()
		a := cpuTime()
		for range c.n {
			c.f()
		}
		t.Logf("%-12s %v CPU/op", c.name, (cpuTime()-a)/time.Duration(c.n))
	}
}

func TestCPUCostParts(t *testing.T) {
	if os.Getenv("VIGIL_CPU") == "" {
		t.Skip("set VIGIL_CPU=1")
	}
	v := benchSeries(8640)
	for _, c := range []struct {
		name string
		f    func()
		n    int
	}{
		{"runmed21", func() { runningMedian(nil, v, 21) }, 200},
		{"robustScale", func() { robustScale(v) }, 200},
		{"seasonal", func() { seasonalProfile(nil, v, 288) }, 200},
		{"selectKth", func() { c := append([]float64(nil), v...); selectKth(c, 4320) }, 200},
		{"fft8748", func() { srSaliency(nil, v) }, 200},
	} {
		c.f()
		a := cpuTime()
		for range c.n {
			c.f()
		}
		t.Logf("%-12s %v CPU/op", c.name, (cpuTime()-a)/time.Duration(c.n))
	}
}
