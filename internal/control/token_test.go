package control_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/vigilhq/vigil/internal/control"
	"github.com/vigilhq/vigil/internal/kek"
	"github.com/vigilhq/vigil/internal/score"
	"github.com/vigilhq/vigil/internal/vigil"
)

// TestTokensExpireAndSigningKeysRotate uses an injected clock: a token
// works until it expires, only for its endpoint, never as a key; after a
// signing-key rotation old tokens verify until they expire.
func TestTokensExpireAndSigningKeysRotate(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	now := time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	// The store stamps created_at; it must read the same clock, or the
	// test depends on the wall-clock time it runs at.
	db.Now = clock
	k, _ := kek.New(bytes.Repeat([]byte{1}, 32))
	ring, id, _ := control.OpenKeyring(ctx, db, k)
	plane := score.NewPlane(ring, db)
	plane.Now = clock
	svc := &control.Service{Store: db, Ring: ring, DataKeyID: id, Now: clock, Changed: plane.Reload}
	for _, ep := range []vigil.Endpoint{{Name: "tok-ep", AuthMode: vigil.AuthAMLToken}, {Name: "other-ep", AuthMode: vigil.AuthAMLToken}, {Name: "key-ep"}} {
		if _, err := svc.CreateEndpoint(ctx, ep); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := svc.IssueToken(ctx, "tok-ep")
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "Bearer" || tok.ExpiryTimeUTC != "2026-11-22T07:00:00Z" || tok.RefreshAfterTimeUTC != "2026-11-22T06:30:00Z" {
		t.Fatalf("token fields: %+v", tok)
	}
	if _, err := svc.IssueToken(ctx, "key-ep"); vigil.ErrorCode(err) != vigil.EInvalid {
		t.Errorf("token for a key endpoint: %v", err)
	}
	if _, err := svc.ListKeys(ctx, "tok-ep"); vigil.ErrorCode(err) != vigil.EInvalid {
		t.Errorf("keys of a token endpoint: %v", err)
	}
	if err := svc.RegenerateKey(ctx, "tok-ep", vigil.PrimaryKey, ""); vigil.ErrorCode(err) != vigil.EInvalid {
		t.Errorf("regenerating a key of a token endpoint: %v, want invalid", err)
	}
	keys, _ := svc.ListKeys(ctx, "key-ep")
	check := func(name, endpoint, cred string, at time.Time, want bool) {
		t.Helper()
		now = at
		_, err := plane.Authenticate(endpoint, cred)
		if (err == nil) != want {
			t.Errorf("%s: err = %v, want ok=%v", name, err, want)
		}
	}
	check("ok/fresh-token", "tok-ep", tok.AccessToken, now, true)
	check("ok/just-before-expiry", "tok-ep", tok.AccessToken, time.Date(2026, 11, 22, 6, 59, 59, 0, time.UTC), true)
	check("fail/at-expiry", "tok-ep", tok.AccessToken, time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC), false)
	check("fail/other-endpoint", "other-ep", tok.AccessToken, time.Date(2026, 11, 22, 6, 10, 0, 0, time.UTC), false)
	check("fail/token-on-key-endpoint", "key-ep", tok.AccessToken, time.Date(2026, 11, 22, 6, 10, 0, 0, time.UTC), false)
	check("fail/key-on-token-endpoint", "tok-ep", keys.PrimaryKey, time.Date(2026, 11, 22, 6, 10, 0, 0, time.UTC), false)
	tampered := tok.AccessToken[:len(tok.AccessToken)-2] + "AA"
	check("fail/tampered-signature", "tok-ep", tampered, time.Date(2026, 11, 22, 6, 10, 0, 0, time.UTC), false)

	// Rotate: new tokens use the new key; the old token still verifies.
	now = time.Date(2026, 11, 22, 6, 20, 0, 0, time.UTC)
	if _, err := svc.RotateSigningKey(ctx); err != nil {
		t.Fatal(err)
	}
	tok2, _ := svc.IssueToken(ctx, "tok-ep")
	if tok2.AccessToken == tok.AccessToken {
		t.Fatal("same token after rotation")
	}
	check("ok/old-token-after-rotation", "tok-ep", tok.AccessToken, time.Date(2026, 11, 22, 6, 30, 0, 0, time.UTC), true)
	check("ok/new-token", "tok-ep", tok2.AccessToken, time.Date(2026, 11, 22, 6, 30, 0, 0, time.UTC), true)
	// Much later, a second rotation retires the key superseded over an hour ago.
	now = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	if _, err := svc.RotateSigningKey(ctx); err != nil {
		t.Fatal(err)
	}
	sks, _ := db.SigningKeys(ctx)
	if len(sks) != 2 {
		t.Errorf("%d signing keys live after the second rotation, want 2 (the oldest retired)", len(sks))
	}
}
