// Package softhsmtest makes a private SoftHSM2 token for a test: its own
// SOFTHSM2_CONF and token directory, initialised with a known PIN. Tests
// that use it fail, never skip, when SoftHSM2 is missing
// (scripts/test-pkcs11 installs it).
package softhsmtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The token New initialises.
const (
	Token = "vigil-test"
	PIN   = "1234"
)

// HSM is a private SoftHSM2 token store for one test.
type HSM struct {
	// Module is the path of libsofthsm2.so.
	Module string
	// Conf is the SOFTHSM2_CONF file; TokenDir holds the token.
	Conf     string
	TokenDir string
}

// module finds libsofthsm2.so (VIGIL_TEST_PKCS11_MODULE wins).
func module(t *testing.T) string {
	t.Helper()
	cands := []string{
		os.Getenv("VIGIL_TEST_PKCS11_MODULE"),
		"/usr/lib/softhsm/libsofthsm2.so",
		"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
		"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
		"/usr/local/lib/softhsm/libsofthsm2.so",
		"/usr/lib64/pkcs11/libsofthsm2.so",
	}
	for _, c := range cands {
		if c == "" {
			continue
		}
		if _, err := os.Stat(c); err == nil {
			return c
		}
	}
	t.Fatalf("libsofthsm2.so not found (looked in %s): install softhsm2 (apt-get install -y softhsm2; scripts/test-pkcs11 does it) or set VIGIL_TEST_PKCS11_MODULE", strings.Join(cands[1:], ", "))
	return ""
}

// New makes a temp SOFTHSM2_CONF and token dir and initialises the
// token vigil-test (user PIN 1234). SOFTHSM2_CONF is read when the module is
// initialised, which crypto11 does when no context is open: every test
// closes all its contexts.
func New(t *testing.T) *HSM {
	t.Helper()
	util, err := exec.LookPath("softhsm2-util")
	if err != nil {
		t.Fatal("softhsm2-util not found: install softhsm2 (apt-get install -y softhsm2; scripts/test-pkcs11 does it)")
	}
	dir := t.TempDir()
	h := &HSM{Module: module(t), Conf: filepath.Join(dir, "softhsm2.conf"), TokenDir: filepath.Join(dir, "tokens")}
	if err := os.Mkdir(h.TokenDir, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := "directories.tokendir = " + h.TokenDir + "\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n"
	if err := os.WriteFile(h.Conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", h.Conf)
	out, err := exec.Command(util, "--init-token", "--free", "--label", Token, "--so-pin", "0000", "--pin", PIN).CombinedOutput()
	if err != nil {
		t.Fatalf("softhsm2-util --init-token: %v\n%s", err, out)
	}
	return h
}
