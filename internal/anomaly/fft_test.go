package anomaly

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"os"
	"testing"
	"time"
)

func TestFFTMatchesNaiveDFT(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4, 5, 6, 8, 12, 15, 16, 30, 45, 60, 64, 75, 90, 100, 120, 720} {
		rng := rand.New(rand.NewPCG(uint64(n), 1))
		src := make([]complex128, n)
		for i := range src {
			src[i] = complex(rng.NormFloat64(), rng.NormFloat64())
		}
		got := make([]complex128, n)
		planFor(n).forward(got, append([]complex128(nil), src...))
		for k := range n {
			var want complex128
			for j := range n {
				want += src[j] * cmplx.Rect(1, -2*math.Pi*float64(j*k)/float64(n))
			}
			if cmplx.Abs(got[k]-want) > 1e-9*float64(n) {
				t.Fatalf("n=%d k=%d: got %v, want %v", n, k, got[k], want)
			}
		}
		back := make([]complex128, n)
		planFor(n).inverse(back, got, make([]complex128, n))
		for i := range n {
			if cmplx.Abs(back[i]-src[i]) > 1e-9 {
				t.Fatalf("n=%d i=%d: inverse got %v, want %v", n, i, back[i], src[i])
			}
		}
	}
}

func TestNextSmooth(t *testing.T) {
	tests := []struct{ in, want int }{{1, 1}, {7, 8}, {13, 15}, {678, 720}, {8645, 8748}}
	for _, tt := range tests {
		if got := nextSmooth(tt.in); got != tt.want {
			t.Errorf("nextSmooth(%d) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestRealFFTRoundTripsAndMatchesComplex(t *testing.T) {
	for _, n := range []int{2, 4, 6, 10, 24, 90, 720} {
		rng := rand.New(rand.NewPCG(uint64(n), 2))
		x := make([]float64, n)
		c := make([]complex128, n)
		for i := range x {
			x[i] = rng.NormFloat64()
			c[i] = complex(x[i], 0)
		}
		want := make([]complex128, n)
		planFor(nextSmooth(n)).forward(want, c) // n is 5-smooth here
		p := realPlanFor(n)
		X := make([]complex128, n/2+1)
		buf := make([]complex128, 3*(n/2))
		p.forward(X, x, buf)
		for k := range X {
			if cmplx.Abs(X[k]-want[k]) > 1e-9*float64(n) {
				t.Fatalf("n=%d k=%d: got %v, want %v", n, k, X[k], want[k])
			}
		}
		back := make([]float64, n)
		p.inverse(back, X, buf)
		for i := range x {
			if math.Abs(back[i]-x[i]) > 1e-9 {
				t.Fatalf("n=%d i=%d: inverse got %v, want %v", n, i, back[i], x[i])
			}
		}
	}
}

func TestStockhamMatchesRecursive(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4, 5, 6, 8, 12, 15, 16, 30, 45, 60, 64, 75, 90, 100, 120, 720, 4374, 5832} {
		rng := rand.New(rand.NewPCG(uint64(n), 3))
		src := make([]complex128, n)
		for i := range src {
			src[i] = complex(rng.NormFloat64(), rng.NormFloat64())
		}
		p := planFor(n)
		want := make([]complex128, n)
		p.rec(want, src, n, 1, 0)
		a := append([]complex128(nil), src...)
		got := p.stockham(a, make([]complex128, n))
		for k := range n {
			if cmplx.Abs(got[k]-want[k]) > 1e-9*float64(n) {
				t.Fatalf("n=%d k=%d: got %v, want %v", n, k, got[k], want[k])
			}
		}
	}
}

func TestABFFT(t *testing.T) {
	if os.Getenv("VIGIL_CPU") == "" {
		t.Skip()
	}
	for _, n := range []int{4374, 8748, 5832} {
		p := planFor(n)
		src := make([]complex128, n)
		for i := range src {
			src[i] = complex(float64(i%17), 0)
		}
		dst := make([]complex128, n)
		a := make([]complex128, n)
		var ta, tb time.Duration
		for r := 0; r < 20; r++ {
			s := cpuTime()
			for range 20 {
				p.rec(dst, src, n, 1, 0)
			}
			ta += cpuTime() - s
			s = cpuTime()
			for range 20 {
				copy(a, src)
				p.stockham(a, dst)
			}
			tb += cpuTime() - s
		}
		t.Logf("n=%d recursive %v, stockham %v per op", n, ta/400, tb/400)
	}
}
