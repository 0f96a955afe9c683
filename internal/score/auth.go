// Package score is the data plane's use case: it authenticates a scoring
// request against the endpoint's keys, held in memory as keyed digests, and
// runs the detector. It never touches the store on the request path.
package score

import (
	"context"
	"sync"

	"github.com/vigilhq/vigil/internal/credential"
	"github.com/vigilhq/vigil/internal/vigil"
)

// KeyLister lists the stored endpoint keys.
type KeyLister interface {
	Keys(ctx context.Context) ([]vigil.StoredKey, error)
}

// Reasons an authentication fails, for metrics and logs; callers see one
// and the same 401 whatever the reason.
const (
	ReasonMissing     = "missing_key"
	ReasonUnknownKey  = "unknown_key"
	ReasonWrongTarget = "wrong_endpoint"
	ReasonNoEndpoint  = "unknown_endpoint"
)

// AuthError is returned by Authenticate. Reason is for metrics and logs
// only.
type AuthError struct{ Reason string }

// Error implements error.
func (e *AuthError) Error() string { return "authentication failed: " + e.Reason }

type keyRef struct {
	endpoint string
	slot     vigil.KeySlot
}

// Authenticator verifies endpoint keys against an in-memory view of the
// stored digests.
type Authenticator struct {
	ring  *credential.Keyring
	store KeyLister

	mu        sync.RWMutex
	byDigest  map[credential.Digest]keyRef
	endpoints map[string]bool
}

// NewAuthenticator returns an authenticator; call Reload before use.
func NewAuthenticator(ring *credential.Keyring, store KeyLister) *Authenticator {
	return &Authenticator{ring: ring, store: store}
}

// Reload replaces the in-memory view with the store's keys.
func (a *Authenticator) Reload(ctx context.Context) error {
	ks, err := a.store.Keys(ctx)
	if err != nil {
		return err
	}
	by := make(map[credential.Digest]keyRef, len(ks))
	eps := make(map[string]bool)
	for _, k := range ks {
		var d credential.Digest
		copy(d[:], k.Digest)
		by[d] = keyRef{endpoint: k.Endpoint, slot: k.Slot}
		eps[k.Endpoint] = true
	}
	a.mu.Lock()
	a.byDigest, a.endpoints = by, eps
	a.mu.Unlock()
	return nil
}

// Authenticate checks that key is one of endpoint's keys and returns the
// slot it fills. The presented key is never compared in plaintext: its keyed
// (HMAC) digest is looked up, so the time taken depends on no stored key's
// bytes that an attacker could steer.
func (a *Authenticator) Authenticate(endpoint, key string) (vigil.KeySlot, error) {
	if key == "" {
		return "", &AuthError{Reason: ReasonMissing}
	}
	d := a.ring.Digest(key)
	a.mu.RLock()
	ref, ok := a.byDigest[d]
	known := a.endpoints[endpoint]
	a.mu.RUnlock()
	switch {
	case !known:
		return "", &AuthError{Reason: ReasonNoEndpoint}
	case !ok:
		return "", &AuthError{Reason: ReasonUnknownKey}
	case ref.endpoint != endpoint:
		return "", &AuthError{Reason: ReasonWrongTarget}
	}
	return ref.slot, nil
}

// HasEndpoint reports whether endpoint has keys.
func (a *Authenticator) HasEndpoint(endpoint string) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.endpoints[endpoint]
}
