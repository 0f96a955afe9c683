// Package credential generates endpoint keys, derives the keyed digests by
// which a presented key finds its stored record without decrypting anything,
// and seals secrets for storage under a data key (AES-256-GCM, with the
// owner's identity bound as associated data). Keys are never kept or
// compared in plaintext outside this package's callers' memory, and every
// comparison here runs in constant time.
package credential

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
)

// DigestSize is the length of a lookup digest in bytes.
const DigestSize = sha256.Size

// Digest is the keyed lookup digest of a key.
type Digest [DigestSize]byte

// Equal reports whether d and o are the same digest, in constant time.
func (d Digest) Equal(o Digest) bool { return subtle.ConstantTimeCompare(d[:], o[:]) == 1 }

// Keyring holds the purpose keys derived from one data key: one for lookup
// digests, one for sealing secrets.
type Keyring struct {
	lookup []byte
	audit  []byte
	aead   cipher.AEAD
}

// NewKeyring derives a keyring from a 32-byte data key.
func NewKeyring(dataKey []byte) (*Keyring, error) {
	if len(dataKey) != 32 {
		return nil, fmt.Errorf("credential: data key must be 32 bytes, got %d", len(dataKey))
	}
	lookup, err := hkdf.Key(sha256.New, dataKey, nil, "vigil credential lookup v1", 32)
	if err != nil {
		return nil, fmt.Errorf("credential: derive lookup key: %w", err)
	}
	seal, err := hkdf.Key(sha256.New, dataKey, nil, "vigil secret sealing v1", 32)
	if err != nil {
		return nil, fmt.Errorf("credential: derive sealing key: %w", err)
	}
	audit, err := hkdf.Key(sha256.New, dataKey, nil, "vigil audit chain v1", 32)
	if err != nil {
		return nil, fmt.Errorf("credential: derive audit key: %w", err)
	}
	block, err := aes.NewCipher(seal)
	if err != nil {
		return nil, fmt.Errorf("credential: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("credential: %w", err)
	}
	return &Keyring{lookup: lookup, audit: audit, aead: aead}, nil
}

// AuditKey returns the key that chains the audit log.
func (k *Keyring) AuditKey() []byte { return k.audit }

// Digest returns the keyed digest (HMAC-SHA256) of key.
func (k *Keyring) Digest(key string) Digest {
	m := hmac.New(sha256.New, k.lookup)
	m.Write([]byte(key))
	var d Digest
	m.Sum(d[:0])
	return d
}

// ErrOpen is returned when a sealed secret cannot be opened: it was altered,
// or it belongs to another owner, or to another data key.
var ErrOpen = errors.New("credential: sealed secret cannot be opened")

// Seal encrypts plaintext, binding it to owner (for example
// "endpoint/default/key/primary") as associated data. The result holds the
// nonce followed by the ciphertext.
func (k *Keyring) Seal(plaintext []byte, owner string) ([]byte, error) {
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plaintext)+k.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("credential: nonce: %w", err)
	}
	return k.aead.Seal(nonce, nonce, plaintext, []byte(owner)), nil
}

// Open decrypts a secret sealed for owner.
func (k *Keyring) Open(sealed []byte, owner string) ([]byte, error) {
	ns := k.aead.NonceSize()
	if len(sealed) < ns+k.aead.Overhead() {
		return nil, ErrOpen
	}
	pt, err := k.aead.Open(nil, sealed[:ns], sealed[ns:], []byte(owner))
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// GenerateKey returns a new endpoint key: 32 random bytes as 64 hex digits.
func GenerateKey() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("credential: generate key: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// KeyOwner names the owner a key is sealed for.
func KeyOwner(endpoint, slot string) string { return "endpoint/" + endpoint + "/key/" + slot }

// Redact returns a form of a secret safe for logs: its length only.
func Redact(secret string) string { return fmt.Sprintf("[redacted %d chars]", len(secret)) }

// GenerateDataKey returns 32 random bytes for a new data key.
func GenerateDataKey() ([]byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("credential: generate data key: %w", err)
	}
	return b, nil
}
