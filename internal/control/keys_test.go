package control_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vigilhq/vigil/internal/control"
	"github.com/vigilhq/vigil/internal/credential"
	"github.com/vigilhq/vigil/internal/kek"
	"github.com/vigilhq/vigil/internal/store/sqlite"
	"github.com/vigilhq/vigil/internal/vigil"
)

func openDB(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestOpenKeyringFailsClosedWithTheWrongKEK(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	right, _ := kek.New(bytes.Repeat([]byte{1}, 32))
	wrong, _ := kek.New(bytes.Repeat([]byte{2}, 32))
	ring1, id1, err := control.OpenKeyring(ctx, db, right)
	if err != nil {
		t.Fatal(err)
	}
	ring2, id2, err := control.OpenKeyring(ctx, db, right)
	if err != nil || id1 != id2 || !ring1.Digest("k").Equal(ring2.Digest("k")) {
		t.Fatalf("reopen: err %v, ids %d/%d", err, id1, id2)
	}
	if _, _, err := control.OpenKeyring(ctx, db, wrong); err == nil {
		t.Fatal("a wrong KEK opened the keyring")
	}
	if _, id3, err := control.OpenKeyring(ctx, db, right); err != nil || id3 != id1 {
		t.Fatalf("after a failed attempt the right KEK no longer works (id %d, err %v): data was lost", id3, err)
	}
}

func TestKeysSetGenerateReveal(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	k, _ := kek.New(bytes.Repeat([]byte{1}, 32))
	ring, id, err := control.OpenKeyring(ctx, db, k)
	if err != nil {
		t.Fatal(err)
	}
	changes := 0
	keys := &control.Keys{Store: db, Ring: ring, DataKeyID: id, Changed: func(context.Context) error { changes++; return nil }}
	if err := keys.Set(ctx, "default", vigil.PrimaryKey, "short"); vigil.ErrorCode(err) != vigil.EInvalid {
		t.Errorf("short key: err %v, want invalid", err)
	}
	if err := keys.Set(ctx, "default", vigil.PrimaryKey, "a-valid-key-0123456789"); err != nil {
		t.Fatal(err)
	}
	sec, err := keys.Generate(ctx, "default", vigil.SecondaryKey)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := keys.Reveal(ctx, "default", vigil.PrimaryKey); got != "a-valid-key-0123456789" {
		t.Errorf("Reveal primary = %q", got)
	}
	if got, _ := keys.Reveal(ctx, "default", vigil.SecondaryKey); got != sec {
		t.Errorf("Reveal secondary = %q, want %q", got, sec)
	}
	if has, _ := keys.HasKeys(ctx, "default"); !has {
		t.Error("HasKeys = false after both slots were set")
	}
	if err := keys.Set(ctx, "other-ep", vigil.PrimaryKey, sec); vigil.ErrorCode(err) != vigil.EConflict {
		t.Errorf("reusing a key on another endpoint: err %v, want conflict", err)
	}
	if changes != 2 {
		t.Errorf("Changed called %d times, want 2", changes)
	}
	stored, _ := db.Keys(ctx)
	for _, s := range stored {
		if bytes.Contains(s.Sealed, []byte(sec)) || strings.Contains(string(s.Digest), sec) {
			t.Error("a stored record holds the key in plaintext")
		}
	}
}

func TestStoreRefusesANewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "vigil.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', 'now')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := sqlite.Open(ctx, path); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open on a newer schema: err = %v", err)
	}
}

// Servers that start together on an empty store share one data key: what
// one seals, the others open, and key digests agree.
func TestOpenKeyringConcurrentFirstStartsShareOneKey(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	k, _ := kek.New(bytes.Repeat([]byte{7}, 32))
	const n = 6
	rings := make([]*credential.Keyring, n)
	ids := make([]int64, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { rings[i], ids[i], errs[i] = control.OpenKeyring(ctx, db, k) })
	}
	wg.Wait()
	sealed, err := rings[0].Seal([]byte("secret"), "owner")
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("server %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Errorf("server %d uses data key %d, server 0 uses %d", i, ids[i], ids[0])
		}
		if got, err := rings[i].Open(sealed, "owner"); err != nil || string(got) != "secret" {
			t.Errorf("server %d cannot open what server 0 sealed: %q, %v", i, got, err)
		}
		if rings[i].Digest("k") != rings[0].Digest("k") {
			t.Errorf("server %d computes another key digest", i)
		}
	}
}
