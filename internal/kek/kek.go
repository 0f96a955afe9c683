// Package kek provides key-encryption keys: they wrap and unwrap the data
// keys under which Vigil seals secrets (envelope encryption). The local
// provider keeps a 256-bit key in a file readable only by its owner.
package kek

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Local is a key-encryption key held in a local file.
type Local struct {
	id   string
	aead cipher.AEAD
}

// keyFileSize is the size of a master key file: 32 raw bytes.
const keyFileSize = 32

// LoadOrCreate reads the master key at path, creating it (0600, 32 random
// bytes) when create is true and it does not exist. A file readable by group
// or others is refused.
func LoadOrCreate(path string, create bool) (*Local, error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		key = make([]byte, keyFileSize)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("kek: generate master key: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("kek: create master key: %w", err)
		}
		if _, err := f.Write(key); err != nil {
			f.Close()
			return nil, fmt.Errorf("kek: write master key: %w", err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, fmt.Errorf("kek: write master key: %w", err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("kek: write master key: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("kek: read master key: %w", err)
	}
	// Group read is allowed: Kubernetes mounts Secret files 0440 when the
	// pod has an fsGroup. Anything more is refused.
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o037 != 0 {
		return nil, fmt.Errorf("kek: master key %s is open to others (mode %v); run chmod 600 on it", path, st.Mode().Perm())
	}
	return New(key)
}

// New returns a local KEK from 32 raw key bytes.
func New(key []byte) (*Local, error) {
	if len(key) != keyFileSize {
		return nil, fmt.Errorf("kek: master key must be %d bytes, got %d", keyFileSize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("kek: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("kek: %w", err)
	}
	sum := sha256.Sum256(append([]byte("vigil kek id v1\x00"), key...))
	return &Local{id: "local:" + hex.EncodeToString(sum[:6]), aead: aead}, nil
}

// ID names the key without revealing it, so wrapped data keys record which
// KEK wrapped them.
func (k *Local) ID() string { return k.id }

// ErrUnwrap is returned when a wrapped key cannot be unwrapped: the KEK is
// the wrong one, or the wrapped key was altered.
var ErrUnwrap = errors.New("kek: wrapped key cannot be unwrapped with this key-encryption key")

// Wrap encrypts a data key, binding it to aad.
func (k *Local) Wrap(dataKey []byte, aad string) ([]byte, error) {
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("kek: nonce: %w", err)
	}
	return k.aead.Seal(nonce, nonce, dataKey, []byte(aad)), nil
}

// Unwrap decrypts a data key wrapped by Wrap with the same aad.
func (k *Local) Unwrap(wrapped []byte, aad string) ([]byte, error) {
	ns := k.aead.NonceSize()
	if len(wrapped) < ns+k.aead.Overhead() {
		return nil, ErrUnwrap
	}
	dk, err := k.aead.Open(nil, wrapped[:ns], wrapped[ns:], []byte(aad))
	if err != nil {
		return nil, ErrUnwrap
	}
	return dk, nil
}
