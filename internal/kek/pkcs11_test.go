//go:build pkcs11

package kek_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ThalesGroup/crypto11"
	"github.com/vigilhq/vigil/internal/control"
	"github.com/vigilhq/vigil/internal/kek"
	"github.com/vigilhq/vigil/internal/kek/softhsmtest"
	"github.com/vigilhq/vigil/internal/store/sqlite"
	"github.com/vigilhq/vigil/internal/vigil"
)

const (
	testToken = softhsmtest.Token
	testPIN   = softhsmtest.PIN
)

// softHSM is a private SoftHSM2 token store for one test.
type softHSM struct {
	module   string
	conf     string
	tokenDir string
}

// newSoftHSM makes a private SoftHSM2 token (see softhsmtest).
func newSoftHSM(t *testing.T) *softHSM {
	h := softhsmtest.New(t)
	return &softHSM{module: h.Module, conf: h.Conf, tokenDir: h.TokenDir}
}

func (h *softHSM) config(label string, create bool) kek.PKCS11Config {
	return kek.PKCS11Config{Module: h.module, TokenLabel: testToken, PIN: testPIN, KeyLabel: label, Create: create}
}

func (h *softHSM) open(t *testing.T, label string, create bool) *kek.PKCS11 {
	t.Helper()
	k, err := kek.OpenPKCS11(h.config(label, create))
	if err != nil {
		t.Fatalf("OpenPKCS11(%s, create=%v): %v", label, create, err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

// raw opens the token with crypto11 directly, to look at or delete keys
// behind the provider's back.
func (h *softHSM) raw(t *testing.T) *crypto11.Context {
	t.Helper()
	c, err := crypto11.Configure(&crypto11.Config{Path: h.module, TokenLabel: testToken, Pin: testPIN})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (h *softHSM) keys(t *testing.T, label string) int {
	t.Helper()
	c := h.raw(t)
	defer c.Close()
	ks, err := c.FindKeys(nil, []byte(label))
	if err != nil {
		t.Fatal(err)
	}
	return len(ks)
}

func (h *softHSM) deleteKey(t *testing.T, label string) {
	t.Helper()
	c := h.raw(t)
	defer c.Close()
	ks, err := c.FindKeys(nil, []byte(label))
	if err != nil || len(ks) != 1 {
		t.Fatalf("find %s: %d keys, %v", label, len(ks), err)
	}
	if err := ks[0].Delete(); err != nil {
		t.Fatal(err)
	}
}

// copyDir copies a token directory (files and subdirectories).
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, fi.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPKCS11KeyPersists(t *testing.T) {
	h := newSoftHSM(t)
	if _, err := kek.OpenPKCS11(h.config("kek-1", false)); !errors.Is(err, kek.ErrHSMUnavailable) {
		t.Fatalf("a missing key without Create: %v, want ErrHSMUnavailable", err)
	}
	if n := h.keys(t, "kek-1"); n != 0 {
		t.Fatalf("opening without Create made %d key(s)", n)
	}
	k1 := h.open(t, "kek-1", true)
	if got, want := k1.ID(), "pkcs11:vigil-test/kek-1"; got != want {
		t.Errorf("ID %q, want %q", got, want)
	}
	w, err := k1.Wrap(bytes.Repeat([]byte{7}, 32), "aad")
	if err != nil {
		t.Fatal(err)
	}
	k1.Close()
	if _, err := k1.Wrap(make([]byte, 32), "aad"); err == nil {
		t.Fatal("a closed provider still wraps")
	}

	k2 := h.open(t, "kek-1", false) // found again, not made again
	if n := h.keys(t, "kek-1"); n != 1 {
		t.Fatalf("%d keys labelled kek-1 after two opens, want 1", n)
	}
	got, err := k2.Unwrap(w, "aad")
	if err != nil || !bytes.Equal(got, bytes.Repeat([]byte{7}, 32)) {
		t.Fatalf("unwrap with the reopened key: %x, %v", got, err)
	}
	k3 := h.open(t, "kek-1", true) // Create with the key present uses it
	if _, err := k3.Unwrap(w, "aad"); err != nil {
		t.Fatal(err)
	}
}

func TestPKCS11WrapUnwrap(t *testing.T) {
	h := newSoftHSM(t)
	k := h.open(t, "kek-1", true)
	other := h.open(t, "kek-2", true)
	dk := make([]byte, 32)
	for i := range dk {
		dk[i] = byte(i)
	}
	w, err := k.Wrap(dk, "vigil data key v1")
	if err != nil {
		t.Fatal(err)
	}
	if len(w) != 12+32+16 || bytes.Contains(w, dk) {
		t.Fatalf("wrapped key is %d bytes (want 60) or contains the data key", len(w))
	}
	w2, _ := k.Wrap(dk, "vigil data key v1")
	if bytes.Equal(w, w2) {
		t.Error("two wraps of the same key are equal: the nonce is not fresh")
	}
	got, err := k.Unwrap(w, "vigil data key v1")
	if err != nil || !bytes.Equal(got, dk) {
		t.Fatalf("round trip: %x, %v", got, err)
	}
	if _, err := k.Unwrap(w, "vigil data key v2"); !errors.Is(err, kek.ErrUnwrap) {
		t.Errorf("wrong AAD: %v, want ErrUnwrap", err)
	}
	if _, err := other.Unwrap(w, "vigil data key v1"); !errors.Is(err, kek.ErrUnwrap) {
		t.Errorf("another HSM key: %v, want ErrUnwrap", err)
	}
	bad := append([]byte(nil), w...)
	bad[20] ^= 1
	if _, err := k.Unwrap(bad, "vigil data key v1"); !errors.Is(err, kek.ErrUnwrap) {
		t.Errorf("altered wrapped key: %v, want ErrUnwrap", err)
	}
	if _, err := k.Unwrap(w[:20], "vigil data key v1"); !errors.Is(err, kek.ErrUnwrap) {
		t.Errorf("short wrapped key: %v, want ErrUnwrap", err)
	}
	local, _ := kek.New(bytes.Repeat([]byte{1}, 32))
	lw, _ := local.Wrap(dk, "vigil data key v1")
	if _, err := k.Unwrap(lw, "vigil data key v1"); !errors.Is(err, kek.ErrUnwrap) {
		t.Errorf("a locally wrapped key: %v, want ErrUnwrap", err)
	}
	// Still usable after refusals.
	if got, err := k.Unwrap(w2, "vigil data key v1"); err != nil || !bytes.Equal(got, dk) {
		t.Fatalf("round trip after refusals: %v", err)
	}
}

func TestPKCS11KeyNotExtractable(t *testing.T) {
	h := newSoftHSM(t)
	k := h.open(t, "kek-1", true)
	k.Close()
	c := h.raw(t)
	defer c.Close()
	ks, err := c.FindKeys(nil, []byte("kek-1"))
	if err != nil || len(ks) != 1 {
		t.Fatalf("find: %d, %v", len(ks), err)
	}
	attrs, err := c.GetAttributes(ks[0], []crypto11.AttributeType{
		crypto11.CkaSensitive, crypto11.CkaExtractable, crypto11.CkaAlwaysSensitive,
		crypto11.CkaNeverExtractable, crypto11.CkaToken, crypto11.CkaPrivate, crypto11.CkaValueLen,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[crypto11.AttributeType]bool{
		crypto11.CkaSensitive: true, crypto11.CkaExtractable: false, crypto11.CkaAlwaysSensitive: true,
		crypto11.CkaNeverExtractable: true, crypto11.CkaToken: true, crypto11.CkaPrivate: true,
	}
	for typ, w := range want {
		a := attrs[typ]
		if a == nil || len(a.Value) != 1 || (a.Value[0] != 0) != w {
			t.Errorf("attribute %#x = %v, want %v", typ, a, w)
		}
	}
	if a := attrs[crypto11.CkaValueLen]; a == nil || len(a.Value) == 0 || a.Value[0] != 32 {
		t.Errorf("CKA_VALUE_LEN = %v, want 32", a)
	}
	if v, err := c.GetAttribute(ks[0], crypto11.CkaValue); err == nil && v != nil && len(v.Value) > 0 {
		t.Fatalf("the key value could be read: %d bytes", len(v.Value))
	}
}

func TestPKCS11RefusesExtractableKey(t *testing.T) {
	h := newSoftHSM(t)
	c := h.raw(t)
	tmpl, _ := crypto11.NewAttributeSetWithIDAndLabel([]byte{1}, []byte("weak"))
	tmpl.Set(crypto11.CkaExtractable, true)
	tmpl.Set(crypto11.CkaSensitive, false)
	if _, err := c.GenerateSecretKeyWithAttributes(tmpl, 256, crypto11.CipherAES); err != nil {
		t.Fatal(err)
	}
	c.Close()
	_, err := kek.OpenPKCS11(h.config("weak", false))
	if err == nil || !strings.Contains(err.Error(), "non-extractable") {
		t.Fatalf("an extractable key was accepted: %v", err)
	}
}

func TestPKCS11Unavailable(t *testing.T) {
	h := newSoftHSM(t)
	h.open(t, "kek-1", true).Close()
	cases := map[string]kek.PKCS11Config{
		"no module": {Module: filepath.Join(t.TempDir(), "missing.so"), TokenLabel: testToken, PIN: testPIN, KeyLabel: "kek-1"},
		"no token":  {Module: h.module, TokenLabel: "other", PIN: testPIN, KeyLabel: "kek-1"},
		"wrong PIN": {Module: h.module, TokenLabel: testToken, PIN: "9999", KeyLabel: "kek-1"},
		"no key":    {Module: h.module, TokenLabel: testToken, PIN: testPIN, KeyLabel: "kek-9"},
	}
	for name, cfg := range cases {
		_, err := kek.OpenPKCS11(cfg)
		if !errors.Is(err, kek.ErrHSMUnavailable) || !strings.HasPrefix(err.Error(), "HSM unavailable: ") {
			t.Errorf("%s: %v, want an error starting with \"HSM unavailable: \"", name, err)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

// openStore opens a real SQLite store in dir.
func openStore(t *testing.T, dir string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// storeKey seals an endpoint key under the keyring the KEK opens, creating
// the data key on first use.
func storeKey(t *testing.T, db *sqlite.DB, k control.KEK, value string) int64 {
	t.Helper()
	ctx := context.Background()
	ring, id, err := control.OpenKeyring(ctx, db, k)
	if err != nil {
		t.Fatal(err)
	}
	keys := &control.Keys{Store: db, Ring: ring, DataKeyID: id}
	if err := keys.Set(ctx, "ep1", vigil.PrimaryKey, value); err != nil {
		t.Fatal(err)
	}
	return id
}

// reveal opens the keyring with k and unseals the endpoint key.
func reveal(db *sqlite.DB, k control.KEK) (string, int64, error) {
	ctx := context.Background()
	ring, id, err := control.OpenKeyring(ctx, db, k)
	if err != nil {
		return "", 0, err
	}
	keys := &control.Keys{Store: db, Ring: ring, DataKeyID: id}
	v, err := keys.Reveal(ctx, "ep1", vigil.PrimaryKey)
	return v, id, err
}

func dataKeys(t *testing.T, db *sqlite.DB) []vigil.DataKey {
	t.Helper()
	ks, err := db.DataKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

func sameDataKeys(a, b []vigil.DataKey) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].ID != b[i].ID || a[i].KEKID != b[i].KEKID || !bytes.Equal(a[i].Wrapped, b[i].Wrapped) {
			return false
		}
	}
	return true
}

const secret = "endpoint-key-0123456789abcdef"

func TestPKCS11RotateLocalToHSMAndBack(t *testing.T) {
	ctx := context.Background()
	h := newSoftHSM(t)
	db := openStore(t, t.TempDir())
	local, err := kek.LoadOrCreate(filepath.Join(t.TempDir(), "master.key"), true)
	if err != nil {
		t.Fatal(err)
	}
	id := storeKey(t, db, local, secret)
	hsm := h.open(t, "vigil-kek", true)

	n, err := control.RewrapDataKeys(ctx, db, local, hsm)
	if err != nil || n != 1 {
		t.Fatalf("rewrap local -> HSM: %d, %v", n, err)
	}
	if ks := dataKeys(t, db); ks[0].KEKID != hsm.ID() {
		t.Fatalf("data key recorded as wrapped by %s, want %s", ks[0].KEKID, hsm.ID())
	}
	if v, gotID, err := reveal(db, hsm); err != nil || v != secret || gotID != id {
		t.Fatalf("after rotation to the HSM: %q, data key %d, %v", v, gotID, err)
	}
	if _, _, err := reveal(db, local); !errors.Is(err, kek.ErrUnwrap) {
		t.Fatalf("the old local KEK still opens the store: %v", err)
	}
	// A rotation from the wrong KEK changes nothing.
	before := dataKeys(t, db)
	if _, err := control.RewrapDataKeys(ctx, db, local, hsm); err == nil {
		t.Fatal("rewrap from a KEK that no longer wraps the data keys succeeded")
	}
	if !sameDataKeys(before, dataKeys(t, db)) {
		t.Fatal("a failed rotation changed the data keys")
	}

	// Same process, new connection: the HSM KEK still opens the store.
	hsm.Close()
	hsm2 := h.open(t, "vigil-kek", false)
	if v, _, err := reveal(db, hsm2); err != nil || v != secret {
		t.Fatalf("after reopening the HSM: %q, %v", v, err)
	}

	// Rotation inside the HSM, to a key under a new label.
	hsmNext := h.open(t, "vigil-kek-2", true)
	if n, err := control.RewrapDataKeys(ctx, db, hsm2, hsmNext); err != nil || n != 1 {
		t.Fatalf("rewrap HSM -> HSM: %d, %v", n, err)
	}
	if v, _, err := reveal(db, hsmNext); err != nil || v != secret {
		t.Fatalf("after rotation inside the HSM: %q, %v", v, err)
	}
	if _, _, err := reveal(db, hsm2); !errors.Is(err, kek.ErrUnwrap) {
		t.Fatalf("the previous HSM key still opens the store: %v", err)
	}
	hsm2 = hsmNext

	local2, _ := kek.LoadOrCreate(filepath.Join(t.TempDir(), "master.key"), true)
	if n, err := control.RewrapDataKeys(ctx, db, hsm2, local2); err != nil || n != 1 {
		t.Fatalf("rewrap HSM -> local: %d, %v", n, err)
	}
	if v, gotID, err := reveal(db, local2); err != nil || v != secret || gotID != id {
		t.Fatalf("after rotation back to a local KEK: %q, %d, %v", v, gotID, err)
	}
	if _, _, err := reveal(db, hsm2); !errors.Is(err, kek.ErrUnwrap) {
		t.Fatalf("the HSM KEK still opens the store after rotating away: %v", err)
	}
	if ks := dataKeys(t, db); len(ks) != 1 {
		t.Fatalf("%d data keys, want 1: rotation must not make new ones", len(ks))
	}
}

func TestPKCS11RevokeAndRestore(t *testing.T) {
	h := newSoftHSM(t)
	db := openStore(t, t.TempDir())
	hsm := h.open(t, "vigil-kek", true)
	id := storeKey(t, db, hsm, secret)
	hsm.Close()

	// Back the token up (all contexts are closed, so the files are at rest).
	backup := filepath.Join(t.TempDir(), "tokens")
	copyDir(t, h.tokenDir, backup)
	before := dataKeys(t, db)
	storedBefore, _ := db.Keys(context.Background())

	// Revoke while Vigil holds the key open: the next use fails closed as
	// unavailable (not as a wrong key), and reopening finds no key.
	running := h.open(t, "vigil-kek", false)
	h.deleteKey(t, "vigil-kek")
	if _, err := running.Unwrap(before[0].Wrapped, "vigil data key v1"); !errors.Is(err, kek.ErrHSMUnavailable) {
		t.Fatalf("unwrap after the key was deleted: %v, want ErrHSMUnavailable", err)
	} else {
		t.Logf("running, key deleted: %v", err)
	}
	if _, _, err := control.OpenKeyring(context.Background(), db, running); !errors.Is(err, kek.ErrHSMUnavailable) {
		t.Fatalf("OpenKeyring with the key deleted: %v", err)
	}
	if _, err := running.Wrap(make([]byte, 32), "vigil data key v1"); !errors.Is(err, kek.ErrHSMUnavailable) {
		t.Fatalf("wrap with the key deleted: %v", err)
	}

	// A fresh start: the key is gone, so the KEK does not open.
	_, err := kek.OpenPKCS11(h.config("vigil-kek", false))
	if !errors.Is(err, kek.ErrHSMUnavailable) || !strings.HasPrefix(err.Error(), "HSM unavailable: ") {
		t.Fatalf("open with the key deleted: %v", err)
	}
	t.Logf("start, key deleted: %v", err)
	// Another HSM key (say, made by mistake under another label) does not
	// open the store either, and OpenKeyring makes no new data key.
	wrong := h.open(t, "vigil-kek-other", true)
	if _, _, err := control.OpenKeyring(context.Background(), db, wrong); !errors.Is(err, kek.ErrUnwrap) {
		t.Fatalf("OpenKeyring with another HSM key: %v, want ErrUnwrap", err)
	}
	wrong.Close()
	storedAfter, _ := db.Keys(context.Background())
	if !sameDataKeys(before, dataKeys(t, db)) || len(storedAfter) != len(storedBefore) || !bytes.Equal(storedAfter[0].Sealed, storedBefore[0].Sealed) {
		t.Fatal("the store changed while the KEK was unavailable")
	}

	// The key returns: the token directory is restored from its backup.
	if err := os.RemoveAll(h.tokenDir); err != nil {
		t.Fatal(err)
	}
	copyDir(t, backup, h.tokenDir)
	// The provider that lost its key works again without a restart.
	if v, _, err := reveal(db, running); err != nil || v != secret {
		t.Fatalf("the running provider after the key returned: %q, %v", v, err)
	}
	running.Close()
	// And so does a fresh start.
	back := h.open(t, "vigil-kek", false)
	v, gotID, err := reveal(db, back)
	if err != nil || v != secret || gotID != id {
		t.Fatalf("after the key returned: %q, data key %d (want %d), %v", v, gotID, id, err)
	}
	if !sameDataKeys(before, dataKeys(t, db)) {
		t.Fatal("the data keys changed")
	}
}

// TestPKCS11FromEnv opens the HSM KEK the way the server does.
func TestPKCS11FromEnv(t *testing.T) {
	h := newSoftHSM(t)
	pinFile := filepath.Join(t.TempDir(), "pin")
	os.WriteFile(pinFile, []byte(testPIN+"\n"), 0o600)
	env := map[string]string{
		"VIGIL_KEK_PROVIDER":       "pkcs11",
		"VIGIL_PKCS11_MODULE":      h.module,
		"VIGIL_PKCS11_TOKEN_LABEL": testToken,
		"VIGIL_PKCS11_PIN_FILE":    pinFile,
		"VIGIL_PKCS11_KEY_LABEL":   "env-kek",
	}
	getenv := func(k string) string { return env[k] }
	if _, err := kek.FromEnv(getenv, t.TempDir(), false); !errors.Is(err, kek.ErrHSMUnavailable) {
		t.Fatalf("FromEnv without create and no key: %v", err)
	}
	p, err := kek.FromEnv(getenv, t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.ID() != "pkcs11:vigil-test/env-kek" {
		t.Fatalf("ID %s", p.ID())
	}
	w, err := p.Wrap([]byte("0123456789abcdef0123456789abcdef"), "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Unwrap(w, "x"); err != nil {
		t.Fatal(err)
	}
}
