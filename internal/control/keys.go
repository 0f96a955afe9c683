// Package control holds Vigil's control-plane use cases: each checks what it
// must, makes a change in the store and reports it. It declares the small
// store interfaces it needs; the store packages satisfy them structurally.
package control

import (
	"bytes"
	"context"
	"fmt"

	"github.com/vigilhq/vigil/internal/credential"
	"github.com/vigilhq/vigil/internal/vigil"
)

// KEK wraps and unwraps data keys (package kek's providers satisfy it).
type KEK interface {
	ID() string
	Wrap(dataKey []byte, aad string) ([]byte, error)
	Unwrap(wrapped []byte, aad string) ([]byte, error)
}

// DataKeyStore stores wrapped data keys.
type DataKeyStore interface {
	ActiveDataKey(ctx context.Context) (vigil.DataKey, error)
	// CreateFirstDataKey stores the wrapped key unless the store holds a
	// data key already, and returns the active data key either way.
	CreateFirstDataKey(ctx context.Context, kekID string, wrapped []byte) (vigil.DataKey, error)
}

// dataKeyAAD binds a wrapped data key to its purpose.
const dataKeyAAD = "vigil data key v1"

// OpenKeyring unwraps the store's active data key with kek, creating and
// storing a new data key when the store has none, and returns the keyring
// derived from it with the data key's id. A KEK that cannot unwrap the data
// key is an error: Vigil fails closed rather than make a new key.
func OpenKeyring(ctx context.Context, store DataKeyStore, kek KEK) (*credential.Keyring, int64, error) {
	dk, err := store.ActiveDataKey(ctx)
	switch {
	case vigil.ErrorCode(err) == vigil.ENotFound:
		raw, err := credential.GenerateDataKey()
		if err != nil {
			return nil, 0, err
		}
		wrapped, err := kek.Wrap(raw, dataKeyAAD)
		if err != nil {
			return nil, 0, fmt.Errorf("wrap data key: %w", err)
		}
		// Another server starting at the same time may have stored its
		// key first: then use that one, so every server shares one key.
		dk, err = store.CreateFirstDataKey(ctx, kek.ID(), wrapped)
		if err != nil {
			return nil, 0, err
		}
		if bytes.Equal(dk.Wrapped, wrapped) {
			ring, err := credential.NewKeyring(raw)
			return ring, dk.ID, err
		}
	case err != nil:
		return nil, 0, err
	}
	raw, err := kek.Unwrap(dk.Wrapped, dataKeyAAD)
	if err != nil {
		return nil, 0, fmt.Errorf("unwrap data key %d (wrapped by %s) with key-encryption key %s: %w", dk.ID, dk.KEKID, kek.ID(), err)
	}
	ring, err := credential.NewKeyring(raw)
	return ring, dk.ID, err
}

// KeyStore stores endpoint keys.
type KeyStore interface {
	EnsureEndpoint(ctx context.Context, name string) error
	Keys(ctx context.Context) ([]vigil.StoredKey, error)
	PutKey(ctx context.Context, k vigil.StoredKey) error
}

// Keys manages endpoint keys: it seals them, stores their lookup digests and
// tells the data plane when they change.
type Keys struct {
	Store     KeyStore
	Ring      *credential.Keyring
	DataKeyID int64
	// Changed is called after every change, so the data plane reloads its
	// view of the keys.
	Changed func(ctx context.Context) error
}

// HasKeys reports whether the endpoint has keys in both slots.
func (k *Keys) HasKeys(ctx context.Context, endpoint string) (bool, error) {
	ks, err := k.Store.Keys(ctx)
	if err != nil {
		return false, err
	}
	n := 0
	for _, s := range ks {
		if s.Endpoint == endpoint {
			n++
		}
	}
	return n == 2, nil
}

// Set stores value as the endpoint's key in slot, replacing what was there:
// the old key stops working at once.
func (k *Keys) Set(ctx context.Context, endpoint string, slot vigil.KeySlot, value string) error {
	if err := vigil.ValidateAPIKey(value); err != nil {
		return err
	}
	if err := k.Store.EnsureEndpoint(ctx, endpoint); err != nil {
		return err
	}
	d := k.Ring.Digest(value)
	sealed, err := k.Ring.Seal([]byte(value), credential.KeyOwner(endpoint, string(slot)))
	if err != nil {
		return err
	}
	if err := k.Store.PutKey(ctx, vigil.StoredKey{Endpoint: endpoint, Slot: slot, Digest: d[:], Sealed: sealed, DataKeyID: k.DataKeyID}); err != nil {
		return err
	}
	if k.Changed != nil {
		return k.Changed(ctx)
	}
	return nil
}

// Generate stores a new random key in slot and returns it.
func (k *Keys) Generate(ctx context.Context, endpoint string, slot vigil.KeySlot) (string, error) {
	v, err := credential.GenerateKey()
	if err != nil {
		return "", err
	}
	return v, k.Set(ctx, endpoint, slot, v)
}

// Reveal returns the endpoint's key in slot, unsealed. Callers must have
// checked that the principal may list keys.
func (k *Keys) Reveal(ctx context.Context, endpoint string, slot vigil.KeySlot) (string, error) {
	ks, err := k.Store.Keys(ctx)
	if err != nil {
		return "", err
	}
	for _, s := range ks {
		if s.Endpoint == endpoint && s.Slot == slot {
			pt, err := k.Ring.Open(s.Sealed, credential.KeyOwner(endpoint, string(slot)))
			if err != nil {
				return "", fmt.Errorf("open key %s/%s: %w", endpoint, slot, err)
			}
			return string(pt), nil
		}
	}
	return "", vigil.Errorf(vigil.ENotFound, "endpoint %q has no %s key", endpoint, slot)
}
