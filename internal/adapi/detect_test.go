package adapi

import "testing"

func TestAppendArrays(t *testing.T) {
	identity := func(i int) int { return i }
	index := []int{0, 2, 5}
	mapped := func(i int) int { return index[i] }
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"ok/floats-identity", string(appendFloats(nil, []float64{1, 0.5, -2}, 3, identity)), "[1.0,0.5,-2.0]"},
		{"ok/floats-empty", string(appendFloats(nil, nil, 0, identity)), "[]"},
		{"ok/floats-mapped", string(appendFloats(nil, []float64{1, 9, 2, 9, 9, 3}, 3, mapped)), "[1.0,2.0,3.0]"},
		{"ok/floats-short-source-zero", string(appendFloats(nil, []float64{1, 9, 2}, 3, mapped)), "[1.0,2.0,0.0]"},
		{"ok/bools-identity", string(appendBools(nil, []bool{true, false}, 2, identity)), "[true,false]"},
		{"ok/bools-mapped", string(appendBools(nil, []bool{true, true, false, true, true, true}, 3, mapped)), "[true,false,true]"},
		{"ok/bools-short-source-false", string(appendBools(nil, []bool{true}, 3, mapped)), "[true,false,false]"},
		{"ok/appends", string(appendBools([]byte(`{"a":`), []bool{true}, 1, identity)), `{"a":[true]`},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, tt.got, tt.want)
		}
	}
}

func TestImputeModeString(t *testing.T) {
	want := map[ImputeMode]string{
		ImputeAuto: "auto", ImputePrevious: "previous", ImputeLinear: "linear",
		ImputeFixed: "fixed", ImputeZero: "zero", ImputeNotFill: "notFill",
	}
	for m, w := range want {
		if got := m.String(); got != w {
			t.Errorf("ImputeMode(%d).String() = %q, want %q", int(m), got, w)
		}
	}
}
