package score_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/vigilhq/vigil/internal/control"
	"github.com/vigilhq/vigil/internal/kek"
	"github.com/vigilhq/vigil/internal/score"
	"github.com/vigilhq/vigil/internal/store/sqlite"
	"github.com/vigilhq/vigil/internal/vigil"
)

func TestAuthenticate(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	k, _ := kek.New(bytes.Repeat([]byte{7}, 32))
	ring, id, err := control.OpenKeyring(ctx, db, k)
	if err != nil {
		t.Fatal(err)
	}
	auth := score.NewPlane(ring, db)
	keys := &control.Keys{Store: db, Ring: ring, DataKeyID: id, Changed: auth.Reload}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(keys.Set(ctx, "default", vigil.PrimaryKey, "default-primary-000"))
	must(keys.Set(ctx, "default", vigil.SecondaryKey, "default-secondary-00"))
	must(keys.Set(ctx, "other-ep", vigil.PrimaryKey, "other-primary-00000"))
	tests := []struct {
		name, endpoint, key string
		wantCaller          string
		wantReason          string
	}{
		{"ok/primary", "default", "default-primary-000", "key:primary", ""},
		{"ok/secondary", "default", "default-secondary-00", "key:secondary", ""},
		{"ok/other-endpoint", "other-ep", "other-primary-00000", "key:primary", ""},
		{"fail/missing", "default", "", "", score.ReasonMissing},
		{"fail/unknown-key", "default", "default-primary-001", "", score.ReasonUnknownKey},
		{"fail/prefix-of-key", "default", "default-primary-00", "", score.ReasonUnknownKey},
		{"fail/key-of-another-endpoint", "default", "other-primary-00000", "", score.ReasonWrongTarget},
		{"fail/unknown-endpoint", "nowhere", "default-primary-000", "", score.ReasonNoEndpoint},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			caller, err := auth.Authenticate(tt.endpoint, tt.key)
			if tt.wantReason == "" {
				if err != nil || caller != tt.wantCaller {
					t.Fatalf("Authenticate = %q, %v; want %q", caller, err, tt.wantCaller)
				}
				return
			}
			var ae *score.AuthError
			if !errors.As(err, &ae) || ae.Reason != tt.wantReason {
				t.Fatalf("err = %v, want reason %s", err, tt.wantReason)
			}
		})
	}
	// A replaced key stops working at once.
	must(keys.Set(ctx, "default", vigil.PrimaryKey, "default-primary-new"))
	if _, err := auth.Authenticate("default", "default-primary-000"); err == nil {
		t.Error("the replaced primary key still works")
	}
	if _, err := auth.Authenticate("default", "default-primary-new"); err != nil {
		t.Errorf("the new primary key fails: %v", err)
	}
}
