package adapi

import (
	"bufio"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestAppendFloat(t *testing.T) {
	tests := []struct {
		name string
		in   float64
		want string
	}{
		{"ok/integral", 855, "855.0"},
		{"ok/zero", 0, "0.0"},
		{"ok/negative-zero", math.Copysign(0, -1), "-0.0"},
		{"ok/one", 1, "1.0"},
		{"ok/fraction", 0.5, "0.5"},
		{"ok/shortest-round-trip", 0.30000000000000004, "0.30000000000000004"},
		{"ok/just-above-integral", 855.0000000000005, "855.0000000000005"},
		{"ok/small-fixed-limit", 0.0001, "0.0001"},
		{"ok/small-fixed-digits", 0.00012345, "0.00012345"},
		{"ok/small-exponent", 1e-05, "1e-05"},
		{"ok/small-exponent-digits", 2.5e-05, "2.5e-05"},
		{"ok/just-below-1e-4", 9.999999999999999e-05, "9.999999999999999e-05"},
		{"ok/large-fixed-limit", 1234567890123456.0, "1234567890123456.0"},
		{"ok/1e15", 1e15, "1000000000000000.0"},
		{"ok/just-below-1e16", 9999999999999998.0, "9999999999999998.0"},
		{"ok/large-exponent", 1e16, "1e+16"},
		{"ok/large-exponent-digits", 123456789012345678.0, "1.2345678901234568e+17"},
		{"ok/1e22", 1e22, "1e+22"},
		{"ok/three-digit-exponent", 1e100, "1e+100"},
		{"ok/smallest-subnormal", 5e-324, "5e-324"},
		{"ok/smallest-normal", 2.2250738585072014e-308, "2.2250738585072014e-308"},
		{"ok/max", math.MaxFloat64, "1.7976931348623157e+308"},
		{"ok/negative-integral", -855, "-855.0"},
		{"ok/negative-fraction", -123.456, "-123.456"},
		{"ok/negative-small", -1.5e-07, "-1.5e-07"},
		{"ok/negative-smallest-subnormal", -5e-324, "-5e-324"},
		{"ok/negative-max", -math.MaxFloat64, "-1.7976931348623157e+308"},
		{"ok/nan-written-as-zero", math.NaN(), "0.0"},
		{"ok/inf-written-as-zero", math.Inf(1), "0.0"},
		{"ok/negative-inf-written-as-zero", math.Inf(-1), "0.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(appendFloat(nil, tt.in))
			if got != tt.want {
				t.Errorf("appendFloat(%v) = %q, want %q", tt.in, got, tt.want)
			}
			if math.IsNaN(tt.in) || math.IsInf(tt.in, 0) {
				return
			}
			checkRoundTrip(t, tt.in, got)
		})
	}
}

// TestAppendFloatAppends checks appendFloat extends its argument rather than
// overwriting it.
func TestAppendFloatAppends(t *testing.T) {
	got := string(appendFloat([]byte("[1.0,"), 2.5))
	if want := "[1.0,2.5"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestAppendFloatPython compares appendFloat with CPython's repr() for the
// values in testdata/pyrepr.txt (edge cases, random bit patterns, random
// magnitudes from 1e-8 to 1e20, large integers and rounded decimals).
func TestAppendFloatPython(t *testing.T) {
	f, err := os.Open("testdata/pyrepr.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		hex, want, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("bad line %q", line)
		}
		bits, err := strconv.ParseUint(hex, 16, 64)
		if err != nil {
			t.Fatalf("bad bits in %q: %v", line, err)
		}
		in := math.Float64frombits(bits)
		if got := string(appendFloat(nil, in)); got != want {
			t.Errorf("appendFloat(%#016x) = %q, want Python's %q", bits, got, want)
		}
		n++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 900 {
		t.Errorf("read %d values from testdata/pyrepr.txt, want at least 900", n)
	}
}

func FuzzAppendFloat(f *testing.F) {
	for _, v := range []float64{
		0, math.Copysign(0, -1), 1, -1, 855, 855.0000000000005, 0.1, 1e-05, 0.0001,
		9.999999999999999e-05, 1e15, 1e16, 9999999999999998, 1234567890123456,
		5e-324, math.MaxFloat64, -math.MaxFloat64, 2.2250738585072014e-308, 1e100, -1.5e-07,
	} {
		f.Add(math.Float64bits(v))
	}
	f.Fuzz(func(t *testing.T, bits uint64) {
		in := math.Float64frombits(bits)
		if math.IsNaN(in) || math.IsInf(in, 0) {
			if got := string(appendFloat(nil, in)); got != "0.0" {
				t.Fatalf("appendFloat(%v) = %q, want 0.0", in, got)
			}
			return
		}
		got := string(appendFloat(nil, in))
		checkRoundTrip(t, in, got)
		checkPythonShape(t, in, got)
	})
}

// checkRoundTrip fails unless s parses back to exactly in, sign of zero
// included.
func checkRoundTrip(t *testing.T, in float64, s string) {
	t.Helper()
	back, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("ParseFloat(%q): %v", s, err)
	}
	if math.Float64bits(back) != math.Float64bits(in) {
		t.Fatalf("ParseFloat(appendFloat(%v)) = %v (from %q), want the same bits", in, back, s)
	}
}

// checkPythonShape checks the layout rules of Python's float repr that a
// round trip alone does not: shortest digits, fixed notation exactly for
// 1e-4 <= |v| < 1e16 with ".0" on integral values, otherwise d[.ddd]e±XX.
func checkPythonShape(t *testing.T, in float64, s string) {
	t.Helper()
	// Shortest: no more significant digits than Go's shortest form.
	short := strconv.FormatFloat(math.Abs(in), 'e', -1, 64)
	mant, _, _ := strings.Cut(short, "e")
	wantDigits := len(strings.ReplaceAll(mant, ".", ""))
	abs := math.Abs(in)
	body := strings.TrimPrefix(s, "-")
	if (s[0] == '-') != math.Signbit(in) {
		t.Fatalf("appendFloat(%v) = %q: wrong sign", in, s)
	}
	if in == 0 {
		if body != "0.0" {
			t.Fatalf("appendFloat(%v) = %q, want 0.0", in, s)
		}
		return
	}
	if abs >= 1e-4 && abs < 1e16 {
		if strings.ContainsAny(body, "eE") {
			t.Fatalf("appendFloat(%v) = %q, want fixed notation", in, s)
		}
		intPart, frac, ok := strings.Cut(body, ".")
		if !ok || frac == "" || intPart == "" {
			t.Fatalf("appendFloat(%v) = %q, want digits.digits", in, s)
		}
		if frac != "0" && strings.HasSuffix(frac, "0") {
			t.Fatalf("appendFloat(%v) = %q: trailing zero", in, s)
		}
		digits := strings.TrimLeft(intPart+frac, "0")
		if frac == "0" {
			digits = strings.TrimRight(strings.TrimLeft(intPart, "0"), "0")
		}
		if len(digits) != wantDigits {
			t.Fatalf("appendFloat(%v) = %q has %d significant digits, want %d", in, s, len(digits), wantDigits)
		}
		return
	}
	m, exp, ok := strings.Cut(body, "e")
	if !ok {
		t.Fatalf("appendFloat(%v) = %q, want an exponent", in, s)
	}
	if len(exp) < 3 || (exp[0] != '+' && exp[0] != '-') || (len(exp) > 3 && exp[1] == '0') {
		t.Fatalf("appendFloat(%v) = %q: exponent %q, want a sign and at least two digits, no extra zeros", in, s, exp)
	}
	if strings.HasSuffix(m, ".0") || strings.HasSuffix(m, ".") {
		t.Fatalf("appendFloat(%v) = %q: mantissa %q has a needless fraction", in, s, m)
	}
	if got := len(strings.ReplaceAll(m, ".", "")); got != wantDigits {
		t.Fatalf("appendFloat(%v) = %q has %d significant digits, want %d", in, s, got, wantDigits)
	}
}
