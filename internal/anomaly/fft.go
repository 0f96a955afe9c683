package anomaly

import (
	"math"
	"math/cmplx"
	"sync"
)

// This file holds a small mixed-radix FFT for 5-smooth lengths (n = 2^a 3^b
// 5^c). Callers that need an arbitrary length pad their input up to
// [nextSmooth]. Plans are immutable once built and cached per length, so the
// output never depends on the order in which lengths were first used.

// fftPlan is a precomputed transform of one length.
type fftPlan struct {
	n       int
	factors []int        // radices, outermost first
	tw      []complex128 // tw[k] = exp(-2πik/n)
}

var fftPlans sync.Map // int → *fftPlan

// nextSmooth returns the smallest 5-smooth integer ≥ n (n ≥ 1).
func nextSmooth(n int) int {
	if n <= 1 {
		return 1
	}
	for m := n; ; m++ {
		k := m
		for _, p := range [...]int{2, 3, 5} {
			for k%p == 0 {
				k /= p
			}
		}
		if k == 1 {
			return m
		}
	}
}

// planFor returns the cached plan for length n, which must be 5-smooth.
func planFor(n int) *fftPlan {
	if p, ok := fftPlans.Load(n); ok {
		return p.(*fftPlan)
	}
	p := &fftPlan{n: n, tw: make([]complex128, n)}
	for k := range n {
		s, c := math.Sincos(-2 * math.Pi * float64(k) / float64(n))
		p.tw[k] = complex(c, s)
	}
	m := n
	for m%4 == 0 {
		p.factors = append(p.factors, 4)
		m /= 4
	}
	for _, r := range [...]int{2, 3, 5} {
		for m%r == 0 {
			p.factors = append(p.factors, r)
			m /= r
		}
	}
	if m != 1 {
		panic("anomaly: FFT length is not 5-smooth")
	}
	actual, _ := fftPlans.LoadOrStore(n, p)
	return actual.(*fftPlan)
}

// forward computes dst = DFT(src) (unnormalised, e^{-i} kernel). dst and src
// must not overlap and both have length p.n; src is overwritten (it is
// the Stockham work buffer).
func (p *fftPlan) forward(dst, src []complex128) {
	if p.n == 0 {
		return
	}
	if res := p.stockham(src, dst); &res[0] != &dst[0] {
		copy(dst, res)
	}
}

// inverse computes dst = IDFT(src) including the 1/n factor, using buf
// (length p.n) as scratch. src is left unchanged.
func (p *fftPlan) inverse(dst, src, buf []complex128) {
	for i, v := range src {
		buf[i] = cmplx.Conj(v)
	}
	p.forward(dst, buf)
	inv := 1 / float64(p.n)
	for i, v := range dst {
		dst[i] = complex(real(v)*inv, -imag(v)*inv)
	}
}

var (
	w3 = complex(-0.5, -math.Sqrt(3)/2)
	w5 = [5]complex128{
		1,
		complex(math.Cos(2*math.Pi/5), -math.Sin(2*math.Pi/5)),
		complex(math.Cos(4*math.Pi/5), -math.Sin(4*math.Pi/5)),
		complex(math.Cos(6*math.Pi/5), -math.Sin(6*math.Pi/5)),
		complex(math.Cos(8*math.Pi/5), -math.Sin(8*math.Pi/5)),
	}
)

// rec is a recursive decimation-in-time step: out (length n) receives the
// DFT of in[0], in[stride], …, in[(n-1)*stride]. It is the reference the
// tests check [fftPlan.stockham] against; production code uses stockham.
func (p *fftPlan) rec(out, in []complex128, n, stride, fi int) {
	if n == 1 {
		out[0] = in[0]
		return
	}
	r := p.factors[fi]
	m := n / r
	if m == 1 {
		for j := range r {
			out[j] = in[j*stride]
		}
	} else {
		for j := range r {
			p.rec(out[j*m:(j+1)*m], in[j*stride:], m, stride*r, fi+1)
		}
	}
	ts := p.n / n // W_n^x = tw[x*ts]
	tw := p.tw
	switch r {
	case 2:
		for k := range m {
			a := out[k]
			b := out[k+m] * tw[k*ts]
			out[k] = a + b
			out[k+m] = a - b
		}
	case 4:
		for k := range m {
			a0 := out[k]
			a1 := out[k+m] * tw[k*ts]
			a2 := out[k+2*m] * tw[2*k*ts]
			a3 := out[k+3*m] * tw[3*k*ts]
			s02, d02 := a0+a2, a0-a2
			s13, d13 := a1+a3, a1-a3
			// -i * d13
			md := complex(imag(d13), -real(d13))
			out[k] = s02 + s13
			out[k+m] = d02 + md
			out[k+2*m] = s02 - s13
			out[k+3*m] = d02 - md
		}
	case 3:
		h := -imag(w3) // sin 120°
		for k := range m {
			a0 := out[k]
			a1 := out[k+m] * tw[k*ts]
			a2 := out[k+2*m] * tw[2*k*ts]
			s, d := a1+a2, a1-a2
			t := a0 - complex(0.5, 0)*s
			// -i·h·d
			u := complex(h*imag(d), -h*real(d))
			out[k] = a0 + s
			out[k+m] = t + u
			out[k+2*m] = t - u
		}
	case 5:
		c1, c2 := real(w5[1]), real(w5[2]) // cos 72°, cos 144°
		s1, s2 := -imag(w5[1]), -imag(w5[2])
		for k := range m {
			a0 := out[k]
			a1 := out[k+m] * tw[k*ts]
			a2 := out[k+2*m] * tw[2*k*ts]
			a3 := out[k+3*m] * tw[3*k*ts]
			a4 := out[k+4*m] * tw[4*k*ts]
			b1, b4 := a1+a4, a1-a4
			b2, b3 := a2+a3, a2-a3
			t1 := a0 + complex(c1, 0)*b1 + complex(c2, 0)*b2
			t2 := a0 + complex(c2, 0)*b1 + complex(c1, 0)*b2
			// -i·(s1·b4 + s2·b3) and -i·(s2·b4 − s1·b3)
			u1 := complex(s1, 0)*b4 + complex(s2, 0)*b3
			u2 := complex(s2, 0)*b4 - complex(s1, 0)*b3
			mi1 := complex(imag(u1), -real(u1))
			mi2 := complex(imag(u2), -real(u2))
			out[k] = a0 + b1 + b2
			out[k+m] = t1 + mi1
			out[k+4*m] = t1 - mi1
			out[k+2*m] = t2 + mi2
			out[k+3*m] = t2 - mi2
		}
	}
}

// realPlan transforms real sequences of even length n through a complex
// FFT of length n/2 (the usual even/odd packing).
type realPlan struct {
	n    int
	half *fftPlan
	w    []complex128 // w[k] = exp(-2πik/n), k ≤ n/2
}

var realPlans sync.Map // int → *realPlan

// nextSmoothEven returns the smallest even m ≥ n with m/2 5-smooth.
func nextSmoothEven(n int) int {
	return 2 * nextSmooth((n+1)/2)
}

func realPlanFor(n int) *realPlan {
	if p, ok := realPlans.Load(n); ok {
		return p.(*realPlan)
	}
	h := n / 2
	p := &realPlan{n: n, half: planFor(h), w: make([]complex128, h+1)}
	for k := range p.w {
		s, c := math.Sincos(-2 * math.Pi * float64(k) / float64(n))
		p.w[k] = complex(c, s)
	}
	actual, _ := realPlans.LoadOrStore(n, p)
	return actual.(*realPlan)
}

// forward writes the first n/2+1 DFT coefficients of the real x (length n)
// to X. buf needs 2·(n/2) elements.
func (p *realPlan) forward(X []complex128, x []float64, buf []complex128) {
	h := p.n / 2
	z, zf := buf[:h], buf[h:2*h]
	for k := range h {
		z[k] = complex(x[2*k], x[2*k+1])
	}
	p.half.forward(zf, z)
	for k := 0; k <= h; k++ {
		zk := zf[k%h]
		zc := cmplx.Conj(zf[(h-k)%h])
		e := (zk + zc) * 0.5
		d := (zk - zc) * 0.5
		o := complex(imag(d), -real(d)) // −i·d
		X[k] = e + p.w[k]*o
	}
}

// inverse writes the real sequence (length n, normalised) whose Hermitian
// spectrum has first n/2+1 coefficients X. buf needs 3·(n/2) elements.
func (p *realPlan) inverse(x []float64, X []complex128, buf []complex128) {
	h := p.n / 2
	z, zt, tmp := buf[:h], buf[h:2*h], buf[2*h:3*h]
	for k := range h {
		xc := cmplx.Conj(X[h-k])
		e := (X[k] + xc) * 0.5
		o := (X[k] - xc) * 0.5 * cmplx.Conj(p.w[k])
		z[k] = e + complex(-imag(o), real(o)) // e + i·o
	}
	p.half.inverse(zt, z, tmp)
	for k := range h {
		x[2*k] = real(zt[k])
		x[2*k+1] = imag(zt[k])
	}
}

// stockham computes the DFT of a into b (or a) with an iterative,
// self-sorting Stockham scheme and returns the slice holding the result;
// both a and b (length p.n) are overwritten. Stage by stage, with L the
// product of the radices done so far and M = n/L, the buffer holds the
// length-L DFTs of the M stride-M subsequences x[s], x[s+M], …, stored at
// [f·M + s]; a radix-r stage merges r of them with twiddles W_{L·r}^{q·f}.
// Every inner loop runs over contiguous s.
func (p *fftPlan) stockham(a, b []complex128) []complex128 {
	n := p.n
	tw := p.tw
	L := 1
	for _, r := range p.factors {
		Mn := n / (L * r) // M'
		M := Mn * r
		ts := Mn // W_{L·r}^{x} = tw[x·M']
		switch r {
		case 2:
			for f := range L {
				w1 := tw[f*ts]
				in0, in1 := a[f*M:f*M+Mn], a[f*M+Mn:f*M+2*Mn]
				o0, o1 := b[f*Mn:f*Mn+Mn], b[(f+L)*Mn:(f+L)*Mn+Mn]
				for s := range Mn {
					x0, x1 := in0[s], in1[s]*w1
					o0[s], o1[s] = x0+x1, x0-x1
				}
			}
		case 4:
			for f := range L {
				w1, w2, w3 := tw[f*ts], tw[2*f*ts], tw[3*f*ts]
				base := f * M
				in0, in1 := a[base:base+Mn], a[base+Mn:base+2*Mn]
				in2, in3 := a[base+2*Mn:base+3*Mn], a[base+3*Mn:base+4*Mn]
				o0 := b[f*Mn : f*Mn+Mn]
				o1 := b[(f+L)*Mn : (f+L)*Mn+Mn]
				o2 := b[(f+2*L)*Mn : (f+2*L)*Mn+Mn]
				o3 := b[(f+3*L)*Mn : (f+3*L)*Mn+Mn]
				for s := range Mn {
					a0 := in0[s]
					a1 := in1[s] * w1
					a2 := in2[s] * w2
					a3 := in3[s] * w3
					s02, d02 := a0+a2, a0-a2
					s13, d13 := a1+a3, a1-a3
					md := complex(imag(d13), -real(d13))
					o0[s] = s02 + s13
					o1[s] = d02 + md
					o2[s] = s02 - s13
					o3[s] = d02 - md
				}
			}
		case 3:
			h := -imag(w3)
			for f := range L {
				w1, w2 := tw[f*ts], tw[2*f*ts]
				base := f * M
				in0, in1, in2 := a[base:base+Mn], a[base+Mn:base+2*Mn], a[base+2*Mn:base+3*Mn]
				o0 := b[f*Mn : f*Mn+Mn]
				o1 := b[(f+L)*Mn : (f+L)*Mn+Mn]
				o2 := b[(f+2*L)*Mn : (f+2*L)*Mn+Mn]
				for s := range Mn {
					a0 := in0[s]
					a1 := in1[s] * w1
					a2 := in2[s] * w2
					sm, d := a1+a2, a1-a2
					t := a0 - complex(0.5, 0)*sm
					u := complex(h*imag(d), -h*real(d))
					o0[s] = a0 + sm
					o1[s] = t + u
					o2[s] = t - u
				}
			}
		case 5:
			c1, c2 := real(w5[1]), real(w5[2])
			s1, s2 := -imag(w5[1]), -imag(w5[2])
			for f := range L {
				w1, w2, w3, w4 := tw[f*ts], tw[2*f*ts], tw[3*f*ts], tw[4*f*ts]
				base := f * M
				for s := range Mn {
					a0 := a[base+s]
					a1 := a[base+Mn+s] * w1
					a2 := a[base+2*Mn+s] * w2
					a3 := a[base+3*Mn+s] * w3
					a4 := a[base+4*Mn+s] * w4
					b1, b4 := a1+a4, a1-a4
					b2, b3 := a2+a3, a2-a3
					t1 := a0 + complex(c1, 0)*b1 + complex(c2, 0)*b2
					t2 := a0 + complex(c2, 0)*b1 + complex(c1, 0)*b2
					u1 := complex(s1, 0)*b4 + complex(s2, 0)*b3
					u2 := complex(s2, 0)*b4 - complex(s1, 0)*b3
					mi1 := complex(imag(u1), -real(u1))
					mi2 := complex(imag(u2), -real(u2))
					b[f*Mn+s] = a0 + b1 + b2
					b[(f+L)*Mn+s] = t1 + mi1
					b[(f+4*L)*Mn+s] = t1 - mi1
					b[(f+2*L)*Mn+s] = t2 + mi2
					b[(f+3*L)*Mn+s] = t2 - mi2
				}
			}
		}
		a, b = b, a
		L *= r
	}
	return a
}
