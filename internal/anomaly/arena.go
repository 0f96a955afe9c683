package anomaly

import "sync"

// arena hands out scratch slices for one detection call from slabs that
// are reused across calls (through arenaPool), so a call allocates little
// more than its result. Slices from an arena must not outlive the call
// and must never be returned to the caller. A nil *arena allocates from
// the heap, so helpers work without one.
type arena struct {
	f          []float64
	c          []complex128
	i          []int32
	fOff, cOff int
	iOff       int
	fNeed      int // floats requested in the current call
	cNeed      int
	iNeed      int
	// par is the call's helper on a second core (nil: none), set by the
	// entry points and used by the steps that split their work.
	par *helper
}

var arenaPool = sync.Pool{New: func() any { return new(arena) }}

// getArena returns a reset arena; give it back with putArena.
func getArena() *arena {
	a := arenaPool.Get().(*arena)
	a.par = nil
	return a
}

// putArena resets a and returns it to the pool.
func putArena(a *arena) {
	a.reset()
	arenaPool.Put(a)
}

// reset grows the slabs to what the last call needed (so the next call of
// the same size is served from them) and forgets every slice handed out.
func (a *arena) reset() {
	if a.fNeed > len(a.f) {
		a.f = make([]float64, a.fNeed)
	}
	if a.cNeed > len(a.c) {
		a.c = make([]complex128, a.cNeed)
	}
	if a.iNeed > len(a.i) {
		a.i = make([]int32, a.iNeed)
	}
	a.fOff, a.cOff, a.fNeed, a.cNeed = 0, 0, 0, 0
	a.iOff, a.iNeed = 0, 0
}

// helper returns the call's helper (nil for a nil arena or without one).
func (a *arena) helper() *helper {
	if a == nil {
		return nil
	}
	return a.par
}

// floats returns a zeroed slice of n float64s.
func (a *arena) floats(n int) []float64 {
	if a == nil {
		return make([]float64, n)
	}
	a.fNeed += n
	if a.fOff+n > len(a.f) {
		return make([]float64, n)
	}
	s := a.f[a.fOff : a.fOff+n : a.fOff+n]
	a.fOff += n
	clear(s)
	return s
}

// scratch is floats without the zeroing, for buffers the caller writes in
// full before reading them.
func (a *arena) scratch(n int) []float64 {
	if a == nil {
		return make([]float64, n)
	}
	a.fNeed += n
	if a.fOff+n > len(a.f) {
		return make([]float64, n)
	}
	s := a.f[a.fOff : a.fOff+n : a.fOff+n]
	a.fOff += n
	return s
}

// complexScratch is complexes without the zeroing, for buffers the caller
// writes in full before reading them.
func (a *arena) complexScratch(n int) []complex128 {
	if a == nil {
		return make([]complex128, n)
	}
	a.cNeed += n
	if a.cOff+n > len(a.c) {
		return make([]complex128, n)
	}
	s := a.c[a.cOff : a.cOff+n : a.cOff+n]
	a.cOff += n
	return s
}

// int32s is scratch for n int32s (not zeroed).
func (a *arena) int32s(n int) []int32 {
	if a == nil {
		return make([]int32, n)
	}
	a.iNeed += n
	if a.iOff+n > len(a.i) {
		return make([]int32, n)
	}
	s := a.i[a.iOff : a.iOff+n : a.iOff+n]
	a.iOff += n
	return s
}
