package credential

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func mustRing(t *testing.T, fill byte) *Keyring {
	t.Helper()
	r, err := NewKeyring(bytes.Repeat([]byte{fill}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestDigestIsKeyedAndStable(t *testing.T) {
	a, b := mustRing(t, 1), mustRing(t, 2)
	if !a.Digest("k").Equal(a.Digest("k")) {
		t.Error("same key, same ring: digests differ")
	}
	if a.Digest("k").Equal(a.Digest("k ")) {
		t.Error("keys differing by one byte share a digest")
	}
	if a.Digest("k").Equal(b.Digest("k")) {
		t.Error("digest does not depend on the data key")
	}
}

func TestSealOpen(t *testing.T) {
	r := mustRing(t, 1)
	sealed, err := r.Seal([]byte("secret-value"), "endpoint/a/key/primary")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("secret-value")) {
		t.Fatal("sealed form holds the plaintext")
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	tests := []struct {
		name    string
		ring    *Keyring
		sealed  []byte
		owner   string
		wantErr bool
	}{
		{"ok/same-owner", r, sealed, "endpoint/a/key/primary", false},
		{"fail/other-owner", r, sealed, "endpoint/a/key/secondary", true},
		{"fail/other-data-key", mustRing(t, 2), sealed, "endpoint/a/key/primary", true},
		{"fail/tampered", r, tampered, "endpoint/a/key/primary", true},
		{"fail/truncated", r, sealed[:5], "endpoint/a/key/primary", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pt, err := tt.ring.Open(tt.sealed, tt.owner)
			if tt.wantErr {
				if !errors.Is(err, ErrOpen) {
					t.Fatalf("err = %v, want ErrOpen", err)
				}
				return
			}
			if err != nil || string(pt) != "secret-value" {
				t.Fatalf("Open = %q, %v", pt, err)
			}
		})
	}
}

func TestSealUsesFreshNonces(t *testing.T) {
	r := mustRing(t, 1)
	a, _ := r.Seal([]byte("x"), "o")
	b, _ := r.Seal([]byte("x"), "o")
	if bytes.Equal(a, b) {
		t.Error("two seals of the same plaintext are identical")
	}
}

func TestGenerateKey(t *testing.T) {
	k1, _ := GenerateKey()
	k2, _ := GenerateKey()
	if len(k1) != 64 || strings.Trim(k1, "0123456789abcdef") != "" || k1 == k2 {
		t.Errorf("GenerateKey = %q, %q", k1, k2)
	}
}

func TestNewKeyringRejectsShortKeys(t *testing.T) {
	if _, err := NewKeyring(make([]byte, 16)); err == nil {
		t.Error("a 16-byte data key was accepted")
	}
}

func TestRedactHidesTheSecret(t *testing.T) {
	if got := Redact("abcdefabcdefabcdef"); strings.Contains(got, "abc") {
		t.Errorf("Redact = %q", got)
	}
}
