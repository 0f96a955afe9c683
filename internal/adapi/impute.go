package adapi

import "github.com/vigilhq/vigil/internal/vigil"

// fill lays the request's values on the granularity grid and fills the
// missing slots by the impute mode. It returns the dense series and, for each
// input point, its index in that series. A series without timestamps, one
// with no gaps, or one whose mode is notFill is returned as it is, with a nil
// index (the identity).
func (r *Request) fill() (values []float64, index []int, err error) {
	if r.Times == nil || r.ImputeMode == ImputeNotFill {
		return r.Values, nil, nil
	}
	gr := grid{g: r.Granularity, interval: r.CustomInterval, origin: r.Times[0]}
	last, _ := gr.slot(r.Times[len(r.Times)-1])
	if last+1 == len(r.Values) {
		return r.Values, nil, nil
	}
	if last+1 > maxFilled {
		return nil, nil, invalid(CodeInvalidSeries, "The series misses too many points: filling its gaps would make %d points, more than %d.", last+1, maxFilled)
	}
	index = make([]int, len(r.Values))
	for i, t := range r.Times {
		index[i], _ = gr.slot(t)
	}
	values = make([]float64, last+1)
	for i := range index {
		values[index[i]] = r.Values[i]
	}
	for i := 1; i < len(index); i++ {
		lo, hi := index[i-1], index[i]
		if hi-lo == 1 {
			continue
		}
		a, b := r.Values[i-1], r.Values[i]
		for k := lo + 1; k < hi; k++ {
			switch r.ImputeMode {
			case ImputePrevious:
				values[k] = a
			case ImputeFixed:
				values[k] = r.ImputeFixedValue
			case ImputeZero:
				values[k] = 0
			default: // auto and linear
				values[k] = a + (b-a)*float64(k-lo)/float64(hi-lo)
			}
		}
	}
	return values, index, nil
}

// internalError wraps an unexpected engine failure.
func internalError(err error) error {
	return &vigil.Error{Code: vigil.EInternal, Message: "the detector failed", Err: err}
}
