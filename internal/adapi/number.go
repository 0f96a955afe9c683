package adapi

import (
	"math"
	"strconv"
)

// appendFloat appends f the way the v1.1 service printed doubles: the
// shortest form that reads back to the same value, with ".0" on integral
// values and an exponent only below 1e-4 or from 1e16 up ("855.0",
// "0.0003", "1e-05", "1e+16").
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		// The engine never returns these; keep the JSON valid regardless.
		return append(b, '0', '.', '0')
	}
	if f == 0 {
		if math.Signbit(f) {
			return append(b, "-0.0"...)
		}
		return append(b, "0.0"...)
	}
	var tmp [32]byte
	e := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64)
	// e is like "-8.5505e+02": split sign, digits and exponent.
	neg := e[0] == '-'
	if neg {
		e = e[1:]
	}
	epos := 0
	for epos < len(e) && e[epos] != 'e' {
		epos++
	}
	mant := e[:epos]
	exp, _ := strconv.Atoi(string(e[epos+1:]))
	digits := make([]byte, 0, 20)
	for _, c := range mant {
		if c != '.' {
			digits = append(digits, c)
		}
	}
	if neg {
		b = append(b, '-')
	}
	decpt := exp + 1 // position of the decimal point after the first digit
	if decpt > -4 && decpt <= 16 {
		switch {
		case decpt <= 0:
			b = append(b, '0', '.')
			for i := 0; i < -decpt; i++ {
				b = append(b, '0')
			}
			b = append(b, digits...)
		case decpt >= len(digits):
			b = append(b, digits...)
			for i := len(digits); i < decpt; i++ {
				b = append(b, '0')
			}
			b = append(b, '.', '0')
		default:
			b = append(b, digits[:decpt]...)
			b = append(b, '.')
			b = append(b, digits[decpt:]...)
		}
		return b
	}
	b = append(b, digits[0])
	if len(digits) > 1 {
		b = append(b, '.')
		b = append(b, digits[1:]...)
	}
	b = append(b, 'e')
	if exp < 0 {
		b = append(b, '-')
		exp = -exp
	} else {
		b = append(b, '+')
	}
	if exp < 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, int64(exp), 10)
}
