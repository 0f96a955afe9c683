package kek

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFromEnvLocal(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"", "local"} {
		env := envOf(map[string]string{"VIGIL_KEK_PROVIDER": p})
		if _, err := FromEnv(env, filepath.Join(dir, p+"x"), false); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("provider %q, no key, no create: %v", p, err)
		}
		k, err := FromEnv(env, dir, true)
		if err != nil || !strings.HasPrefix(k.ID(), "local:") {
			t.Fatalf("provider %q: %v", p, err)
		}
		k.Close()
	}
	// A VIGIL_MASTER_KEY_FILE is never created.
	missing := filepath.Join(dir, "given.key")
	if _, err := FromEnv(envOf(map[string]string{"VIGIL_MASTER_KEY_FILE": missing}), dir, true); err == nil {
		t.Fatal("a missing VIGIL_MASTER_KEY_FILE was created")
	}
	if _, err := os.Stat(missing); err == nil {
		t.Fatal("VIGIL_MASTER_KEY_FILE was created")
	}
	if _, err := FromEnv(envOf(map[string]string{"VIGIL_KEK_PROVIDER": "vault"}), dir, true); err == nil || !strings.Contains(err.Error(), "VIGIL_KEK_PROVIDER") {
		t.Fatalf("unknown provider: %v", err)
	}
}

func TestPKCS11ConfigFromEnv(t *testing.T) {
	pinFile := filepath.Join(t.TempDir(), "pin")
	os.WriteFile(pinFile, []byte("1234\n"), 0o600)
	cfg, err := PKCS11ConfigFromEnv(envOf(map[string]string{
		"VIGIL_PKCS11_MODULE": "/m.so", "VIGIL_PKCS11_TOKEN_LABEL": "tok", "VIGIL_PKCS11_PIN_FILE": pinFile,
	}))
	if err != nil || cfg != (PKCS11Config{Module: "/m.so", TokenLabel: "tok", PIN: "1234", KeyLabel: "vigil-kek"}) {
		t.Fatalf("%+v, %v", cfg, err)
	}
	_, err = PKCS11ConfigFromEnv(envOf(map[string]string{}))
	for _, v := range []string{"VIGIL_PKCS11_MODULE", "VIGIL_PKCS11_TOKEN_LABEL", "VIGIL_PKCS11_PIN_FILE"} {
		if err == nil || !strings.Contains(err.Error(), v) {
			t.Errorf("missing settings: %v does not name %s", err, v)
		}
	}
	_, err = PKCS11ConfigFromEnv(envOf(map[string]string{
		"VIGIL_PKCS11_MODULE": "/m.so", "VIGIL_PKCS11_TOKEN_LABEL": "tok", "VIGIL_PKCS11_PIN_FILE": pinFile, "VIGIL_PKCS11_PIN": "1",
	}))
	if err == nil {
		t.Error("both VIGIL_PKCS11_PIN and VIGIL_PKCS11_PIN_FILE were accepted")
	}
}
