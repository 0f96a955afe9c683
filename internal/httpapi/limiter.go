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
	start time.Time
	count int
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

// Limited reports whether src is refused now, and for how long.
func (l *FailureLimiter) Limited(src string) (time.Duration, bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.sources[src]
	if w == nil {
		return 0, false
	}
	if left := l.window - now.Sub(w.start); left > 0 {
		return left, w.count > l.max
	}
	delete(l.sources, src)
	return 0, false
}

// sweep drops expired windows; callers hold mu.
func (l *FailureLimiter) sweep(now time.Time) {
	for k, w := range l.sources {
		if now.Sub(w.start) >= l.window {
			delete(l.sources, k)
		}
	}
}
