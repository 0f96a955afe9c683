package kek

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestLoadOrCreate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "master.key")
	if _, err := LoadOrCreate(path, false); err == nil {
		t.Fatal("a missing key file was accepted without create")
	}
	k1, err := LoadOrCreate(path, true)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 || st.Size() != 32 {
		t.Errorf("key file mode %v size %d, want 0600 and 32", st.Mode().Perm(), st.Size())
	}
	k2, err := LoadOrCreate(path, true)
	if err != nil || k2.ID() != k1.ID() {
		t.Fatalf("reload: %v, id %s vs %s", err, k2.ID(), k1.ID())
	}
	os.Chmod(path, 0o644)
	if _, err := LoadOrCreate(path, true); err == nil {
		t.Error("a key file readable by others was accepted")
	}
}

func TestWrapUnwrap(t *testing.T) {
	a, _ := New(bytes.Repeat([]byte{1}, 32))
	b, _ := New(bytes.Repeat([]byte{2}, 32))
	dk := bytes.Repeat([]byte{9}, 32)
	w, err := a.Wrap(dk, "aad")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := a.Unwrap(w, "aad"); err != nil || !bytes.Equal(got, dk) {
		t.Fatalf("Unwrap = %x, %v", got, err)
	}
	for name, f := range map[string]func() ([]byte, error){
		"fail/other-kek": func() ([]byte, error) { return b.Unwrap(w, "aad") },
		"fail/other-aad": func() ([]byte, error) { return a.Unwrap(w, "other") },
		"fail/short":     func() ([]byte, error) { return a.Unwrap(w[:4], "aad") },
	} {
		if _, err := f(); !errors.Is(err, ErrUnwrap) {
			t.Errorf("%s: err = %v, want ErrUnwrap", name, err)
		}
	}
	if a.ID() == b.ID() {
		t.Error("different keys share an id")
	}
}
