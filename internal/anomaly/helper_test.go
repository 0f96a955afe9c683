package anomaly

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
	"testing"
	"time"
)

// TestDetectSameOnOneOrTwoCores checks that splitting a call's work with a
// helper on a second core changes no bit of the answers.
func TestDetectSameOnOneOrTwoCores(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	walk := make([]float64, 3000)
	for i := 1; i < len(walk); i++ {
		walk[i] = walk[i-1] + rng.NormFloat64()
	}
	hourly := make([]float64, 673)
	for i := range hourly {
		hourly[i] = 100 + 30*math.Sin(2*math.Pi*float64(i)/24) + 3*rng.NormFloat64()
	}
	hourly[400] += 60
	series := map[string][]float64{
		"daily 8640":  benchSeries(8640),
		"hourly 673":  hourly,
		"walk 3000":   walk,
		"short 300":   benchSeries(300),
		"below split": benchSeries(200),
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for name, v := range series {
		for _, style := range []MarginStyle{StyleV11, StyleV11Preview, StyleV10} {
			opt := Options{Sensitivity: 95, MaxAnomalyRatio: 0.25, Style: style}
			var entire [2]*EntireResult
			var last [2]*LastResult
			for k, procs := range []int{1, 2} {
				runtime.GOMAXPROCS(procs)
				if h := newHelper(); (h != nil) != (procs == 2) {
					t.Fatalf("GOMAXPROCS %d: helper %v", procs, h != nil)
				} else {
					h.close()
				}
				var err error
				if entire[k], err = DetectEntire(v, opt); err != nil {
					t.Fatal(err)
				}
				if last[k], err = DetectLast(v, opt); err != nil {
					t.Fatal(err)
				}
			}
			if !reflect.DeepEqual(entire[0], entire[1]) {
				t.Errorf("%s, style %d: entire detect differs on one and two cores", name, style)
			}
			if *last[0] != *last[1] {
				t.Errorf("%s, style %d: last detect differs: %+v and %+v", name, style, *last[0], *last[1])
			}
		}
	}
}

func TestHelperRestartsAfterGivingUp(t *testing.T) {
	h := &helper{ar: getArena()}
	defer h.close()
	ran := 0
	h.post(nil, func(*arena) { ran++ })
	h.wait()
	// Idle for longer than helperIdle: the goroutine exits, and the next
	// post starts a new one.
	deadline := time.Now().Add(10 * time.Second)
	for h.state.Load() != hGone {
		if time.Now().After(deadline) {
			t.Fatalf("helper still waiting after 10 s (state %d)", h.state.Load())
		}
		time.Sleep(helperIdle)
	}
	h.post(nil, func(*arena) { ran++ })
	h.wait()
	if ran != 2 {
		t.Fatalf("ran %d jobs, want 2", ran)
	}
}

func TestBothWithoutHelperRunsBothHere(t *testing.T) {
	var order []string
	both(nil, func(ar *arena) { order = append(order, "a") }, func() { order = append(order, "b") })
	if !reflect.DeepEqual(order, []string{"b", "a"}) {
		t.Fatalf("order %v, want [b a]", order)
	}
}

func TestNewHelperLeavesACorePerCall(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	a := newHelper()
	if a == nil {
		t.Fatal("no helper on two cores") // the package's tests are not parallel
	}
	defer a.close()
	if b := newHelper(); b != nil {
		b.close()
		t.Fatal("a second helper on two cores")
	}
	runtime.GOMAXPROCS(1)
	if c := newHelper(); c != nil {
		c.close()
		t.Fatal("a helper on one core")
	}
}

func TestHelperPanicReachesTheOwner(t *testing.T) {
	h := &helper{ar: getArena()}
	defer h.close()
	defer func() {
		if p := recover(); p != "boom" {
			t.Fatalf("recovered %v, want boom", p)
		}
		// The helper still works after a job panicked.
		ran := false
		h.post(nil, func(*arena) { ran = true })
		h.wait()
		if !ran {
			t.Fatal("the job after the panic did not run")
		}
	}()
	both(&arena{par: h}, func(*arena) { panic("boom") }, func() {})
	t.Fatal("both returned after the helper's job panicked")
}

func TestSRJobPanicReachesTheOwner(t *testing.T) {
	h := &helper{ar: getArena()}
	defer h.close()
	j := &srJob{h: h}
	h.post(nil, func(*arena) { panic("sr boom") })
	defer func() {
		if p := recover(); p != "sr boom" {
			t.Fatalf("recovered %v, want sr boom", p)
		}
	}()
	j.wait()
	t.Fatal("wait returned after the SR job panicked")
}

func TestBothQueuesForABusyHelper(t *testing.T) {
	h := &helper{ar: getArena()}
	defer h.close()
	own := &arena{par: h}
	release := make(chan bool)
	// The helper is busy until release is closed.
	h.post(own, func(*arena) { <-release })
	for !h.busy() {
		runtime.Gosched()
	}
	// The owner finishes its share first: it runs the queued job itself.
	var ranOn *arena
	both(own, func(ar *arena) { ranOn = ar }, func() {})
	if ranOn != own {
		t.Fatalf("queued job ran with arena %p, want the owner's %p", ranOn, own)
	}
	// The helper becomes free while the owner still works: it takes the
	// queued job.
	ranOn = nil
	both(own, func(ar *arena) { ranOn = ar }, func() {
		close(release)
		deadline := time.Now().Add(10 * time.Second)
		for h.next.Load() != nil && time.Now().Before(deadline) {
			runtime.Gosched()
		}
	})
	if ranOn != h.ar {
		t.Fatalf("queued job ran with arena %p, want the helper's %p", ranOn, h.ar)
	}
	h.wait()
	// A queued job's panic reaches the owner too.
	release2 := make(chan bool)
	h.post(own, func(*arena) { <-release2 })
	defer func() {
		if p := recover(); p != "queued boom" {
			t.Fatalf("recovered %v, want queued boom", p)
		}
	}()
	both(own, func(*arena) { panic("queued boom") }, func() {
		close(release2)
		for h.next.Load() != nil {
			runtime.Gosched()
		}
	})
}

func TestClampIsMinOfMax(t *testing.T) {
	negZero := math.Copysign(0, -1)
	vals := []float64{negZero, 0, -1, 1, -2.5, 2.5, 1e-300, -1e-300, 7}
	for _, v := range vals {
		for _, lo := range vals {
			for _, hi := range vals {
				if lo > hi {
					continue
				}
				want, got := min(max(v, lo), hi), clamp(v, lo, hi)
				if math.Float64bits(want) != math.Float64bits(got) {
					t.Errorf("clamp(%v, %v, %v) = %v (sign %v), want %v (sign %v)", v, lo, hi, got, math.Signbit(got), want, math.Signbit(want))
				}
			}
		}
	}
}

// TestConcurrentCallsGiveTheSameAnswers runs detections from several
// goroutines at once (only some get a helper) and checks every answer
// against the same call made alone.
func TestConcurrentCallsGiveTheSameAnswers(t *testing.T) {
	series := [][]float64{benchSeries(8640), benchSeries(3000), benchSeries(673), benchSeries(300)}
	opt := Options{Sensitivity: 90, MaxAnomalyRatio: 0.25}
	type answer struct {
		entire *EntireResult
		last   *LastResult
	}
	want := make([]answer, len(series))
	for i, v := range series {
		e, err := DetectEntire(v, opt)
		if err != nil {
			t.Fatal(err)
		}
		l, err := DetectLast(v, opt)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = answer{e, l}
	}
	const workers, rounds = 4, 5
	errs := make(chan string, workers*rounds*len(series))
	done := make(chan bool)
	for w := range workers {
		go func() {
			defer func() { done <- true }()
			for r := range rounds {
				i := (w + r) % len(series)
				e, err := DetectEntire(series[i], opt)
				if err != nil || !reflect.DeepEqual(e, want[i].entire) {
					errs <- fmt.Sprintf("worker %d: entire detect of series %d differs (err %v)", w, i, err)
				}
				l, err := DetectLast(series[i], opt)
				if err != nil || *l != *want[i].last {
					errs <- fmt.Sprintf("worker %d: last detect of series %d differs (err %v)", w, i, err)
				}
			}
		}()
	}
	for range workers {
		<-done
	}
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if n := helpersActive.Load(); n != 0 {
		t.Errorf("%d helpers still counted as active", n)
	}
}
