package kek

import "errors"

// PKCS11Config selects a key-encryption key held in a PKCS#11 token (an HSM,
// or SoftHSM2 for tests). The PIN comes from a file or the environment,
// never from a flag (see FromEnv).
type PKCS11Config struct {
	// Module is the path of the PKCS#11 library, e.g.
	// /usr/lib/softhsm/libsofthsm2.so.
	Module string
	// TokenLabel selects the token.
	TokenLabel string
	// PIN is the user PIN of the token.
	PIN string
	// KeyLabel is the CKA_LABEL of the AES-256 key (DefaultPKCS11KeyLabel
	// when empty).
	KeyLabel string
	// Create generates the key inside the token when no key has the label.
	// Without it a missing key is an error: Vigil fails closed.
	Create bool
}

// DefaultPKCS11KeyLabel is the key label used when none is configured.
const DefaultPKCS11KeyLabel = "vigil-kek"

// ErrHSMUnavailable is wrapped by every error of the PKCS#11 provider that
// means the key could not be used at all (module, token, PIN or key
// missing, or the token stopped answering), as opposed to ErrUnwrap, which
// means the HSM worked and the wrapped key does not belong to its key or
// was altered. Nothing is changed when it is returned: start Vigil again
// once the HSM is back.
var ErrHSMUnavailable = errors.New("HSM unavailable")
