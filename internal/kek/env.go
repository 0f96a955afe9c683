package kek

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Provider is a key-encryption key from any provider: it satisfies
// control.KEK, and Close releases what it holds (an HSM session).
type Provider interface {
	ID() string
	Wrap(dataKey []byte, aad string) ([]byte, error)
	Unwrap(wrapped []byte, aad string) ([]byte, error)
	Close() error
}

// Close does nothing: a local KEK holds no resource.
func (k *Local) Close() error { return nil }

// Provider names, the values of VIGIL_KEK_PROVIDER.
const (
	ProviderLocal  = "local"
	ProviderPKCS11 = "pkcs11"
)

// ProviderFromEnv returns VIGIL_KEK_PROVIDER: local (the default) or pkcs11.
func ProviderFromEnv(getenv func(string) string) (string, error) {
	switch p := strings.TrimSpace(getenv("VIGIL_KEK_PROVIDER")); p {
	case "", ProviderLocal:
		return ProviderLocal, nil
	case ProviderPKCS11:
		return ProviderPKCS11, nil
	default:
		return "", fmt.Errorf("VIGIL_KEK_PROVIDER=%q: want %s or %s", p, ProviderLocal, ProviderPKCS11)
	}
}

// LocalPathFromEnv returns VIGIL_MASTER_KEY_FILE, or <dataDir>/master.key
// with isDefault set.
func LocalPathFromEnv(getenv func(string) string, dataDir string) (path string, isDefault bool) {
	if p := getenv("VIGIL_MASTER_KEY_FILE"); p != "" {
		return p, false
	}
	return filepath.Join(dataDir, "master.key"), true
}

// PKCS11ConfigFromEnv reads the PKCS#11 provider's settings:
// VIGIL_PKCS11_MODULE, VIGIL_PKCS11_TOKEN_LABEL, VIGIL_PKCS11_KEY_LABEL
// (default vigil-kek) and the user PIN from the file VIGIL_PKCS11_PIN_FILE
// or from VIGIL_PKCS11_PIN (one of them). Create is left false.
func PKCS11ConfigFromEnv(getenv func(string) string) (PKCS11Config, error) {
	cfg := PKCS11Config{
		Module:     getenv("VIGIL_PKCS11_MODULE"),
		TokenLabel: getenv("VIGIL_PKCS11_TOKEN_LABEL"),
		KeyLabel:   getenv("VIGIL_PKCS11_KEY_LABEL"),
	}
	if cfg.KeyLabel == "" {
		cfg.KeyLabel = DefaultPKCS11KeyLabel
	}
	var missing []string
	if cfg.Module == "" {
		missing = append(missing, "VIGIL_PKCS11_MODULE (the PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so)")
	}
	if cfg.TokenLabel == "" {
		missing = append(missing, "VIGIL_PKCS11_TOKEN_LABEL")
	}
	pin, file := getenv("VIGIL_PKCS11_PIN"), getenv("VIGIL_PKCS11_PIN_FILE")
	switch {
	case pin != "" && file != "":
		return cfg, errors.New("set VIGIL_PKCS11_PIN_FILE or VIGIL_PKCS11_PIN, not both")
	case pin != "":
		cfg.PIN = pin
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return cfg, fmt.Errorf("VIGIL_PKCS11_PIN_FILE: %v", err)
		}
		cfg.PIN = strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		if cfg.PIN == "" {
			return cfg, fmt.Errorf("VIGIL_PKCS11_PIN_FILE: %s is empty", file)
		}
	default:
		missing = append(missing, "VIGIL_PKCS11_PIN_FILE (or VIGIL_PKCS11_PIN)")
	}
	if len(missing) > 0 {
		return cfg, fmt.Errorf("VIGIL_KEK_PROVIDER=pkcs11 needs %s", strings.Join(missing, ", "))
	}
	return cfg, nil
}

// FromEnv opens the key-encryption key selected by VIGIL_KEK_PROVIDER.
//
// local (the default): the 32-byte key in VIGIL_MASTER_KEY_FILE, or in
// <dataDir>/master.key, which is created when create is set (never a
// VIGIL_MASTER_KEY_FILE). pkcs11: the AES-256 key VIGIL_PKCS11_KEY_LABEL
// on the token VIGIL_PKCS11_TOKEN_LABEL of the module VIGIL_PKCS11_MODULE,
// generated inside the token when create is set and it is missing.
//
// Pass create only when the store has no data key yet: with data wrapped
// under a KEK that is now missing, a new KEK would only hide the loss, and
// Vigil fails closed instead. The local provider here does not finish an
// interrupted local rotation (master.key.new): the server's own loader
// does, so it keeps using it for local keys.
func FromEnv(getenv func(string) string, dataDir string, create bool) (Provider, error) {
	p, err := ProviderFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	if p == ProviderPKCS11 {
		cfg, err := PKCS11ConfigFromEnv(getenv)
		if err != nil {
			return nil, err
		}
		cfg.Create = create
		k, err := OpenPKCS11(cfg)
		if err != nil {
			return nil, err
		}
		return k, nil
	}
	path, isDefault := LocalPathFromEnv(getenv, dataDir)
	k, err := LoadOrCreate(path, create && isDefault)
	if err != nil {
		return nil, err
	}
	return k, nil
}
