package control

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vigilhq/vigil/internal/credential"
	"github.com/vigilhq/vigil/internal/rbac"
	"github.com/vigilhq/vigil/internal/vigil"
)

// AccessStore stores roles, assignments and access tokens.
type AccessStore interface {
	CreateRole(ctx context.Context, r rbac.Role) error
	Roles(ctx context.Context) ([]rbac.Role, error)
	CreateAssignment(ctx context.Context, a rbac.Assignment) error
	Assignments(ctx context.Context) ([]rbac.Assignment, error)
	DeleteAssignment(ctx context.Context, id string) error
	CreateAccessToken(ctx context.Context, t vigil.AccessToken) error
	AccessTokens(ctx context.Context) ([]vigil.AccessToken, error)
	RevokeAccessToken(ctx context.Context, name string) error
	RevokeAccessTokens(ctx context.Context, principal string) error
}

// BootstrapAssignmentID is the assignment that makes the bootstrap admin
// Owner of everything; it cannot be deleted.
const BootstrapAssignmentID = "bootstrap-admin-owner"

// Access decides and manages who may do what: roles, role assignments and
// access tokens. It keeps the policy in memory and reloads it after every
// change.
type Access struct {
	Store AccessStore
	Audit Recorder
	Now   func() time.Time
	// Changed is called after the policy changes (so the data plane can
	// reload what it caches).
	Changed func(ctx context.Context) error

	policy atomic.Pointer[rbac.Policy]
}

func (a *Access) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// Reload reads the roles and assignments into memory.
func (a *Access) Reload(ctx context.Context) error {
	roles, err := a.Store.Roles(ctx)
	if err != nil {
		return err
	}
	as, err := a.Store.Assignments(ctx)
	if err != nil {
		return err
	}
	a.policy.Store(rbac.NewPolicy(roles, as))
	return nil
}

func (a *Access) changed(ctx context.Context) error {
	if err := a.Reload(ctx); err != nil {
		return err
	}
	if a.Changed != nil {
		return a.Changed(ctx)
	}
	return nil
}

// Policy returns the policy in memory.
func (a *Access) Policy() *rbac.Policy {
	if p := a.policy.Load(); p != nil {
		return p
	}
	return rbac.NewPolicy(nil, nil)
}

// Authorize allows the context's actor to do action on resource, or
// returns a forbidden error naming the missing action and nothing more. A
// denial is recorded in the audit log.
func (a *Access) Authorize(ctx context.Context, action, resource string) error {
	actor := vigil.ActorFrom(ctx)
	if actor.Principal != "" && a.Policy().Decide(actor.Principals(), action, resource).Allowed {
		return nil
	}
	if a.Audit != nil {
		a.Audit.Record(ctx, vigil.AuditEvent{Principal: orAnonymous(actor.Principal), Action: action, Scope: resource, Source: actor.Source, Outcome: vigil.OutcomeDenied})
	}
	return vigil.Errorf(vigil.EForbidden, "missing permission %s", action)
}

func orAnonymous(p string) string {
	if p == "" {
		return "anonymous"
	}
	return p
}

func (a *Access) audited(ctx context.Context, action, scope string, err error) error {
	s := &Service{Audit: a.Audit}
	return s.audited(ctx, action, scope, err)
}

// EnsureBootstrapAssignment makes the bootstrap admin Owner at "/".
func (a *Access) EnsureBootstrapAssignment(ctx context.Context) error {
	as, err := a.Store.Assignments(ctx)
	if err != nil {
		return err
	}
	for _, x := range as {
		if x.ID == BootstrapAssignmentID {
			return a.Reload(ctx)
		}
	}
	if err := a.Store.CreateAssignment(ctx, rbac.Assignment{ID: BootstrapAssignmentID, Principal: AdminPrincipal, Role: "Owner", Scope: "/"}); err != nil {
		return err
	}
	return a.Reload(ctx)
}

// CreateRole stores a custom role.
func (a *Access) CreateRole(ctx context.Context, r rbac.Role) (rbac.Role, error) {
	r.BuiltIn = false
	err := r.Validate()
	if err != nil {
		err = vigil.Errorf(vigil.EInvalid, "role: %v", err)
	} else {
		err = a.Store.CreateRole(ctx, r)
	}
	if err == nil {
		err = a.changed(ctx)
	}
	return r, a.audited(ctx, rbac.RolesWrite, "/", err)
}

// ListRoles returns built-in and custom roles.
func (a *Access) ListRoles(ctx context.Context) ([]rbac.Role, error) {
	custom, err := a.Store.Roles(ctx)
	if err != nil {
		return nil, err
	}
	return append(append([]rbac.Role{}, rbac.BuiltinRoles...), custom...), nil
}

// CreateAssignment assigns a role to a principal at a scope. Principals are
// "user:<subject>", "group:<name>", "sp:<client id>" or "token:<id>".
func (a *Access) CreateAssignment(ctx context.Context, x rbac.Assignment) (rbac.Assignment, error) {
	err := func() error {
		if err := rbac.ValidateScope(x.Scope); err != nil {
			return vigil.Errorf(vigil.EInvalid, "%v", err)
		}
		if !validPrincipal(x.Principal) {
			return vigil.Errorf(vigil.EInvalid, "assignee %q must be user:<subject>, group:<name>, sp:<client id>, token:<id> or admin", clipText(x.Principal))
		}
		roles, err := a.ListRoles(ctx)
		if err != nil {
			return err
		}
		found := false
		for _, r := range roles {
			if strings.EqualFold(r.Name, x.Role) {
				x.Role, found = r.Name, true
			}
		}
		if !found {
			return vigil.Errorf(vigil.EInvalid, "role %q does not exist", clipText(x.Role))
		}
		id, _, err := credential.NewSigningKey()
		if err != nil {
			return err
		}
		x.ID = id
		if err := a.Store.CreateAssignment(ctx, x); err != nil {
			return err
		}
		return a.changed(ctx)
	}()
	return x, a.audited(ctx, rbac.RolesWrite, x.Scope, err)
}

func validPrincipal(p string) bool {
	if p == AdminPrincipal {
		return true
	}
	kind, rest, ok := strings.Cut(p, ":")
	if !ok || rest == "" || len(p) > 256 {
		return false
	}
	switch kind {
	case "user", "group", "sp", "token":
		return true
	}
	return false
}

func clipText(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// ListAssignments returns every assignment.
func (a *Access) ListAssignments(ctx context.Context) ([]rbac.Assignment, error) {
	return a.Store.Assignments(ctx)
}

// DeleteAssignment removes an assignment; the bootstrap admin's cannot be.
func (a *Access) DeleteAssignment(ctx context.Context, id string) error {
	var err error
	if id == BootstrapAssignmentID {
		err = vigil.Errorf(vigil.EConflict, "the bootstrap admin's Owner assignment cannot be deleted; rotate the admin token instead")
	} else if err = a.Store.DeleteAssignment(ctx, id); err == nil {
		err = a.changed(ctx)
	}
	return a.audited(ctx, rbac.RolesWrite, "/role-assignments/"+id, err)
}

// NewToken is a created access token, shown once.
type NewToken struct {
	Name      string    `json:"name"`
	Principal string    `json:"principal"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// TokenInfo describes a live access token; it never holds the token.
type TokenInfo struct {
	Name      string     `json:"name"`
	Principal string     `json:"principal"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	CreatedAt time.Time  `json:"createdAt"`
}

// MaxTokenLifetime bounds access tokens.
const MaxTokenLifetime = 365 * 24 * time.Hour

// CreateAccessToken makes a token that is its own principal
// ("token:<id>"), with no role until one is assigned. Only its hash is
// stored.
func (a *Access) CreateAccessToken(ctx context.Context, name string, lifetime time.Duration) (NewToken, error) {
	var nt NewToken
	err := func() error {
		if name == "" || len(name) > 64 || strings.ContainsAny(name, " /\t\n") {
			return vigil.Errorf(vigil.EInvalid, "name must be 1 to 64 characters without spaces or slashes")
		}
		if lifetime <= 0 || lifetime > MaxTokenLifetime {
			return vigil.Errorf(vigil.EInvalid, "expires must be a positive duration of at most %s", MaxTokenLifetime)
		}
		live, err := a.Store.AccessTokens(ctx)
		if err != nil {
			return err
		}
		for _, t := range live {
			if t.Name == name {
				return vigil.Errorf(vigil.EConflict, "a live token is already named %s; revoke it first", name)
			}
		}
		tok, hash, err := credential.NewAccessToken()
		if err != nil {
			return err
		}
		id, _, err := credential.NewSigningKey()
		if err != nil {
			return err
		}
		exp := a.now().UTC().Add(lifetime).Truncate(time.Second)
		if err := a.Store.CreateAccessToken(ctx, vigil.AccessToken{ID: id, Name: name, Principal: "token:" + id, Hash: hash, ExpiresAt: exp}); err != nil {
			return err
		}
		nt = NewToken{Name: name, Principal: "token:" + id, Token: tok, ExpiresAt: exp}
		return nil
	}()
	return nt, a.audited(ctx, rbac.TokensWrite, "/tokens/"+clipText(name), err)
}

// ListAccessTokens returns the live tokens, never their values.
func (a *Access) ListAccessTokens(ctx context.Context) ([]TokenInfo, error) {
	ts, err := a.Store.AccessTokens(ctx)
	if err != nil {
		return nil, err
	}
	out := []TokenInfo{}
	now := a.now()
	for _, t := range ts {
		if !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt) {
			continue
		}
		ti := TokenInfo{Name: t.Name, Principal: t.Principal, CreatedAt: t.CreatedAt}
		if !t.ExpiresAt.IsZero() {
			e := t.ExpiresAt
			ti.ExpiresAt = &e
		}
		out = append(out, ti)
	}
	return out, nil
}

// RevokeAccessToken revokes a token by name; it stops working at once.
func (a *Access) RevokeAccessToken(ctx context.Context, name string) error {
	return a.audited(ctx, rbac.TokensWrite, "/tokens/"+clipText(name), a.Store.RevokeAccessToken(ctx, name))
}

// RotateAdminToken replaces the bootstrap admin token, revoking the old
// one, writes the new one to path (0600) and returns it.
func (a *Access) RotateAdminToken(ctx context.Context, path string) (string, error) {
	tok, err := func() (string, error) {
		tok, hash, err := credential.NewAccessToken()
		if err != nil {
			return "", err
		}
		if err := a.Store.RevokeAccessTokens(ctx, AdminPrincipal); err != nil {
			return "", err
		}
		id, _, _ := credential.NewSigningKey()
		if err := a.Store.CreateAccessToken(ctx, vigil.AccessToken{ID: id, Name: "bootstrap-admin", Principal: AdminPrincipal, Hash: hash}); err != nil {
			return "", err
		}
		if path != "" {
			if err := writeSecretFile(path, tok); err != nil {
				return "", err
			}
		}
		return tok, nil
	}()
	return tok, a.audited(ctx, rbac.TokensWrite, "/tokens/bootstrap-admin", err)
}

// writeSecretFile replaces path atomically with secret and a newline, mode
// 0600.
func writeSecretFile(path, secret string) error {
	tmp := path + ".tmp"
	os.Remove(tmp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, werr := f.WriteString(secret + "\n")
	serr := f.Sync()
	cerr := f.Close()
	for _, e := range []error{werr, serr, cerr} {
		if e != nil {
			return fmt.Errorf("write %s: %w", path, e)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
