package httpapi

import (
	"sync"
	"time"
)

// FailureLimiter counts failed authentications per source address in a
// fixed window; a source with more than Max failures in the window is
// refused (429) until the window passes. No source is exempt.
type FailureLimiter struct {
	max    int
	window time.Duration
	now    func() time.Time

	mu      sync.Mutex
	sources map[string]*failWindow
}

type failWindow struct {
	start    time.Time
	count    int
	reported bool // a refusal in this window has been reported
}

// NewFailureLimiter allows up to max failures per source within window.
func NewFailureLimiter(max int, window time.Duration, now func() time.Time) *FailureLimiter {
	return &FailureLimiter{max: max, window: window, now: now, sources: make(map[string]*failWindow)}
}

// Fail records a failed authentication from src.
func (l *FailureLimiter) Fail(src string) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.sources[src]
	if w == nil || now.Sub(w.start) >= l.window {
		if len(l.sources) > 100000 {
			l.sweep(now)
		}
		l.sources[src] = &failWindow{start: now, count: 1}
		return
	}
	w.count++
}

// Limited reports whether src is refused now, and for how long. first is
// true for the first refusal of src in a window, so that callers can
// record the throttling once rather than once per refused request.
func (l *FailureLimiter) Limited(src string) (left time.Duration, limited, first bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.sources[src]
	if w == nil {
		return 0, false, false
	}
	if left := l.window - now.Sub(w.start); left > 0 {
		if w.count <= l.max {
			return left, false, false
		}
		first := !w.reported
		w.reported = true
		return left, true, first
	}
	delete(l.sources, src)
	return 0, false, false
}

// sweep drops expired windows; callers hold mu.
func (l *FailureLimiter) sweep(now time.Time) {
	for k, w := range l.sources {
		if now.Sub(w.start) >= l.window {
			delete(l.sources, k)
		}
	}
}
