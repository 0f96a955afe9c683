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

var nextSmoothMemo sync.Map // int → int

// nextSmooth returns the smallest 5-smooth integer ≥ n (n ≥ 1). Answers
// are remembered: the search divides a lot, and detection asks for the
// same few lengths again and again.
func nextSmooth(n int) int {
	if n <= 1 {
		return 1
	}
	if m, ok := nextSmoothMemo.Load(n); ok {
		return m.(int)
	}
	m := nextSmoothSearch(n)
	nextSmoothMemo.Store(n, m)
	return m
}

func nextSmoothSearch(n int) int {
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
	if p.n == 0 {
		return
	}
	for i, v := range src {
		buf[i] = cmplx.Conj(v)
	}
	// The transform ends in buf or dst; scaling reads it from there, which
	// saves the copy forward would make.
	res := p.stockham(buf, dst)
	inv := 1 / float64(p.n)
	dst = dst[:len(res)]
	for i, v := range res {
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
	zf = p.half.stockham(z, zf) // the transform, in z or zf
	// zf is periodic in h: index k and h−k modulo h, without dividing.
	X, w := X[:h+1], p.w[:h+1]
	for k := 0; k <= h; k++ {
		ki, ci := k, h-k
		if k == h {
			ki = 0
		}
		if k == 0 {
			ci = 0
		}
		zk := zf[ki]
		zc := cmplx.Conj(zf[ci])
		// Halving each part directly (not through a complex product with
		// 0.5+0i) gives the same values, up to the sign of zeros.
		s, t := zk+zc, zk-zc
		e := complex(real(s)*0.5, imag(s)*0.5)
		o := complex(imag(t)*0.5, -(real(t) * 0.5)) // −i·(zk−zc)/2
		X[k] = e + w[k]*o
	}
}

// inverse writes the real sequence (length n, normalised) whose Hermitian
// spectrum has first n/2+1 coefficients X. buf needs 2·(n/2) elements.
func (p *realPlan) inverse(x []float64, X []complex128, buf []complex128) {
	h := p.n / 2
	if h == 0 {
		return
	}
	// The half-length inverse transform ([fftPlan.inverse]) is inlined:
	// the conjugation goes into the packing loop and the conjugation and
	// 1/h scaling of its result into the unpacking loop, the same
	// operations in two passes fewer.
	z, zt := buf[:h], buf[h:2*h]
	for k := range h {
		xc := cmplx.Conj(X[h-k])
		s, t := X[k]+xc, X[k]-xc
		e := complex(real(s)*0.5, imag(s)*0.5)
		o := complex(real(t)*0.5, imag(t)*0.5) * cmplx.Conj(p.w[k])
		z[k] = cmplx.Conj(e + complex(-imag(o), real(o))) // conj(e + i·o)
	}
	res := p.half.stockham(z, zt)
	inv := 1 / float64(h)
	x = x[:2*h]
	for k, v := range res[:h] {
		x[2*k] = real(v) * inv
		x[2*k+1] = -imag(v) * inv
	}
}

// stockham computes the DFT of a into b (or a) with an iterative,
// self-sorting Stockham scheme and returns the slice holding the result;
// both a and b (length p.n) are overwritten. Stage by stage, with L the
// product of the radices done so far and M = n/L, the buffer holds the
// length-L DFTs of the M stride-M subsequences x[s], x[s+M], …, stored at
// [f·M + s]; a radix-r stage merges r of them with twiddles W_{L·r}^{q·f}.
// Every inner loop runs over contiguous s. Products with the real
// constants of the radix-3 and radix-5 butterflies are taken part by part:
// half the multiplications of the complex products in [fftPlan.rec], and
// the same values up to the sign of zeros. The first and last stages and
// those with short runs have their own loops ([stageFirst],
// [fftPlan.stageLast], [fftPlan.stageShort]); the long-run loops index
// slices of the run length, so they carry no bounds checks.
func (p *fftPlan) stockham(a, b []complex128) []complex128 {
	n := p.n
	tw := p.tw
	L := 1
	for _, r := range p.factors {
		Mn := n / (L * r) // M'
		M := Mn * r
		ts := Mn // W_{L·r}^{x} = tw[x·M']
		if Mn == 1 {
			p.stageLast(a, b, r, L)
			a, b = b, a
			L *= r
			continue
		}
		if Mn < stockhamShortRun {
			p.stageShort(a, b, r, L, Mn)
			a, b = b, a
			L *= r
			continue
		}
		if L == 1 && r != 5 {
			stageFirst(a, b, r, Mn)
			a, b = b, a
			L *= r
			continue
		}
		switch r {
		case 2:
			for f := range L {
				w1 := tw[f*ts]
				in0, in1 := a[f*M:f*M+Mn], a[f*M+Mn:f*M+2*Mn]
				o0, o1 := b[f*Mn:f*Mn+Mn], b[(f+L)*Mn:(f+L)*Mn+Mn]
				in1, o0, o1 = in1[:len(in0)], o0[:len(in0)], o1[:len(in0)] // no bounds checks below
				for s := range in0 {
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
				in1, in2, in3 = in1[:len(in0)], in2[:len(in0)], in3[:len(in0)]
				o0, o1, o2, o3 = o0[:len(in0)], o1[:len(in0)], o2[:len(in0)], o3[:len(in0)]
				for s := range in0 {
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
				in1, in2 = in1[:len(in0)], in2[:len(in0)]
				o0, o1, o2 = o0[:len(in0)], o1[:len(in0)], o2[:len(in0)]
				for s := range in0 {
					a0 := in0[s]
					a1 := in1[s] * w1
					a2 := in2[s] * w2
					sm, d := a1+a2, a1-a2
					t := a0 - complex(0.5*real(sm), 0.5*imag(sm))
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
				in0 := a[base : base+Mn]
				in1, in2 := a[base+Mn : base+2*Mn][:len(in0)], a[base+2*Mn : base+3*Mn][:len(in0)]
				in3, in4 := a[base+3*Mn : base+4*Mn][:len(in0)], a[base+4*Mn : base+5*Mn][:len(in0)]
				o0 := b[f*Mn : f*Mn+Mn][:len(in0)]
				o1 := b[(f+L)*Mn : (f+L)*Mn+Mn][:len(in0)]
				o2 := b[(f+2*L)*Mn : (f+2*L)*Mn+Mn][:len(in0)]
				o3 := b[(f+3*L)*Mn : (f+3*L)*Mn+Mn][:len(in0)]
				o4 := b[(f+4*L)*Mn : (f+4*L)*Mn+Mn][:len(in0)]
				for s := range in0 {
					a0 := in0[s]
					a1 := in1[s] * w1
					a2 := in2[s] * w2
					a3 := in3[s] * w3
					a4 := in4[s] * w4
					b1, b4 := a1+a4, a1-a4
					b2, b3 := a2+a3, a2-a3
					t1 := a0 + complex(c1*real(b1), c1*imag(b1)) + complex(c2*real(b2), c2*imag(b2))
					t2 := a0 + complex(c2*real(b1), c2*imag(b1)) + complex(c1*real(b2), c1*imag(b2))
					u1 := complex(s1*real(b4), s1*imag(b4)) + complex(s2*real(b3), s2*imag(b3))
					u2 := complex(s2*real(b4), s2*imag(b4)) - complex(s1*real(b3), s1*imag(b3))
					mi1 := complex(imag(u1), -real(u1))
					mi2 := complex(imag(u2), -real(u2))
					o0[s] = a0 + b1 + b2
					o1[s] = t1 + mi1
					o4[s] = t1 - mi1
					o2[s] = t2 + mi2
					o3[s] = t2 - mi2
				}
			}
		}
		a, b = b, a
		L *= r
	}
	return a
}

// stockhamShortRun is the inner-run length below which a Stockham stage
// loops over the sub-transforms innermost ([fftPlan.stageShort]): with
// only a few contiguous points per sub-transform, the per-sub-transform
// set-up of the long-run loops costs more than the butterflies.
const stockhamShortRun = 8

// stageShort is one radix-r Stockham stage (see [fftPlan.stockham]) with
// the loops exchanged: s outermost, f innermost. Every butterfly performs
// exactly the same operations as in the long-run loops, so the results are
// bit-identical.
func (p *fftPlan) stageShort(a, b []complex128, r, L, Mn int) {
	tw := p.tw
	M := Mn * r
	ts := Mn
	n := p.n
	a, b = a[:n], b[:n]
	switch r {
	case 2:
		for s := range Mn {
			for f := range L {
				w1 := tw[f*ts]
				i := f*M + s
				x0, x1 := a[i], a[i+Mn]*w1
				o := f*Mn + s
				b[o], b[o+L*Mn] = x0+x1, x0-x1
			}
		}
	case 4:
		LM := L * Mn
		for s := range Mn {
			for f := range L {
				w1, w2, w3 := tw[f*ts], tw[2*f*ts], tw[3*f*ts]
				i := f*M + s
				a0 := a[i]
				a1 := a[i+Mn] * w1
				a2 := a[i+2*Mn] * w2
				a3 := a[i+3*Mn] * w3
				s02, d02 := a0+a2, a0-a2
				s13, d13 := a1+a3, a1-a3
				md := complex(imag(d13), -real(d13))
				o := f*Mn + s
				b[o] = s02 + s13
				b[o+LM] = d02 + md
				b[o+2*LM] = s02 - s13
				b[o+3*LM] = d02 - md
			}
		}
	case 3:
		h := -imag(w3)
		LM := L * Mn
		for s := range Mn {
			for f := range L {
				w1, w2 := tw[f*ts], tw[2*f*ts]
				i := f*M + s
				a0 := a[i]
				a1 := a[i+Mn] * w1
				a2 := a[i+2*Mn] * w2
				sm, d := a1+a2, a1-a2
				t := a0 - complex(0.5*real(sm), 0.5*imag(sm))
				u := complex(h*imag(d), -h*real(d))
				o := f*Mn + s
				b[o] = a0 + sm
				b[o+LM] = t + u
				b[o+2*LM] = t - u
			}
		}
	case 5:
		c1, c2 := real(w5[1]), real(w5[2])
		s1, s2 := -imag(w5[1]), -imag(w5[2])
		LM := L * Mn
		for s := range Mn {
			for f := range L {
				w1, w2, w3, w4 := tw[f*ts], tw[2*f*ts], tw[3*f*ts], tw[4*f*ts]
				i := f*M + s
				a0 := a[i]
				a1 := a[i+Mn] * w1
				a2 := a[i+2*Mn] * w2
				a3 := a[i+3*Mn] * w3
				a4 := a[i+4*Mn] * w4
				b1, b4 := a1+a4, a1-a4
				b2, b3 := a2+a3, a2-a3
				t1 := a0 + complex(c1*real(b1), c1*imag(b1)) + complex(c2*real(b2), c2*imag(b2))
				t2 := a0 + complex(c2*real(b1), c2*imag(b1)) + complex(c1*real(b2), c1*imag(b2))
				u1 := complex(s1*real(b4), s1*imag(b4)) + complex(s2*real(b3), s2*imag(b3))
				u2 := complex(s2*real(b4), s2*imag(b4)) - complex(s1*real(b3), s1*imag(b3))
				mi1 := complex(imag(u1), -real(u1))
				mi2 := complex(imag(u2), -real(u2))
				o := f*Mn + s
				b[o] = a0 + b1 + b2
				b[o+LM] = t1 + mi1
				b[o+4*LM] = t1 - mi1
				b[o+2*LM] = t2 + mi2
				b[o+3*LM] = t2 - mi2
			}
		}
	}
}

// stageLast is the last Stockham stage (M' = 1, so L = n/r): the inputs
// of a butterfly are contiguous and the twiddles are tw[q·f]. Every
// butterfly performs exactly the same operations as in the other stage
// loops, so the results are bit-identical.
func (p *fftPlan) stageLast(a, b []complex128, r, L int) {
	tw := p.tw
	switch r {
	case 2:
		in := a[:2*L]
		o0, o1 := b[:L], b[L:2*L]
		for f := range o0 {
			x := in[2*f : 2*f+2 : 2*f+2]
			x0, x1 := x[0], x[1]*tw[f]
			o0[f], o1[f] = x0+x1, x0-x1
		}
	case 4:
		in := a[:4*L]
		o0, o1, o2, o3 := b[:L], b[L:2*L], b[2*L:3*L], b[3*L:4*L]
		for f := range o0 {
			x := in[4*f : 4*f+4 : 4*f+4]
			a0 := x[0]
			a1 := x[1] * tw[f]
			a2 := x[2] * tw[2*f]
			a3 := x[3] * tw[3*f]
			s02, d02 := a0+a2, a0-a2
			s13, d13 := a1+a3, a1-a3
			md := complex(imag(d13), -real(d13))
			o0[f] = s02 + s13
			o1[f] = d02 + md
			o2[f] = s02 - s13
			o3[f] = d02 - md
		}
	case 3:
		h := -imag(w3)
		in := a[:3*L]
		o0, o1, o2 := b[:L], b[L:2*L], b[2*L:3*L]
		tw = tw[:2*L]
		for f := range o0 {
			x := in[3*f : 3*f+3 : 3*f+3]
			a0 := x[0]
			a1 := x[1] * tw[f]
			a2 := x[2] * tw[2*f]
			sm, d := a1+a2, a1-a2
			t := a0 - complex(0.5*real(sm), 0.5*imag(sm))
			u := complex(h*imag(d), -h*real(d))
			o0[f] = a0 + sm
			o1[f] = t + u
			o2[f] = t - u
		}
	case 5:
		c1, c2 := real(w5[1]), real(w5[2])
		s1, s2 := -imag(w5[1]), -imag(w5[2])
		in := a[:5*L]
		o0, o1, o2, o3, o4 := b[:L], b[L:2*L], b[2*L:3*L], b[3*L:4*L], b[4*L:5*L]
		for f := range o0 {
			x := in[5*f : 5*f+5 : 5*f+5]
			a0 := x[0]
			a1 := x[1] * tw[f]
			a2 := x[2] * tw[2*f]
			a3 := x[3] * tw[3*f]
			a4 := x[4] * tw[4*f]
			b1, b4 := a1+a4, a1-a4
			b2, b3 := a2+a3, a2-a3
			t1 := a0 + complex(c1*real(b1), c1*imag(b1)) + complex(c2*real(b2), c2*imag(b2))
			t2 := a0 + complex(c2*real(b1), c2*imag(b1)) + complex(c1*real(b2), c1*imag(b2))
			u1 := complex(s1*real(b4), s1*imag(b4)) + complex(s2*real(b3), s2*imag(b3))
			u2 := complex(s2*real(b4), s2*imag(b4)) - complex(s1*real(b3), s1*imag(b3))
			mi1 := complex(imag(u1), -real(u1))
			mi2 := complex(imag(u2), -real(u2))
			o0[f] = a0 + b1 + b2
			o1[f] = t1 + mi1
			o4[f] = t1 - mi1
			o2[f] = t2 + mi2
			o3[f] = t2 - mi2
		}
	}
}

// stageFirst is the first Stockham stage (L = 1) for radix 2, 3 or 4,
// where every twiddle factor is 1: the products with them are left out,
// which changes nothing but possibly the sign of zeros.
func stageFirst(a, b []complex128, r, Mn int) {
	switch r {
	case 2:
		in0, in1 := a[:Mn], a[Mn:2*Mn]
		o0, o1 := b[:Mn], b[Mn:2*Mn]
		for s := range Mn {
			x0, x1 := in0[s], in1[s]
			o0[s], o1[s] = x0+x1, x0-x1
		}
	case 4:
		in0, in1, in2, in3 := a[:Mn], a[Mn:2*Mn], a[2*Mn:3*Mn], a[3*Mn:4*Mn]
		o0, o1, o2, o3 := b[:Mn], b[Mn:2*Mn], b[2*Mn:3*Mn], b[3*Mn:4*Mn]
		for s := range Mn {
			a0, a1, a2, a3 := in0[s], in1[s], in2[s], in3[s]
			s02, d02 := a0+a2, a0-a2
			s13, d13 := a1+a3, a1-a3
			md := complex(imag(d13), -real(d13))
			o0[s] = s02 + s13
			o1[s] = d02 + md
			o2[s] = s02 - s13
			o3[s] = d02 - md
		}
	case 3:
		h := -imag(w3)
		in0, in1, in2 := a[:Mn], a[Mn:2*Mn], a[2*Mn:3*Mn]
		o0, o1, o2 := b[:Mn], b[Mn:2*Mn], b[2*Mn:3*Mn]
		for s := range Mn {
			a0, a1, a2 := in0[s], in1[s], in2[s]
			sm, d := a1+a2, a1-a2
			t := a0 - complex(0.5*real(sm), 0.5*imag(sm))
			u := complex(h*imag(d), -h*real(d))
			o0[s] = a0 + sm
			o1[s] = t + u
			o2[s] = t - u
		}
	}
}
