//go:build pkcs11

package kek

import (
	"bytes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ThalesGroup/crypto11"
	"github.com/miekg/pkcs11"
)

// PKCS11Supported reports whether this build can open a PKCS#11 token.
const PKCS11Supported = true

// PKCS11 is a key-encryption key held in a PKCS#11 token: an AES-256 key
// generated inside the token, sensitive and never extractable, used through
// AES-GCM inside the token. Its key bytes never reach Vigil's memory. A
// wrapped data key is nonce (12 bytes) || ciphertext || tag, like Local's.
//
// It is safe for concurrent use. When the token stops answering, an
// operation fails with ErrHSMUnavailable; the next operation opens the token
// again, so the key works again once the HSM is back.
type PKCS11 struct {
	cfg PKCS11Config
	id  string

	mu     sync.Mutex
	ctx    *crypto11.Context
	aead   cipher.AEAD
	closed bool
}

// gcmNonceSize and gcmTagSize are AES-GCM's standard sizes.
const (
	gcmNonceSize = 12
	gcmTagSize   = 16
)

// OpenPKCS11 logs into the token and finds the key labelled cfg.KeyLabel,
// generating it inside the token when it is missing and cfg.Create is set.
// Every failure to reach the key wraps ErrHSMUnavailable.
func OpenPKCS11(cfg PKCS11Config) (*PKCS11, error) {
	if cfg.KeyLabel == "" {
		cfg.KeyLabel = DefaultPKCS11KeyLabel
	}
	switch {
	case cfg.Module == "":
		return nil, fmt.Errorf("kek: pkcs11: no module given (the PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so)")
	case cfg.TokenLabel == "":
		return nil, fmt.Errorf("kek: pkcs11: no token label given")
	case cfg.PIN == "":
		return nil, fmt.Errorf("kek: pkcs11: no PIN given")
	}
	k := &PKCS11{cfg: cfg, id: "pkcs11:" + cfg.TokenLabel + "/" + cfg.KeyLabel}
	if err := k.open(cfg.Create); err != nil {
		return nil, err
	}
	return k, nil
}

// unavailable wraps err as ErrHSMUnavailable for the key k names.
func (k *PKCS11) unavailable(format string, args ...any) error {
	return fmt.Errorf("%w: %s (module %s, token %q, key %q)", ErrHSMUnavailable, fmt.Sprintf(format, args...), k.cfg.Module, k.cfg.TokenLabel, k.cfg.KeyLabel)
}

// open connects to the token and finds (or makes) the key. k.mu is held or
// k is not shared yet.
func (k *PKCS11) open(create bool) error {
	ctx, err := crypto11.Configure(&crypto11.Config{
		Path:            k.cfg.Module,
		TokenLabel:      k.cfg.TokenLabel,
		Pin:             k.cfg.PIN,
		PoolWaitTimeout: 30 * time.Second,
	})
	if err != nil {
		return k.unavailable("open the token: %v", err)
	}
	key, err := findOrCreateKey(ctx, k, create)
	if err != nil {
		ctx.Close()
		return err
	}
	aead, err := key.NewGCM()
	if err != nil {
		ctx.Close()
		return k.unavailable("AES-GCM: %v", err)
	}
	k.ctx, k.aead = ctx, aead
	// Check once that the token does AES-GCM with associated data, so a
	// token that cannot is refused now rather than at the first wrap.
	probe := make([]byte, 32)
	if _, err := rand.Read(probe); err != nil {
		k.closeLocked()
		return fmt.Errorf("kek: %w", err)
	}
	w, err := k.wrapOnce(probe, "vigil kek self-test")
	if err == nil {
		var got []byte
		got, err = k.unwrapOnce(w, "vigil kek self-test")
		if err == nil && !bytes.Equal(got, probe) {
			err = k.unavailable("self-test: AES-GCM in the token returned wrong plaintext")
		}
	}
	if err != nil {
		k.closeLocked()
		if !errors.Is(err, ErrHSMUnavailable) {
			err = k.unavailable("%v", err)
		}
		return fmt.Errorf("%w (self-test)", err)
	}
	return nil
}

func findOrCreateKey(ctx *crypto11.Context, k *PKCS11, create bool) (*crypto11.SecretKey, error) {
	label := []byte(k.cfg.KeyLabel)
	keys, err := ctx.FindKeys(nil, label)
	if err != nil {
		return nil, k.unavailable("find the key: %v", err)
	}
	switch {
	case len(keys) > 1:
		return nil, k.unavailable("%d keys have this label; Vigil will not guess which one wraps its data keys", len(keys))
	case len(keys) == 1:
		if err := checkKey(ctx, keys[0]); err != nil {
			return nil, k.unavailable("%v", err)
		}
		return keys[0], nil
	case !create:
		return nil, k.unavailable("no key with this label on the token: it was deleted, or this is another token; restore the token (or its backup) and start again")
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return nil, fmt.Errorf("kek: %w", err)
	}
	tmpl, err := crypto11.NewAttributeSetWithIDAndLabel(id, label)
	if err != nil {
		return nil, fmt.Errorf("kek: %w", err)
	}
	for _, a := range []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
		pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, true),
		pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, true),
		pkcs11.NewAttribute(pkcs11.CKA_WRAP, false),
		pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, false),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, false),
		pkcs11.NewAttribute(pkcs11.CKA_VERIFY, false),
		pkcs11.NewAttribute(pkcs11.CKA_DERIVE, false),
	} {
		tmpl[a.Type] = a
	}
	key, err := ctx.GenerateSecretKeyWithAttributes(tmpl, 256, crypto11.CipherAES)
	if err != nil {
		return nil, k.unavailable("generate an AES-256 key in the token: %v", err)
	}
	if err := checkKey(ctx, key); err != nil {
		return nil, k.unavailable("%v", err)
	}
	return key, nil
}

// checkKey refuses a key that is not AES-256, or whose value could leave
// the token.
func checkKey(ctx *crypto11.Context, key *crypto11.SecretKey) error {
	attrs, err := ctx.GetAttributes(key, []crypto11.AttributeType{
		crypto11.CkaKeyType, crypto11.CkaValueLen, crypto11.CkaSensitive, crypto11.CkaExtractable,
	})
	if err != nil {
		return fmt.Errorf("read the key's attributes: %v", err)
	}
	get := func(t crypto11.AttributeType) []byte {
		if a := attrs[t]; a != nil {
			return a.Value
		}
		return nil
	}
	if kt, ok := ulong(get(crypto11.CkaKeyType)); !ok || kt != pkcs11.CKK_AES {
		return fmt.Errorf("the key is not an AES key")
	}
	if n, ok := ulong(get(crypto11.CkaValueLen)); !ok || n != 32 {
		return fmt.Errorf("the key is not 256 bits long")
	}
	if !boolAttr(get(crypto11.CkaSensitive)) || boolAttr(get(crypto11.CkaExtractable)) {
		return fmt.Errorf("the key is not sensitive and non-extractable (CKA_SENSITIVE=true, CKA_EXTRACTABLE=false): its value could leave the token, so Vigil refuses it")
	}
	return nil
}

func ulong(b []byte) (uint, bool) {
	switch len(b) {
	case 8:
		return uint(binary.NativeEndian.Uint64(b)), true
	case 4:
		return uint(binary.NativeEndian.Uint32(b)), true
	}
	return 0, false
}

func boolAttr(b []byte) bool { return len(b) == 1 && b[0] != 0 }

// ID names the key: pkcs11:<token label>/<key label>.
func (k *PKCS11) ID() string { return k.id }

// Wrap encrypts a data key inside the token, binding it to aad.
func (k *PKCS11) Wrap(dataKey []byte, aad string) ([]byte, error) {
	var out []byte
	err := k.do(func() (err error) {
		out, err = k.wrapOnce(dataKey, aad)
		return err
	})
	return out, err
}

// Unwrap decrypts a data key wrapped by Wrap with the same aad. It returns
// ErrUnwrap when the token works but the wrapped key is not this key's or
// was altered, and an error wrapping ErrHSMUnavailable when the token cannot
// be used.
func (k *PKCS11) Unwrap(wrapped []byte, aad string) ([]byte, error) {
	if len(wrapped) < gcmNonceSize+gcmTagSize {
		return nil, ErrUnwrap
	}
	var out []byte
	err := k.do(func() (err error) {
		out, err = k.unwrapOnce(wrapped, aad)
		return err
	})
	return out, err
}

// do runs op with k.mu held, opening the token again first when a previous
// operation lost it, and once more when op finds it gone.
func (k *PKCS11) do(op func() error) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return errors.New("kek: pkcs11: the key-encryption key is closed")
	}
	if k.ctx == nil {
		if err := k.open(false); err != nil {
			return err
		}
	}
	err := op()
	if err == nil || errors.Is(err, ErrUnwrap) {
		return err
	}
	// The token failed: drop the connection and try once on a fresh one
	// (a restarted HSM, a network HSM that reconnected).
	k.closeLocked()
	if rerr := k.open(false); rerr != nil {
		return fmt.Errorf("%w; reopening: %v", err, rerr)
	}
	return op()
}

func (k *PKCS11) wrapOnce(dataKey []byte, aad string) (out []byte, err error) {
	nonce := make([]byte, gcmNonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("kek: nonce: %w", err)
	}
	// crypto11's Seal panics when the token fails.
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, k.unavailable("encrypt: %v", r)
		}
	}()
	return k.aead.Seal(nonce, nonce, dataKey, []byte(aad)), nil
}

func (k *PKCS11) unwrapOnce(wrapped []byte, aad string) ([]byte, error) {
	dk, err := k.aead.Open(nil, wrapped[:gcmNonceSize], wrapped[gcmNonceSize:], []byte(aad))
	if err == nil {
		return dk, nil
	}
	switch {
	case authFailure(err):
		return nil, ErrUnwrap
	case decryptFailure(err) && k.probe() == nil:
		// The token took the key and the ciphertext but refused them,
		// and it still decrypts what it encrypts: the wrapped key is not
		// this key's, or was altered.
		return nil, ErrUnwrap
	}
	return nil, k.unavailable("decrypt: %v", err)
}

// probe checks that the token still encrypts and decrypts with the key.
func (k *PKCS11) probe() error {
	p := make([]byte, 32)
	if _, err := rand.Read(p); err != nil {
		return err
	}
	w, err := k.wrapOnce(p, "vigil kek probe")
	if err != nil {
		return err
	}
	got, err := k.aead.Open(nil, w[:gcmNonceSize], w[gcmNonceSize:], []byte("vigil kek probe"))
	if err != nil {
		return err
	}
	if !bytes.Equal(got, p) {
		return fmt.Errorf("probe: wrong plaintext")
	}
	return nil
}

// crypto11 keeps only the text of the PKCS#11 return values, so they are
// matched by name.

// authFailure reports whether err is the token saying that the ciphertext
// does not authenticate (wrong key, wrong associated data, or altered).
func authFailure(err error) bool {
	s := err.Error()
	if !decryptFailure(err) {
		return false
	}
	for _, rv := range []string{"CKR_ENCRYPTED_DATA_INVALID", "CKR_ENCRYPTED_DATA_LEN_RANGE", "CKR_AEAD_DECRYPT_FAILED"} {
		if strings.Contains(s, rv) {
			return true
		}
	}
	return false
}

// decryptFailure reports whether err came from C_Decrypt, after the token
// accepted the key and the parameters in C_DecryptInit. SoftHSM2 reports a
// GCM tag mismatch as CKR_GENERAL_ERROR here, so such an error is told
// apart from a failing token by probing it.
func decryptFailure(err error) bool {
	s := err.Error()
	if !strings.HasPrefix(s, "C_Decrypt: ") {
		return false
	}
	for _, rv := range []string{"SESSION", "DEVICE", "TOKEN", "HANDLE", "LOGGED", "CRYPTOKI", "MEMORY", "CANCELED"} {
		if strings.Contains(s, rv) {
			return false
		}
	}
	return true
}

func (k *PKCS11) closeLocked() error {
	if k.ctx == nil {
		return nil
	}
	err := k.ctx.Close()
	k.ctx, k.aead = nil, nil
	return err
}

// Close logs out and releases the token; later operations fail.
func (k *PKCS11) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.closed = true
	return k.closeLocked()
}
