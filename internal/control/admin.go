package control

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/vigilhq/vigil/internal/credential"
	"github.com/vigilhq/vigil/internal/rbac"
	"github.com/vigilhq/vigil/internal/vigil"
)

// AdminPrincipal is the principal of the bootstrap admin token.
const AdminPrincipal = "admin"

// adminTokenName is the name of the bootstrap admin token in the store.
const adminTokenName = "bootstrap-admin"

// adminTokenScope is the audit scope of changes to the bootstrap admin
// token.
const adminTokenScope = "/tokens/" + adminTokenName

// StartupPrincipal is the principal the audit log names for the changes a
// server makes on its own when it starts: the default endpoint's keys, the
// bootstrap admin token, the bootstrap Owner assignment, the default
// deployment.
const StartupPrincipal = "system:startup"

// StartupContext returns ctx acting as StartupPrincipal, from source
// "local": the changes made with it are audited as the server's own.
func StartupContext(ctx context.Context) context.Context {
	return vigil.WithActor(ctx, vigil.Actor{Principal: StartupPrincipal, Source: "local"})
}

// RecordChange records in rec the outcome of action on scope by the
// context's actor, with detail (which must never hold a secret), for changes
// made outside the audited use cases, such as the ones a server makes at
// start. It returns err unchanged, or the failure to record a successful
// change: a change that cannot be audited is reported as failed.
func RecordChange(ctx context.Context, rec Recorder, action, scope, detail string, err error) error {
	if rec == nil {
		return err
	}
	a := vigil.ActorFrom(ctx)
	ev := vigil.AuditEvent{Principal: a.Principal, Action: action, Scope: scope, Source: a.Source, Outcome: vigil.OutcomeSuccess, Detail: detail}
	if ev.Principal == "" {
		ev.Principal = "system"
	}
	if err != nil {
		ev.Outcome = vigil.OutcomeFailure
		ev.Detail = string(vigil.ErrorCode(err))
		if ve, ok := err.(*vigil.Error); ok {
			ev.Detail = string(ve.Code) + ": " + ve.Message
		}
		if detail != "" {
			ev.Detail = detail + ": " + ev.Detail
		}
	}
	if rerr := rec.Record(ctx, ev); rerr != nil && err == nil {
		return fmt.Errorf("audit %s: %w", action, rerr)
	}
	return err
}

// EnsureAdminToken makes sure a bootstrap admin token exists and is written
// to path (mode 0600). When the file is missing a new token is made, the old
// admin tokens are revoked, and the new one is written: whoever can write
// the data directory is the admin already. It reports whether it made one;
// a new token is audited (never its value).
func (s *Service) EnsureAdminToken(ctx context.Context, path string) (bool, error) {
	if b, err := os.ReadFile(path); err == nil {
		if _, err := s.VerifyAccessToken(ctx, string(trimNewline(b))); err == nil {
			return false, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("admin token: %w", err)
	}
	var revoked int
	err := func() error {
		tok, hash, err := credential.NewAccessToken()
		if err != nil {
			return err
		}
		if revoked, err = s.replaceAdminTokens(ctx, hash); err != nil {
			return err
		}
		if err := writeSecretFile(path, tok); err != nil {
			return fmt.Errorf("admin token: %w", err)
		}
		return nil
	}()
	detail := "bootstrap admin token generated and written to " + path + revokedDetail(revoked)
	if err := RecordChange(ctx, s.Audit, rbac.TokensWrite, adminTokenScope, detail, err); err != nil {
		return false, err
	}
	return true, nil
}

// SetAdminToken makes token, which an operator manages (VIGIL_ADMIN_TOKEN_FILE,
// named by source), the one bootstrap admin token in the store. The store
// keeps only its hash, and Vigil writes it nowhere. Any other admin token is
// revoked: the operator's token wins. It reports whether it changed the
// store; a change is audited (never the value). Servers sharing a store and
// the same token agree: the second one to start finds nothing to change.
func (s *Service) SetAdminToken(ctx context.Context, token, source string) (bool, error) {
	if err := ValidateAdminToken(token); err != nil {
		return false, fmt.Errorf("%s: %w", source, err)
	}
	hash := credential.HashAccessToken(token)
	match, others, err := s.adminTokens(ctx, hash)
	if err != nil {
		return false, err
	}
	if match > 0 && others == 0 {
		return false, nil
	}
	// The store revokes by principal: revoke every admin token and store
	// the operator's again.
	_, err = s.replaceAdminTokens(ctx, hash)
	if err != nil && vigil.ErrorCode(err) == vigil.EConflict {
		// Another server sharing the store stored the same token at the
		// same moment: the store now holds it, which is the goal.
		if n, _, lerr := s.adminTokens(ctx, hash); lerr == nil && n > 0 {
			err = nil
		}
	}
	detail := "bootstrap admin token set from " + source + revokedDetail(others)
	if err := RecordChange(ctx, s.Audit, rbac.TokensWrite, adminTokenScope, detail, err); err != nil {
		return false, err
	}
	return true, nil
}

// adminTokens counts the live admin tokens whose hash is hash, and the
// others.
func (s *Service) adminTokens(ctx context.Context, hash []byte) (match, others int, err error) {
	toks, err := s.Store.AccessTokens(ctx)
	if err != nil {
		return 0, 0, err
	}
	now := s.now()
	for _, t := range toks {
		if t.Principal != AdminPrincipal || (!t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)) {
			continue
		}
		if subtle.ConstantTimeCompare(t.Hash, hash) == 1 {
			match++
		} else {
			others++
		}
	}
	return match, others, nil
}

// replaceAdminTokens revokes every admin token and stores the bootstrap
// admin token with hash. It returns how many live admin tokens it revoked.
func (s *Service) replaceAdminTokens(ctx context.Context, hash []byte) (int, error) {
	match, others, err := s.adminTokens(ctx, hash)
	if err != nil {
		return 0, err
	}
	if err := s.Store.RevokeAccessTokens(ctx, AdminPrincipal); err != nil {
		return 0, err
	}
	id, _, _ := credential.NewSigningKey() // a random id
	if err := s.Store.CreateAccessToken(ctx, vigil.AccessToken{ID: id, Name: adminTokenName, Principal: AdminPrincipal, Hash: hash}); err != nil {
		return match + others, err
	}
	return match + others, nil
}

func revokedDetail(n int) string {
	switch n {
	case 0:
		return ""
	case 1:
		return "; revoked the earlier admin token"
	}
	return fmt.Sprintf("; revoked %d earlier admin tokens", n)
}

// adminTokenPrefix and adminTokenBytes are the shape of the tokens
// credential.NewAccessToken makes: "vgt_" and 32 random bytes in unpadded
// base64url (43 characters).
const (
	adminTokenPrefix = "vgt_"
	adminTokenBytes  = 32
)

// ValidateAdminToken checks that tok has the shape of a token Vigil makes
// ("vgt_" and 43 base64url characters holding 32 random bytes; vigil
// admin-token generate prints one). The message never quotes the token.
func ValidateAdminToken(tok string) error {
	body, ok := strings.CutPrefix(tok, adminTokenPrefix)
	want := base64.RawURLEncoding.EncodedLen(adminTokenBytes)
	if !ok || len(body) != want {
		return vigil.Errorf(vigil.EInvalid, "the admin token must be %q followed by %d base64url characters (%d characters in all; it has %d): make one with vigil admin-token generate", adminTokenPrefix, want, len(adminTokenPrefix)+want, len(tok))
	}
	if b, err := base64.RawURLEncoding.Strict().DecodeString(body); err != nil || len(b) != adminTokenBytes {
		return vigil.Errorf(vigil.EInvalid, "the admin token must be %q followed by %d base64url characters (A-Z, a-z, 0-9, - and _): make one with vigil admin-token generate", adminTokenPrefix, want)
	}
	return nil
}

// ReadAdminTokenFile reads the bootstrap admin token an operator manages
// from path (VIGIL_ADMIN_TOKEN_FILE), such as a mounted Kubernetes Secret.
// As for the master key, the file must not be writable by its group nor
// open to others in any way; group read is allowed, since Kubernetes mounts
// Secret files 0440 when the pod has an fsGroup. Trailing newlines are
// trimmed, and the token must have the shape of one Vigil makes. No message
// quotes the file's content.
func ReadAdminTokenFile(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("admin token file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("admin token file %s is not a regular file", path)
	}
	if st.Mode().Perm()&0o037 != 0 {
		return "", fmt.Errorf("admin token file %s is open to others (mode %v); run chmod 600 (or 440) on it", path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("admin token file: %w", err)
	}
	tok := string(trimNewline(b))
	if tok == "" {
		return "", fmt.Errorf("admin token file %s is empty", path)
	}
	if err := ValidateAdminToken(tok); err != nil {
		return "", fmt.Errorf("admin token file %s: %w", path, err)
	}
	return tok, nil
}

// RefuseAdminTokenRotation refuses, and audits, a rotation of an admin
// token that an operator manages in a file (named by source): Vigil does
// not write that file, and a token rotated in the store alone would be
// replaced by the file's at the next start.
func (a *Access) RefuseAdminTokenRotation(ctx context.Context, source string) error {
	err := vigil.Errorf(vigil.EConflict, "the admin token comes from %s, which Vigil does not write: put a new token (vigil admin-token generate) into that file or its Secret, then restart every server", source)
	return a.audited(ctx, rbac.TokensWrite, adminTokenScope, err)
}

// EnsureBootstrapAssignmentAudited is EnsureBootstrapAssignment, with the
// creation of the assignment (on a store's first start) audited.
func (a *Access) EnsureBootstrapAssignmentAudited(ctx context.Context) error {
	as, err := a.Store.Assignments(ctx)
	if err != nil {
		return err
	}
	for _, x := range as {
		if x.ID == BootstrapAssignmentID {
			return a.EnsureBootstrapAssignment(ctx)
		}
	}
	err = a.EnsureBootstrapAssignment(ctx)
	return RecordChange(ctx, a.Audit, rbac.RolesWrite, "/", "bootstrap assignment "+BootstrapAssignmentID+": "+AdminPrincipal+" is Owner at /", err)
}

func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// VerifyAccessToken returns the principal of a live management-API token.
func (s *Service) VerifyAccessToken(ctx context.Context, token string) (string, error) {
	if token == "" {
		return "", vigil.Errorf(vigil.EUnauthorized, "a bearer token is required")
	}
	h := credential.HashAccessToken(token)
	toks, err := s.Store.AccessTokens(ctx)
	if err != nil {
		return "", err
	}
	now := s.now()
	for _, t := range toks {
		if subtle.ConstantTimeCompare(t.Hash, h) == 1 {
			if !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt) {
				break
			}
			return t.Principal, nil
		}
	}
	return "", vigil.Errorf(vigil.EUnauthorized, "the bearer token is not valid")
}
