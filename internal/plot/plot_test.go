package plot

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// wellFormed fails the test unless svg parses as XML with an <svg> root.
func wellFormed(t *testing.T, svg []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(svg))
	root := ""
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
			if se.Name.Space != "http://www.w3.org/2000/svg" {
				t.Errorf("root namespace = %q, want the SVG namespace", se.Name.Space)
			}
		}
	}
	if root != "svg" {
		t.Fatalf("root element = %q, want svg", root)
	}
	if bytes.Contains(svg, []byte("NaN")) || bytes.Contains(svg, []byte("Inf")) {
		t.Errorf("SVG has a non-finite number")
	}
}

func render(t *testing.T, c *Chart) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Render(&b, c); err != nil {
		t.Fatalf("Render: %v", err)
	}
	wellFormed(t, b.Bytes())
	return b.Bytes()
}

// sample is a daily-seasonal series every 30 minutes with a spike, a dip
// and a level shift, with its expected band.
func sample(n int) *Chart {
	c := &Chart{
		Title:    `Sample <series> & "friends"`,
		Subtitle: "48 points a day, 2 anomalies",
	}
	t0 := time.Date(2014, 7, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		e := 100 + 30*math.Sin(2*math.Pi*float64(i)/48)
		if i >= n*2/3 {
			e += 40
		}
		v := e + 3*math.Sin(float64(i)*1.7)
		c.Times = append(c.Times, t0.Add(time.Duration(i)*30*time.Minute))
		c.Expected = append(c.Expected, e)
		c.Lower = append(c.Lower, e-8)
		c.Upper = append(c.Upper, e+8)
		c.Values = append(c.Values, v)
		c.Positive = append(c.Positive, false)
		c.Negative = append(c.Negative, false)
		c.ChangePoints = append(c.ChangePoints, i == n*2/3)
	}
	c.Values[n/4] += 60
	c.Positive[n/4] = true
	c.Values[n/2] -= 50
	c.Negative[n/2] = true
	return c
}

func TestRenderGolden(t *testing.T) {
	tests := []struct {
		name  string
		chart *Chart
	}{
		{"sample", sample(240)},
		{"index", func() *Chart {
			c := sample(60)
			c.Times, c.ChangePoints, c.Title = nil, nil, "By index"
			return c
		}()},
		{"last", func() *Chart {
			// Last-point detection: the band exists for the last point only.
			c := sample(48)
			for i := 0; i < 47; i++ {
				c.Expected[i], c.Lower[i], c.Upper[i] = math.NaN(), math.NaN(), math.NaN()
			}
			c.Positive, c.Negative, c.ChangePoints = nil, nil, nil
			return c
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := render(t, tt.chart)
			golden := filepath.Join("testdata", tt.name+".svg")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("SVG differs from %s; run go test -update and review the diff", golden)
			}
			if again := render(t, tt.chart); !bytes.Equal(got, again) {
				t.Errorf("Render is not deterministic")
			}
		})
	}
}

func TestRenderRobust(t *testing.T) {
	day := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		chart *Chart
	}{
		{"constant", &Chart{Values: []float64{5, 5, 5, 5}}},
		{"zero", &Chart{Values: []float64{0, 0, 0}, Expected: []float64{0, 0, 0}, Lower: []float64{0, 0, 0}, Upper: []float64{0, 0, 0}}},
		{"one-point", &Chart{Values: []float64{1}, Times: []time.Time{day}}},
		{"huge", &Chart{Values: []float64{-math.MaxFloat64, math.MaxFloat64, 1e300, -1e300}}},
		{"huge-close", &Chart{Values: []float64{1e15, 1e15 + 2, 1e15 + 4}}},
		{"tiny", &Chart{Values: []float64{1e-300, 2e-300, 3e-300, 5e-324}}},
		{"offset-noise", &Chart{Values: []float64{1e9, 1e9 + 1e-6, 1e9 - 1e-6}}},
		{"nan-gaps", &Chart{Values: []float64{1, math.NaN(), 3, 4, math.NaN()}, Expected: []float64{math.NaN(), math.NaN(), math.NaN(), math.NaN(), 2}}},
		{"all-nan", &Chart{Values: []float64{math.NaN(), math.NaN()}}},
		{"wide-band", &Chart{Values: []float64{1, 2, 3}, Lower: []float64{-1e12, -1e12, -1e12}, Upper: []float64{1e12, 1e12, 1e12}}},
		{"unsorted-times", &Chart{Values: []float64{1, 2, 3}, Times: []time.Time{day, day.Add(-time.Hour), day.Add(time.Hour)}}},
		{"millennia", &Chart{Values: []float64{1, 2, 3}, Times: []time.Time{
			time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), day, time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)}}},
		{"microseconds", &Chart{Values: []float64{1, 2, 3}, Times: []time.Time{day, day.Add(time.Microsecond), day.Add(2 * time.Microsecond)}}},
		{"years", &Chart{Values: []float64{1, 2, 3}, Times: []time.Time{day, day.AddDate(3, 0, 0), day.AddDate(6, 0, 0)}}},
		{"months", &Chart{Values: []float64{1, 2, 3}, Times: []time.Time{day, day.AddDate(0, 5, 0), day.AddDate(0, 10, 0)}}},
		{"control-chars", &Chart{Title: "a\x00b\x1bc\uFFFEd\xff", Values: []float64{1, 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			render(t, tt.chart)
		})
	}
}

func TestRenderErrors(t *testing.T) {
	tests := map[string]*Chart{
		"fail/no-values":   {},
		"fail/length":      {Values: []float64{1, 2}, Expected: []float64{1}},
		"fail/band-halved": {Values: []float64{1, 2}, Lower: []float64{1, 2}},
		"fail/too-small":   {Values: []float64{1, 2}, Width: 40, Height: 40},
	}
	for name, c := range tests {
		t.Run(name, func(t *testing.T) {
			if err := Render(io.Discard, c); err == nil {
				t.Fatal("Render succeeded, want an error")
			}
		})
	}
}

// TestRenderLarge checks that a long series is thinned but keeps every
// anomaly.
func TestRenderLarge(t *testing.T) {
	const n = 20000
	c := &Chart{}
	for i := 0; i < n; i++ {
		v := math.Sin(float64(i)/50) * 100
		c.Values = append(c.Values, v)
		c.Expected = append(c.Expected, v)
		c.Lower = append(c.Lower, v-5)
		c.Upper = append(c.Upper, v+5)
		c.Positive = append(c.Positive, i%97 == 0)
	}
	svg := render(t, c)
	if got, want := bytes.Count(svg, []byte("<circle")), (n+96)/97+1; got != want { // +1: the legend
		t.Errorf("%d circles, want %d (every anomaly and the legend's)", got, want)
	}
	if len(svg) > 600_000 {
		t.Errorf("SVG of %d points is %d bytes; the lines are not thinned", n, len(svg))
	}
}

func TestFormatValue(t *testing.T) {
	tests := []struct {
		v, step float64
		want    string
	}{
		{0, 1, "0"},
		{5, 1, "5"},
		{2.5, 0.5, "2.5"},
		{0.25, 0.05, "0.25"},
		{-10, 5, "-10"},
		{12000, 2000, "12k"},
		{12500, 500, "12.5k"},
		{3e6, 1e6, "3M"},
		{2.5e9, 5e8, "2.5G"},
		{4e12, 1e12, "4T"},
		{2e20, 1e20, "2e20"},
		{3e-5, 1e-5, "3e-05"},
	}
	for _, tt := range tests {
		if got := formatValue(tt.v, tt.step); got != tt.want {
			t.Errorf("formatValue(%g, %g) = %q, want %q", tt.v, tt.step, got, tt.want)
		}
	}
}

func TestTimeTicks(t *testing.T) {
	t0 := time.Date(2014, 7, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		span   time.Duration
		first  string
		second string
	}{
		{"hours", 10 * time.Hour, "00:00\n2014-07-01", "01:00"},
		{"days", 20 * 24 * time.Hour, "Jul 1\n2014", "Jul 3"},
		{"months", 300 * 24 * time.Hour, "Jul\n2014", "Aug"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ticks := timeTicks(t0, t0, t0.Add(tt.span), 10)
			if len(ticks) < 2 {
				t.Fatalf("%d ticks", len(ticks))
			}
			if !strings.EqualFold(ticks[0].label, tt.first) || ticks[1].label != tt.second {
				t.Errorf("labels %q, %q; want %q, %q", ticks[0].label, ticks[1].label, tt.first, tt.second)
			}
		})
	}
}

// FuzzRender renders charts of arbitrary values and timestamps and checks
// that the SVG stays well-formed.
func FuzzRender(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0x40}, int64(0), int64(60), "title")
	f.Add(bytes.Repeat([]byte{0xff}, 64), int64(-1<<62), int64(1<<40), "<&>")
	f.Fuzz(func(t *testing.T, data []byte, start, step int64, title string) {
		n := len(data) / 8
		if n == 0 || n > 5000 {
			return
		}
		c := &Chart{Title: title}
		t0 := time.Unix(start%(1<<37), 0).UTC()
		for i := range n {
			v := math.Float64frombits(binary.LittleEndian.Uint64(data[8*i:]))
			c.Values = append(c.Values, v)
			c.Expected = append(c.Expected, v/2)
			c.Lower = append(c.Lower, v/2-1)
			c.Upper = append(c.Upper, v/2+1)
			c.Positive = append(c.Positive, i%3 == 0)
			c.ChangePoints = append(c.ChangePoints, i%5 == 0)
			c.Times = append(c.Times, t0.Add(time.Duration(i)*time.Duration(step%(1<<40))))
		}
		var b bytes.Buffer
		if err := Render(&b, c); err != nil {
			t.Fatal(err)
		}
		d := xml.NewDecoder(&b)
		for {
			_, err := d.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("not well-formed: %v", err)
			}
		}
	})
}
