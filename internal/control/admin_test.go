package control_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vigilhq/vigil/internal/control"
	"github.com/vigilhq/vigil/internal/credential"
	"github.com/vigilhq/vigil/internal/kek"
	"github.com/vigilhq/vigil/internal/vigil"
)

// recorder keeps the audit events it is given.
type recorder struct {
	mu     sync.Mutex
	events []vigil.AuditEvent
}

func (r *recorder) Record(_ context.Context, ev vigil.AuditEvent) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	return nil
}

func (r *recorder) take() []vigil.AuditEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.events
	r.events = nil
	return out
}

func newAdminService(t *testing.T) (*control.Service, *control.Access, *recorder) {
	t.Helper()
	db := openDB(t)
	k, _ := kek.New(bytes.Repeat([]byte{1}, 32))
	ring, id, err := control.OpenKeyring(context.Background(), db, k)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	return &control.Service{Store: db, Ring: ring, DataKeyID: id, Audit: rec}, &control.Access{Store: db, Audit: rec}, rec
}

func TestValidateAdminToken(t *testing.T) {
	good, _, err := credential.NewAccessToken()
	if err != nil {
		t.Fatal(err)
	}
	body := strings.TrimPrefix(good, "vgt_")
	tests := []struct {
		name, tok string
		ok        bool
	}{
		{"ok/generated", good, true},
		{"ok/all-url-safe-characters", "vgt_" + strings.Repeat("-_", 21) + "A", true},
		{"fail/empty", "", false},
		{"fail/no-prefix", body, false},
		{"fail/other-prefix", "adm_" + body, false},
		{"fail/short", good[:len(good)-1], false},
		{"fail/long", good + "A", false},
		{"fail/padded", good[:len(good)-1] + "=", false},
		{"fail/std-base64", "vgt_" + strings.Repeat("+", 42) + "A", false},
		{"fail/space-inside", good[:20] + " " + good[21:], false},
		{"fail/trailing-space", good[:len(good)-1] + " ", false},
		// 43 characters whose last carries bits beyond 32 bytes.
		{"fail/non-canonical", "vgt_" + strings.Repeat("A", 42) + "B", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := control.ValidateAdminToken(tt.tok)
			if (err == nil) != tt.ok {
				t.Fatalf("ValidateAdminToken = %v, want ok=%v", err, tt.ok)
			}
			if err != nil {
				if vigil.ErrorCode(err) != vigil.EInvalid {
					t.Errorf("code %s, want invalid", vigil.ErrorCode(err))
				}
				if len(tt.tok) > 8 && strings.Contains(err.Error(), tt.tok) {
					t.Errorf("the message quotes the token: %v", err)
				}
			}
		})
	}
}

func TestReadAdminTokenFile(t *testing.T) {
	good, _, _ := credential.NewAccessToken()
	dir := t.TempDir()
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		wantErr string
	}{
		{"ok/0600-newline", good + "\n", 0o600, ""},
		{"ok/0400-crlf", good + "\r\n", 0o400, ""},
		{"ok/0440-kubernetes-secret-with-fsgroup", good, 0o440, ""},
		{"ok/0640", good, 0o640, ""},
		{"fail/group-writable", good, 0o620, "is open to others (mode -rw--w----)"},
		{"fail/other-readable", good, 0o604, "is open to others"},
		{"fail/0644", good, 0o644, "is open to others"},
		{"fail/empty", "\n", 0o600, "is empty"},
		{"fail/not-a-vigil-token", "hunter2-hunter2-hunter2-hunter2-hunter2-hunter2", 0o600, "must be \"vgt_\" followed by 43 base64url characters"},
		{"fail/two-lines", good + "\n" + good + "\n", 0o600, "must be \"vgt_\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, "/", "-"))
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			tok, err := control.ReadAdminTokenFile(path)
			if tt.wantErr == "" {
				if err != nil || tok != good {
					t.Fatalf("ReadAdminTokenFile = %q, %v; want the token", tok, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ReadAdminTokenFile error %v, want %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), good) {
				t.Errorf("the message quotes the file's content: %v", err)
			}
		})
	}
	if _, err := control.ReadAdminTokenFile(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing file was accepted")
	}
	if _, err := control.ReadAdminTokenFile(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a directory: %v", err)
	}
}

// TestSetAdminTokenWinsAndIsAudited: the operator's token replaces the
// generated one (which stops working), the change is audited as the
// server's own without the token, and a second start changes nothing.
func TestSetAdminTokenWinsAndIsAudited(t *testing.T) {
	svc, _, rec := newAdminService(t)
	ctx := control.StartupContext(context.Background())
	path := filepath.Join(t.TempDir(), "admin-token")
	made, err := svc.EnsureAdminToken(ctx, path)
	if err != nil || !made {
		t.Fatalf("EnsureAdminToken = %v, %v", made, err)
	}
	generated, _ := os.ReadFile(path)
	evs := rec.take()
	if len(evs) != 1 || evs[0].Principal != control.StartupPrincipal || evs[0].Source != "local" ||
		evs[0].Action != "tokens/write" || evs[0].Scope != "/tokens/bootstrap-admin" || evs[0].Outcome != vigil.OutcomeSuccess ||
		!strings.Contains(evs[0].Detail, "generated and written to "+path) {
		t.Fatalf("audit after generating: %+v", evs)
	}
	if made, err := svc.EnsureAdminToken(ctx, path); err != nil || made {
		t.Fatalf("second EnsureAdminToken = %v, %v; want no change", made, err)
	}
	if evs := rec.take(); len(evs) != 0 {
		t.Errorf("an unchanged admin token was audited: %+v", evs)
	}

	fileTok, _, _ := credential.NewAccessToken()
	if _, err := svc.SetAdminToken(ctx, "not-a-token", "VIGIL_ADMIN_TOKEN_FILE x"); vigil.ErrorCode(err) != vigil.EInvalid {
		t.Errorf("SetAdminToken with a malformed token: %v, want invalid", err)
	}
	changed, err := svc.SetAdminToken(ctx, fileTok, "VIGIL_ADMIN_TOKEN_FILE /run/secrets/vigil-admin/token")
	if err != nil || !changed {
		t.Fatalf("SetAdminToken = %v, %v", changed, err)
	}
	if _, err := svc.VerifyAccessToken(ctx, strings.TrimSpace(string(generated))); vigil.ErrorCode(err) != vigil.EUnauthorized {
		t.Errorf("the generated token still works after the file's won: %v", err)
	}
	if p, err := svc.VerifyAccessToken(ctx, fileTok); err != nil || p != control.AdminPrincipal {
		t.Errorf("the file's token: %q, %v; want admin", p, err)
	}
	evs = rec.take()
	if len(evs) != 1 || evs[0].Principal != control.StartupPrincipal || evs[0].Action != "tokens/write" ||
		evs[0].Outcome != vigil.OutcomeSuccess ||
		evs[0].Detail != "bootstrap admin token set from VIGIL_ADMIN_TOKEN_FILE /run/secrets/vigil-admin/token; revoked the earlier admin token" {
		t.Fatalf("audit after setting from the file: %+v", evs)
	}
	for _, ev := range evs {
		if strings.Contains(ev.Detail, fileTok) || strings.Contains(ev.Detail, strings.TrimSpace(string(generated))) {
			t.Errorf("a token appears in the audit log: %+v", ev)
		}
	}
	// A second server (or start) with the same file changes nothing.
	if changed, err := svc.SetAdminToken(ctx, fileTok, "VIGIL_ADMIN_TOKEN_FILE /run/secrets/vigil-admin/token"); err != nil || changed {
		t.Fatalf("SetAdminToken again = %v, %v; want no change", changed, err)
	}
	if evs := rec.take(); len(evs) != 0 {
		t.Errorf("an unchanged admin token was audited: %+v", evs)
	}
	toks, _ := svc.Store.AccessTokens(ctx)
	n := 0
	for _, tk := range toks {
		if tk.Principal == control.AdminPrincipal {
			n++
			if bytes.Contains(tk.Hash, []byte(fileTok)) || !bytes.Equal(tk.Hash, credential.HashAccessToken(fileTok)) {
				t.Errorf("stored admin token: %+v", tk)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d live admin tokens, want 1", n)
	}
}

func TestRefuseAdminTokenRotationIsAudited(t *testing.T) {
	_, access, rec := newAdminService(t)
	ctx := vigil.WithActor(context.Background(), vigil.Actor{Principal: "admin", Source: "127.0.0.1"})
	err := access.RefuseAdminTokenRotation(ctx, "VIGIL_ADMIN_TOKEN_FILE (/run/secrets/vigil-admin/token)")
	if vigil.ErrorCode(err) != vigil.EConflict || !strings.Contains(err.Error(), "vigil admin-token generate") {
		t.Fatalf("RefuseAdminTokenRotation = %v, want a conflict naming vigil admin-token generate", err)
	}
	evs := rec.take()
	if len(evs) != 1 || evs[0].Principal != "admin" || evs[0].Action != "tokens/write" || evs[0].Scope != "/tokens/bootstrap-admin" || evs[0].Outcome != vigil.OutcomeFailure {
		t.Errorf("audit: %+v", evs)
	}
}

func TestEnsureBootstrapAssignmentAudited(t *testing.T) {
	_, access, rec := newAdminService(t)
	ctx := control.StartupContext(context.Background())
	if err := access.EnsureBootstrapAssignmentAudited(ctx); err != nil {
		t.Fatal(err)
	}
	evs := rec.take()
	if len(evs) != 1 || evs[0].Principal != control.StartupPrincipal || evs[0].Action != "roles/write" || evs[0].Scope != "/" ||
		evs[0].Outcome != vigil.OutcomeSuccess || !strings.Contains(evs[0].Detail, control.BootstrapAssignmentID) {
		t.Fatalf("audit after the first start: %+v", evs)
	}
	if err := access.EnsureBootstrapAssignmentAudited(ctx); err != nil {
		t.Fatal(err)
	}
	if evs := rec.take(); len(evs) != 0 {
		t.Errorf("an existing assignment was audited again: %+v", evs)
	}
}
