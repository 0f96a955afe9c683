//go:build !pkcs11

package kek

import "errors"

// errNoPKCS11 is returned by OpenPKCS11 in a build without the pkcs11 tag.
var errNoPKCS11 = errors.New("this vigil was built without PKCS#11 support; build with -tags pkcs11 (needs cgo)")

// PKCS11 is a key-encryption key held in a PKCS#11 token. This build has no
// PKCS#11 support: OpenPKCS11 always fails, so no value of this type is
// ever usable.
type PKCS11 struct{}

// PKCS11Supported reports whether this build can open a PKCS#11 token.
const PKCS11Supported = false

// OpenPKCS11 fails: this vigil was built without the pkcs11 build tag.
func OpenPKCS11(cfg PKCS11Config) (*PKCS11, error) { return nil, errNoPKCS11 }

// ID names the key.
func (k *PKCS11) ID() string { return "pkcs11:unsupported" }

// Wrap fails: no PKCS#11 support in this build.
func (k *PKCS11) Wrap(dataKey []byte, aad string) ([]byte, error) { return nil, errNoPKCS11 }

// Unwrap fails: no PKCS#11 support in this build.
func (k *PKCS11) Unwrap(wrapped []byte, aad string) ([]byte, error) { return nil, errNoPKCS11 }

// Close does nothing.
func (k *PKCS11) Close() error { return nil }
