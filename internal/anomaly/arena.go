package anomaly

import "sync"

// arena hands out scratch slices for one detection call from slabs that
// are reused across calls (through arenaPool), so a call allocates little
// more than its result. Slices from an arena must not outlive the call
// and must never be returned to the caller. A nil *arena allocates from
// the heap, so helpers work without one.
type arena struct {
	f slab[float64]
	c slab[complex128]
	i slab[int32]
	// par is the call's helper on a second core (nil: none), set by the
	// entry points and used by the steps that split their work.
	par *helper
}

// slab is one element type's storage in an arena.
type slab[T any] struct {
	buf  []T
	off  int // next free element
	need int // elements requested in the current call
}

// take returns n elements (not zeroed) from the slab, or from the heap
// when the slab is too small this time; need records the demand so reset
// can grow the slab for the next call.
func (s *slab[T]) take(n int) []T {
	s.need += n
	if s.off+n > len(s.buf) {
		return make([]T, n)
	}
	out := s.buf[s.off : s.off+n : s.off+n]
	s.off += n
	return out
}

// reset grows the slab to the last call's demand and forgets every slice
// handed out.
func (s *slab[T]) reset() {
	if s.need > len(s.buf) {
		s.buf = make([]T, s.need)
	}
	s.off, s.need = 0, 0
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
	a.f.reset()
	a.c.reset()
	a.i.reset()
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
	s := a.scratch(n)
	clear(s)
	return s
}

// scratch is floats without the zeroing, for buffers the caller writes in
// full before reading them.
func (a *arena) scratch(n int) []float64 {
	if a == nil {
		return make([]float64, n)
	}
	return a.f.take(n)
}

// complexScratch is complexes without the zeroing, for buffers the caller
// writes in full before reading them.
func (a *arena) complexScratch(n int) []complex128 {
	if a == nil {
		return make([]complex128, n)
	}
	return a.c.take(n)
}

// int32s is scratch for n int32s (not zeroed).
func (a *arena) int32s(n int) []int32 {
	if a == nil {
		return make([]int32, n)
	}
	return a.i.take(n)
}
