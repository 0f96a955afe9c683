package anomaly

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// helper is a second goroutine that one detection call hands short jobs
// to, so that a single request can use two cores. Starting a goroutine for
// every job would cost a thread wake-up each time (tens of microseconds
// on a virtual machine, as much as the job); instead the helper stays on
// its core between jobs, yielding (runtime.Gosched) so that any other
// goroutine may run, and exits after helperIdle without a job. Jobs do
// exactly the arithmetic they would do on the caller's goroutine, so
// results never depend on whether or where they ran.
//
// Only the goroutine that owns the detection call posts and waits; the
// helper runs one job at a time, with its own arena for scratch space.
type helper struct {
	state   atomic.Int32
	job     func(ar *arena)
	ar      *arena      // the jobs' scratch space, reset by close
	counted bool        // made by newHelper: counted in helpersActive, pooled
	pooled  atomic.Bool // closed, waiting in helperPool
	// panicked is what the last job panicked with, raised again by wait
	// on the owner's goroutine (where the server's recovery sees it)
	// instead of ending the process.
	panicked any
	// next is a job queued while the helper was busy (see both): the
	// helper takes it when it is free, unless the owner got to it first.
	next atomic.Pointer[queued]
}

// queued is a job handed to a busy helper. Whoever moves state from
// qWaiting to qTaken runs it: the helper once it is free, or the owner
// when it is done with its own share first.
type queued struct {
	fn       func(ar *arena)
	state    atomic.Int32
	panicked any
}

// Queued job states.
const (
	qWaiting int32 = iota // not taken yet
	qTaken                // being run by the helper or the owner
	qDone                 // run by the helper (the owner's own runs end in qTaken)
)

// Helper states. Only the owner moves a helper out of hDone and into
// hClosed (helpers made by tests, which are not pooled); only the helper
// goroutine moves it out of hPosted and from hWaiting to hGone.
const (
	hGone    int32 = iota // no goroutine (not started yet, or it gave up)
	hWaiting              // the goroutine waits for a job
	hPosted               // a job is posted or running
	hDone                 // the job finished; the owner has not seen it
	hClosed               // the owner is done with the helper
)

// helperIdle is how long a helper waits for its next job before its
// goroutine exits (the next post starts a new one).
const helperIdle = 500 * time.Microsecond

// helperIdlePooled is helperIdle for a closed helper waiting in the pool
// for the next call: long enough for back-to-back requests, short enough
// that an idle server, or other processes on the machine, get the core
// back at once.
const helperIdlePooled = 50 * time.Microsecond

// helpersActive counts the helpers of calls in progress: a call gets one
// only while fewer than GOMAXPROCS−1 exist, so concurrent requests keep a
// core each instead of competing for cores with their helpers.
var helpersActive atomic.Int32

// newHelper returns a helper for one call, or nil when the process has a
// single core or every spare core already has a helper. Close it when the
// call is done. A helper closed by an earlier call whose goroutine still
// waits for work is reused, so back-to-back calls do not wake a thread
// each.
func newHelper() *helper {
	procs := int32(runtime.GOMAXPROCS(0))
	if procs < 2 {
		return nil
	}
	if helpersActive.Add(1) > procs-1 {
		helpersActive.Add(-1)
		return nil
	}
	if h, ok := helperPool.Get().(*helper); ok {
		h.pooled.Store(false)
		return h
	}
	return &helper{ar: getArena(), counted: true}
}

// helperPool holds closed helpers. Their goroutines exit after helperIdle
// (a pooled helper without one starts a new one when given a job), and
// the pool forgets them at a garbage collection like any sync.Pool.
var helperPool sync.Pool

// post hands fn to the helper after waiting for its previous job. With a
// nil helper it runs fn at once with the arena own.
func (h *helper) post(own *arena, fn func(ar *arena)) {
	if h == nil {
		fn(own)
		return
	}
	h.wait()
	h.job = fn
	if h.state.CompareAndSwap(hWaiting, hPosted) {
		return
	}
	// Not started, or the goroutine gave up waiting and has returned.
	h.state.Store(hPosted)
	go h.loop()
}

// wait returns once the posted job, if any, has finished, and panics
// with the job's panic if it had one.
func (h *helper) wait() {
	if h == nil {
		return
	}
	for spins := 1; ; spins++ {
		switch h.state.Load() {
		case hPosted:
			pause(spins)
		case hDone:
			p := h.panicked
			h.panicked = nil
			h.state.Store(hWaiting)
			if p != nil {
				panic(p)
			}
			return
		default:
			return
		}
	}
}

// both runs a on the helper of own (own.par) and b on the calling
// goroutine, and returns when both are done. Without a helper it runs b
// and then a here, a with the arena own. While the helper is still busy
// with an earlier job (the SR ratios), a is queued for it: the helper
// runs it if it becomes free before the caller has finished b, and the
// caller runs it itself otherwise.
func both(own *arena, a func(ar *arena), b func()) {
	h := own.helper()
	if h == nil {
		b()
		a(own)
		return
	}
	if h.busy() {
		q := &queued{fn: a}
		h.next.Store(q)
		b()
		if q.state.CompareAndSwap(qWaiting, qTaken) {
			h.next.CompareAndSwap(q, nil)
			a(own)
			return
		}
		for spins := 1; q.state.Load() != qDone; spins++ {
			pause(spins)
		}
		if q.panicked != nil {
			panic(q.panicked)
		}
		return
	}
	h.post(own, a)
	b()
	h.wait()
}

// close waits for the posted job and hands the helper, whose goroutine
// keeps waiting for work for helperIdle, to the next call. Nil-safe.
func (h *helper) close() {
	if h == nil {
		return
	}
	h.wait()
	h.ar.reset()
	if !h.counted {
		h.state.Store(hClosed)
		return
	}
	helpersActive.Add(-1)
	h.pooled.Store(true)
	helperPool.Put(h)
}

// pause is one round of a wait for the other goroutine: a yield to the
// scheduler every helperYield rounds, so that other goroutines can run,
// and a plain re-read of the state otherwise (the scheduler's lock is
// shared by every core).
func pause(spins int) {
	if spins%helperYield == 0 {
		runtime.Gosched()
	}
}

// helperYield is how many rounds of a wait pass between yields.
const helperYield = 32

// loop is the helper goroutine.
func (h *helper) loop() {
	// idleSince is when the helper last finished a job or entered the
	// pool; the wait for the next job is measured from it.
	var idleSince time.Time
	pooled := false
	for spins := 1; ; spins++ {
		switch h.state.Load() {
		case hPosted:
			h.run()
			h.job = nil
			h.state.Store(hDone)
			idleSince = time.Time{}
		case hClosed:
			return
		default:
			if q := h.next.Load(); q != nil && q.state.CompareAndSwap(qWaiting, qTaken) {
				h.next.CompareAndSwap(q, nil)
				h.runQueued(q)
				idleSince = time.Time{}
				continue
			}
			now := time.Now()
			limit := helperIdle
			if p := h.pooled.Load(); p != pooled {
				pooled, idleSince = p, now
			}
			if pooled {
				limit = helperIdlePooled
			}
			if idleSince.IsZero() {
				idleSince = now
			} else if now.Sub(idleSince) > limit && h.state.CompareAndSwap(hWaiting, hGone) {
				return
			}
			pause(spins)
		}
	}
}

// run runs the posted job, keeping its panic for wait.
func (h *helper) run() {
	defer func() {
		if p := recover(); p != nil {
			h.panicked = p
		}
	}()
	h.job(h.ar)
}

// runQueued runs a queued job taken by the helper, keeping its panic for
// the owner.
func (h *helper) runQueued(q *queued) {
	defer func() {
		if p := recover(); p != nil {
			q.panicked = p
		}
		q.state.Store(qDone)
	}()
	q.fn(h.ar)
}

// busy reports whether a posted job has not finished yet.
func (h *helper) busy() bool {
	return h.state.Load() == hPosted
}

// splitRange calls fn(0, n), or fn(n/2, n) on the helper of ar and
// fn(0, n/2) here when ar has one and n is at least splitMin.
func splitRange(ar *arena, n int, fn func(a, b int)) {
	if ar.helper() == nil || n < splitMin {
		fn(0, n)
		return
	}
	both(ar, func(*arena) { fn(n/2, n) }, func() { fn(0, n/2) })
}

// splitMin is the shortest range splitRange shares with the helper.
const splitMin = 256
