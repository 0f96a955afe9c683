//go:build !pkcs11

package kek

import (
	"strings"
	"testing"
)

func TestOpenPKCS11WithoutSupport(t *testing.T) {
	_, err := OpenPKCS11(PKCS11Config{Module: "/m.so", TokenLabel: "t", PIN: "1"})
	if err == nil || !strings.Contains(err.Error(), "built without PKCS#11 support; build with -tags pkcs11") {
		t.Fatalf("OpenPKCS11 in a build without the tag: %v", err)
	}
	env := map[string]string{"VIGIL_KEK_PROVIDER": "pkcs11", "VIGIL_PKCS11_MODULE": "/m.so", "VIGIL_PKCS11_TOKEN_LABEL": "t", "VIGIL_PKCS11_PIN": "1"}
	if _, err := FromEnv(func(k string) string { return env[k] }, t.TempDir(), true); err == nil || !strings.Contains(err.Error(), "-tags pkcs11") {
		t.Fatalf("FromEnv pkcs11 in a build without the tag: %v", err)
	}
}
